// Keyspace commands (Redis's db.c, expire.c and object.c): DEL, EXISTS, TYPE, KEYS, SCAN,
// DBSIZE, FLUSHDB/FLUSHALL, SELECT, MOVE, SWAPDB, RENAME, COPY, RANDOMKEY, OBJECT and the
// expiry commands.
//
// EXPIRE, PERSIST, RENAME, COPY and MOVE log metadata-only ops (docs/FORMAT.md, types 10 to
// 12): a key's new expiry, or its entry moved or copied to another name; the value is never
// written again, so they cost a few dozen log bytes whatever the value's size.
#include <algorithm>
#include <random>
#include <set>

#include "log/write_batch_internal.h"
#include "server/commands.h"
#include "server/glob_match.h"
#include "server/reply.h"
#include "server/resp_parser.h"
#include "util/clock.h"

namespace ordo::server {

namespace {

// SCAN cursors. The position of a scan is the key to resume from. A key of 1..7 bytes is
// encoded in the cursor itself: bits 56..62 hold its length, bits 0..55 its bytes (so the
// cursor is a plain number, as every client expects). A longer key is remembered in a bounded
// table and the cursor is its id with bit 63 set; when the table is full the oldest entries
// are forgotten and their cursors answer "ERR invalid cursor" (documented in
// docs/OPERATIONS-server.md).
constexpr uint64_t kCursorTableBit = 1ull << 63;
constexpr size_t kCursorInlineBytesMax = 7;
constexpr size_t kCursorTableEntriesMax = 10000;
constexpr size_t kScanCountDefault = 10;
constexpr size_t kKeysBatchSize = 1024;

uint64_t EncodeCursor(ServerState* server, const std::string& next_key) {
  if (next_key.empty()) return 0;
  if (next_key.size() <= kCursorInlineBytesMax) {
    uint64_t cursor = static_cast<uint64_t>(next_key.size()) << 56;
    for (size_t i = 0; i < next_key.size(); ++i) {
      cursor |= static_cast<uint64_t>(static_cast<unsigned char>(next_key[i])) << (8 * (6 - i));
    }
    return cursor;
  }
  uint64_t id = server->next_scan_position_id++;
  server->scan_positions[id] = next_key;
  server->scan_position_order.push_back(id);
  while (server->scan_position_order.size() > kCursorTableEntriesMax) {
    server->scan_positions.erase(server->scan_position_order.front());
    server->scan_position_order.pop_front();
  }
  return id | kCursorTableBit;
}

bool DecodeCursor(ServerState* server, uint64_t cursor, std::string* start_key) {
  start_key->clear();
  if (cursor == 0) return true;
  if (cursor & kCursorTableBit) {
    auto found = server->scan_positions.find(cursor & ~kCursorTableBit);
    if (found == server->scan_positions.end()) return false;
    *start_key = found->second;
    return true;
  }
  size_t length = static_cast<size_t>(cursor >> 56);
  if (length == 0 || length > kCursorInlineBytesMax) return false;
  for (size_t i = 0; i < length; ++i) {
    start_key->push_back(static_cast<char>((cursor >> (8 * (6 - i))) & 0xff));
  }
  return true;
}

// Redis's parseScanCursorOrReply: strtoul's syntax without leading space. An empty text is 0;
// a sign may lead ("+0" and "-0" are 0; "-N" is 2^64 - N, as strtoul negates unsigned).
bool ParseCursor(std::string_view text, uint64_t* cursor) {
  if (text.empty()) {
    *cursor = 0;
    return true;
  }
  bool negative = text[0] == '-';
  if (text[0] == '+' || text[0] == '-') text.remove_prefix(1);
  if (text.empty() || text.size() > 20) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *cursor = negative ? 0 - value : value;
  return true;
}

// KEYS and SCAN treat "*" as "every key" without matching (stringmatchlen would not match
// "*" against an empty key).
bool MatchesPattern(std::string_view pattern, std::string_view key) {
  return pattern == "*" || GlobMatch(pattern, key);
}

enum ExpireFlag : uint32_t { kExpireNx = 1, kExpireXx = 2, kExpireGt = 4, kExpireLt = 8 };

bool ParseExpireFlags(CommandContext& context, uint32_t* flags) {
  for (size_t j = 3; j < context.argc(); ++j) {
    std::string_view option = context.arg(j);
    if (EqualsIgnoreCase(option, "nx")) {
      *flags |= kExpireNx;
    } else if (EqualsIgnoreCase(option, "xx")) {
      *flags |= kExpireXx;
    } else if (EqualsIgnoreCase(option, "gt")) {
      *flags |= kExpireGt;
    } else if (EqualsIgnoreCase(option, "lt")) {
      *flags |= kExpireLt;
    } else {
      ReplyError(context, "ERR Unsupported option " + std::string(option));
      return false;
    }
  }
  if ((*flags & kExpireNx) && (*flags & (kExpireXx | kExpireGt | kExpireLt))) {
    ReplyError(context, "ERR NX and XX, GT or LT options at the same time are not compatible");
    return false;
  }
  if ((*flags & kExpireGt) && (*flags & kExpireLt)) {
    ReplyError(context, "ERR GT and LT options at the same time are not compatible");
    return false;
  }
  return true;
}

// Whether the NX/XX/GT/LT conditions allow replacing `current_ms` (0 = none) by `when_ms`.
bool ExpireConditionsHold(uint32_t flags, int64_t current_ms, int64_t when_ms) {
  bool has_expiry = current_ms != 0;
  if ((flags & kExpireNx) && has_expiry) return false;
  if ((flags & kExpireXx) && !has_expiry) return false;
  if ((flags & kExpireGt) && (!has_expiry || when_ms <= current_ms)) return false;
  if ((flags & kExpireLt) && has_expiry && when_ms >= current_ms) return false;
  return true;
}

// Redis's expireGenericCommand. `base_ms` is now for relative forms and 0 for absolute ones.
void ExpireGeneric(CommandContext& context, int64_t base_ms, bool seconds) {
  uint32_t flags = 0;
  if (!ParseExpireFlags(context, &flags)) return;
  int64_t when = 0;
  if (!ParseIntegerArgument(context, context.arg(2), &when)) return;
  if (seconds) {
    if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) {
      ReplyInvalidExpireTime(context);
      return;
    }
    when *= 1000;
  }
  if (when > INT64_MAX - base_ms) {
    ReplyInvalidExpireTime(context);
    return;
  }
  when += base_ms;
  ReadInfo info;
  Status status = ReadKey(context, context.arg(1), nullptr, &info);
  if (!status.ok()) {
    if (status.IsNotFound()) AppendInteger(context.reply, 0);
    return;
  }
  if (!ExpireConditionsHold(flags, info.expire_at_ms, when)) {
    AppendInteger(context.reply, 0);
    return;
  }
  WriteBatch batch;
  if (when <= WallMillis()) {
    batch.Delete(context.arg(1));  // a time in the past deletes the key, as in Redis
  } else {
    WriteBatchInternal::SetExpiry(&batch, 0, context.arg(1), when);  // SubmitBatch's database
  }
  if (!SubmitBatch(context, std::move(batch))) return;
  AppendInteger(context.reply, 1);
}

// Redis's ttlGenericCommand: TTL, PTTL, and with `absolute` EXPIRETIME, PEXPIRETIME (the
// expiry itself rather than the time left); seconds are rounded to the nearest.
void TtlGeneric(CommandContext& context, bool milliseconds, bool absolute = false) {
  ReadInfo info;
  Status status = ReadKey(context, context.arg(1), nullptr, &info);
  if (!status.ok()) {
    if (status.IsNotFound()) AppendInteger(context.reply, -2);
    return;
  }
  if (info.expire_at_ms == 0) {
    AppendInteger(context.reply, -1);
    return;
  }
  int64_t ttl_ms = std::max<int64_t>(info.expire_at_ms - (absolute ? 0 : WallMillis()), 0);
  AppendInteger(context.reply, milliseconds ? ttl_ms : (ttl_ms + 500) / 1000);
}

}  // namespace

