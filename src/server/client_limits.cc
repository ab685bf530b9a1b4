#include "server/client_limits.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <limits>

#include "ordo/options.h"
#include "server/resp_parser.h"

namespace ordo::server {

namespace {

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// Splits on each space, as Redis's sdssplitlen does for this setting: two spaces make an empty
// word between them (and so a malformed setting); an empty text makes no word.
std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  if (text.empty()) return words;
  size_t start = 0;
  for (size_t space = text.find(' '); space != std::string_view::npos;
       space = text.find(' ', start)) {
    words.emplace_back(text.substr(start, space - start));
    start = space + 1;
  }
  words.emplace_back(text.substr(start));
  return words;
}

bool ParseSeconds(std::string_view text, int64_t* seconds) {
  return ParseInt64(text, seconds) && *seconds >= 0;
}

// client-output-buffer-limit: <class> <hard> <soft> <seconds>, any number of times; all or
// nothing.
bool SetOutputBufferLimits(std::string_view value, ClientLimits* limits, std::string* error) {
  const std::vector<std::string> words = Words(value);
  if (words.size() % 4 != 0) {
    *error = "Wrong number of arguments in buffer limit configuration.";
    return false;
  }
  ClientLimits changed = *limits;
  for (size_t i = 0; i < words.size(); i += 4) {
    const std::string name = Lower(words[i]);
    OutputBufferLimit* limit = name == "normal"                       ? &changed.normal
                               : name == "replica" || name == "slave" ? &changed.replica
                               : name == "pubsub"                     ? &changed.pubsub
                                                                      : nullptr;
    if (limit == nullptr) {
      *error = "Invalid client class specified in buffer limit configuration.";
      return false;
    }
    if (!ParseMemory(words[i + 1], &limit->hard_bytes) ||
        !ParseMemory(words[i + 2], &limit->soft_bytes) ||
        !ParseSeconds(words[i + 3], &limit->soft_seconds)) {
      *error = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
      return false;
    }
  }
  *limits = changed;
  return true;
}

std::string FormatLimit(std::string_view name, const OutputBufferLimit& limit) {
  return std::string(name) + " " + std::to_string(limit.hard_bytes) + " " +
         std::to_string(limit.soft_bytes) + " " + std::to_string(limit.soft_seconds);
}

}  // namespace

ClientLimits::ClientLimits() : bulk_bytes(kBulkBytesMax) {}

uint64_t PhysicalMemoryBytes() {
  // Read once: it is asked for at every write command (the write budget).
  static const uint64_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_bytes = sysconf(_SC_PAGESIZE);
    uint64_t total = pages > 0 && page_bytes > 0
                         ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_bytes)
                         : 0;
    // In a container, its memory limit when lower (cgroup v2, then v1; "max" means none).
    for (const char* path :
         {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
      FILE* file = std::fopen(path, "r");
      if (file == nullptr) continue;
      unsigned long long limit = 0;
      const bool read = std::fscanf(file, "%llu", &limit) == 1;
      std::fclose(file);
      if (read && limit > 0 && (total == 0 || limit < total)) total = limit;
      break;
    }
    return total;
  }();
  return bytes;
}

uint64_t ClientLimits::MaxMemoryClientsBytes() const {
  if (maxmemory_clients >= 0) return static_cast<uint64_t>(maxmemory_clients);
  return PhysicalMemoryBytes() / 100 * static_cast<uint64_t>(-maxmemory_clients);
}

