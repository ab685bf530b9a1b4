// An incremental parser for client requests: RESP multibulk ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
// and inline commands ("GET k\r\n"), as Redis's processMultibulkBuffer and processInlineBuffer.
//
// The parser is a state machine fed with whatever bytes arrived. It keeps the partial command
// (the argument count, the arguments parsed so far, the length of the bulk being read) between
// calls, so a large value arriving in many reads is scanned once, not re-parsed.
//
// Limits are checked at the boundary, before any memory is committed to them: a bulk length
// over `bulk_bytes_max` is refused as soon as its "$<n>\r\n" line is complete, before one byte
// of the bulk has been read. After an error the parser stays in the error state; the caller
// replies with "-ERR <error()>" and closes the connection, as Redis does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/options.h"
#include "util/integer_text.h"

namespace ordo::server {

// Redis's proto-max-bulk-len: 512 MiB, the largest value ordo stores.
inline constexpr uint64_t kBulkBytesMax = kValueBytesMax;
// Arguments in one multibulk request (Redis allows INT_MAX; 1 Mi is plenty for MSET/DEL).
inline constexpr uint64_t kMultibulkArgsMax = 1024 * 1024;
// Redis's PROTO_INLINE_MAX_SIZE: the longest inline command, and the longest "*<n>" or "$<n>"
// line.
inline constexpr uint64_t kInlineBytesMax = 64 * 1024;

static_assert(kBulkBytesMax >= kKeyBytesMax, "a key must fit in one bulk");

struct RespLimits {
  uint64_t bulk_bytes_max = kBulkBytesMax;
  uint64_t multibulk_args_max = kMultibulkArgsMax;
  uint64_t inline_bytes_max = kInlineBytesMax;
};

class RespParser {
 public:
  enum class Outcome {
    kNeedMore,  // the input ends inside a command; keep the bytes from *position on and call
                // again when more arrive
    kCommand,   // one whole command is in *args (it may be empty for an empty inline line)
    kError,     // malformed or over a limit: see error()
  };

  explicit RespParser(RespLimits limits = RespLimits()) : limits_(limits) {}

  // Parses from `input` starting at `*position`, advancing `*position` past what it consumed.
  // On kCommand, `*args` holds the command's arguments (replacing its content) and the caller
  // calls Parse again for the next pipelined command. Bytes of a partial bulk are consumed
  // into the parser's own state, so the caller may discard input before `*position`; an
  // incomplete line ("*3\r" or "$5") is left unconsumed.
  Outcome Parse(std::string_view input, size_t* position, std::vector<std::string>* args);

  // "Protocol error: invalid bulk length" and friends (Redis's texts, without "ERR ").
  const std::string& error() const { return error_; }

  // True while a command is partly read (for diagnostics and idle timeouts).
  bool InCommand() const { return state_ != State::kStart; }
  // Bytes of the arguments of the command being read, so far.
  uint64_t PartialBytes() const;
  // proto-max-bulk-len from now on (CONFIG SET); a bulk already being read keeps its length.
  void set_bulk_bytes_max(uint64_t bytes) { limits_.bulk_bytes_max = bytes; }

 private:
  enum class State { kStart, kMultibulkArgument, kBulkData, kError };

  Outcome ParseInline(std::string_view input, size_t* position, std::vector<std::string>* args);
  Outcome ParseMultibulkCount(std::string_view input, size_t* position,
                              std::vector<std::string>* args);
  Outcome ParseBulkLength(std::string_view input, size_t* position);
  Outcome ParseBulkData(std::string_view input, size_t* position);
  Outcome Fail(std::string error);
  void FinishCommand(std::vector<std::string>* args);

  RespLimits limits_;
  State state_ = State::kStart;
  uint64_t arguments_expected_ = 0;
  uint64_t bulk_bytes_ = 0;  // the length of the bulk being read
  std::vector<std::string> partial_;
  std::string error_;
};

// Splits an inline command line like Redis's sdssplitargs: spaces separate arguments, "double
// quotes" allow \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' allow \'. Returns false
// for unbalanced quotes (or a closing quote not followed by a space).
bool SplitInlineArguments(std::string_view line, std::vector<std::string>* args);

// ParseInt64, Redis's string2ll, is util/integer_text.h's (included for the server's code).

}  // namespace ordo::server