void DelCommand(CommandContext& context) {
  std::set<std::string_view> existing;
  for (size_t i = 1; i < context.argc(); ++i) {
    ReadInfo info;
    Status status = ReadKey(context, context.arg(i), nullptr, &info);
    if (status.ok()) {
      existing.insert(context.arg(i));
    } else if (!status.IsNotFound()) {
      return;
    }
  }
  if (!existing.empty()) {
    WriteBatch batch;
    for (std::string_view key : existing) batch.Delete(key);
    if (!SubmitBatch(context, std::move(batch))) return;
  }
  AppendInteger(context.reply, static_cast<int64_t>(existing.size()));
}

void ExistsCommand(CommandContext& context) {
  int64_t count = 0;
  for (size_t i = 1; i < context.argc(); ++i) {
    ReadInfo info;
    Status status = ReadKey(context, context.arg(i), nullptr, &info);
    if (status.ok()) {
      count += 1;
    } else if (!status.IsNotFound()) {
      return;
    }
  }
  AppendInteger(context.reply, count);
}

void TypeCommand(CommandContext& context) {
  ReadInfo info;
  Status status = ReadKey(context, context.arg(1), nullptr, &info);
  if (status.ok()) {
    AppendSimpleString(context.reply, "string");
  } else if (status.IsNotFound()) {
    AppendSimpleString(context.reply, "none");
  }
}