bool ParseMemory(std::string_view text, uint64_t* bytes) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  // No digits is 0, as Redis's memtoull reads "" and "mb".
  const std::string unit = Lower(text.substr(digits));
  uint64_t multiplier = 0;
  if (unit.empty() || unit == "b")
    multiplier = 1;
  else if (unit == "k")
    multiplier = 1000;
  else if (unit == "kb")
    multiplier = 1024;
  else if (unit == "m")
    multiplier = 1000 * 1000;
  else if (unit == "mb")
    multiplier = 1024 * 1024;
  else if (unit == "g")
    multiplier = 1000ull * 1000 * 1000;
  else if (unit == "gb")
    multiplier = 1024ull * 1024 * 1024;
  else
    return false;
  uint64_t number = 0;
  for (size_t i = 0; i < digits; ++i) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (number > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    number = number * 10 + digit;
  }
  if (number > std::numeric_limits<uint64_t>::max() / multiplier) return false;
  *bytes = number * multiplier;
  return true;
}

bool SetClientLimit(std::string_view name, std::string_view value, ClientLimits* limits,
                    std::string* error) {
  const std::string setting = Lower(name);
  uint64_t bytes = 0;
  if (setting == "client-output-buffer-limit") return SetOutputBufferLimits(value, limits, error);
  if (setting == "maxmemory-clients") {
    if (!value.empty() && value.back() == '%') {
      int64_t percent = 0;
      if (!ParseInt64(value.substr(0, value.size() - 1), &percent) || percent < 0) {
        *error = "argument must be a memory or percent value";
        return false;
      }
      if (percent > 100) {
        *error = "percentage argument must be less or equal to 100";
        return false;
      }
      limits->maxmemory_clients = -percent;
      return true;
    }
    if (!ParseMemory(value, &bytes) ||
        bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      *error = "argument must be a memory or percent value";
      return false;
    }
    limits->maxmemory_clients = static_cast<int64_t>(bytes);
    return true;
  }
  if (setting == "busy-reply-threshold" || setting == "lua-time-limit") {
    int64_t milliseconds = 0;
    if (!ParseInt64(value, &milliseconds)) {
      *error = "argument couldn't be parsed into an integer";
      return false;
    }
    if (milliseconds < 0) {
      *error = "argument must be between 0 and 9223372036854775807 inclusive";
      return false;
    }
    limits->busy_reply_threshold_ms = milliseconds;
    return true;
  }
  if (setting == "client-query-buffer-limit" || setting == "proto-max-bulk-len") {
    if (!ParseMemory(value, &bytes)) {
      *error = "argument must be a memory value";
      return false;
    }
    const bool query = setting == "client-query-buffer-limit";
    const uint64_t minimum = query ? kQueryBufferLimitMin : kBulkLimitMin;
    const uint64_t maximum = std::numeric_limits<int64_t>::max();
    if (bytes < minimum || bytes > maximum) {
      *error = "argument must be between " + std::to_string(minimum) + " and " +
               std::to_string(maximum) + " inclusive";  // Redis's words and bounds
      return false;
    }
    if (!query && bytes > kBulkBytesMax) {
      // ordo stores values up to 512 MiB: a longer bulk could never be stored.
      *error = "argument must be at most " + std::to_string(kBulkBytesMax) +
               " (the largest value ordo stores)";
      return false;
    }
    (query ? limits->query_buffer_bytes : limits->bulk_bytes) = bytes;
    return true;
  }
  *error = "unknown setting";
  return false;
}

std::vector<std::pair<std::string, std::string>> ClientLimitValues(const ClientLimits& limits) {
  return {
      {"client-query-buffer-limit", std::to_string(limits.query_buffer_bytes)},
      {"proto-max-bulk-len", std::to_string(limits.bulk_bytes)},
      {"client-output-buffer-limit", FormatLimit("normal", limits.normal) + " " +
                                         FormatLimit("slave", limits.replica) + " " +
                                         FormatLimit("pubsub", limits.pubsub)},
      {"maxmemory-clients", limits.maxmemory_clients >= 0
                                ? std::to_string(limits.maxmemory_clients)
                                : std::to_string(-limits.maxmemory_clients) + "%"},
      {"busy-reply-threshold", std::to_string(limits.busy_reply_threshold_ms)},
      {"lua-time-limit", std::to_string(limits.busy_reply_threshold_ms)},
  };
}

}  // namespace ordo::server
