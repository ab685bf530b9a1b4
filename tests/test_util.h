// Shared helpers for ordo's gtest suites: scratch directories that clean up after themselves.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace ordo::testing {

class ScratchDirectory {
 public:
  ScratchDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ordo-test-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    path_ = made != nullptr ? made : "";
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    // Sealed segments are read-only; removal needs the directory writable, which it is.
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace ordo::testing