void KeysCommand(CommandContext& context) {
  const std::string& pattern = context.arg(1);
  std::vector<std::string> keys;
  std::string start;
  do {
    start = context.db->ScanIn(context.client->db, start, "", kKeysBatchSize,
                               [&](const DB::ScanEntry& entry) {
                                 if (MatchesPattern(pattern, entry.key)) keys.push_back(entry.key);
                               });
  } while (!start.empty());
  DependOnAllWrites(context);
  AppendBulkArray(context.reply, keys);
}

void ScanCommand(CommandContext& context) {
  uint64_t cursor = 0;
  std::string start;
  if (!ParseCursor(context.arg(1), &cursor) || !DecodeCursor(context.server, cursor, &start)) {
    ReplyError(context, "ERR invalid cursor");
    return;
  }
  std::string_view pattern = "*";
  std::string_view type = "";
  int64_t count = kScanCountDefault;
  for (size_t j = 2; j < context.argc(); j += 2) {
    bool has_value = j + 1 < context.argc();
    if (has_value && EqualsIgnoreCase(context.arg(j), "count")) {
      if (!ParseIntegerArgument(context, context.arg(j + 1), &count)) return;
      if (count < 1) return ReplySyntaxError(context);
    } else if (has_value && EqualsIgnoreCase(context.arg(j), "match")) {
      pattern = context.arg(j + 1);
    } else if (has_value && EqualsIgnoreCase(context.arg(j), "type")) {
      type = context.arg(j + 1);
    } else {
      return ReplySyntaxError(context);
    }
  }
  std::vector<std::string> keys;
  bool type_matches = type.empty() || EqualsIgnoreCase(type, "string");
  std::string next = context.db->ScanIn(context.client->db, start, "", static_cast<size_t>(count),
                                        [&](const DB::ScanEntry& entry) {
                                          if (type_matches && MatchesPattern(pattern, entry.key)) {
                                            keys.push_back(entry.key);
                                          }
                                        });
  DependOnAllWrites(context);
  AppendArrayHeader(context.reply, 2);
  AppendBulk(context.reply, std::to_string(EncodeCursor(context.server, next)));
  AppendBulkArray(context.reply, keys);
}

void DbSizeCommand(CommandContext& context) {
  DependOnAllWrites(context);
  AppendInteger(context.reply, static_cast<int64_t>(context.db->CountKeysIn(context.client->db)));
}

void FlushCommand(CommandContext& context) {
  if (context.argc() > 2 || (context.argc() == 2 && !EqualsIgnoreCase(context.arg(1), "async") &&
                             !EqualsIgnoreCase(context.arg(1), "sync"))) {
    return ReplySyntaxError(context);
  }
  WriteBatch batch;
  if (EqualsIgnoreCase(context.arg(0), "flushall")) {
    batch.ClearDatabase();
  } else {
    WriteBatchInternal::FlushDatabase(&batch, context.client->db);
  }
  if (!SubmitBatchAsBuilt(context, std::move(batch))) return;
  ReplyOk(context);
}

namespace {

// An int argument as Redis's getIntFromObjectOrReply reads it: false after replying `error`
// (or Redis's own texts when it is empty) for a non-integer or one outside an int.
bool ParseIntArgument(CommandContext& context, const std::string& text, std::string_view error,
                      int64_t* value) {
  if (!ParseInt64(text, value)) {
    ReplyError(context, error.empty() ? "ERR value is not an integer or out of range" : error);
    return false;
  }
  if (*value < INT32_MIN || *value > INT32_MAX) {
    ReplyError(context, !error.empty()
                            ? std::string(error)
                            : "ERR value is out of range, value must between -2147483648 "
                              "and 2147483647");
    return false;
  }
  return true;
}

// Whether `key` of database `db` exists, for a command about to write it (Redis's
// lookupKeyWrite: no keyspace hit or miss is counted). OK, or NotFound (the reply then depends
// on every submitted write: an unacknowledged delete may be why it is absent); any other
// status has been replied.
Status LookupForWrite(CommandContext& context, uint32_t db, std::string_view key, ReadInfo* info) {
  Status status = context.db->GetInfoIn(db, key, info);
  if (status.ok()) {
    context.required_lsn = std::max(context.required_lsn, info->observed_lsn);
  } else if (status.IsNotFound()) {
    DependOnAllWrites(context);
  } else {
    ReplyDatabaseError(context, status);
  }
  return status;
}

// Whether `index` names a database (SELECT, MOVE, SWAPDB, COPY); if not, replies Redis's error.
bool ValidDatabase(CommandContext& context, int64_t index) {
  if (index >= 0 && index < static_cast<int64_t>(context.server->databases)) return true;
  ReplyError(context, "ERR DB index is out of range");
  return false;
}

}  // namespace

