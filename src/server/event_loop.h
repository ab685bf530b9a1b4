// A thin wrapper over Linux epoll (Redis's ae.c with the epoll backend): one thread registers
// descriptors with a 64-bit token and waits for readiness. Level-triggered, so a handler may
// read only part of what is available and be called again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "ordo/status.h"

namespace ordo::server {

class EventLoop {
 public:
  static constexpr uint32_t kReadable = 1;
  static constexpr uint32_t kWritable = 2;
  // Also reported: the peer hung up or the descriptor failed (EPOLLHUP / EPOLLERR).
  static constexpr uint32_t kError = 4;

  static Result<std::unique_ptr<EventLoop>> Create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Registers `fd` for `events` (kReadable | kWritable); `token` comes back with each event.
  Status Add(int fd, uint64_t token, uint32_t events);
  Status Modify(int fd, uint64_t token, uint32_t events);
  // Unregisters `fd` (before it is closed).
  void Remove(int fd);

  // Waits up to `timeout_ms` (-1: forever) and calls `handle(token, events)` for each ready
  // descriptor. Returns the number of events handled; EINTR counts as zero events.
  int Poll(int timeout_ms, const std::function<void(uint64_t token, uint32_t events)>& handle);

 private:
  explicit EventLoop(int epoll_fd) : epoll_fd_(epoll_fd) {}
  int epoll_fd_;
};

}  // namespace ordo::server
