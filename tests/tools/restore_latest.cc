// Test-only: restores a repository to its newest commit through the archive (PlanRestore +
// RestoreFrom), for the end-to-end archiving test (tests/e2e/test_archive.py).
//
// Debt: `ordo restore` does not plan through the archive on this branch yet (that wiring is
// being done on main). Once it does, test_archive.py calls `ordo restore --repo R --to D`
// instead and this tool goes away.
//
// Usage: ordo_test_restore_latest REPO TARGET_DIR. Prints "restored LSN <n>" and exits 0, or
// prints the error and exits 1.
#include <cstdio>

#include "backup/archive_plan.h"
#include "backup/restore.h"

int main(int argc, char** argv) {
  using namespace ordo;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s REPO TARGET_DIR\n", argv[0]);
    return 2;
  }
  auto repository = backup::Repository::Open(FileSystem::Default(), argv[1], {});
  if (!repository.ok()) {
    std::fprintf(stderr, "%s\n", repository.status().ToString().c_str());
    return 1;
  }
  auto plan = backup::PlanRestore(repository->get(), backup::PointTarget{});
  if (!plan.ok()) {
    std::fprintf(stderr, "%s\n", plan.status().ToString().c_str());
    return 1;
  }
  backup::RestoreReport report;
  const Status restored = backup::RestoreFrom(FileSystem::Default(), repository->get(),
                                              plan->Sources(), argv[2], {}, &report);
  if (!restored.ok()) {
    std::fprintf(stderr, "%s\n", restored.ToString().c_str());
    return 1;
  }
  std::printf("restored LSN %llu from %s and %llu archive pieces\n",
              static_cast<unsigned long long>(report.lsn),
              report.backup_id.empty() ? "the archive alone" : report.backup_id.c_str(),
              static_cast<unsigned long long>(report.archive_pieces));
  return 0;
}
