// ordo_bench: engine benchmarks through the embedding API (include/ordo/db.h).
//
//   ordo_bench [--quick] [--dir BASE] [--only writes,open,replay,memory] [--seconds S]
//              [--threads 1,4,16,64] [--repeat N] [--markdown FILE] [--keep]
//
// Figures, each printed with its target (docs/BENCHMARKS.md):
//   writes   durable writes per second (SyncMode::kAlways, 100-byte values, random keys out of
//            1,000,000) with 1, 4, 16 and 64 writer threads, each calling DB::Put in a loop for
//            a fixed time; fsyncs, writes per fsync, p50/p99 latency.
//   open     DB::Open of a database of 1 M and 10 M keys (key:%010d, 16-byte values) from the
//            checkpoint a clean Close() wrote; warm (page cache) and cold (the files dropped
//            from the page cache with posix_fadvise(POSIX_FADV_DONTNEED) first).
//   replay   DB::Open with index/ deleted (full replay of the log): MB of log per second, warm
//            and cold, for a ~1 GB log (1 M keys, 1000-byte values) and for the 10 M-key log.
//   memory   RSS growth of a fresh process opening the 10 M-key database, per key, less the
//            average key length.
//
// Every Open is measured --repeat times (default 3; the median is reported), each in a fresh
// child process (this binary re-executed with --child-open) so that memory figures are not
// polluted by the build, and the timing includes nothing else.
// Timings are printed, never asserted.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ordo/db.h"
#include "ordo/options.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Config {
  bool quick = false;
  bool keep = false;
  std::string base = "/tmp";
  std::vector<std::string> only;  // empty = all
  double seconds = 3.0;
  std::vector<int> threads = {1, 4, 16, 64};
  std::string markdown;
  int repeat = 3;  // each Open is measured this many times; the median is reported
  uint64_t open_small = 1'000'000;
  uint64_t open_large = 10'000'000;
  uint64_t replay_keys = 1'000'000;
  uint64_t replay_value_bytes = 1000;
};

// One line of the final table.
struct Row {
  std::string figure;
  std::string value;
  std::string target;
  std::string verdict;  // "met", "NOT met", or "" (no target)
};
std::vector<Row> g_rows;

void AddRow(std::string figure, std::string value, std::string target = "",
            std::string verdict = "") {
  std::printf("  %-52s %s%s%s\n", figure.c_str(), value.c_str(),
              target.empty() ? "" : ("   (target " + target + ": " + verdict + ")").c_str(), "");
  std::fflush(stdout);
  g_rows.push_back(Row{std::move(figure), std::move(value), std::move(target), std::move(verdict)});
}

std::string Format(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  return buffer;
}

