// `ordo serve`: the Redis-protocol server over a data directory (src/server/server.h).
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "log/format.h"
#include "ordo/options.h"
#include "server/client_limits.h"
#include "server/server.h"

namespace ordo::cli {

namespace {

struct ServeFlags {
  server::ServerOptions options;
  std::string sync = "always";
  uint32_t port = 6379;
  std::string archive_interval;  // --archive-interval, e.g. "1s", "250ms"
  // Client limits as given (server/client_limits.h); empty: the default.
  std::vector<std::pair<std::string, std::string>> limits;
  std::string enable_debug_command = "no";
};

// The client limits and enable-debug-command, or false after saying why.
bool ParseLimits(const ServeFlags& flags, server::ServerOptions* options) {
  for (const auto& [name, value] : flags.limits) {
    if (value.empty()) continue;
    std::string error;
    if (!server::SetClientLimit(name, value, &options->limits, &error)) {
      std::cerr << "ordo serve: --" << name << " '" << value << "': " << error << "\n";
      return false;
    }
  }
  using Allowed = server::ServerState::DebugAllowed;
  const std::string& debug = flags.enable_debug_command;
  if (debug == "no")
    options->enable_debug_command = Allowed::kNo;
  else if (debug == "yes")
    options->enable_debug_command = Allowed::kYes;
  else if (debug == "local")
    options->enable_debug_command = Allowed::kLocal;
  else {
    std::cerr << "ordo serve: --enable-debug-command must be no, yes or local, not '" << debug
              << "'\n";
    return false;
  }
  return true;
}

// The interval of --archive-interval in milliseconds, or false after saying why.
bool ParseArchiveInterval(const ServeFlags& flags, int64_t* interval_ms) {
  if (flags.archive_interval.empty()) return true;
  if (!flags.options.archive) {
    std::cerr << "ordo serve: --archive-interval needs --archive\n";
    return false;
  }
  if (!ParseDurationMillis(flags.archive_interval, interval_ms) ||
      *interval_ms < backup::kArchiveIntervalMinMs ||
      *interval_ms > backup::kArchiveIntervalMaxMs) {
    std::cerr << "ordo serve: --archive-interval must be a duration from "
              << backup::kArchiveIntervalMinMs << "ms to " << backup::kArchiveIntervalMaxMs / 1000
              << "s, like 1s or 250ms, not '" << flags.archive_interval << "'\n";
    return false;
  }
  return true;
}

void RunServe(const ServeFlags& flags) {
  server::ServerOptions options = flags.options;
  if (!ParseSyncMode(flags.sync, &options.sync_mode)) {
    std::cerr << "ordo serve: --sync must be always, everysec or none, not '" << flags.sync
              << "'\n";
    exit_code = 2;
    return;
  }
  if (flags.port > 65535) {
    std::cerr << "ordo serve: --port must be 0..65535\n";
    exit_code = 2;
    return;
  }
  options.port = static_cast<uint16_t>(flags.port);
  if (options.archive && options.repository.empty()) {
    std::cerr << "ordo serve: --archive needs --repo REPO (a repository; created if missing)\n";
    exit_code = 2;
    return;
  }
  if (!ParseArchiveInterval(flags, &options.archive_interval_ms) || !ParseLimits(flags, &options)) {
    exit_code = 2;
    return;
  }
  server::Server server(options);
  Status status = server.Run(std::cout);
  if (!status.ok()) {
    std::cerr << "ordo serve: " << status.ToString() << std::endl;
    exit_code = 1;
    return;
  }
  exit_code = 0;
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand("serve", "Serve a data directory over the Redis protocol");
  serve->add_option("--data", flags->options.data_directory, "Data directory")
      ->capture_default_str();
  serve->add_option("--port", flags->port, "TCP port (0: any free port)")->capture_default_str();
  serve->add_option("--bind", flags->options.bind_address, "Address to listen on")
      ->capture_default_str();
  serve->add_option("--sync", flags->sync, "When a write is acknowledged: always|everysec|none")
      ->capture_default_str();
  AddSegmentSizeOption(serve, &flags->options.segment_bytes, "Log segment size in bytes");
  serve->add_option("--requirepass", flags->options.requirepass,
                    "Password clients must give with AUTH");
  serve
      ->add_option("--databases", flags->options.databases,
                   "Numbered databases (SELECT 0 to N-1), as Redis's `databases`")
      ->check(CLI::Range(1u, log::kDatabasesMax))
      ->capture_default_str();
  serve->add_option("--maxclients", flags->options.maxclients, "Most clients at once")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}))
      ->capture_default_str();
  serve->add_option(
      "--repo", flags->options.repository,
      "Backup repository: SAVE and BGSAVE back up into it (created plain if missing)");
  serve->add_option("--key-file", flags->options.key_file,
                    "Key of an encrypted backup repository (from ordo keygen)");
  serve->add_flag("--archive", flags->options.archive,
                  "Archive the log continuously into --repo (point-in-time recovery)");
  serve->add_option("--archive-interval", flags->archive_interval,
                    "How often the growing log is archived: 100ms..1h (default 1s)");
  flags->limits = {{"maxmemory-clients", ""},
                   {"client-query-buffer-limit", ""},
                   {"proto-max-bulk-len", ""},
                   {"client-output-buffer-limit", ""}};
  serve->add_option("--maxmemory-clients", flags->limits[0].second,
                    "Most memory all clients together may hold (bytes, 512mb, 2gb, or a percent "
                    "of physical memory like 25%; 0: no cap); the clients holding most are "
                    "disconnected first (default 25%)");
  serve->add_option("--client-query-buffer-limit", flags->limits[1].second,
                    "Largest request a client may send (default 1gb)");
  serve->add_option("--proto-max-bulk-len", flags->limits[2].second,
                    "Longest bulk (value) in a request, 1mb..512mb (default 512mb)");
  serve->add_option("--client-output-buffer-limit", flags->limits[3].second,
                    "Replies a client may leave unread, as redis.conf: 'normal HARD SOFT SECONDS' "
                    "(default normal 0 0 0: none)");
  serve
      ->add_option("--enable-debug-command", flags->enable_debug_command,
                   "Allow DEBUG (test aids such as DEBUG SYNC-DELAY): no|yes|local")
      ->capture_default_str();
  serve->callback([flags] { RunServe(*flags); });
}

}  // namespace ordo::cli
