// String commands (Redis's t_string.c). A read-modify-write command reads the current value
// (which includes every write this thread submitted), computes, and submits one batch; the
// reply waits for that batch's LSN. Commands that change a value in place (INCR, APPEND,
// SETRANGE) keep its expiry, as Redis does; commands that replace it (SET, GETSET) drop it.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "log/write_batch_internal.h"
#include "server/commands.h"
#include "server/reply.h"
#include "server/resp_parser.h"
#include "util/clock.h"

namespace ordo::server {

namespace {

// Reads `key` into *value / *info. Returns false after replying to a database error; *found
// says whether the key exists.
bool LoadKey(CommandContext& context, std::string_view key, std::string* value, ReadInfo* info,
             bool* found) {
  Status status = ReadKey(context, key, value, info);
  *found = status.ok();
  return status.ok() || status.IsNotFound();
}

// Redis's checkStringLength: a string may not grow past proto-max-bulk-len.
bool CheckStringLength(CommandContext& context, uint64_t size, uint64_t append) {
  if (size > kBulkBytesMax || append > kBulkBytesMax - size) {
    ReplyError(context, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return false;
  }
  return true;
}

// ---- SET / GETEX options (Redis's parseExtendedStringArgumentsOrReply).

enum SetFlag : uint32_t {
  kSetNx = 1u << 0,
  kSetXx = 1u << 1,
  kSetGet = 1u << 2,
  kSetKeepTtl = 1u << 3,
  kSetPersist = 1u << 4,
  kSetEx = 1u << 5,
  kSetPx = 1u << 6,
  kSetExAt = 1u << 7,
  kSetPxAt = 1u << 8,
};
constexpr uint32_t kSetAnyExpire = kSetEx | kSetPx | kSetExAt | kSetPxAt;

struct SetOptions {
  uint32_t flags = 0;
  uint32_t expire_unit = 0;      // kSetEx, kSetPx, kSetExAt, kSetPxAt or 0 for none
  std::string_view expire_text;  // the unit's argument, checked by ResolveExpiry
  int64_t expire_at_ms = 0;      // absolute; 0 when no expiry option was given
};

// Converts an EX/PX/EXAT/PXAT argument to an absolute time in ms, or replies the error.
bool ExpireArgumentToAbsolute(CommandContext& context, std::string_view text, uint32_t unit,
                              int64_t* expire_at_ms) {
  int64_t when = 0;
  if (!ParseIntegerArgument(context, text, &when)) return false;
  bool seconds = unit == kSetEx || unit == kSetExAt;
  if (when <= 0 || (seconds && when > INT64_MAX / 1000)) {
    ReplyInvalidExpireTime(context);
    return false;
  }
  if (seconds) when *= 1000;
  if (unit == kSetEx || unit == kSetPx) {
    int64_t now_ms = WallMillis();
    if (when > INT64_MAX - now_ms) {
      ReplyInvalidExpireTime(context);
      return false;
    }
    when += now_ms;
  }
  *expire_at_ms = when;
  return true;
}

// Parses options from args[first] on. `is_set`: SET's options, else GETEX's. Only the syntax:
// the expiry's number is checked by ResolveExpiry, which GETEX calls only once it has found
// the key (Redis's GETEX of a missing key replies nil whatever the number).
bool ParseSetOptions(CommandContext& context, size_t first, bool is_set, SetOptions* options) {
  uint32_t& flags = options->flags;
  for (size_t j = first; j < context.argc(); ++j) {
    std::string_view option = context.arg(j);
    bool has_next = j + 1 < context.argc();
    auto is = [&](std::string_view name) { return EqualsIgnoreCase(option, name); };
    if (is_set && is("nx") && !(flags & kSetXx)) {
      flags |= kSetNx;
    } else if (is_set && is("xx") && !(flags & kSetNx)) {
      flags |= kSetXx;
    } else if (is_set && is("get")) {
      flags |= kSetGet;
    } else if (is_set && is("keepttl") && !(flags & (kSetPersist | kSetAnyExpire))) {
      flags |= kSetKeepTtl;
    } else if (!is_set && is("persist") && !(flags & (kSetKeepTtl | kSetAnyExpire))) {
      flags |= kSetPersist;
    } else if (has_next && (is("ex") || is("px") || is("exat") || is("pxat"))) {
      uint32_t unit = is("ex") ? kSetEx : is("px") ? kSetPx : is("exat") ? kSetExAt : kSetPxAt;
      // Another unit (or KEEPTTL/PERSIST) already given is a conflict; the same unit again
      // overrides, as in Redis.
      if (flags & (kSetKeepTtl | kSetPersist | (kSetAnyExpire & ~unit))) {
        ReplySyntaxError(context);
        return false;
      }
      flags |= unit;
      options->expire_unit = unit;
      options->expire_text = context.arg(++j);
    } else {
      ReplySyntaxError(context);
      return false;
    }
  }
  return true;
}

// Sets options->expire_at_ms from the parsed expiry option, if any, or replies the error.
bool ResolveExpiry(CommandContext& context, SetOptions* options) {
  if (options->expire_unit == 0) return true;
  return ExpireArgumentToAbsolute(context, options->expire_text, options->expire_unit,
                                  &options->expire_at_ms);
}

// Keeps only the reply appended after `mark` (an error), dropping what came before it from
// `start` on: one command, one reply.
void KeepOnlyTail(CommandContext& context, size_t start, size_t mark) {
  std::string tail = context.reply->substr(mark);
  context.reply->resize(start);
  context.reply->append(tail);
}

void ReplyValueOrNull(CommandContext& context, bool found, std::string_view value) {
  if (found) {
    AppendBulk(context.reply, value);
  } else {
    AppendNull(context.reply, context.client->protocol);
  }
}

// The core of SET, SETNX, SETEX, PSETEX (Redis's setGenericCommand).
void SetGeneric(CommandContext& context, std::string_view key, std::string_view value,
                const SetOptions& options, bool reply_integer) {
  size_t start = context.reply->size();
  std::string old_value;
  ReadInfo info;
  bool found = false;
  bool need_value = (options.flags & kSetGet) != 0;
  // A plain SET needs nothing of the old key: skip the lookup (a hot path under SET load).
  const bool need_lookup = (options.flags & (kSetNx | kSetXx | kSetGet | kSetKeepTtl)) != 0;
  if (need_lookup && !LoadKey(context, key, need_value ? &old_value : nullptr, &info, &found)) {
    return;
  }
  if (need_value) ReplyValueOrNull(context, found, old_value);
  if (((options.flags & kSetNx) && found) || ((options.flags & kSetXx) && !found)) {
    if (reply_integer) {
      AppendInteger(context.reply, 0);
    } else if (!need_value) {
      AppendNull(context.reply, context.client->protocol);
    }
    return;
  }
  int64_t expire_at_ms = options.expire_at_ms;
  if ((options.flags & kSetKeepTtl) && found) expire_at_ms = info.expire_at_ms;
  WriteBatch batch;
  batch.Put(key, value, expire_at_ms);
  size_t mark = context.reply->size();
  if (!SubmitBatch(context, std::move(batch))) {
    KeepOnlyTail(context, start, mark);  // the error replaces the GET reply
    return;
  }
  if (reply_integer) {
    AppendInteger(context.reply, 1);
  } else if (!need_value) {
    ReplyOk(context);
  }
}

// INCR, DECR, INCRBY, DECRBY (Redis's incrDecrCommand).
void IncrementBy(CommandContext& context, int64_t increment) {
  std::string value;
  ReadInfo info;
  bool found = false;
  if (!LoadKey(context, context.arg(1), &value, &info, &found)) return;
  int64_t current = 0;
  if (found && !ParseInt64(value, &current)) {
    ReplyNotInteger(context);
    return;
  }
  if ((increment < 0 && current < 0 && increment < INT64_MIN - current) ||
      (increment > 0 && current > 0 && increment > INT64_MAX - current)) {
    ReplyError(context, "ERR increment or decrement would overflow");
    return;
  }
  int64_t result = current + increment;
  WriteBatch batch;
  batch.Put(context.arg(1), std::to_string(result), found ? info.expire_at_ms : 0);
  if (!SubmitBatch(context, std::move(batch))) return;
  AppendInteger(context.reply, result);
}

// Redis's string2ld: strtold over the whole text, no leading space, no NaN, no overflow. A NUL
// byte ends strtold's input: text with one inside is not a number (Redis compares the parsed
// length with the text's).
bool ParseLongDouble(std::string_view text, long double* value) {
  constexpr size_t kLongDoubleCharsMax = 5 * 1024;
  if (text.empty() || text.size() >= kLongDoubleCharsMax) return false;
  std::string buffer(text);
  if (std::isspace(static_cast<unsigned char>(buffer[0]))) return false;
  errno = 0;
  char* end = nullptr;
  long double parsed = std::strtold(buffer.c_str(), &end);
  if (end != buffer.data() + buffer.size() || std::isnan(parsed)) return false;
  if (errno == ERANGE && (parsed == HUGE_VALL || parsed == -HUGE_VALL || parsed == 0.0L)) {
    return false;
  }
  *value = parsed;
  return true;
}

// Redis's ld2string in LD_STR_HUMAN mode: "%.17Lf" without trailing zeros, "-0" as "0".
std::string FormatLongDouble(long double value) {
  char buffer[5 * 1024];
  int length = std::snprintf(buffer, sizeof(buffer), "%.17Lf", value);
  assert(length > 0 && static_cast<size_t>(length) < sizeof(buffer));
  if (std::strchr(buffer, '.') != nullptr) {
    while (buffer[length - 1] == '0') --length;
    if (buffer[length - 1] == '.') --length;
  }
  std::string text(buffer, static_cast<size_t>(length));
  if (text == "-0") text = "0";
  return text;
}

}  // namespace

void GetCommand(CommandContext& context) {
  std::string value;
  ReadInfo info;
  bool found = false;
  if (!LoadKey(context, context.arg(1), &value, &info, &found)) return;
  ReplyValueOrNull(context, found, value);
}

void SetCommand(CommandContext& context) {
  SetOptions options;
  if (!ParseSetOptions(context, 3, true, &options) || !ResolveExpiry(context, &options)) return;
  SetGeneric(context, context.arg(1), context.arg(2), options, false);
}

void SetNxCommand(CommandContext& context) {
  SetOptions options;
  options.flags = kSetNx;
  SetGeneric(context, context.arg(1), context.arg(2), options, true);
}

void SetExCommand(CommandContext& context) {
  SetOptions options;
  options.flags = kSetEx;
  if (!ExpireArgumentToAbsolute(context, context.arg(2), kSetEx, &options.expire_at_ms)) return;
  SetGeneric(context, context.arg(1), context.arg(3), options, false);
}

void PSetExCommand(CommandContext& context) {
  SetOptions options;
  options.flags = kSetPx;
  if (!ExpireArgumentToAbsolute(context, context.arg(2), kSetPx, &options.expire_at_ms)) return;
  SetGeneric(context, context.arg(1), context.arg(3), options, false);
}

void GetSetCommand(CommandContext& context) {
  SetOptions options;
  options.flags = kSetGet;
  SetGeneric(context, context.arg(1), context.arg(2), options, false);
}

void GetDelCommand(CommandContext& context) {
  std::string value;
  ReadInfo info;
  bool found = false;
  if (!LoadKey(context, context.arg(1), &value, &info, &found)) return;
  if (!found) {
    AppendNull(context.reply, context.client->protocol);
    return;
  }
  WriteBatch batch;
  batch.Delete(context.arg(1));
  if (!SubmitBatch(context, std::move(batch))) return;
  AppendBulk(context.reply, value);
}

void GetExCommand(CommandContext& context) {
  SetOptions options;
  if (!ParseSetOptions(context, 2, false, &options)) return;
  std::string value;
  ReadInfo info;
  bool found = false;
  if (!LoadKey(context, context.arg(1), &value, &info, &found)) return;
  if (!found) {
    AppendNull(context.reply, context.client->protocol);
    return;
  }
  if (!ResolveExpiry(context, &options)) return;
  bool change_expiry =
      (options.flags & kSetAnyExpire) || ((options.flags & kSetPersist) && info.expire_at_ms != 0);
  if (change_expiry) {
    WriteBatch batch;
    if ((options.flags & kSetAnyExpire) && options.expire_at_ms <= WallMillis()) {
      batch.Delete(context.arg(1));  // an expiry in the past deletes, as Redis does
    } else {
      // Only the expiry changes: the value is not logged again (FORMAT.md, set expiry).
      WriteBatchInternal::SetExpiry(&batch, 0, context.arg(1), options.expire_at_ms);
    }
    if (!SubmitBatch(context, std::move(batch))) return;
  }
  AppendBulk(context.reply, value);
}

void MGetCommand(CommandContext& context) {
  size_t start = context.reply->size();
  AppendArrayHeader(context.reply, context.argc() - 1);
  for (size_t i = 1; i < context.argc(); ++i) {
    std::string value;
    ReadInfo info;
    size_t mark = context.reply->size();
    Status status = ReadKey(context, context.arg(i), &value, &info);
    if (!status.ok() && !status.IsNotFound()) {
      KeepOnlyTail(context, start, mark);  // the error is the whole reply
      return;
    }
    ReplyValueOrNull(context, status.ok(), value);
  }
}

void MSetCommand(CommandContext& context) {
  if (context.argc() % 2 == 0) {
    ReplyError(context,
               "ERR wrong number of arguments for '" + ToLower(context.arg(0)) + "' command");
    return;
  }
  bool only_if_none_exist = EqualsIgnoreCase(context.arg(0), "msetnx");
  if (only_if_none_exist) {
    for (size_t i = 1; i < context.argc(); i += 2) {
      ReadInfo info;
      bool found = false;
      if (!LoadKey(context, context.arg(i), nullptr, &info, &found)) return;
      if (found) {
        AppendInteger(context.reply, 0);
        return;
      }
    }
  }
  WriteBatch batch;
  for (size_t i = 1; i < context.argc(); i += 2) batch.Put(context.arg(i), context.arg(i + 1));
  if (!SubmitBatch(context, std::move(batch))) return;
  if (only_if_none_exist) {
    AppendInteger(context.reply, 1);
  } else {
    ReplyOk(context);
  }
}

void MSetNxCommand(CommandContext& context) { MSetCommand(context); }

void AppendCommand(CommandContext& context) {
  std::string value;
  ReadInfo info;
  bool found = false;
  if (!LoadKey(context, context.arg(1), &value, &info, &found)) return;
  if (found && !CheckStringLength(context, value.size(), context.arg(2).size())) return;
  value.append(context.arg(2));
  WriteBatch batch;
  batch.Put(context.arg(1), value, found ? info.expire_at_ms : 0);
  if (!SubmitBatch(context, std::move(batch))) return;
  AppendInteger(context.reply, static_cast<int64_t>(value.size()));
}

void StrLenCommand(CommandContext& context) {
  ReadInfo info;
  bool found = false;
  if (!LoadKey(context, context.arg(1), nullptr, &info, &found)) return;
  AppendInteger(context.reply, found ? static_cast<int64_t>(info.value_bytes) : 0);
}

void GetRangeCommand(CommandContext& context) {
  int64_t start = 0;
  int64_t end = 0;
  if (!ParseIntegerArgument(context, context.arg(2), &start)) return;
  if (!ParseIntegerArgument(context, context.arg(3), &end)) return;
  std::string value;
  ReadInfo info;
  bool found = false;
  if (!LoadKey(context, context.arg(1), &value, &info, &found)) return;
  int64_t length = static_cast<int64_t>(value.size());
  if (!found || (start < 0 && end < 0 && start > end)) {
    AppendBulk(context.reply, "");
    return;
  }
  if (start < 0) start = length + start;
  if (end < 0) end = length + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= length) end = length - 1;
  if (start > end || length == 0) {
    AppendBulk(context.reply, "");
    return;
  }
  AppendBulk(context.reply, std::string_view(value).substr(static_cast<size_t>(start),
                                                           static_cast<size_t>(end - start + 1)));
}

void SetRangeCommand(CommandContext& context) {
  int64_t offset = 0;
  if (!ParseIntegerArgument(context, context.arg(2), &offset)) return;
  if (offset < 0) {
    ReplyError(context, "ERR offset is out of range");
    return;
  }
  const std::string& patch = context.arg(3);
  std::string value;
  ReadInfo info;
  bool found = false;
  if (!LoadKey(context, context.arg(1), &value, &info, &found)) return;
  if (patch.empty()) {
    AppendInteger(context.reply, found ? static_cast<int64_t>(value.size()) : 0);
    return;
  }
  if (!CheckStringLength(context, static_cast<uint64_t>(offset), patch.size())) return;
  size_t needed = static_cast<size_t>(offset) + patch.size();
  if (value.size() < needed) value.resize(needed, '\0');
  value.replace(static_cast<size_t>(offset), patch.size(), patch);
  WriteBatch batch;
  batch.Put(context.arg(1), value, found ? info.expire_at_ms : 0);
  if (!SubmitBatch(context, std::move(batch))) return;
  AppendInteger(context.reply, static_cast<int64_t>(value.size()));
}

void IncrCommand(CommandContext& context) { IncrementBy(context, 1); }
void DecrCommand(CommandContext& context) { IncrementBy(context, -1); }

void IncrByCommand(CommandContext& context) {
  int64_t increment = 0;
  if (!ParseIntegerArgument(context, context.arg(2), &increment)) return;
  IncrementBy(context, increment);
}

void DecrByCommand(CommandContext& context) {
  int64_t decrement = 0;
  if (!ParseIntegerArgument(context, context.arg(2), &decrement)) return;
  if (decrement == INT64_MIN) {
    ReplyError(context, "ERR decrement would overflow");
    return;
  }
  IncrementBy(context, -decrement);
}

void IncrByFloatCommand(CommandContext& context) {
  std::string value;
  ReadInfo info;
  bool found = false;
  if (!LoadKey(context, context.arg(1), &value, &info, &found)) return;
  long double current = 0;
  long double increment = 0;
  if ((found && !ParseLongDouble(value, &current)) ||
      !ParseLongDouble(context.arg(2), &increment)) {
    ReplyError(context, "ERR value is not a valid float");
    return;
  }
  long double result = current + increment;
  if (std::isnan(result) || std::isinf(result)) {
    ReplyError(context, "ERR increment would produce NaN or Infinity");
    return;
  }
  std::string text = FormatLongDouble(result);
  WriteBatch batch;
  batch.Put(context.arg(1), text, found ? info.expire_at_ms : 0);
  if (!SubmitBatch(context, std::move(batch))) return;
  AppendBulk(context.reply, text);
}

}  // namespace ordo::server
