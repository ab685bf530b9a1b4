// Persistence commands: SAVE, BGSAVE, LASTSAVE. They mean what an operator expects from Redis,
// with ordo's meaning of a save: a backup into the repository given with `--repo`, online and
// without a fork (the log itself is always on; a "save" is what makes the data survive the loss
// of the machine).
#include "server/backup_worker.h"
#include "server/commands.h"
#include "server/reply.h"

namespace ordo::server {
namespace {

constexpr std::string_view kNoRepository =
    "ERR no backup repository configured (start ordo serve with --repo REPO)";

}  // namespace

void SaveCommand(CommandContext& context) {
  if (context.server->backups == nullptr) return ReplyError(context, kNoRepository);
  // Like Redis's SAVE, this blocks the event loop until the backup is done; BGSAVE does not.
  Status status = context.server->backups->RunNow();
  if (status.IsBusy()) return ReplyError(context, "ERR Background save already in progress");
  if (!status.ok()) return ReplyError(context, "ERR backup failed: " + status.ToString());
  ReplyOk(context);
}

void BgSaveCommand(CommandContext& context) {
  if (context.server->backups == nullptr) return ReplyError(context, kNoRepository);
  if (context.argc() > 2) return ReplySyntaxError(context);
  if (!context.server->backups->StartInBackground()) {
    return ReplyError(context, "ERR Background save already in progress");
  }
  AppendSimpleString(context.reply, "Background saving started");
}

void RestorePointCommand(CommandContext& context) {
  // Waits for the acknowledgement inside the command, so the reply carries a durable LSN.
  auto lsn = context.db->CreateRestorePoint(context.arg(1));
  if (!lsn.ok()) {
    if (lsn.status().IsInvalidArgument())
      return ReplyError(context, "ERR " + lsn.status().message());
    return ReplyError(context, "ERR disk error: " + lsn.status().ToString());
  }
  AppendInteger(context.reply, static_cast<int64_t>(*lsn));
}

void LastSaveCommand(CommandContext& context) {
  // Redis reports the server's start time until the first save; so does ordo.
  int64_t seconds = context.server->start_time_ms / 1000;
  if (context.server->backups != nullptr) {
    const BackupOutcome outcome = context.server->backups->outcome();
    if (outcome.last_success_time_s != 0) seconds = outcome.last_success_time_s;
  }
  AppendInteger(context.reply, seconds);
}

}  // namespace ordo::server
