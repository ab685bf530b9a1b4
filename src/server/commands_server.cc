// Connection and server commands (Redis's server.c, networking.c, config.c, acl.c): PING,
// ECHO, QUIT, SELECT, INFO, CONFIG, COMMAND, CLIENT, HELLO, AUTH, SHUTDOWN. They read no keys
// except INFO, whose counts depend on every submitted write.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <utility>

#include "backup/archive_loop.h"
#include "io/slow_disk_file_system.h"
#include "repository/transfer.h"
#include "server/backup_worker.h"
#include "server/commands.h"
#include "server/glob_match.h"
#include "server/reply.h"
#include "server/resp_parser.h"
#include "util/clock.h"
#include "util/time_format.h"

#ifndef ORDO_VERSION
#define ORDO_VERSION "unknown"
#endif

namespace ordo::server {

namespace {

// The Redis version ordo reports, so that clients enable the commands it implements.
constexpr std::string_view kRedisVersion = "7.0.0";

std::string Line(std::string_view name, const std::string& value) {
  return std::string(name) + ":" + value + "\r\n";
}
std::string Line(std::string_view name, uint64_t value) {
  return Line(name, std::to_string(value));
}
std::string Line(std::string_view name, int64_t value) { return Line(name, std::to_string(value)); }
std::string Line(std::string_view name, int value) { return Line(name, std::to_string(value)); }
std::string Line(std::string_view name, double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3f", value);
  return Line(name, std::string(buffer));
}

std::string ServerSection(CommandContext& context) {
  const ServerState& server = *context.server;
  int64_t uptime_seconds = (WallMillis() - server.start_time_ms) / 1000;
  return "# Server\r\n" + Line("redis_version", std::string(kRedisVersion)) +
         Line("ordo_version", std::string(ORDO_VERSION)) + Line("redis_mode", "standalone") +
         Line("os", "Linux") + Line("arch_bits", 64) + Line("multiplexing_api", "epoll") +
         Line("process_id", static_cast<uint64_t>(getpid())) + Line("tcp_port", server.port) +
         Line("server_time_usec", WallMicros()) + Line("uptime_in_seconds", uptime_seconds) +
         Line("uptime_in_days", uptime_seconds / 86400) +
         Line("data_directory", server.data_directory);
}

std::string ClientsSection(CommandContext& context) {
  const ServerState& server = *context.server;
  std::pair<uint64_t, uint64_t> largest{0, 0};
  if (server.largest_client_buffers) largest = server.largest_client_buffers();
  return "# Clients\r\n" + Line("connected_clients", server.connected_clients) +
         Line("maxclients", server.maxclients) +
         Line("client_recent_max_input_buffer", largest.first) +
         Line("client_recent_max_output_buffer", largest.second) + Line("blocked_clients", 0) +
         Line("replies_waiting_for_durability", server.pending_replies) +
         Line("writes_waiting_for_budget", server.writes_waiting_for_budget);
}

// Redis's bytesToHuman: 930B, 1.23K, 4.50M, 2.00G.
std::string HumanBytes(uint64_t bytes) {
  char buffer[32];
  const double value = static_cast<double>(bytes);
  if (bytes < 1024) {
    std::snprintf(buffer, sizeof(buffer), "%lluB", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1024ull * 1024) {
    std::snprintf(buffer, sizeof(buffer), "%.2fK", value / 1024);
  } else if (bytes < 1024ull * 1024 * 1024) {
    std::snprintf(buffer, sizeof(buffer), "%.2fM", value / (1024 * 1024));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.2fG", value / (1024.0 * 1024 * 1024));
  }
  return buffer;
}

// A "VmRSS:" style line of /proc/self/status, in bytes (0 if absent).
uint64_t ProcessStatusBytes(std::string_view field) {
  FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return 0;
  char line[256];
  uint64_t bytes = 0;
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    std::string_view text(line);
    if (text.substr(0, field.size()) != field) continue;
    unsigned long long kilobytes = 0;
    if (std::sscanf(line + field.size(), "%llu", &kilobytes) == 1) bytes = kilobytes * 1024;
    break;
  }
  std::fclose(status);
  return bytes;
}

// ordo has no counting allocator: used_memory is the resident set (as used_memory_rss), so
// redis-cli --stat and dashboards show what the process really holds.
std::string MemorySection(CommandContext& context) {
  const ServerState& server = *context.server;
  const uint64_t resident = ProcessStatusBytes("VmRSS:");
  const uint64_t peak = ProcessStatusBytes("VmHWM:");
  const uint64_t cap = server.limits.MaxMemoryClientsBytes();
  return "# Memory\r\n" + Line("used_memory", resident) +
         Line("used_memory_human", HumanBytes(resident)) + Line("used_memory_rss", resident) +
         Line("used_memory_rss_human", HumanBytes(resident)) + Line("used_memory_peak", peak) +
         Line("used_memory_peak_human", HumanBytes(peak)) + Line("maxmemory", 0) +
         Line("maxmemory_human", "0B") + Line("maxmemory_policy", "noeviction") +
         Line("mem_clients_slaves", 0) + Line("mem_clients_normal", server.clients_memory) +
         Line("maxmemory_clients", cap) + Line("maxmemory_clients_human", HumanBytes(cap)) +
         Line("ordo_index_bytes", context.db->GetStatistics().index_bytes) +
         Line("ordo_pending_write_bytes", server.pending_write_bytes) +
         Line("ordo_write_budget_bytes", server.limits.WriteBudgetBytes());
}

// The backup fields of INFO persistence (rdb_* as Redis names its saves; ordo_backup_*).
std::string BackupLines(const ServerState& server) {
  if (server.backups == nullptr) {
    return Line("rdb_bgsave_in_progress", 0) +
           Line("rdb_last_save_time", server.start_time_ms / 1000) +
           Line("rdb_last_bgsave_status", "ok") + Line("ordo_backup_repository", "");
  }
  const BackupOutcome outcome = server.backups->outcome();
  return Line("rdb_bgsave_in_progress", outcome.in_progress ? 1 : 0) +
         Line("rdb_last_save_time", outcome.last_success_time_s != 0
                                        ? outcome.last_success_time_s
                                        : server.start_time_ms / 1000) +
         Line("rdb_last_bgsave_status", outcome.last_ok ? "ok" : "err") +
         Line("ordo_backup_repository", server.backups->repository_path()) +
         Line("ordo_backups_taken", outcome.backups_taken) +
         Line("ordo_backup_errors", outcome.backup_errors) +
         Line("ordo_last_backup_id", outcome.last_backup_id) +
         Line("ordo_last_backup_lsn", outcome.last_lsn) +
         Line("ordo_last_backup_duration_s", outcome.last_duration_seconds) +
         Line("ordo_last_backup_bytes_read", outcome.last_bytes_read) +
         Line("ordo_last_backup_bytes_written", outcome.last_bytes_written) +
         Line("ordo_last_backup_new_files", outcome.last_new_files) +
         Line("ordo_last_backup_throughput_mib_s", outcome.last_throughput_mib_per_second) +
         Line("ordo_last_backup_save_ms_max", outcome.last_save_ms_max) +
         Line("ordo_last_backup_save_ms_mean", outcome.last_save_ms_mean) +
         Line("ordo_last_backup_error", outcome.last_error);
}

// The continuous-archiving fields of INFO persistence (backup/archive_loop.h). archive_lag_ms
// is the live RPO as LiveLagMicros bounds it; the percentiles are over recent commits.
std::string ArchiveLines(const ServerState& server, uint64_t acked_lsn) {
  if (server.archive == nullptr) return Line("archive_enabled", 0);
  const backup::ArchiveSnapshot archive = server.archive->Snapshot();
  const int64_t lag_ms = backup::LiveLagMicros(archive, acked_lsn, WallMicros()) / 1000;
  return Line("archive_enabled", 1) + Line("archive_status", archive.status) +
         Line("archive_last_error", archive.last_error) +
         Line("archive_interval_ms", server.archive_interval_ms) +
         Line("archive_lsn", archive.archived_lsn) +
         Line("archive_commit_time",
              archive.archived_commit_time_micros == 0
                  ? std::string()
                  : FormatRfc3339Micros(archive.archived_commit_time_micros)) +
         Line("archive_lag_ms", lag_ms) +
         Line("archive_lag_p50_ms", archive.lag_p50_micros / 1000) +
         Line("archive_lag_p99_ms", archive.lag_p99_micros / 1000) +
         Line("archive_lag_max_ms", archive.lag_max_micros / 1000) +
         Line("archive_commits", archive.records) + Line("archive_pieces", archive.pieces) +
         Line("archive_bytes_read", archive.bytes_read) +
         Line("archive_bytes_written", archive.bytes_written) +
         Line("archive_rounds", archive.rounds) + Line("archive_errors", archive.errors);
}

std::string PersistenceSection(CommandContext& context) {
  const ServerState& server = *context.server;
  Statistics stats = context.db->GetStatistics();
  // The aof_/rdb_ fields keep tools that read them working: the log is always on (aof) and
  // there are no fork-based snapshots (rdb). The ordo_ fields describe the log itself.
  return "# Persistence\r\n" + Line("loading", 0) + Line("aof_enabled", 1) +
         Line("aof_rewrite_in_progress", 0) + Line("aof_rewrite_scheduled", 0) +
         Line("aof_last_write_status", stats.failed ? "err" : "ok") +
         Line("rdb_changes_since_last_save", 0) + BackupLines(server) +
         ArchiveLines(server, stats.acked_lsn) +
         Line("ordo_sync_mode", SyncModeName(server.sync_mode)) +
         Line("ordo_segments", stats.segments) +
         Line("ordo_active_segment_id", stats.active_segment_id) +
         Line("ordo_segment_bytes", server.segment_bytes) +
         Line("ordo_log_bytes", stats.log_bytes) + Line("ordo_last_lsn", stats.last_lsn) +
         Line("ordo_acked_lsn", stats.acked_lsn) + Line("ordo_durable_lsn", stats.durable_lsn) +
         Line("ordo_commits", stats.commits) + Line("ordo_syncs", stats.syncs) +
         Line("ordo_caller_groups", stats.caller_groups) +
         Line("ordo_bytes_written", stats.bytes_written) +
         Line("ordo_checkpoints", stats.checkpoints) +
         Line("ordo_last_checkpoint_lsn", stats.last_checkpoint_lsn) +
         Line("ordo_last_checkpoint_time_ms", stats.last_checkpoint_time_ms) +
         Line("ordo_index_bytes", stats.index_bytes) + Line("ordo_failed", stats.failed ? 1 : 0) +
         Line("ordo_failure", stats.failure) +
         Line("ordo_open_integrity_level", server.open_report.integrity_level) +
         Line("ordo_open_torn_tail_bytes", server.open_report.torn_tail_bytes);
}

std::string StatsSection(CommandContext& context) {
  const ServerState& server = *context.server;
  Statistics stats = context.db->GetStatistics();
  return "# Stats\r\n" + Line("total_connections_received", server.total_connections_received) +
         Line("total_commands_processed", server.total_commands_processed) +
         Line("rejected_connections", server.rejected_connections) +
         Line("expired_keys", stats.expired_keys) + Line("evicted_keys", 0) +
         Line("keyspace_hits", server.keyspace_hits) +
         Line("keyspace_misses", server.keyspace_misses) +
         Line("evicted_clients", server.evicted_clients) +
         Line("client_query_buffer_limit_disconnections",
              server.query_buffer_limit_disconnections) +
         Line("client_output_buffer_limit_disconnections",
              server.output_buffer_limit_disconnections) +
         Line("write_errors", server.write_errors);
}

std::string KeyspaceSection(CommandContext& context) {
  std::string text = "# Keyspace\r\n";
  const uint32_t databases = context.db->DatabasesInUse();
  for (uint32_t db = 0; db < databases; ++db) {
    const uint64_t keys = context.db->CountKeysIn(db);
    if (keys == 0) continue;
    text += "db" + std::to_string(db) + ":keys=" + std::to_string(keys) +
            ",expires=" + std::to_string(context.db->CountKeysWithExpiryIn(db)) + ",avg_ttl=0\r\n";
  }
  return text;
}

using SectionFunction = std::string (*)(CommandContext&);
const std::vector<std::pair<std::string_view, SectionFunction>>& Sections() {
  static const std::vector<std::pair<std::string_view, SectionFunction>> sections = {
      {"server", ServerSection}, {"clients", ClientsSection},
      {"memory", MemorySection}, {"persistence", PersistenceSection},
      {"stats", StatsSection},   {"keyspace", KeyspaceSection},
  };
  return sections;
}

// The values CONFIG GET reports: enough for client libraries and tools that probe settings.
std::vector<std::pair<std::string, std::string>> ConfigValues(const ServerState& server) {
  std::vector<std::pair<std::string, std::string>> values = {
      {"bind", server.bind_address},
      {"port", std::to_string(server.port)},
      {"dir", server.data_directory},
      {"save", ""},
      {"appendonly", "yes"},
      {"appendfsync", server.sync_mode == SyncMode::kAlways     ? "always"
                      : server.sync_mode == SyncMode::kEverySec ? "everysec"
                                                                : "no"},
      {"maxmemory", "0"},
      {"maxmemory-policy", "noeviction"},
      {"maxclients", std::to_string(server.maxclients)},
      {"databases", std::to_string(server.databases)},
      {"requirepass", server.requirepass},
      {"timeout", "0"},
      {"tcp-keepalive", "300"},
      {"cluster-enabled", "no"},
      {"protected-mode", "no"},
      {"enable-debug-command",
       server.enable_debug_command == ServerState::DebugAllowed::kYes     ? "yes"
       : server.enable_debug_command == ServerState::DebugAllowed::kLocal ? "local"
                                                                          : "no"},
      {"ordo-segment-size", std::to_string(server.segment_bytes)},
  };
  for (auto& limit : ClientLimitValues(server.limits)) values.push_back(std::move(limit));
  return values;
}

std::string_view FlagName(uint32_t flag) {
  switch (flag) {
    case kCommandWrite:
      return "write";
    case kCommandReadOnly:
      return "readonly";
    case kCommandNoAuth:
      return "no_auth";
    case kCommandFast:
      return "fast";
    case kCommandAdmin:
      return "admin";
    default:
      return "";
  }
}

// Redis 7.0's addReplyCommandInfo: the flags, ACL categories, tips, key specifications and
// subcommands are sets (all but the flags empty in ordo).
void AppendCommandInfo(std::string* reply, const CommandSpec& spec, Protocol protocol) {
  AppendArrayHeader(reply, 10);
  AppendBulk(reply, spec.name);
  AppendInteger(reply, spec.arity);
  std::vector<std::string_view> flags;
  for (uint32_t bit = 1; bit <= kCommandAdmin; bit <<= 1) {
    if (spec.flags & bit) flags.push_back(FlagName(bit));
  }
  AppendSetHeader(reply, flags.size(), protocol);
  for (std::string_view flag : flags) AppendSimpleString(reply, flag);
  AppendInteger(reply, spec.first_key);
  AppendInteger(reply, spec.last_key);
  AppendInteger(reply, spec.key_step);
  for (int i = 0; i < 4; ++i) AppendSetHeader(reply, 0, protocol);
}

bool ValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

}  // namespace

std::string ToUpperCopy(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper;
}

void PingCommand(CommandContext& context) {
  if (context.argc() > 2) {
    ReplyError(context, "ERR wrong number of arguments for 'ping' command");
  } else if (context.client->protocol == Protocol::kResp2 && InSubscribedContext(*context.client)) {
    // A subscriber's PING answers in the shape of a message, as Redis's.
    AppendArrayHeader(context.reply, 2);
    AppendBulk(context.reply, "pong");
    AppendBulk(context.reply, context.argc() == 2 ? context.arg(1) : std::string());
  } else if (context.argc() == 2) {
    AppendBulk(context.reply, context.arg(1));
  } else {
    AppendSimpleString(context.reply, "PONG");
  }
}

void EchoCommand(CommandContext& context) { AppendBulk(context.reply, context.arg(1)); }

void QuitCommand(CommandContext& context) {
  context.client->close_after_reply = true;
  ReplyOk(context);
}

void InfoCommand(CommandContext& context) {
  bool all = context.argc() == 1;
  std::vector<std::string> wanted;
  for (size_t i = 1; i < context.argc(); ++i) {
    std::string name = ToLower(context.arg(i));
    if (name == "all" || name == "everything" || name == "default") all = true;
    wanted.push_back(name);
  }
  std::string text;
  for (const auto& [name, section] : Sections()) {
    if (!all && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    if (!text.empty()) text += "\r\n";
    text += section(context);
    // The key counts include every submitted write (as DBSIZE): they wait for it to be
    // durable. The other sections describe the server, not data, and answer at once, so an
    // operator can look at a server whose disk has stalled.
    if (name == "keyspace") DependOnAllWrites(context);
  }
  AppendVerbatimText(context.reply, text, context.client->protocol);
}

void ConfigCommand(CommandContext& context) {
  std::string sub = ToLower(context.arg(1));
  if (sub == "get") {
    if (context.argc() < 3) return ReplyWrongSubcommandArity(context);
    std::vector<std::pair<std::string, std::string>> matches;
    for (auto& setting : ConfigValues(*context.server)) {
      for (size_t i = 2; i < context.argc(); ++i) {
        if (GlobMatch(context.arg(i), setting.first, true)) {
          matches.push_back(std::move(setting));
          break;
        }
      }
    }
    AppendMapHeader(context.reply, matches.size(), context.client->protocol);
    for (const auto& [name, value] : matches) {
      AppendBulk(context.reply, name);
      AppendBulk(context.reply, value);
    }
  } else if (sub == "set") {
    if (context.argc() < 4) return ReplyWrongSubcommandArity(context);
    if (context.argc() % 2 != 0) return ReplySyntaxError(context);
    // Redis 7 sets several name/value pairs at once, all or none.
    ClientLimits changed = context.server->limits;
    std::vector<std::string> seen;
    for (size_t i = 2; i < context.argc(); i += 2) {
      const std::string name = ToLower(context.arg(i));
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
        return ReplyError(context, "ERR CONFIG SET failed (possibly related to argument '" +
                                       context.arg(i) + "') - duplicate parameter");
      }
      seen.push_back(name);
      bool known = false;
      for (const auto& [setting, value] : ClientLimitValues(changed)) known |= setting == name;
      if (!known) {
        return ReplyError(context, "ERR Unknown option or number of arguments for CONFIG SET - '" +
                                       context.arg(i) + "'");
      }
      std::string error;
      if (!SetClientLimit(name, context.arg(i + 1), &changed, &error)) {
        return ReplyError(context, "ERR CONFIG SET failed (possibly related to argument '" +
                                       context.arg(i) + "') - " + error);
      }
    }
    context.server->limits = changed;
    ReplyOk(context);
  } else if (sub == "resetstat") {
    context.server->total_commands_processed = 0;
    context.server->keyspace_hits = 0;
    context.server->keyspace_misses = 0;
    context.server->rejected_connections = 0;
    ReplyOk(context);
  } else if (sub == "rewrite") {
    ReplyError(context, "ERR The server is running without a config file");
  } else {
    ReplyUnknownSubcommand(context);
  }
}

void CommandCommand(CommandContext& context) {
  const std::vector<CommandSpec>& all = AllCommands();
  const Protocol protocol = context.client->protocol;
  std::string sub = context.argc() > 1 ? ToLower(context.arg(1)) : "";
  if (context.argc() == 1) {
    AppendArrayHeader(context.reply, all.size());
    for (const CommandSpec& spec : all) AppendCommandInfo(context.reply, spec, protocol);
  } else if (sub == "count") {
    AppendInteger(context.reply, static_cast<int64_t>(all.size()));
  } else if (sub == "info") {
    if (context.argc() == 2) {
      AppendArrayHeader(context.reply, all.size());
      for (const CommandSpec& spec : all) AppendCommandInfo(context.reply, spec, protocol);
      return;
    }
    AppendArrayHeader(context.reply, context.argc() - 2);
    for (size_t i = 2; i < context.argc(); ++i) {
      const CommandSpec* spec = LookupCommand(context.arg(i));
      if (spec == nullptr) {
        AppendNull(context.reply, protocol);  // "$-1" in RESP2, as Redis's addReplyNull
      } else {
        AppendCommandInfo(context.reply, *spec, protocol);
      }
    }
  } else if (sub == "docs" && context.argc() == 2) {
    // ordo has no documentation of its own to give: for the whole table (what redis-cli asks at
    // start) an error, on which redis-cli falls back to the help built into it (an empty map
    // would leave `HELP SET` blank).
    ReplyError(context,
               "ERR COMMAND DOCS is not supported by ordo: use the client's own documentation");
  } else if (sub == "docs") {
    AppendMapHeader(context.reply, 0, protocol);  // no docs for the commands named
  } else if (sub == "list") {
    AppendArrayHeader(context.reply, all.size());
    for (const CommandSpec& spec : all) AppendBulk(context.reply, spec.name);
  } else {
    ReplyUnknownSubcommand(context);
  }
}

namespace {

// A client's type as CLIENT LIST TYPE and CLIENT KILL TYPE name it; false for an unknown name.
bool ParseClientType(std::string_view text, std::string* type) {
  *type = ToLower(text);
  if (*type == "slave") *type = "replica";
  return *type == "normal" || *type == "pubsub" || *type == "replica" || *type == "master";
}

std::string ClientType(const ClientState& client) {
  return InSubscribedContext(client) ? "pubsub" : "normal";
}

// CLIENT LIST [TYPE type] [ID id ...] (Redis 7.0).
void ClientListCommand(CommandContext& context) {
  std::string type;
  std::vector<uint64_t> ids;
  bool by_id = false;
  size_t i = 2;
  if (context.argc() >= 4 && EqualsIgnoreCase(context.arg(2), "type")) {
    if (!ParseClientType(context.arg(3), &type)) {
      return ReplyError(context, "ERR Unknown client type '" + context.arg(3) + "'");
    }
    i = 4;
  } else if (context.argc() >= 4 && EqualsIgnoreCase(context.arg(2), "id")) {
    by_id = true;
    for (size_t j = 3; j < context.argc(); ++j) {
      int64_t id = 0;
      if (!ParseInt64(context.arg(j), &id) || id < 1) {
        return ReplyError(context, "ERR Invalid client ID");
      }
      ids.push_back(static_cast<uint64_t>(id));
    }
    i = context.argc();
  }
  if (i != context.argc()) return ReplySyntaxError(context);
  std::string lines;
  if (context.server->visit_clients) {
    context.server->visit_clients([&](const ClientState& other, const std::string& text) {
      if (!type.empty() && ClientType(other) != type) return;
      if (by_id && std::find(ids.begin(), ids.end(), other.id) == ids.end()) return;
      lines += text + "\n";
    });
  }
  AppendVerbatimText(context.reply, lines, context.client->protocol);
}

// CLIENT KILL addr:port (the old form: OK or "No such client") or CLIENT KILL with filters
// ID, TYPE, USER, ADDR, LADDR, SKIPME (the number of clients killed), as Redis 7.0.
void ClientKillCommand(CommandContext& context) {
  ClientState& self = *context.client;
  auto kill = [&](const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) {
      if (id == self.id) {
        self.close_after_reply = true;  // the reply goes out first, as Redis's
      } else if (context.server->kill_client) {
        context.server->kill_client(id);
      }
    }
  };
  std::vector<std::pair<uint64_t, std::string>> clients;  // id, address
  std::vector<std::string> types;
  if (context.server->visit_clients) {
    context.server->visit_clients([&](const ClientState& other, const std::string&) {
      clients.emplace_back(other.id, other.address);
      types.push_back(ClientType(other));
    });
  }
  if (context.argc() == 3) {
    for (const auto& [id, address] : clients) {
      if (address == context.arg(2)) {
        kill({id});
        return ReplyOk(context);
      }
    }
    return ReplyError(context, "ERR No such client");
  }
  uint64_t id_filter = 0;
  std::string type_filter;
  std::string address_filter;
  bool skip_me = true;
  bool nobody = false;  // LADDR: ordo does not record local addresses; USER: only "default"
  for (size_t i = 2; i < context.argc(); i += 2) {
    if (i + 1 >= context.argc()) return ReplySyntaxError(context);
    const std::string& value = context.arg(i + 1);
    if (EqualsIgnoreCase(context.arg(i), "id")) {
      int64_t id = 0;
      if (!ParseInt64(value, &id) || id < 1) {
        return ReplyError(context, "ERR client-id should be greater than 0");
      }
      id_filter = static_cast<uint64_t>(id);
    } else if (EqualsIgnoreCase(context.arg(i), "type")) {
      if (!ParseClientType(value, &type_filter)) {
        return ReplyError(context, "ERR Unknown client type '" + value + "'");
      }
    } else if (EqualsIgnoreCase(context.arg(i), "addr")) {
      address_filter = value;
    } else if (EqualsIgnoreCase(context.arg(i), "laddr")) {
      nobody = true;
    } else if (EqualsIgnoreCase(context.arg(i), "user")) {
      if (value != "default") return ReplyError(context, "ERR No such user '" + value + "'");
    } else if (EqualsIgnoreCase(context.arg(i), "skipme")) {
      if (EqualsIgnoreCase(value, "yes")) {
        skip_me = true;
      } else if (EqualsIgnoreCase(value, "no")) {
        skip_me = false;
      } else {
        return ReplySyntaxError(context);
      }
    } else {
      return ReplySyntaxError(context);
    }
  }
  std::vector<uint64_t> killed;
  for (size_t j = 0; j < clients.size() && !nobody; ++j) {
    const auto& [id, address] = clients[j];
    if (id_filter != 0 && id != id_filter) continue;
    if (!type_filter.empty() && types[j] != type_filter) continue;
    if (!address_filter.empty() && address != address_filter) continue;
    if (skip_me && id == self.id) continue;
    killed.push_back(id);
  }
  kill(killed);
  AppendInteger(context.reply, static_cast<int64_t>(killed.size()));
}

}  // namespace