void SelectCommand(CommandContext& context) {
  int64_t db = 0;
  if (!ParseIntArgument(context, context.arg(1), "", &db) || !ValidDatabase(context, db)) return;
  context.client->db = static_cast<uint32_t>(db);
  ReplyOk(context);
}

void MoveCommand(CommandContext& context) {
  int64_t index = 0;
  if (!ParseIntArgument(context, context.arg(2), "", &index) || !ValidDatabase(context, index)) {
    return;
  }
  const uint32_t target = static_cast<uint32_t>(index);
  const uint32_t source = context.client->db;
  if (target == source) {
    return ReplyError(context, "ERR source and destination objects are the same");
  }
  ReadInfo info;
  Status read = ReadKey(context, context.arg(1), nullptr, &info);
  if (read.IsNotFound()) return AppendInteger(context.reply, 0);
  if (!read.ok()) return;
  ReadInfo there;
  Status exists = LookupForWrite(context, target, context.arg(1), &there);
  if (exists.ok()) return AppendInteger(context.reply, 0);
  if (!exists.IsNotFound()) return;
  // One op: the key's entry moves to the other database, its value stays where it is in the
  // log; the key is never in both databases, nor in neither.
  WriteBatch batch;
  WriteBatchInternal::Rename(&batch, source, context.arg(1), target, context.arg(1));
  if (!SubmitBatchAsBuilt(context, std::move(batch))) return;
  AppendInteger(context.reply, 1);
}

namespace {

// Redis's renameGenericCommand: a missing source is an error even when both names are the
// same; the same name is then OK (RENAME) or 0 (RENAMENX) and changes nothing.
void RenameGeneric(CommandContext& context, bool only_if_absent) {
  const uint32_t db = context.client->db;
  const std::string& key = context.arg(1);
  const std::string& target = context.arg(2);
  ReadInfo info;
  Status read = LookupForWrite(context, db, key, &info);
  if (read.IsNotFound()) return ReplyError(context, "ERR no such key");
  if (!read.ok()) return;
  if (key == target) {
    return only_if_absent ? AppendInteger(context.reply, 0) : ReplyOk(context);
  }
  ReadInfo there;
  Status exists = LookupForWrite(context, db, target, &there);
  if (!exists.ok() && !exists.IsNotFound()) return;
  if (exists.ok() && only_if_absent) return AppendInteger(context.reply, 0);
  WriteBatch batch;
  WriteBatchInternal::Rename(&batch, db, key, db, target);
  if (!SubmitBatchAsBuilt(context, std::move(batch))) return;
  return only_if_absent ? AppendInteger(context.reply, 1) : ReplyOk(context);
}

// An integer-looking value as Redis's tryObjectEncoding takes it (string2l): at most 20
// bytes, no sign but '-', no leading zero, no spaces, within a long.
bool IsCanonicalLong(std::string_view value, int64_t* number) {
  return value.size() <= 20 && ParseInt64(value, number);
}

// The longest string Redis keeps in one allocation with its object (OBJ_ENCODING_EMBSTR).
constexpr uint64_t kEmbeddedStringBytesMax = 44;

// Redis's OBJECT ENCODING of a string as SET stores it (tryObjectEncoding): "int" when the value
// is a long written canonically, "embstr" up to 44 bytes, "raw" beyond.
std::string_view StringEncoding(std::string_view value) {
  int64_t number = 0;
  if (IsCanonicalLong(value, &number)) return "int";
  return value.size() <= kEmbeddedStringBytesMax ? "embstr" : "raw";
}

}  // namespace

void RenameCommand(CommandContext& context) { RenameGeneric(context, false); }
void RenameNxCommand(CommandContext& context) { RenameGeneric(context, true); }

