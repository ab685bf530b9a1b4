// The request parser: one dispatcher (Parse) over the parser's states; the helpers are leaves.
#include "server/resp_parser.h"

#include <cassert>
#include <climits>

namespace ordo::server {

namespace {

// Bytes of a bulk reserved up front: enough for ordinary values; a larger bulk grows as its
// bytes arrive, so a client announcing 512 MiB and sending nothing costs nothing.
constexpr uint64_t kBulkReserveBytesMax = 1024 * 1024;

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

// Reads one double-quoted argument starting after the opening quote at `*i`. Returns false
// when the closing quote is missing or not followed by a space or the end of the line.
bool ReadDoubleQuoted(std::string_view line, size_t* i, std::string* arg) {
  size_t p = *i;
  while (true) {
    if (p >= line.size()) return false;
    char c = line[p];
    if (c == '\\' && p + 3 < line.size() && line[p + 1] == 'x' && HexDigitValue(line[p + 2]) >= 0 &&
        HexDigitValue(line[p + 3]) >= 0) {
      arg->push_back(
          static_cast<char>(HexDigitValue(line[p + 2]) * 16 + HexDigitValue(line[p + 3])));
      p += 4;
    } else if (c == '\\' && p + 1 < line.size()) {
      char e = line[p + 1];
      switch (e) {
        case 'n':
          arg->push_back('\n');
          break;
        case 'r':
          arg->push_back('\r');
          break;
        case 't':
          arg->push_back('\t');
          break;
        case 'b':
          arg->push_back('\b');
          break;
        case 'a':
          arg->push_back('\a');
          break;
        default:
          arg->push_back(e);
          break;
      }
      p += 2;
    } else if (c == '"') {
      // The closing quote must be followed by a space or the end (Redis's rule).
      if (p + 1 < line.size() && !IsSpace(line[p + 1])) return false;
      *i = p + 1;
      return true;
    } else {
      arg->push_back(c);
      p += 1;
    }
  }
}

bool ReadSingleQuoted(std::string_view line, size_t* i, std::string* arg) {
  size_t p = *i;
  while (true) {
    if (p >= line.size()) return false;
    char c = line[p];
    if (c == '\\' && p + 1 < line.size() && line[p + 1] == '\'') {
      arg->push_back('\'');
      p += 2;
    } else if (c == '\'') {
      if (p + 1 < line.size() && !IsSpace(line[p + 1])) return false;
      *i = p + 1;
      return true;
    } else {
      arg->push_back(c);
      p += 1;
    }
  }
}

}  // namespace

bool SplitInlineArguments(std::string_view line, std::vector<std::string>* args) {
  args->clear();
  size_t i = 0;
  while (true) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i >= line.size()) return true;
    std::string arg;
    while (i < line.size() && !IsSpace(line[i])) {
      if (line[i] == '"') {
        ++i;
        if (!ReadDoubleQuoted(line, &i, &arg)) return false;
      } else if (line[i] == '\'') {
        ++i;
        if (!ReadSingleQuoted(line, &i, &arg)) return false;
      } else {
        arg.push_back(line[i]);
        ++i;
      }
    }
    args->push_back(std::move(arg));
  }
}

RespParser::Outcome RespParser::Fail(std::string error) {
  state_ = State::kError;
  error_ = std::move(error);
  partial_.clear();
  return Outcome::kError;
}

void RespParser::FinishCommand(std::vector<std::string>* args) {
  args->swap(partial_);
  partial_.clear();
  state_ = State::kStart;
  arguments_expected_ = 0;
  bulk_bytes_ = 0;
}

RespParser::Outcome RespParser::Parse(std::string_view input, size_t* position,
                                      std::vector<std::string>* args) {
  while (true) {
    switch (state_) {
      case State::kError:
        return Outcome::kError;
      case State::kStart:
        if (*position >= input.size()) return Outcome::kNeedMore;
        if (input[*position] == '*') return ParseMultibulkCount(input, position, args);
        return ParseInline(input, position, args);
      case State::kMultibulkArgument: {
        if (partial_.size() == arguments_expected_) {
          FinishCommand(args);
          return Outcome::kCommand;
        }
        Outcome outcome = ParseBulkLength(input, position);
        if (outcome != Outcome::kCommand) return outcome;
        break;
      }
      case State::kBulkData: {
        Outcome outcome = ParseBulkData(input, position);
        if (outcome != Outcome::kCommand) return outcome;
        break;
      }
    }
  }
}

