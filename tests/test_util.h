// Shared helpers for ordo's gtest suites: status assertions that print the status, and scratch
// directories that clean up after themselves.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

#include "ordo/status.h"

// ASSERT_OK(x) / EXPECT_OK(x): `x` (a Status or a Result) is OK; on failure the message names
// the expression and prints the status ("db->Put(key, value) is IO error: ...").
#define ASSERT_OK(expression) ASSERT_PRED_FORMAT1(::ordo::testing::IsOk, expression)
#define EXPECT_OK(expression) EXPECT_PRED_FORMAT1(::ordo::testing::IsOk, expression)
// ASSERT_OK_AND_ASSIGN(lhs, x): `x` (a Result) is OK, and its value is moved into `lhs` (a
// declaration, "auto db", or a variable); on failure it prints as ASSERT_OK does and returns.
#define ASSERT_OK_AND_ASSIGN(lhs, expression) \
  ORDO_ASSERT_OK_AND_ASSIGN_IMPL(ORDO_CONCAT(ordo_assert_result_, __LINE__), lhs, expression)
#define ORDO_ASSERT_OK_AND_ASSIGN_IMPL(result, lhs, expression)                    \
  auto result = (expression);                                                      \
  ASSERT_TRUE(result.ok()) << #expression << " is " << result.status().ToString(); \
  lhs = std::move(result.value())

namespace ordo::testing {

inline const Status& StatusOf(const Status& status) { return status; }
template <typename T>
const Status& StatusOf(const Result<T>& result) {
  return result.status();
}

template <typename T>
::testing::AssertionResult IsOk(const char* text, const T& value) {
  const Status& status = StatusOf(value);
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << text << " is " << status.ToString();
}

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
