#include "cli/backup_cli.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "cli/commands.h"
#include "fmt/format.h"

namespace ordo::cli {

Result<std::unique_ptr<repository::Repository>> OpenRepository(const std::string& path,
                                                               const std::string& key_file) {
  repository::KeyMaterial key;
  if (!key_file.empty()) {
    ORDO_RETURN_IF_ERROR(repository::ReadKeyFile(FileSystem::Default(), key_file, &key));
  }
  return repository::Repository::Open(FileSystem::Default(), path, key);
}

Result<std::unique_ptr<repository::Repository>> OpenOrCreateRepository(const char* command,
                                                                       const std::string& path,
                                                                       const std::string& key_file,
                                                                       bool* created) {
  *created = false;
  auto opened = OpenRepository(path, key_file);
  if (opened.ok() || !opened.status().IsNotFound()) return opened;
  if (!key_file.empty()) {
    return Status::NotFound(opened.status().message() +
                            "; --key-file was given, so no plain repository is created: "
                            "create an encrypted one with `ordo repo init`");
  }
  repository::RepositoryInfo info;
  ORDO_RETURN_IF_ERROR(repository::Repository::Init(
      FileSystem::Default(), path, repository::EncryptionMode::kNone, {}, "", &info));
  *created = true;
  std::fprintf(stderr, "%s: created a plain (unencrypted) repository at %s (id %s)\n", command,
               path.c_str(), info.repository_id.c_str());
  return OpenRepository(path, "");
}

Result<repository::Manifest> ChooseBackup(repository::Repository* repository,
                                          const std::string& path, const std::string& backup_id) {
  if (!backup_id.empty() && backup_id != "latest") return repository->ReadManifest(backup_id);
  ORDO_ASSIGN_OR_RETURN(std::vector<repository::Manifest> manifests, repository->ListManifests());
  if (manifests.empty()) return Status::NotFound(path + ": the repository holds no backup");
  // Backup ids sort by start time.
  return *std::max_element(manifests.begin(), manifests.end(),
                           [](const repository::Manifest& a, const repository::Manifest& b) {
                             return a.backup_id < b.backup_id;
                           });
}

namespace {
const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return "ok";
    case Status::Code::kNotFound:
      return "not-found";
    case Status::Code::kCorruption:
      return "corruption";
    case Status::Code::kIOError:
      return "io-error";
    case Status::Code::kNoSpace:
      return "no-space";
    case Status::Code::kInvalidArgument:
      return "invalid-argument";
    case Status::Code::kBusy:
      return "busy";
    case Status::Code::kFailed:
      return "failed";
    case Status::Code::kNotSupported:
      return "not-supported";
  }
  return "unknown";
}
}  // namespace

void ReportFailure(const char* command, const Status& status, bool json) {
  exit_code = 1;
  std::fprintf(stderr, "%s: error: %s\n", command, status.ToString().c_str());
  if (json) {
    nlohmann::json object = {{"ok", false},
                             {"command", command},
                             {"error", status.ToString()},
                             {"code", CodeName(status.code())}};
    std::printf("%s\n", object.dump().c_str());
  }
}

void PrintJson(nlohmann::json object) {
  object["ok"] = true;
  std::printf("%s\n", object.dump().c_str());
}

nlohmann::json ManifestSummary(const repository::Manifest& manifest) {
  uint64_t plain_bytes = 0;
  uint64_t stored_bytes = 0;
  for (const auto& file : manifest.files) {
    plain_bytes += file.plain_bytes;
    stored_bytes += file.stored_bytes;
  }
  return {{"backup_id", manifest.backup_id},
          {"parent_backup_id", manifest.parent_backup_id},
          {"database_id", manifest.database_id},
          {"started", manifest.started},
          {"finished", manifest.finished},
          {"first_lsn", manifest.first_lsn},
          {"last_lsn", manifest.last_lsn},
          {"first_commit_time_micros", manifest.first_commit_time_micros},
          {"last_commit_time_micros", manifest.last_commit_time_micros},
          {"digest", manifest.digest.ToHex()},
          {"keys", manifest.keys},
          {"files", manifest.files.size()},
          {"size_bytes", plain_bytes},
          {"stored_bytes", stored_bytes},
          {"new_bytes", manifest.bytes_written},
          {"new_files", manifest.new_files},
          {"duration_seconds", manifest.duration_seconds}};
}

bool ParseDurationSeconds(const std::string& text, int64_t* seconds) {
  if (text.empty()) return false;
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return false;
  const int64_t count = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  int64_t scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1;
  else if (unit == "m")
    scale = 60;
  else if (unit == "h")
    scale = 3600;
  else if (unit == "d")
    scale = 86400;
  else if (unit == "w")
    scale = 7 * 86400;
  else
    return false;
  *seconds = count * scale;
  return true;
}

bool ParseDurationMillis(const std::string& text, int64_t* milliseconds) {
  if (text.size() > 2 && text.ends_with("ms")) {
    const std::string digits = text.substr(0, text.size() - 2);
    if (digits.size() > 12 || !std::all_of(digits.begin(), digits.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return false;
    }
    *milliseconds = std::stoll(digits);
    return true;
  }
  if (!text.empty() && (text.back() == 'd' || text.back() == 'w')) return false;
  int64_t seconds = 0;
  if (!ParseDurationSeconds(text, &seconds)) return false;
  *milliseconds = seconds * 1000;
  return true;
}

const char* EncryptionModeName(repository::EncryptionMode mode) {
  switch (mode) {
    case repository::EncryptionMode::kNone:
      return "none";
    case repository::EncryptionMode::kKey:
      return "key";
    case repository::EncryptionMode::kPublicKey:
      return "public-key";
  }
  return "unknown";
}

}  // namespace ordo::cli
