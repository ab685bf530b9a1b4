#include "server/event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ordo::server {

namespace {

// Events handled per epoll_wait: a bound on one iteration's work, not on connections.
constexpr int kEventsPerPoll = 1024;

uint32_t ToEpoll(uint32_t events) {
  uint32_t mask = 0;
  if (events & EventLoop::kReadable) mask |= EPOLLIN;
  if (events & EventLoop::kWritable) mask |= EPOLLOUT;
  return mask;
}

Status ErrnoStatus(const char* what) {
  return Status::IOError(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::Create() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return ErrnoStatus("epoll_create1");
  return std::unique_ptr<EventLoop>(new EventLoop(fd));
}

EventLoop::~EventLoop() { ::close(epoll_fd_); }

Status EventLoop::Add(int fd, uint64_t token, uint32_t events) {
  epoll_event event{};
  event.events = ToEpoll(events);
  event.data.u64 = token;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) return ErrnoStatus("epoll_ctl add");
  return Status::Ok();
}

Status EventLoop::Modify(int fd, uint64_t token, uint32_t events) {
  epoll_event event{};
  event.events = ToEpoll(events);
  event.data.u64 = token;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0) return ErrnoStatus("epoll_ctl mod");
  return Status::Ok();
}

void EventLoop::Remove(int fd) { ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

int EventLoop::Poll(int timeout_ms,
                    const std::function<void(uint64_t token, uint32_t events)>& handle) {
  epoll_event events[kEventsPerPoll];
  int count = ::epoll_wait(epoll_fd_, events, kEventsPerPoll, timeout_ms);
  if (count < 0) return 0;  // EINTR: the caller loops
  for (int i = 0; i < count; ++i) {
    uint32_t ready = 0;
    if (events[i].events & EPOLLIN) ready |= kReadable;
    if (events[i].events & EPOLLOUT) ready |= kWritable;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) ready |= kError;
    handle(events[i].data.u64, ready);
  }
  return count;
}

}  // namespace ordo::server
