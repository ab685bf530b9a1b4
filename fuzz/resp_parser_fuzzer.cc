// Fuzz harness for the RESP request parser (src/server/resp_parser.h), the first code that
// touches a client's bytes.
//
// Input: byte 0 picks the limits (small ones, so that "over the limit" is reached often, or the
// server's defaults), bytes 1-4 seed the split points, the rest is what the client sends.
// The stream is parsed twice: whole, and fed in random pieces as the server does (append what
// arrived, parse until kNeedMore, drop the consumed prefix). Checked:
//   * every Parse call stays within the input and only moves forward; a command consumes bytes
//     (so a caller's loop cannot spin), and the server's loop ends;
//   * every command respects the limits: no bulk longer than bulk_bytes_max, no more arguments
//     than multibulk_args_max; a declared length over a limit is an error, never a command;
//   * how the bytes were split changes nothing: same commands, same outcome, same error text.
// Memory: the parser reserves a bounded amount for a declared length, whatever it claims; run
// the fuzzer with -malloc_limit_mb=256 (docs/FUZZING.md) so that an allocation sized by the
// claim (up to 512 MiB) fails the run.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "server/resp_parser.h"

namespace {

using ordo::server::RespLimits;
using ordo::server::RespParser;
using Command = std::vector<std::string>;

struct Transcript {
  std::vector<Command> commands;
  bool failed = false;
  std::string error;
};

RespLimits LimitsFor(uint8_t selector) {
  if (selector & 0x80) return RespLimits();  // the server's own limits
  RespLimits limits;
  limits.bulk_bytes_max = selector & 0x0f;                // 0 .. 15 bytes
  limits.multibulk_args_max = 1 + ((selector >> 4) & 3);  // 1 .. 4 arguments
  limits.inline_bytes_max = 4 + (selector & 0x1f);        // 4 .. 35 bytes
  return limits;
}

void CheckCommand(const Command& command, const RespLimits& limits, bool inline_command) {
  if (inline_command) return;  // inline arguments are bounded by the line, checked below
  FUZZ_CHECK(command.size() <= limits.multibulk_args_max);
  for (const std::string& argument : command) {
    FUZZ_CHECK(argument.size() <= limits.bulk_bytes_max);
  }
}

// Parses everything available in `buffer` from `*position`, as Server::ProcessInput does.
// Returns false once the parser has failed.
bool ParseAvailable(RespParser* parser, const RespLimits& limits, const std::string& buffer,
                    size_t* position, Transcript* transcript) {
  while (true) {
    const size_t before = *position;
    const bool inline_command =
        before < buffer.size() && buffer[before] != '*' && !parser->InCommand();
    Command args;
    const RespParser::Outcome outcome = parser->Parse(buffer, position, &args);
    FUZZ_CHECK(*position >= before && *position <= buffer.size());
    if (outcome == RespParser::Outcome::kNeedMore) return true;
    if (outcome == RespParser::Outcome::kError) {
      FUZZ_CHECK(!parser->error().empty());
      transcript->failed = true;
      transcript->error = parser->error();
      return false;
    }
    FUZZ_CHECK(*position > before);  // a command consumes bytes: the caller's loop ends
    if (inline_command) {
      // The line, without its "\n", is within the inline limit.
      FUZZ_CHECK(*position - before - 1 <= limits.inline_bytes_max);
    }
    CheckCommand(args, limits, inline_command);
    transcript->commands.push_back(std::move(args));
  }
}

Transcript ParseWhole(const RespLimits& limits, std::string_view stream) {
  RespParser parser(limits);
  Transcript transcript;
  const std::string buffer(stream);
  size_t position = 0;
  ParseAvailable(&parser, limits, buffer, &position, &transcript);
  // A parser that has failed stays failed.
  if (transcript.failed) {
    Command args;
    FUZZ_CHECK(parser.Parse(buffer, &position, &args) == RespParser::Outcome::kError);
  }
  return transcript;
}

Transcript ParseInPieces(const RespLimits& limits, std::string_view stream, uint32_t seed) {
  RespParser parser(limits);
  Transcript transcript;
  std::string buffer;
  size_t position = 0;
  size_t offset = 0;
  while (offset < stream.size()) {
    // A small linear congruential generator: pieces of 1 to 16 bytes, sometimes larger.
    seed = seed * 1103515245u + 12345u;
    size_t piece = 1 + ((seed >> 16) % 16);
    if ((seed >> 8) % 8 == 0) piece += (seed >> 20) % 256;
    piece = std::min(piece, stream.size() - offset);
    buffer.append(stream.substr(offset, piece));
    offset += piece;
    if (!ParseAvailable(&parser, limits, buffer, &position, &transcript)) break;
    buffer.erase(0, position);  // Connection::CompactInput
    position = 0;
  }
  return transcript;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const RespLimits limits = LimitsFor(data[0]);
  const uint32_t seed = static_cast<uint32_t>(data[1]) | static_cast<uint32_t>(data[2]) << 8 |
                        static_cast<uint32_t>(data[3]) << 16 | static_cast<uint32_t>(data[4]) << 24;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 5, size - 5);

  const Transcript whole = ParseWhole(limits, stream);
  const Transcript pieces = ParseInPieces(limits, stream, seed);
  FUZZ_CHECK(whole.failed == pieces.failed);
  FUZZ_CHECK(whole.error == pieces.error);
  FUZZ_CHECK(whole.commands == pieces.commands);
  return 0;
}
