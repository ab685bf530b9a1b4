// Pub/sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB, with Redis 7.0's
// replies (pubsub.c). Nothing of it touches the database or the log: a message goes to the
// clients subscribed at the moment it is published, and is gone.
//
// The registry is in ServerState (channel or pattern -> clients, in subscription order) and in
// each ClientState (what it subscribes to). PUBLISH hands each message to the server
// (ServerState::deliver), which queues it on the subscriber's connection behind what that
// connection has queued already and checks the subscriber against client-output-buffer-limit
// pubsub: a subscriber that does not read is disconnected; the publisher never waits for it.
#include <algorithm>
#include <cassert>

#include "server/commands.h"
#include "server/glob_match.h"
#include "server/reply.h"

namespace ordo::server {
namespace {

enum class Kind { kChannel, kPattern };

std::unordered_map<std::string, std::vector<ClientState*>>& Registry(ServerState& server,
                                                                     Kind kind) {
  return kind == Kind::kChannel ? server.channels : server.patterns;
}

std::set<std::string>& Subscriptions(ClientState& client, Kind kind) {
  return kind == Kind::kChannel ? client.channels : client.patterns;
}

uint64_t SubscriptionCount(const ClientState& client) {
  return client.channels.size() + client.patterns.size();
}

// "*3 <kind> <name or null> :<count>" (RESP3: a push frame): the reply to each
// (un)subscription.
void AppendSubscriptionReply(std::string* out, Protocol protocol, std::string_view kind,
                             const std::string* name, uint64_t count) {
  AppendPushHeader(out, 3, protocol);
  AppendBulk(out, kind);
  if (name != nullptr) {
    AppendBulk(out, *name);
  } else {
    AppendNull(out, protocol);
  }
  AppendInteger(out, static_cast<int64_t>(count));
}

void Subscribe(CommandContext& context, Kind kind) {
  ClientState& client = *context.client;
  const std::string_view reply_kind = kind == Kind::kChannel ? "subscribe" : "psubscribe";
  for (size_t i = 1; i < context.argc(); ++i) {
    const std::string& name = context.arg(i);
    if (Subscriptions(client, kind).insert(name).second) {
      Registry(*context.server, kind)[name].push_back(&client);
    }
    AppendSubscriptionReply(context.reply, client.protocol, reply_kind, &name,
                            SubscriptionCount(client));
  }
}

// Removes one subscription; false if the client did not have it.
bool Unsubscribe(ServerState& server, ClientState& client, Kind kind, const std::string& name) {
  if (Subscriptions(client, kind).erase(name) == 0) return false;
  auto& registry = Registry(server, kind);
  auto clients = registry.find(name);
  assert(clients != registry.end());
  clients->second.erase(std::remove(clients->second.begin(), clients->second.end(), &client),
                        clients->second.end());
  if (clients->second.empty()) registry.erase(clients);
  return true;
}

void UnsubscribeCommandOf(CommandContext& context, Kind kind) {
  ClientState& client = *context.client;
  const std::string_view reply_kind = kind == Kind::kChannel ? "unsubscribe" : "punsubscribe";
  std::vector<std::string> names;
  if (context.argc() > 1) {
    names.assign(context.args->begin() + 1, context.args->end());
  } else {
    names.assign(Subscriptions(client, kind).begin(), Subscriptions(client, kind).end());
    if (names.empty()) {  // nothing to leave: one reply with a null name
      AppendSubscriptionReply(context.reply, client.protocol, reply_kind, nullptr,
                              SubscriptionCount(client));
      return;
    }
  }
  for (const std::string& name : names) {
    Unsubscribe(*context.server, client, kind, name);
    AppendSubscriptionReply(context.reply, client.protocol, reply_kind, &name,
                            SubscriptionCount(client));
  }
}

void AppendMessage(std::string* out, Protocol protocol, const std::string* pattern,
                   const std::string& channel, const std::string& message) {
  AppendPushHeader(out, pattern != nullptr ? 4 : 3, protocol);
  AppendBulk(out, pattern != nullptr ? "pmessage" : "message");
  if (pattern != nullptr) AppendBulk(out, *pattern);
  AppendBulk(out, channel);
  AppendBulk(out, message);
}

}  // namespace

void SubscribeCommand(CommandContext& context) { Subscribe(context, Kind::kChannel); }
void PSubscribeCommand(CommandContext& context) { Subscribe(context, Kind::kPattern); }
void UnsubscribeCommand(CommandContext& context) { UnsubscribeCommandOf(context, Kind::kChannel); }
void PUnsubscribeCommand(CommandContext& context) { UnsubscribeCommandOf(context, Kind::kPattern); }

void PublishCommand(CommandContext& context) {
  ServerState& server = *context.server;
  const std::string& channel = context.arg(1);
  const std::string& message = context.arg(2);
  uint64_t receivers = 0;
  // Each subscriber gets the message in its own protocol: encoded once for each, when needed.
  std::string encoded[2];
  auto deliver = [&](ClientState& client, const std::string* pattern) {
    std::string& bytes = encoded[client.protocol == Protocol::kResp3 ? 1 : 0];
    if (bytes.empty()) AppendMessage(&bytes, client.protocol, pattern, channel, message);
    if (&client == server.exec_client) {
      server.exec_client_messages.append(bytes);
    } else if (server.deliver) {
      server.deliver(client, bytes);
    }
    ++receivers;
  };
  auto subscribers = server.channels.find(channel);
  if (subscribers != server.channels.end()) {
    for (ClientState* client : subscribers->second) deliver(*client, nullptr);
  }
  for (const auto& [pattern, clients] : server.patterns) {
    if (!GlobMatch(pattern, channel)) continue;
    encoded[0].clear();
    encoded[1].clear();
    for (ClientState* client : clients) deliver(*client, &pattern);
  }
  AppendInteger(context.reply, static_cast<int64_t>(receivers));
}

void PubSubCommand(CommandContext& context) {
  const ServerState& server = *context.server;
  const std::string sub = ToLower(context.arg(1));
  if (sub == "help" && context.argc() == 2) {
    AppendArrayHeader(context.reply, 14);
    for (std::string_view line : {
             "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             "CHANNELS [<pattern>]",
             "    Return the currently active channels matching a <pattern> (default: '*').",
             "NUMPAT",
             "    Return number of subscriptions to patterns.",
             "NUMSUB [<channel> ...]",
             "    Return the number of subscribers for the specified channels, excluding",
             "    pattern subscriptions(default: no channels).",
             "SHARDCHANNELS [<pattern>]",
             "    Return the currently active shard level channels matching a <pattern> "
             "(default: '*').",
             "SHARDNUMSUB [<shardchannel> ...]",
             "    Return the number of subscribers for the specified shard level channel(s)",
             "HELP",
             "    Prints this help.",
         }) {
      AppendSimpleString(context.reply, line);
    }
  } else if ((sub == "channels" || sub == "shardchannels") && context.argc() <= 3) {
    // ordo has no cluster, so no shard channels: SHARDCHANNELS lists none, as Redis without
    // SSUBSCRIBE does.
    std::vector<std::string> names;
    if (sub == "channels") {
      for (const auto& [name, clients] : server.channels) {
        if (context.argc() == 2 || GlobMatch(context.arg(2), name)) names.push_back(name);
      }
    }
    AppendBulkArray(context.reply, names);
  } else if (sub == "numpat" && context.argc() == 2) {
    AppendInteger(context.reply, static_cast<int64_t>(server.patterns.size()));
  } else if (sub == "numsub" || sub == "shardnumsub") {
    AppendArrayHeader(context.reply, 2 * (context.argc() - 2));
    for (size_t i = 2; i < context.argc(); ++i) {
      auto found = server.channels.find(context.arg(i));
      const bool counted = sub == "numsub" && found != server.channels.end();
      AppendBulk(context.reply, context.arg(i));
      AppendInteger(context.reply, counted ? static_cast<int64_t>(found->second.size()) : 0);
    }
  } else if (sub == "help" || sub == "numpat") {  // their arity is the table's, in Redis
    ReplyError(context, "ERR wrong number of arguments for 'pubsub|" + sub + "' command");
  } else if (sub == "channels" || sub == "shardchannels") {  // checked by the command itself
    ReplyError(context, "ERR unknown subcommand or wrong number of arguments for '" +
                            context.arg(1).substr(0, 128) + "'. Try PUBSUB HELP.");
  } else {
    ReplyError(context,
               "ERR unknown subcommand '" + context.arg(1).substr(0, 128) + "'. Try PUBSUB HELP.");
  }
}

void UnsubscribeAll(ServerState& server, ClientState& client) {
  for (Kind kind : {Kind::kChannel, Kind::kPattern}) {
    const std::vector<std::string> names(Subscriptions(client, kind).begin(),
                                         Subscriptions(client, kind).end());
    for (const std::string& name : names) Unsubscribe(server, client, kind, name);
  }
}

}  // namespace ordo::server
