// What a client may make the server hold, under Redis's names and defaults
// (docs/OPERATIONS-server.md, "Client memory"):
//
//   client-query-buffer-limit   1 GiB    a request being read (its unparsed bytes and the
//                                        arguments parsed so far) larger than this closes the
//                                        client ("Closing client that reached max query buffer
//                                        length")
//   proto-max-bulk-len          512 MiB  a longer bulk is a protocol error (ordo's largest value
//                                        is 512 MiB, so it may be lowered, never raised past it)
//   client-output-buffer-limit  normal 0 0 0, pubsub 32mb 8mb 60 (replica 256mb 64mb 60 is
//                               reported, ordo has no replicas): replies a client has not read,
//                               over the hard limit, or over the soft limit for its seconds,
//                               close the client ("... for overcoming of output buffer limits")
//   busy-reply-threshold        5000 ms  (lua-time-limit, its old name, is the same setting) a
//                                        script running longer makes the server busy: other
//                                        clients get BUSY until it ends or SCRIPT KILL stops it
//   maxmemory-clients           25% of physical memory (Redis: 0): when all clients together
//                               hold more, the ones holding most are disconnected first
//                               ("Evicting client"), until they hold less
//
// What a client holds, its tot-mem: the request being read, a command held back for the write
// budget, its writes waiting for durability (each counted at twice its keys and values: the
// record waiting for the disk and the copy reads see meanwhile), and its replies waiting or not
// yet sent. Writes waiting for durability are also held to a server-wide budget of half of
// maxmemory-clients: past it, a write command waits before it runs (no error), as the disk
// drains.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ordo::server {

inline constexpr uint64_t kMebibyte = 1024 * 1024;
inline constexpr uint64_t kQueryBufferLimitDefault = 1024 * kMebibyte;
inline constexpr uint64_t kQueryBufferLimitMin = kMebibyte;  // as Redis
inline constexpr uint64_t kBulkLimitMin = kMebibyte;         // as Redis
// maxmemory-clients by default: this percent of physical memory.
inline constexpr int64_t kMaxMemoryClientsDefaultPercent = 25;
// A client's writes waiting for durability plus its replies above which its requests are no
// longer read until they drain (TCP pushes back on the client): one client cannot fill the
// write budget alone.
inline constexpr uint64_t kClientHeldBytesSoftMax = 64 * kMebibyte;
inline constexpr int64_t kBusyReplyThresholdDefaultMs = 5000;

// One class of client-output-buffer-limit; 0 bytes means no such limit.
struct OutputBufferLimit {
  uint64_t hard_bytes = 0;
  uint64_t soft_bytes = 0;
  int64_t soft_seconds = 0;
};

struct ClientLimits {
  uint64_t query_buffer_bytes = kQueryBufferLimitDefault;
  uint64_t bulk_bytes;  // proto-max-bulk-len; set by the constructor
  OutputBufferLimit normal;
  OutputBufferLimit replica{256 * kMebibyte, 64 * kMebibyte, 60};
  OutputBufferLimit pubsub{32 * kMebibyte, 8 * kMebibyte, 60};
  // maxmemory-clients as configured: bytes (>= 0), or minus a percent of physical memory.
  int64_t maxmemory_clients = -kMaxMemoryClientsDefaultPercent;
  int64_t busy_reply_threshold_ms = kBusyReplyThresholdDefaultMs;

  ClientLimits();
  // maxmemory-clients in bytes (0: no cap).
  uint64_t MaxMemoryClientsBytes() const;
  // Writes waiting for durability past which write commands wait (0: no budget).
  uint64_t WriteBudgetBytes() const { return MaxMemoryClientsBytes() / 2; }
};

// Physical memory of this machine, or its container's limit when lower, in bytes (0 if
// unknown).
uint64_t PhysicalMemoryBytes();

// Parses a memory value as Redis's memtoull: digits with an optional unit, case-insensitive:
// b, k (1000), kb (1024), m, mb, g, gb; no digits reads as 0. False for anything else (a sign,
// spaces, an overflow).
bool ParseMemory(std::string_view text, uint64_t* bytes);

// Sets one setting from its CONFIG SET / command-line text. On failure returns false and
// `*error` says why (Redis's words, for "ERR CONFIG SET failed (possibly related to argument
// '<name>') - <error>"); the limits are unchanged.
bool SetClientLimit(std::string_view name, std::string_view value, ClientLimits* limits,
                    std::string* error);
// The settings' names, and their values as CONFIG GET shows them.
std::vector<std::pair<std::string, std::string>> ClientLimitValues(const ClientLimits& limits);

}  // namespace ordo::server