void CopyCommand(CommandContext& context) {
  const uint32_t source = context.client->db;
  uint32_t target = source;
  bool replace = false;
  for (size_t j = 3; j < context.argc(); ++j) {
    const size_t additional = context.argc() - j - 1;
    if (EqualsIgnoreCase(context.arg(j), "replace")) {
      replace = true;
    } else if (EqualsIgnoreCase(context.arg(j), "db") && additional >= 1) {
      int64_t index = 0;
      if (!ParseIntArgument(context, context.arg(j + 1), "", &index) ||
          !ValidDatabase(context, index)) {
        return;
      }
      target = static_cast<uint32_t>(index);
      ++j;
    } else {
      return ReplySyntaxError(context);
    }
  }
  const std::string& key = context.arg(1);
  const std::string& target_key = context.arg(2);
  if (source == target && key == target_key) {
    return ReplyError(context, "ERR source and destination objects are the same");
  }
  ReadInfo info;
  Status read = ReadKey(context, key, nullptr, &info);
  if (read.IsNotFound()) return AppendInteger(context.reply, 0);
  if (!read.ok()) return;
  ReadInfo there;
  Status exists = LookupForWrite(context, target, target_key, &there);
  if (!exists.ok() && !exists.IsNotFound()) return;
  if (exists.ok() && !replace) return AppendInteger(context.reply, 0);
  // The copy names the same value in the log as the key; its expiry goes with it (Redis's).
  WriteBatch batch;
  WriteBatchInternal::Copy(&batch, source, key, target, target_key);
  if (!SubmitBatchAsBuilt(context, std::move(batch))) return;
  AppendInteger(context.reply, 1);
}

void RandomKeyCommand(CommandContext& context) {
  // The index keeps no ranks: the key is drawn uniformly among the keys counted, and found by
  // walking the database to it (O(N), docs/OPERATIONS-server.md). Keys expired but not yet
  // reclaimed are counted but never visited; if the draw falls among them, it is drawn again
  // among the keys the walk saw.
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const uint32_t db = context.client->db;
  DependOnAllWrites(context);
  uint64_t candidates = context.db->CountKeysIn(db);
  while (candidates > 0) {
    const uint64_t wanted = random() % candidates;
    uint64_t seen = 0;
    std::string chosen;
    bool found = false;
    std::string start;
    do {
      start = context.db->ScanIn(db, start, "", kKeysBatchSize, [&](const DB::ScanEntry& entry) {
        if (!found && seen == wanted) {
          chosen = entry.key;
          found = true;
        }
        ++seen;
      });
    } while (!found && !start.empty());
    if (found) return AppendBulk(context.reply, chosen);
    candidates = seen;
  }
  AppendNull(context.reply, context.client->protocol);
}

void ExpireTimeCommand(CommandContext& context) { TtlGeneric(context, false, true); }
void PExpireTimeCommand(CommandContext& context) { TtlGeneric(context, true, true); }

