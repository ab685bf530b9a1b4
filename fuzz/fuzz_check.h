// FUZZ_CHECK: an invariant of a harness. Unlike assert it stays on in every build (the replay
// tests run in RelWithDebInfo, where the project keeps asserts anyway, but a harness must not
// depend on that), and it names the failed condition before aborting, which libFuzzer and
// CTest both report as a failure with the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (false)