void ClientCommand(CommandContext& context) {
  std::string sub = ToLower(context.arg(1));
  ClientState& client = *context.client;
  if (sub == "id" && context.argc() == 2) {
    AppendInteger(context.reply, static_cast<int64_t>(client.id));
  } else if (sub == "setname" && context.argc() == 3) {
    if (!ValidClientName(context.arg(2))) {
      return ReplyError(context,
                        "ERR Client names cannot contain spaces, newlines or special characters.");
    }
    client.name = context.arg(2);
    ReplyOk(context);
  } else if (sub == "getname" && context.argc() == 2) {
    if (client.name.empty()) return AppendNull(context.reply, client.protocol);
    AppendBulk(context.reply, client.name);
  } else if (sub == "setinfo" && context.argc() == 4) {
    ReplyOk(context);  // library name and version: accepted, not recorded
  } else if (sub == "list") {
    ClientListCommand(context);
  } else if (sub == "info" && context.argc() == 2) {
    std::string line;
    if (context.server->visit_clients) {
      context.server->visit_clients([&](const ClientState& other, const std::string& text) {
        if (other.id == client.id) line = text + "\n";
      });
    }
    AppendVerbatimText(context.reply, line, client.protocol);
  } else if (sub == "kill") {
    ClientKillCommand(context);
  } else if (sub == "no-evict" && context.argc() == 3) {
    // Redis's: a client that asks is never evicted by maxmemory-clients (it still counts).
    if (EqualsIgnoreCase(context.arg(2), "on")) {
      client.no_evict = true;
    } else if (EqualsIgnoreCase(context.arg(2), "off")) {
      client.no_evict = false;
    } else {
      return ReplySyntaxError(context);
    }
    ReplyOk(context);
  } else if (sub == "id" || sub == "setname" || sub == "getname" || sub == "setinfo" ||
             sub == "info" || sub == "no-evict") {
    ReplyWrongSubcommandArity(context);
  } else {
    ReplyUnknownSubcommand(context);
  }
}

