// DBInternal: the database's interface beyond the embedding contract (include/ordo/db.h), for
// the layers above db/ (the server's event loop and commands, the cli) and the engine's own
// tests. An embedder writes with Put, Delete and Write, which wait for durability; the server
// instead sequences each command's write at once and commits an event-loop iteration's writes
// as one group, holding each reply until its write is acknowledged. That commit protocol
// (Submit, SubmitDeferred, CommitPending, the ack listener) and restore points are here.
//
// DBInternal::Open and DB::Open return the same object (the engine, DBImpl), the one as a
// DBInternal, the other as a DB. Thread safety, ownership and errors are as in db.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ordo/db.h"
#include "ordo/options.h"
#include "ordo/status.h"

namespace ordo::db {

// The longest a write submitted with SubmitDeferred waits for its committer when the caller
// never calls CommitPending() (the committer thread's backstop).
inline constexpr int64_t kDeferredCommitMaxMs = 100;
// Pending log bytes above which CommitPending() leaves the commit to the committer thread.
inline constexpr uint64_t kCallerCommitBytesMax = 1024 * 1024;

class DBInternal : public DB {
 public:
  // As DB::Open.
  static Result<std::unique_ptr<DBInternal>> Open(const Options& options,
                                                  const std::string& directory,
                                                  OpenReport* report = nullptr);

  // Asynchronous write: validates and sequences `batch`, makes it visible, and returns its LSN
  // without waiting. Durability is signalled through AckedLsn() and the ack listener. An empty
  // batch returns the last LSN and writes nothing. Errors as DB::Write's, before anything is
  // sequenced.
  virtual Result<uint64_t> Submit(WriteBatch batch) = 0;
  // Like Submit, but does not wake the committer thread: the write waits for the caller's
  // CommitPending(), so that a burst of writes (an event loop's iteration) goes out as one
  // group, with one hand-off instead of one per write. A deferred write the caller never
  // commits is committed by the committer thread within kDeferredCommitMaxMs anyway (or at
  // once when someone calls WaitForAck for it): forgetting CommitPending() costs latency, never
  // the write.
  virtual Result<uint64_t> SubmitDeferred(WriteBatch batch) = 0;
  // Commits every pending write (deferred or not) on the calling thread, as the committer
  // thread would: one write(2), one fdatasync (sync mode always), apply, acknowledge. Returns
  // OK once they are acknowledged (AckedLsn() covers them), or at once if nothing is pending;
  // the ack listener is not called for a commit made here (the caller sees AckedLsn() move).
  // If the committer thread is busy (writing a group or a checkpoint), or the pending writes
  // come to more than kCallerCommitBytesMax (a large value would hold the caller for long),
  // wakes the committer thread to commit them instead and returns OK without waiting; the
  // listener then reports them as usual. Failed if the database has failed (the write or sync
  // error here fails it, as on the committer thread).
  virtual Status CommitPending() = 0;
  // Called after each group the committer thread acknowledges (not after a CommitPending()
  // commit: its caller knows), and when the database fails, on the thread that committed or
  // failed. Must be cheap and must not call into the DB (a server writes to an eventfd). Set
  // once, before writes start; null to remove.
  virtual void SetAckListener(std::function<void()> listener) = 0;

  // Logs a named restore point (a commit that changes nothing) and waits for it to be
  // acknowledged; returns its LSN. `ordo restore --point NAME` restores to the state at it.
  // InvalidArgument for an empty name or one over log::kRestorePointNameBytesMax; otherwise
  // errors as DB::Write's.
  virtual Result<uint64_t> CreateRestorePoint(std::string_view name) = 0;

  // Databases (Redis's SELECT): every key lives in one of log::kDatabasesMax numbered
  // databases. DB's own methods address database 0 (CountKeys, Digest and ComputeDigest cover
  // them all); these address any, with the same contract as their DB counterparts. A batch
  // names each op's database (WriteBatchInternal::SetDatabase, FlushDatabase).
  virtual Status GetIn(uint32_t db, std::string_view key, std::string* value,
                       ReadInfo* info = nullptr) = 0;
  virtual Status GetInfoIn(uint32_t db, std::string_view key, ReadInfo* info) = 0;
  virtual std::string ScanIn(uint32_t db, std::string_view start, std::string_view end,
                             size_t limit, const std::function<void(const ScanEntry&)>& visit) = 0;
  virtual Status ForEachIn(
      uint32_t db, std::string_view start, std::string_view end,
      const std::function<bool(std::string_view, std::string_view, const ReadInfo&)>& visit) = 0;
  // Keys of one database after every submitted write, in O(1) (DBSIZE), and those of them with
  // an expiry as of the last commit (INFO keyspace).
  virtual uint64_t CountKeysIn(uint32_t db) = 0;
  virtual uint64_t CountKeysWithExpiryIn(uint32_t db) = 0;
  // One past the highest database that holds or held a key since open (0: none).
  virtual uint32_t DatabasesInUse() = 0;

  // Atomic sections (MULTI/EXEC, scripts): every write the calling thread submits between
  // BeginAtomic() and EndAtomic() is applied and visible at once, as usual, but all of them go
  // into the log as one record with one LSN, so a crash, a torn tail, a backup's cut and a
  // point-in-time restore never land inside the section. Each Submit inside returns that LSN.
  // While a section is open, other threads' writes (the expiry sweep, an embedder's) wait
  // until it ends; BeginAtomic waits for another thread's section to end. Sections do not nest.
  // A write inside that would take the record past log::kRecordPayloadBytesMax is refused
  // alone (InvalidArgument), and what the section wrote before stays. Inside a section the
  // owner must not wait for the section's LSN (WaitForAck, CreateRestorePoint, Put/Write):
  // it is committed only after EndAtomic. Close the database only with no section open: a
  // thread waiting for one is not woken by Close, and a section Close overtakes ends Failed
  // with its writes visible until the database is reopened but never logged.
  virtual void BeginAtomic() = 0;
  // Ends the section and sequences its record as SubmitDeferred does (commit it with
  // CommitPending or wait for it with WaitForAck). Returns its LSN, or the last LSN when the
  // section wrote nothing; Failed if the database failed meanwhile (nothing of it is logged).
  virtual Result<uint64_t> EndAtomic() = 0;
};

}  // namespace ordo::db
