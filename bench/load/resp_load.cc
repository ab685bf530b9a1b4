// resp_load: a closed-loop load of one request made of several commands (MULTI, SET, SET, EXEC:
// what redis-benchmark cannot send), over many connections, against any RESP server. Each
// connection sends the whole group at once (as a client library's multi() does) and sends it
// again once every reply of the group has arrived; throughput counts groups.
//
//   resp_load --port P [--host 127.0.0.1] [--connections 50] [--requests 100000] [--name NAME]
//             -- COMMAND ARG... [';' COMMAND ARG...]
//
// Prints one line, as redis-benchmark -q does: "NAME: <groups per second> requests per second,
// p50=<ms> msec". Exits 1 if a reply is an error (the first one is printed): a load whose
// requests fail measures nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string EncodeCommand(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& arg : args) {
    out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  }
  return out;
}

// The length of the complete RESP2 reply at the start of `data`, 0 if it is incomplete; sets
// *error when the reply is an error.
size_t ReplyLength(std::string_view data, bool* error) {
  const size_t line_end = data.find("\r\n");
  if (data.empty() || line_end == std::string_view::npos) return 0;
  const char kind = data[0];
  if (kind == '-') *error = true;
  if (kind == '+' || kind == '-' || kind == ':') return line_end + 2;
  const long long count = std::atoll(std::string(data.substr(1, line_end - 1)).c_str());
  size_t used = line_end + 2;
  if (kind == '$') {
    if (count < 0) return used;
    used += static_cast<size_t>(count) + 2;
    return used <= data.size() ? used : 0;
  }
  if (kind != '*') {
    std::fprintf(stderr, "resp_load: unexpected reply type '%c'\n", kind);
    std::exit(1);
  }
  for (long long i = 0; i < count; ++i) {
    const size_t item = ReplyLength(data.substr(used), error);
    if (item == 0) return 0;
    used += item;
  }
  return used;
}

struct Connection {
  int fd = -1;
  std::string input;
  size_t replies_left = 0;
  Clock::time_point sent_at;
};

int Connect(const std::string& host, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    std::perror("resp_load: connect");
    std::exit(1);
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t count = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (count <= 0) {
      std::perror("resp_load: send");
      std::exit(1);
    }
    sent += static_cast<size_t>(count);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::string name = "group";
  int port = 0;
  size_t connections = 50;
  size_t requests = 100000;
  std::vector<std::vector<std::string>> commands;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--" && i + 1 < argc) {
      commands.emplace_back();
      for (++i; i < argc; ++i) {
        if (std::string_view(argv[i]) == ";") {
          commands.emplace_back();
        } else {
          commands.back().emplace_back(argv[i]);
        }
      }
      break;
    }
    if (i + 1 >= argc) break;
    if (arg == "--host")
      host = argv[++i];
    else if (arg == "--port")
      port = std::atoi(argv[++i]);
    else if (arg == "--connections")
      connections = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--requests")
      requests = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--name")
      name = argv[++i];
  }
  commands.erase(std::remove_if(commands.begin(), commands.end(),
                                [](const auto& command) { return command.empty(); }),
                 commands.end());
  if (port <= 0 || connections == 0 || requests == 0 || commands.empty()) {
    std::fprintf(stderr,
                 "usage: resp_load --port P [--host H] [--connections N] [--requests N] "
                 "[--name NAME] -- COMMAND ARG... [';' COMMAND ARG...]\n");
    return 2;
  }
  std::string group;
  for (const auto& command : commands) group += EncodeCommand(command);

  std::vector<Connection> clients(connections);
  std::vector<pollfd> polls(connections);
  std::vector<double> latencies_ms;
  latencies_ms.reserve(requests);
  size_t started = 0;
  size_t done = 0;
  const Clock::time_point begin = Clock::now();
  for (size_t i = 0; i < connections; ++i) {
    clients[i].fd = Connect(host, port);
    polls[i] = pollfd{clients[i].fd, POLLIN, 0};
    if (started < requests) {
      ++started;
      clients[i].replies_left = commands.size();
      clients[i].sent_at = Clock::now();
      SendAll(clients[i].fd, group);
    }
  }
  char buffer[65536];
  while (done < requests) {
    if (poll(polls.data(), polls.size(), 10000) <= 0) {
      std::fprintf(stderr, "resp_load: no reply in 10 s\n");
      return 1;
    }
    for (size_t i = 0; i < connections; ++i) {
      if ((polls[i].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
      Connection& client = clients[i];
      const ssize_t count = recv(client.fd, buffer, sizeof(buffer), 0);
      if (count <= 0) {
        std::fprintf(stderr, "resp_load: connection closed by the server\n");
        return 1;
      }
      client.input.append(buffer, static_cast<size_t>(count));
      size_t used = 0;
      while (client.replies_left > 0) {
        bool error = false;
        const size_t length = ReplyLength(std::string_view(client.input).substr(used), &error);
        if (length == 0) break;
        if (error) {
          std::fprintf(stderr, "resp_load: error reply: %s\n",
                       client.input.substr(used, length).c_str());
          return 1;
        }
        used += length;
        --client.replies_left;
      }
      client.input.erase(0, used);
      if (client.replies_left > 0) continue;
      ++done;
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - client.sent_at).count());
      if (started < requests) {
        ++started;
        client.replies_left = commands.size();
        client.sent_at = Clock::now();
        SendAll(client.fd, group);
      }
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf("%s: %.2f requests per second, p50=%.3f msec\n", name.c_str(),
              static_cast<double>(done) / seconds, latencies_ms[latencies_ms.size() / 2]);
  for (Connection& client : clients) close(client.fd);
  return 0;
}