// HELLO [protover [AUTH username password] [SETNAME clientname]] (Redis's helloCommand): a
// version switches the connection's protocol, once every option has been checked, so that the
// reply is already in it; without one the protocol stays as it is.
void HelloCommand(CommandContext& context) {
  int64_t version = 0;  // none given
  size_t next = 1;
  if (context.argc() >= 2) {
    if (!ParseInt64(context.arg(1), &version)) {
      return ReplyError(context, "ERR Protocol version is not an integer or out of range");
    }
    next = 2;
    if (version < 2 || version > 3) {
      return ReplyError(context, "NOPROTO unsupported protocol version");
    }
  }
  const std::string* username = nullptr;
  const std::string* password = nullptr;
  const std::string* name = nullptr;
  for (size_t j = next; j < context.argc(); ++j) {
    size_t more = context.argc() - 1 - j;
    if (EqualsIgnoreCase(context.arg(j), "auth") && more >= 2) {
      username = &context.arg(j + 1);
      password = &context.arg(j + 2);
      j += 2;
    } else if (EqualsIgnoreCase(context.arg(j), "setname") && more >= 1) {
      name = &context.arg(++j);
    } else {
      return ReplyError(context, "ERR Syntax error in HELLO option '" + context.arg(j) + "'");
    }
  }
  ClientState& client = *context.client;
  if (username != nullptr) {
    bool ok = *username == "default" &&
              (context.server->requirepass.empty() || *password == context.server->requirepass);
    if (!ok)
      return ReplyError(context, "WRONGPASS invalid username-password pair or user is disabled.");
    client.authenticated = true;
  }
  if (!client.authenticated) {
    return ReplyError(context,
                      "NOAUTH HELLO must be called with the client already authenticated, "
                      "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                      "authenticate the client and select the RESP protocol version at the same "
                      "time");
  }
  if (name != nullptr) {
    if (!ValidClientName(*name)) {
      return ReplyError(context,
                        "ERR Client names cannot contain spaces, newlines or special characters.");
    }
    client.name = *name;
  }
  if (version != 0) client.protocol = version == 3 ? Protocol::kResp3 : Protocol::kResp2;
  AppendMapHeader(context.reply, 7, client.protocol);
  AppendBulk(context.reply, "server");
  AppendBulk(context.reply, "redis");
  AppendBulk(context.reply, "version");
  AppendBulk(context.reply, kRedisVersion);
  AppendBulk(context.reply, "proto");
  AppendInteger(context.reply, static_cast<int64_t>(client.protocol));
  AppendBulk(context.reply, "id");
  AppendInteger(context.reply, static_cast<int64_t>(client.id));
  AppendBulk(context.reply, "mode");
  AppendBulk(context.reply, "standalone");
  AppendBulk(context.reply, "role");
  AppendBulk(context.reply, "master");
  AppendBulk(context.reply, "modules");
  AppendArrayHeader(context.reply, 0);
}

