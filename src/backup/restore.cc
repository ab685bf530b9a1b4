#include "backup/restore.h"

#include <random>

#include "fmt/format.h"
#include "util/clock.h"

namespace ordo::backup {
namespace {

std::string WithoutTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string ParentDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string RandomHex() {
  std::random_device random;
  return fmt::format("{:08x}", random());
}

// InvalidArgument unless `target` is absent or an empty directory.
Status CheckTarget(FileSystem* fs, const std::string& target) {
  if (!fs->FileExists(target)) return Status::Ok();
  auto children = fs->GetChildren(target);
  if (!children.ok()) {
    return Status::InvalidArgument(target + ": exists and is not a directory that can be "
                                   "listed (" + children.status().message() + ")");
  }
  if (!children->empty()) {
    return Status::InvalidArgument(fmt::format("{}: exists and is not empty ({} entries); "
                                               "restore only into a new or empty directory",
                                               target, children->size()));
  }
  return Status::Ok();
}

struct RestoreState {
  FileSystem* fs;
  Repository* repository;
  const ProgressCallback* progress;
  TransferProgress figures;
  RestoreReport* report;
};

Status RestoreFile(RestoreState& state, const ManifestFile& file, const std::string& path) {
  state.figures.current_file = file.relative_path;
  if (*state.progress) (*state.progress)(state.figures);
  ORDO_ASSIGN_OR_RETURN(auto output, state.fs->NewWritableFile(path));
  uint64_t written = 0;
  const Repository::WriteChunk sink = [&](std::string_view bytes) -> Status {
    ORDO_RETURN_IF_ERROR(output->Append(bytes));
    written += bytes.size();
    state.figures.bytes_done += bytes.size();
    if (*state.progress) (*state.progress)(state.figures);
    return Status::Ok();
  };
  ORDO_RETURN_IF_ERROR(
      state.repository->ReadFile(file, sink).WithContext("restoring " + file.relative_path));
  if (written != file.plain_bytes) {
    return Status::Corruption(fmt::format("restoring {} (data/{}): {} bytes where the manifest "
                                          "says {}", file.relative_path, file.stored_name,
                                          written, file.plain_bytes));
  }
  // Not fsynced here: every file is fsynced once all are written (SyncRestored), so the
  // kernel writes them back while the next ones stream in. Nothing is visible before the
  // final rename, so the order of the fsyncs does not matter.
  ORDO_RETURN_IF_ERROR(output->Close());
  state.report->bytes += written;
  ++state.report->files;
  return Status::Ok();
}

Status RestoreInto(RestoreState& state, const Manifest& manifest, const std::string& staging) {
  FileSystem* fs = state.fs;
  ORDO_RETURN_IF_ERROR(fs->CreateDir(staging));
  ORDO_RETURN_IF_ERROR(fs->CreateDir(staging + "/log"));
  ORDO_RETURN_IF_ERROR(fs->CreateDir(staging + "/index"));
  for (const ManifestFile& file : manifest.files) {
    ORDO_RETURN_IF_ERROR(RestoreFile(state, file, staging + "/" + file.relative_path));
  }
  for (const ManifestFile& file : manifest.files) {
    const std::string path = staging + "/" + file.relative_path;
    ORDO_ASSIGN_OR_RETURN(auto output, fs->ReopenWritableFile(path));
    ORDO_RETURN_IF_ERROR(output->SyncAll());
    ORDO_RETURN_IF_ERROR(output->Close());
    // DESIGN rule 1: a sealed segment never changes again, and is read-only on disk.
    if (file.kind == "sealed-segment") ORDO_RETURN_IF_ERROR(fs->SetReadOnly(path));
  }
  ORDO_RETURN_IF_ERROR(fs->SyncDir(staging + "/log"));
  ORDO_RETURN_IF_ERROR(fs->SyncDir(staging + "/index"));
  return fs->SyncDir(staging);
}

}  // namespace

bool IsRestorablePath(const std::string& relative_path) {
  if (relative_path == "IDENTITY") return true;
  std::string_view name;
  if (relative_path.starts_with("log/")) {
    name = std::string_view(relative_path).substr(4);
  } else if (relative_path.starts_with("index/")) {
    name = std::string_view(relative_path).substr(6);
  } else {
    return false;
  }
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

Status RestoreBackup(FileSystem* fs, Repository* repository, const Manifest& manifest,
                     const std::string& target_directory, const ProgressCallback& progress,
                     RestoreReport* report, const PointTarget& point) {
  *report = RestoreReport{};
  const std::string target = WithoutTrailingSlashes(target_directory);
  report->target = target;
  if (!repository->CanRead()) {
    return Status::InvalidArgument(
        "repository " + repository->info().repository_id +
        " is encrypted for a public key: restoring needs the secret key (--key-file)");
  }
  for (const ManifestFile& file : manifest.files) {
    if (!IsRestorablePath(file.relative_path)) {
      return Status::Corruption(fmt::format("manifests/{}.json: file path \"{}\" is not a data "
                                            "directory path", manifest.backup_id,
                                            file.relative_path));
    }
  }
  ORDO_RETURN_IF_ERROR(CheckTarget(fs, target));
  const int64_t start_micros = MonotonicMicros();
  const std::string staging = target + ".restoring-" + RandomHex();
  RestoreState state{fs, repository, &progress, {}, report};
  for (const ManifestFile& file : manifest.files) state.figures.bytes_total += file.plain_bytes;
  Status status = RestoreInto(state, manifest, staging);
  if (status.ok() && point.kind != PointTarget::Kind::kNone) {
    status = CutLogAt(fs, staging, point, &report->point);
    report->cut = status.ok();
  }
  // The marker: the complete directory appears under the target's name at once.
  if (status.ok()) status = fs->RenameFile(staging, target);
  if (!status.ok()) {
    return status.WithContext(fmt::format("restore of backup {} to {} failed; {} holds the "
                                          "partial copy and can be deleted",
                                          manifest.backup_id, target, staging));
  }
  ORDO_RETURN_IF_ERROR(fs->SyncDir(ParentDirectory(target)));
  report->duration_seconds = static_cast<double>(MonotonicMicros() - start_micros) / 1e6;
  return Status::Ok();
}

}  // namespace ordo::backup
