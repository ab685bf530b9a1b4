// The corpus-replay driver: a main() for the normal (g++) build that runs a fuzz harness's
// LLVMFuzzerTestOneInput over every file of the directories (or files) named on its command
// line, as libFuzzer would run its corpus. CTest runs it over fuzz/corpus/<harness>/, so every
// crash reproducer checked in there is replayed by `make test` on every build, without clang.
//
// A harness reports a failure by aborting (assert, __builtin_trap or a sanitizer), so reaching
// the end means every input passed.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace {

std::vector<std::string> InputsOf(const std::string& argument) {
  std::vector<std::string> inputs;
  if (std::filesystem::is_directory(argument)) {
    for (const auto& entry : std::filesystem::directory_iterator(argument)) {
      if (entry.is_regular_file()) inputs.push_back(entry.path().string());
    }
    std::sort(inputs.begin(), inputs.end());  // a stable order makes a failure reproducible
  } else {
    inputs.push_back(argument);
  }
  return inputs;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIRECTORY_OR_FILE...\n", argv[0]);
    return 2;
  }
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::filesystem::exists(argv[i])) {
      std::fprintf(stderr, "%s: no such corpus\n", argv[i]);
      return 2;
    }
    for (const std::string& path : InputsOf(argv[i])) {
      std::ifstream file(path, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(file)),
                              std::istreambuf_iterator<char>());
      std::fprintf(stderr, "replaying %s (%zu bytes)\n", path.c_str(), bytes.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  }
  if (replayed == 0) {
    std::fprintf(stderr, "no inputs found: an empty corpus replays nothing\n");
    return 2;
  }
  std::fprintf(stderr, "%zu inputs replayed, all passed\n", replayed);
  return 0;
}