void AuthCommand(CommandContext& context) {
  if (context.argc() > 3) return ReplySyntaxError(context);
  const std::string& requirepass = context.server->requirepass;
  if (context.argc() == 2 && requirepass.empty()) {
    return ReplyError(context,
                      "ERR AUTH <password> called without any password configured for the "
                      "default user. Are you sure your configuration is correct?");
  }
  bool user_ok = context.argc() == 2 || context.arg(1) == "default";
  const std::string& password = context.arg(context.argc() - 1);
  if (!user_ok || (!requirepass.empty() && password != requirepass)) {
    return ReplyError(context, "WRONGPASS invalid username-password pair or user is disabled.");
  }
  context.client->authenticated = true;
  ReplyOk(context);
}

void ShutdownCommand(CommandContext& context) {
  for (size_t i = 1; i < context.argc(); ++i) {
    std::string option = ToLower(context.arg(i));
    if (option == "abort") return ReplyError(context, "ERR No shutdown in progress.");
    if (option != "nosave" && option != "save" && option != "now" && option != "force") {
      return ReplySyntaxError(context);
    }
  }
  // No reply: like Redis, the connection closes when the server exits. The server finishes
  // what is in flight and closes the database (Server::Run).
  context.server->shutdown_requested = true;
}

// DEBUG: Redis's test aids, refused unless enable-debug-command allows them (Redis's text).
// ordo has one: SYNC-DELAY <ms>, every fdatasync and fsync of the database takes at least that
// long (the slow-disk model the server opens the database on when DEBUG is enabled); 0 is a
// normal disk again and releases the syncs waiting.
bool DebugAllowedFor(const CommandContext& context) {
  const ServerState& server = *context.server;
  const std::string& address = context.client->address;
  // Redis's "local": exactly 127.0.0.1 or ::1 (the address is "ip:port").
  const std::string host = address.substr(0, address.rfind(':'));
  const bool local = host == "127.0.0.1" || host == "::1";
  return server.enable_debug_command == ServerState::DebugAllowed::kYes ||
         (server.enable_debug_command == ServerState::DebugAllowed::kLocal && local);
}