void ObjectCommand(CommandContext& context) {
  const std::string sub = ToLower(context.arg(1));
  if (sub == "help") {
    if (context.argc() != 2) return ReplyWrongSubcommandArity(context);
    AppendArrayHeader(context.reply, 15);
    for (std::string_view line : {
             "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             "ENCODING <key>",
             "    Return the kind of internal representation used in order to store the value",
             "    associated with a <key>.",
             "FREQ <key>",
             "    Return the access frequency index of the <key>. The returned integer is",
             "    proportional to the logarithm of the recent access frequency of the key.",
             "IDLETIME <key>",
             "    Return the idle time of the <key>, that is the approximated number of",
             "    seconds elapsed since the last access to the key.",
             "REFCOUNT <key>",
             "    Return the number of references of the value associated with the specified",
             "    <key>.",
             "HELP",
             "    Prints this help.",
         }) {
      AppendSimpleString(context.reply, line);
    }
    return;
  }
  if (sub != "encoding" && sub != "refcount" && sub != "idletime" && sub != "freq") {
    return ReplyUnknownSubcommand(context);
  }
  if (context.argc() != 3) return ReplyWrongSubcommandArity(context);
  // Only ENCODING and REFCOUNT depend on the value, and only on a short one: a longer value
  // is "raw" with one reference, and is not read (it may be 512 MiB). The size is looked at
  // first, without counting a keyspace hit or miss (ReadKey counts the one).
  const bool by_value = sub == "encoding" || sub == "refcount";
  ReadInfo info;
  const Status peek = context.db->GetInfoIn(context.client->db, context.arg(2), &info);
  const bool want_value = by_value && (!peek.ok() || info.value_bytes <= kEmbeddedStringBytesMax);
  std::string value;
  Status read = ReadKey(context, context.arg(2), want_value ? &value : nullptr, &info);
  if (read.IsNotFound()) return AppendNull(context.reply, context.client->protocol);
  if (!read.ok()) return;
  const bool long_value = info.value_bytes > kEmbeddedStringBytesMax;
  if (sub == "encoding")
    return AppendBulk(context.reply, long_value ? "raw" : StringEncoding(value));
  if (sub == "refcount") {
    // Redis shares the objects of the integers 0 to 9999 and reports INT_MAX references to
    // them (OBJ_SHARED_REFCOUNT); every other value has one.
    int64_t number = 0;
    const bool shared =
        !long_value && IsCanonicalLong(value, &number) && number >= 0 && number < 10000;
    return AppendInteger(context.reply, shared ? INT32_MAX : 1);
  }
  if (sub == "idletime") {
    // ordo keeps no access clock (reads do not write): every key answers 0 seconds idle
    // (docs/OPERATIONS-server.md).
    return AppendInteger(context.reply, 0);
  }
  // maxmemory-policy is always noeviction, so no access frequency is kept: Redis's refusal.
  ReplyError(context,
             "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
             "note that when switching between policies at runtime LRU and LFU data will take "
             "some time to adjust.");
}

void SwapDbCommand(CommandContext& context) {
  int64_t first_index = 0;
  int64_t second_index = 0;
  if (!ParseIntArgument(context, context.arg(1), "ERR invalid first DB index", &first_index) ||
      !ParseIntArgument(context, context.arg(2), "ERR invalid second DB index", &second_index)) {
    return;
  }
  if ((first_index < 0 || first_index >= static_cast<int64_t>(context.server->databases) ||
       second_index < 0 || second_index >= static_cast<int64_t>(context.server->databases))) {
    return ReplyError(context, "ERR DB index is out of range");
  }
  const uint32_t first = static_cast<uint32_t>(first_index);
  const uint32_t second = static_cast<uint32_t>(second_index);
  DependOnAllWrites(context);
  if (first == second) return ReplyOk(context);
  // Redis swaps two pointers; ordo logs the effect, so that replay never depends on anything
  // but the log: both databases emptied and each one's keys written into the other, as one
  // record (bounded by a record's 1 GiB; docs/OPERATIONS-server.md).
  WriteBatch batch;
  WriteBatchInternal::FlushDatabase(&batch, first);
  WriteBatchInternal::FlushDatabase(&batch, second);
  for (const auto& [from, to] : {std::pair{first, second}, std::pair{second, first}}) {
    Status read = context.db->ForEachIn(
        from, "", "", [&](std::string_view key, std::string_view value, const ReadInfo& info) {
          batch.Put(key, value, info.expire_at_ms);
          WriteBatchInternal::MutableOps(&batch).back().db = to;
          return true;
        });
    if (!read.ok()) return ReplyDatabaseError(context, read);
  }
  if (!SubmitBatchAsBuilt(context, std::move(batch))) return;
  ReplyOk(context);
}

void ExpireCommand(CommandContext& context) { ExpireGeneric(context, WallMillis(), true); }
void PExpireCommand(CommandContext& context) { ExpireGeneric(context, WallMillis(), false); }
void ExpireAtCommand(CommandContext& context) { ExpireGeneric(context, 0, true); }
void PExpireAtCommand(CommandContext& context) { ExpireGeneric(context, 0, false); }
void TtlCommand(CommandContext& context) { TtlGeneric(context, false); }
void PTtlCommand(CommandContext& context) { TtlGeneric(context, true); }

void PersistCommand(CommandContext& context) {
  ReadInfo info;
  Status status = ReadKey(context, context.arg(1), nullptr, &info);
  if (!status.ok()) {
    if (status.IsNotFound()) AppendInteger(context.reply, 0);
    return;
  }
  if (info.expire_at_ms == 0) {
    AppendInteger(context.reply, 0);
    return;
  }
  WriteBatch batch;
  WriteBatchInternal::SetExpiry(&batch, 0, context.arg(1), 0);  // SubmitBatch's database
  if (!SubmitBatch(context, std::move(batch))) return;
  AppendInteger(context.reply, 1);
}

}  // namespace ordo::server