[[noreturn]] void Die(const std::string& what, const ordo::Status& status) {
  std::fprintf(stderr, "ordo_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

bool Wanted(const Config& config, const std::string& name) {
  return config.only.empty() ||
         std::find(config.only.begin(), config.only.end(), name) != config.only.end();
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::string Count(uint64_t n) {
  if (n >= 1'000'000 && n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + " M";
  if (n >= 1'000 && n % 1'000 == 0) return std::to_string(n / 1'000) + " k";
  return std::to_string(n);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- Memory of this process, in bytes, from /proc/self/smaps_rollup (VmRSS as a fallback).
struct Memory {
  uint64_t rss = 0;
  uint64_t anon = 0;  // Pss_Anon (0 where the kernel does not report it)
};

Memory ReadMemory() {
  Memory memory;
  std::ifstream rollup("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(rollup, line)) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "Rss: %llu kB", &kib) == 1) memory.rss = kib * 1024;
    if (std::sscanf(line.c_str(), "Pss_Anon: %llu kB", &kib) == 1) memory.anon = kib * 1024;
  }
  if (memory.rss == 0) {
    std::ifstream status("/proc/self/status");
    while (std::getline(status, line)) {
      unsigned long long kib = 0;
      if (std::sscanf(line.c_str(), "VmRSS: %llu kB", &kib) == 1) memory.rss = kib * 1024;
    }
  }
  return memory;
}

// Drops every file under `directory` from the page cache (clean pages only; the files were
// synced by Close). Needs no privileges.
void DropFromPageCache(const std::string& directory) {
  for (const auto& entry : fs::recursive_directory_iterator(directory)) {
    if (!entry.is_regular_file()) continue;
    int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)::fdatasync(fd);
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

uint64_t DirectoryBytes(const std::string& directory) {
  uint64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(directory)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

ordo::Options BulkOptions() {
  ordo::Options options;
  options.sync_mode = ordo::SyncMode::kNone;
  options.checkpoint_interval_bytes = 0;
  options.expiry_sweep_interval_ms = 0;
  return options;
}

// ---- 1. Durable writes.
void BenchWrites(const Config& config, const std::string& directory) {
  std::printf(
      "\n== durable writes (sync always, 100-byte values, random keys of 1 M, %.0f s each)\n",
      config.seconds);
  ordo::Options options;
  options.sync_mode = ordo::SyncMode::kAlways;
  auto opened = ordo::DB::Open(options, directory);
  if (!opened.ok()) Die("open " + directory, opened.status());
  std::unique_ptr<ordo::DB> db = std::move(*opened);
  const std::string value(100, 'v');
  std::printf("  %7s %12s %10s %10s %12s %12s\n", "threads", "writes/s", "fsyncs", "writes/fsync",
              "p50 us", "p99 us");
  for (int threads : config.threads) {
    const ordo::Statistics before = db->GetStatistics();
    std::atomic<bool> go{false};
    std::atomic<bool> stop{false};
    std::vector<std::vector<uint32_t>> latencies(threads);
    std::vector<std::thread> workers;
    std::atomic<int> errors{0};
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::mt19937_64 random(0x5eed + t);
        std::uniform_int_distribution<uint32_t> pick(0, 999'999);
        auto& mine = latencies[t];
        mine.reserve(1 << 16);
        char key[32];
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        while (!stop.load(std::memory_order_relaxed)) {
          const int length = std::snprintf(key, sizeof(key), "key:%010u", pick(random));
          const auto start = Clock::now();
          ordo::Status status = db->Put(std::string_view(key, length), value);
          const auto end = Clock::now();
          if (!status.ok()) {
            if (errors.fetch_add(1) == 0) {
              std::fprintf(stderr, "Put failed: %s\n", status.ToString().c_str());
            }
            return;
          }
          mine.push_back(static_cast<uint32_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(end - start).count()));
        }
      });
    }
    const auto start = Clock::now();
    go.store(true, std::memory_order_release);
    std::this_thread::sleep_for(std::chrono::duration<double>(config.seconds));
    stop.store(true);
    for (auto& worker : workers) worker.join();
    const double elapsed = Seconds(Clock::now() - start);
    if (errors.load() > 0) std::exit(1);
    const ordo::Statistics after = db->GetStatistics();
    std::vector<uint32_t> all;
    for (auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
    std::sort(all.begin(), all.end());
    const uint64_t writes = all.size();
    const uint64_t syncs = after.syncs - before.syncs;
    const double per_second = writes / elapsed;
    const uint32_t p50 = all.empty() ? 0 : all[all.size() / 2];
    const uint32_t p99 = all.empty() ? 0 : all[std::min(all.size() - 1, all.size() * 99 / 100)];
    std::printf("  %7d %12.0f %10" PRIu64 " %10.1f %12u %12u\n", threads, per_second, syncs,
                syncs == 0 ? 0.0 : double(writes) / syncs, p50, p99);
    g_rows.push_back(Row{Format("durable writes/s, %d thread%s", threads, threads == 1 ? "" : "s"),
                         Format("%.0f/s (%.1f writes/fsync, p50 %u us, p99 %u us)", per_second,
                                syncs == 0 ? 0.0 : double(writes) / syncs, p50, p99),
                         "", ""});
  }
  ordo::Status closed = db->Close();
  if (!closed.ok()) Die("close", closed);
}

// Builds a database of `keys` keys "key:%010d" with `value_bytes`-byte values in batches of
// 1000, sync mode none, then closes it (which writes the checkpoint).
void Build(const std::string& directory, uint64_t keys, size_t value_bytes,
           const char* key_format = "key:%010" PRIu64) {
  fs::remove_all(directory);
  auto opened = ordo::DB::Open(BulkOptions(), directory);
  if (!opened.ok()) Die("open " + directory, opened.status());
  std::unique_ptr<ordo::DB> db = std::move(*opened);
  std::string value(value_bytes, 'x');
  const auto start = Clock::now();
  char key[64];
  for (uint64_t i = 0; i < keys;) {
    ordo::WriteBatch batch;
    for (int j = 0; j < 1000 && i < keys; ++j, ++i) {
      const int length = std::snprintf(key, sizeof(key), key_format, i);
      std::memcpy(value.data(), key, std::min<size_t>(value.size(), length));  // distinct values
      batch.Put(std::string_view(key, length), value);
    }
    ordo::Status written = db->Write(std::move(batch));
    if (!written.ok()) Die("write", written);
  }
  const double loaded = Seconds(Clock::now() - start);
  const auto close_start = Clock::now();
  ordo::Status closed = db->Close();
  if (!closed.ok()) Die("close", closed);
  const double close_seconds = Seconds(Clock::now() - close_start);
  std::printf(
      "  built %s keys x %zu-byte values in %.1f s (%.0f puts/s), close with checkpoint "
      "%.1f s, %.0f MB on disk\n",
      Count(keys).c_str(), value_bytes, loaded, keys / loaded, close_seconds,
      DirectoryBytes(directory) / 1e6);
  std::fflush(stdout);
}

// What a child process measured around one DB::Open.
struct OpenResult {
  double seconds = 0;
  std::map<std::string, std::string> fields;
  uint64_t Get(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10);
  }
};

// Child: opens `directory`, prints "RESULT name=value ..." and leaves without Close() (which
// would write a checkpoint and change the directory for the next measurement).
[[noreturn]] void ChildOpen(const std::string& directory) {
  const Memory before = ReadMemory();
  ordo::OpenReport report;
  ordo::Options options;
  options.expiry_sweep_interval_ms = 0;
  options.checkpoint_interval_bytes = 0;
  const auto start = Clock::now();
  auto opened = ordo::DB::Open(options, directory, &report);
  const double seconds = Seconds(Clock::now() - start);
  if (!opened.ok()) Die("open " + directory, opened.status());
  std::unique_ptr<ordo::DB> db = std::move(*opened);
  const Memory after = ReadMemory();
  const ordo::Statistics stats = db->GetStatistics();
  std::printf(
      "RESULT seconds_ns=%" PRIu64 " keys=%" PRIu64 " segments=%" PRIu64 " log_bytes=%" PRIu64
      " last_lsn=%" PRIu64 " replayed=%" PRIu64 " verified=%" PRIu64
      " level=%d clean=%d report_micros=%" PRId64 " rss_before=%" PRIu64 " rss_after=%" PRIu64
      " anon_before=%" PRIu64 " anon_after=%" PRIu64 " index_bytes=%" PRIu64 " checkpoint=%s\n",
      static_cast<uint64_t>(seconds * 1e9), report.keys, report.segments, report.log_bytes,
      report.last_lsn, report.replayed_records, report.verified_records, report.integrity_level,
      report.previous_shutdown_clean ? 1 : 0, report.duration_micros, before.rss, after.rss,
      before.anon, after.anon, stats.index_bytes, report.checkpoint.empty() ? "none" : "yes");
  for (const auto& action : report.actions) std::printf("ACTION %s\n", action.c_str());
  std::fflush(stdout);
  ::_exit(0);
}

OpenResult RunChildOpen(const std::string& self, const std::string& directory, bool cold) {
  if (cold) DropFromPageCache(directory);
  const std::string command = "'" + self + "' --child-open '" + directory + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    std::perror("popen");
    std::exit(1);
  }
  OpenResult result;
  char line[4096];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::string text(line);
    if (text.rfind("RESULT ", 0) == 0) {
      for (const auto& field : Split(text.substr(7), ' ')) {
        const auto equals = field.find('=');
        if (equals == std::string::npos) continue;
        std::string value = field.substr(equals + 1);
        while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
        result.fields[field.substr(0, equals)] = value;
      }
    } else if (text.rfind("ACTION ", 0) == 0) {
      std::printf("    open: %s", text.c_str() + 7);
    }
  }
  const int status = ::pclose(pipe);
  if (status != 0 || result.fields.empty()) {
    std::fprintf(stderr, "ordo_bench: the child opening %s failed\n", directory.c_str());
    std::exit(1);
  }
  result.seconds = result.Get("seconds_ns") / 1e9;
  return result;
}

// Runs the child `repeat` times and returns the run with the median time.
OpenResult MedianOpen(const std::string& self, const std::string& directory, bool cold,
                      int repeat) {
  std::vector<OpenResult> runs;
  for (int i = 0; i < std::max(1, repeat); ++i) runs.push_back(RunChildOpen(self, directory, cold));
  std::sort(runs.begin(), runs.end(),
            [](const OpenResult& a, const OpenResult& b) { return a.seconds < b.seconds; });
  OpenResult median = runs[runs.size() / 2];
  if (runs.size() > 1) {
    std::string all;
    for (const auto& run : runs) all += Format("%s%.3f", all.empty() ? "" : ", ", run.seconds);
    median.fields["runs"] = all;
  }
  return median;
}

void PrintOpen(const char* what, const OpenResult& r) {
  std::printf("  %s: %.3f s  (keys %" PRIu64 ", segments %" PRIu64 ", log %.0f MB, level %" PRIu64
              ", clean %" PRIu64 ", checkpoint %s, replayed %" PRIu64 " records, verified %" PRIu64
              ", report %.3f s)\n",
              what, r.seconds, r.Get("keys"), r.Get("segments"), r.Get("log_bytes") / 1e6,
              r.Get("level"), r.Get("clean"),
              r.fields.count("checkpoint") ? r.fields.at("checkpoint").c_str() : "?",
              r.Get("replayed"), r.Get("verified"), r.Get("report_micros") / 1e6);
  if (r.fields.count("runs"))
    std::printf("    median of runs: %s s\n", r.fields.at("runs").c_str());
  std::fflush(stdout);
}

void ClearCheckpoints(const std::string& directory) {
  for (const auto& entry : fs::directory_iterator(directory + "/index")) fs::remove(entry.path());
}

void BenchReplay(const std::string& self, const std::string& directory, const std::string& label,
                 bool headline, int repeat) {
  ClearCheckpoints(directory);
  const OpenResult warm = MedianOpen(self, directory, false, repeat);
  PrintOpen(("full replay, warm (" + label + ")").c_str(), warm);
  const OpenResult cold = MedianOpen(self, directory, true, repeat);
  PrintOpen(("full replay, cold (" + label + ")").c_str(), cold);
  const double warm_rate = warm.Get("log_bytes") / 1e6 / warm.seconds;
  const double cold_rate = cold.Get("log_bytes") / 1e6 / cold.seconds;
  if (headline) {
    AddRow("log replay, page cache (" + label + ")",
           Format("%.0f MB/s (%.0f MB in %.2f s)", warm_rate, warm.Get("log_bytes") / 1e6,
                  warm.seconds),
           ">= 300 MB/s", warm_rate >= 300 ? "met" : "NOT met");
    AddRow("log replay, cold, fadvise DONTNEED (" + label + ")",
           Format("%.0f MB/s (%.2f s)", cold_rate, cold.seconds), ">= 300 MB/s",
           cold_rate >= 300 ? "met" : "NOT met");
  } else {
    AddRow("log replay, page cache (" + label + ")",
           Format("%.0f MB/s, %.2f M keys/s (%.2f s)", warm_rate,
                  warm.Get("keys") / 1e6 / warm.seconds, warm.seconds));
    AddRow("log replay, cold (" + label + ")",
           Format("%.0f MB/s (%.2f s)", cold_rate, cold.seconds));
  }
}

int Main(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ordo_bench: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--child-open") {
      ChildOpen(next());
    } else if (arg == "--quick") {
      config.quick = true;
    } else if (arg == "--keep") {
      config.keep = true;
    } else if (arg == "--dir") {
      config.base = next();
    } else if (arg == "--only") {
      config.only = Split(next(), ',');
    } else if (arg == "--seconds") {
      config.seconds = std::atof(next().c_str());
    } else if (arg == "--threads") {
      config.threads.clear();
      for (const auto& t : Split(next(), ',')) config.threads.push_back(std::atoi(t.c_str()));
    } else if (arg == "--repeat") {
      config.repeat = std::atoi(next().c_str());
    } else if (arg == "--markdown") {
      config.markdown = next();
    } else if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: ordo_bench [--quick] [--dir BASE] [--only writes,open,replay,memory]\n"
          "                  [--seconds S] [--threads 1,4,16,64] [--repeat N]\n"
          "                  [--markdown FILE] [--keep]\n");
      return 0;
    } else {
      std::fprintf(stderr, "ordo_bench: unknown argument %s (try --help)\n", arg.c_str());
      return 2;
    }
  }
  if (config.quick) {
    config.open_small = 100'000;
    config.open_large = 1'000'000;
    config.replay_keys = 100'000;
    if (config.seconds == 3.0) config.seconds = 1.0;
    config.repeat = 1;
  }
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string pattern = config.base + "/ordo-bench-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror(("mkdtemp " + pattern).c_str());
    return 1;
  }
  const std::string root = pattern;
  std::printf("ordo_bench%s: working in %s\n", config.quick ? " --quick" : "", root.c_str());

  if (Wanted(config, "writes")) BenchWrites(config, root + "/writes");

  if (Wanted(config, "open") || Wanted(config, "memory") || Wanted(config, "replay")) {
    std::printf("\n== open from a checkpoint (key:%%010d, 16-byte values)\n");
    for (uint64_t keys : {config.open_small, config.open_large}) {
      const bool large = keys == config.open_large;
      if (!large && !Wanted(config, "open")) continue;
      const std::string directory = root + "/open-" + std::to_string(keys);
      Build(directory, keys, 16);
      const OpenResult warm = MedianOpen(self, directory, false, config.repeat);
      PrintOpen(("open " + Count(keys) + " keys, warm").c_str(), warm);
      const OpenResult cold = MedianOpen(self, directory, true, config.repeat);
      PrintOpen(("open " + Count(keys) + " keys, cold").c_str(), cold);
      if (Wanted(config, "open")) {
        const bool target = keys == 10'000'000;
        AddRow("open " + Count(keys) + " keys from checkpoint, page cache",
               Format("%.2f s", warm.seconds), target ? "<= 3 s" : "",
               target ? (warm.seconds <= 3 ? "met" : "NOT met") : "");
        AddRow("open " + Count(keys) + " keys from checkpoint, cold",
               Format("%.2f s", cold.seconds), target ? "<= 3 s" : "",
               target ? (cold.seconds <= 3 ? "met" : "NOT met") : "");
      }
      if (large && Wanted(config, "memory")) {
        const double keys_loaded = std::max<uint64_t>(1, warm.Get("keys"));
        const double key_length = 14;  // "key:%010d"
        const double rss = (double(warm.Get("rss_after")) - warm.Get("rss_before")) / keys_loaded;
        const double anon =
            (double(warm.Get("anon_after")) - warm.Get("anon_before")) / keys_loaded;
        const double estimate = warm.Get("index_bytes") / keys_loaded;
        AddRow("index memory per key (" + Count(keys) + " keys, RSS growth - key)",
               Format("%.1f B + key (RSS %.1f B/key, Pss_Anon %.1f B/key, engine estimate %.1f)",
                      rss - key_length, rss, anon, estimate),
               "<= 64 B + key", rss - key_length <= 64 ? "met" : "NOT met");
      }
      if (large && Wanted(config, "memory")) {
        // Keys of up to 15 bytes are stored inline in the index; longer ones cost a heap
        // allocation too. The same measure with 40-byte keys shows that cost.
        const uint64_t long_keys = config.open_small;
        const std::string long_directory = root + "/memory-long-keys";
        Build(long_directory, long_keys, 16, "longerkey:%030" PRIu64);
        const OpenResult opened = RunChildOpen(self, long_directory, false);
        const double loaded = std::max<uint64_t>(1, opened.Get("keys"));
        const double rss = (double(opened.Get("rss_after")) - opened.Get("rss_before")) / loaded;
        AddRow("index memory per key (" + Count(long_keys) + " keys of 40 B, RSS growth - key)",
               Format("%.1f B + key (RSS %.1f B/key, engine estimate %.1f)", rss - 40, rss,
                      opened.Get("index_bytes") / loaded),
               "<= 64 B + key", rss - 40 <= 64 ? "met" : "NOT met");
        if (!config.keep) fs::remove_all(long_directory);
      }
      if (large && Wanted(config, "replay") && !config.quick) {
        std::printf("\n== full replay of the %s-key log (index/ deleted)\n", Count(keys).c_str());
        BenchReplay(self, directory, Count(keys) + " keys x 16 B", false, config.repeat);
      }
      if (!config.keep) fs::remove_all(directory);
    }
  }

  if (Wanted(config, "replay")) {
    std::printf("\n== full replay (index/ deleted), %s keys x %" PRIu64 "-byte values\n",
                Count(config.replay_keys).c_str(), config.replay_value_bytes);
    const std::string directory = root + "/replay";
    Build(directory, config.replay_keys, config.replay_value_bytes);
    BenchReplay(
        self, directory,
        Count(config.replay_keys) + " keys x " + std::to_string(config.replay_value_bytes) + " B",
        true, config.repeat);
    if (!config.keep) fs::remove_all(directory);
  }

  if (!config.keep) fs::remove_all(root);

  std::printf("\n== engine figures%s\n", config.quick ? " (--quick: reduced sizes)" : "");
  size_t width = 0;
  for (const auto& row : g_rows) width = std::max(width, row.figure.size());
  for (const auto& row : g_rows) {
    std::printf("  %-*s  %-60s %s%s%s\n", static_cast<int>(width), row.figure.c_str(),
                row.value.c_str(), row.target.empty() ? "" : "target ", row.target.c_str(),
                row.verdict.empty() ? "" : (" [" + row.verdict + "]").c_str());
  }
  if (!config.markdown.empty()) {
    std::ofstream out(config.markdown, std::ios::app);
    out << "| engine figure | measured | target | |\n| --- | --- | --- | --- |\n";
    for (const auto& row : g_rows) {
      out << "| " << row.figure << " | " << row.value << " | " << row.target << " | " << row.verdict
          << " |\n";
    }
    out << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