void DebugCommand(CommandContext& context) {
  const ServerState& server = *context.server;
  if (!DebugAllowedFor(context)) return ReplyError(context, kDebugNotAllowed);
  const std::string sub = ToLower(context.arg(1));
  if (sub == "help" && context.argc() == 2) {
    AppendBulkArray(context.reply,
                    {"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                     "SYNC-DELAY <milliseconds>",
                     "    Every fdatasync and fsync of the database takes at least this long (a "
                     "slow disk); 0 restores the disk and releases the syncs waiting.",
                     "SYNC-FAIL <0|1>",
                     "    While 1, every fdatasync and fsync of the database fails with EIO (a "
                     "failing disk: the database fails for good).",
                     "HELP", "    Print this help."});
  } else if (sub == "sync-delay" && context.argc() == 3) {
    int64_t milliseconds = 0;
    if (!ParseIntegerArgument(context, context.arg(2), &milliseconds)) return;
    if (milliseconds < 0) return ReplyError(context, "ERR the delay must not be negative");
    if (server.slow_disk == nullptr) return ReplyError(context, "ERR no slow-disk model");
    server.slow_disk->SetSyncDelayMs(static_cast<uint64_t>(milliseconds));
    ReplyOk(context);
  } else if (sub == "sync-fail" && context.argc() == 3) {
    const std::string& value = context.arg(2);
    if (value != "0" && value != "1") return ReplyError(context, "ERR SYNC-FAIL takes 0 or 1");
    if (server.slow_disk == nullptr) return ReplyError(context, "ERR no slow-disk model");
    server.slow_disk->SetSyncFailure(value == "1");
    ReplyOk(context);
  } else {
    ReplyUnknownSubcommand(context);
  }
}