RespParser::Outcome RespParser::ParseInline(std::string_view input, size_t* position,
                                            std::vector<std::string>* args) {
  std::string_view rest = input.substr(*position);
  size_t newline = rest.find('\n');
  if (newline == std::string_view::npos) {
    if (rest.size() > limits_.inline_bytes_max) {
      return Fail("Protocol error: too big inline request");
    }
    return Outcome::kNeedMore;
  }
  if (newline > limits_.inline_bytes_max) return Fail("Protocol error: too big inline request");
  std::string_view line = rest.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!SplitInlineArguments(line, args)) {
    return Fail("Protocol error: unbalanced quotes in request");
  }
  *position += newline + 1;
  return Outcome::kCommand;
}

RespParser::Outcome RespParser::ParseMultibulkCount(std::string_view input, size_t* position,
                                                    std::vector<std::string>* args) {
  assert(input[*position] == '*');
  std::string_view rest = input.substr(*position);
  size_t carriage_return = rest.find('\r');
  if (carriage_return == std::string_view::npos) {
    if (rest.size() > limits_.inline_bytes_max) {
      return Fail("Protocol error: too big mbulk count string");
    }
    return Outcome::kNeedMore;
  }
  if (carriage_return > limits_.inline_bytes_max) {
    return Fail("Protocol error: too big mbulk count string");
  }
  if (carriage_return + 1 >= rest.size()) return Outcome::kNeedMore;  // wait for the '\n'
  if (rest[carriage_return + 1] != '\n') return Fail("Protocol error: invalid multibulk length");
  int64_t count = 0;
  if (!ParseInt64(rest.substr(1, carriage_return - 1), &count) ||
      count > static_cast<int64_t>(limits_.multibulk_args_max)) {
    return Fail("Protocol error: invalid multibulk length");
  }
  *position += carriage_return + 2;
  partial_.clear();
  if (count <= 0) {
    // "*0" and "*-1" are empty requests: Redis skips them without a reply.
    FinishCommand(args);
    return Outcome::kCommand;
  }
  arguments_expected_ = static_cast<uint64_t>(count);
  // Reserve only a bounded amount: the count is the client's claim, not yet backed by bytes.
  partial_.reserve(std::min<uint64_t>(arguments_expected_, 1024));
  state_ = State::kMultibulkArgument;
  return Parse(input, position, args);
}

RespParser::Outcome RespParser::ParseBulkLength(std::string_view input, size_t* position) {
  std::string_view rest = input.substr(*position);
  if (rest.empty()) return Outcome::kNeedMore;
  if (rest[0] != '$') {
    return Fail(std::string("Protocol error: expected '$', got '") + rest[0] + "'");
  }
  size_t carriage_return = rest.find('\r');
  if (carriage_return == std::string_view::npos) {
    if (rest.size() > limits_.inline_bytes_max) {
      return Fail("Protocol error: too big bulk count string");
    }
    return Outcome::kNeedMore;
  }
  if (carriage_return > limits_.inline_bytes_max) {
    return Fail("Protocol error: too big bulk count string");
  }
  if (carriage_return + 1 >= rest.size()) return Outcome::kNeedMore;
  int64_t length = 0;
  if (rest[carriage_return + 1] != '\n' ||
      !ParseInt64(rest.substr(1, carriage_return - 1), &length) || length < 0 ||
      static_cast<uint64_t>(length) > limits_.bulk_bytes_max) {
    return Fail("Protocol error: invalid bulk length");
  }
  *position += carriage_return + 2;
  bulk_bytes_ = static_cast<uint64_t>(length);
  partial_.emplace_back();
  partial_.back().reserve(std::min(bulk_bytes_, kBulkReserveBytesMax));
  state_ = State::kBulkData;
  return Outcome::kCommand;  // internal: go on with the next state
}

RespParser::Outcome RespParser::ParseBulkData(std::string_view input, size_t* position) {
  std::string& bulk = partial_.back();
  assert(bulk.size() <= bulk_bytes_);
  uint64_t missing = bulk_bytes_ - bulk.size();
  uint64_t available = input.size() - *position;
  uint64_t take = std::min(missing, available);
  bulk.append(input.data() + *position, take);
  *position += take;
  if (bulk.size() < bulk_bytes_) return Outcome::kNeedMore;
  // The bulk is complete; its "\r\n" must follow (both bytes present before they are judged).
  if (input.size() - *position < 2) return Outcome::kNeedMore;
  if (input[*position] != '\r' || input[*position + 1] != '\n') {
    return Fail("Protocol error: expected '\\r\\n' after bulk data");
  }
  *position += 2;
  state_ = State::kMultibulkArgument;
  return Outcome::kCommand;  // internal: go on with the next state
}

uint64_t RespParser::PartialBytes() const {
  uint64_t bytes = partial_.size() * sizeof(std::string);
  for (const std::string& argument : partial_) bytes += argument.size();
  return bytes;
}

}  // namespace ordo::server