void ResetCommand(CommandContext& context) {
  // Redis's clearClientConnectionState: the connection as it was when it connected.
  ClientState& client = *context.client;
  ForgetClient(*context.server, client);
  client.name.clear();
  client.protocol = Protocol::kResp2;
  client.db = 0;
  client.authenticated = context.server->requirepass.empty();
  AppendSimpleString(context.reply, "RESET");
}

// MEMORY USAGE key [SAMPLES count], DOCTOR, PURGE, MALLOC-STATS, HELP. USAGE answers what the
// key costs ordo: its index slot (48 bytes and a long key's bytes), its key and its value (the
// value lives in the log, not in memory: docs/OPERATIONS-server.md).
void MemoryCommand(CommandContext& context) {
  const std::string sub = ToLower(context.arg(1));
  if (sub == "usage" && context.argc() >= 3) {
    for (size_t j = 3; j < context.argc(); j += 2) {
      int64_t samples = 0;
      if (!EqualsIgnoreCase(context.arg(j), "samples") || j + 1 >= context.argc()) {
        return ReplySyntaxError(context);
      }
      if (!ParseIntegerArgument(context, context.arg(j + 1), &samples)) return;
    }
    ReadInfo info;
    const Status status = ReadKey(context, context.arg(2), nullptr, &info);
    if (status.IsNotFound()) return AppendNull(context.reply, context.client->protocol);
    if (!status.ok()) return;
    constexpr uint64_t kIndexSlotBytes = 48;
    const uint64_t key = context.arg(2).size();
    AppendInteger(context.reply, static_cast<int64_t>(kIndexSlotBytes + (key > 17 ? key : 0) + key +
                                                      info.value_bytes));
  } else if (sub == "doctor" && context.argc() == 2) {
    AppendVerbatimText(context.reply,
                       "Hi Sam, I can't find any memory issue in your instance. I can only "
                       "account for what occurs on this base.",
                       context.client->protocol);
  } else if (sub == "purge" && context.argc() == 2) {
    ReplyOk(context);
  } else if (sub == "malloc-stats" && context.argc() == 2) {
    AppendVerbatimText(context.reply, "Stats not supported for the current allocator",
                       context.client->protocol);
  } else if (sub == "help" && context.argc() == 2) {
    AppendArrayHeader(context.reply, 14);
    for (std::string_view line : {
             "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             "DOCTOR",
             "    Return memory problems reports.",
             "MALLOC-STATS",
             "    Return internal statistics report from the memory allocator.",
             "PURGE",
             "    Attempt to purge dirty pages for reclamation by the allocator.",
             "STATS",
             "    Return information about the memory usage of the server.",
             "USAGE <key> [SAMPLES <count>]",
             "    Return memory in bytes used by <key> and its value. Nested values are",
             "    sampled up to <count> times (default: 5, 0 means sample all).",
             "HELP",
             "    Prints this help.",
         }) {
      AppendSimpleString(context.reply, line);
    }
  } else if (sub == "usage" || sub == "doctor" || sub == "purge" || sub == "malloc-stats" ||
             sub == "help") {
    ReplyWrongSubcommandArity(context);
  } else {
    ReplyUnknownSubcommand(context);
  }
}

}  // namespace ordo::server
