// ordo repo init|info: create a backup repository, or describe one and check a key against it.
#include <cstdio>

#include "cli/commands.h"
#include "ordo/file_system.h"
#include "repository/keys.h"
#include "repository/manifest_json.h"
#include "repository/repository.h"

namespace ordo::cli {
namespace {

struct RepoInitOptions {
  std::string repo;
  std::string encryption = "none";
  std::string key_file;
  std::string public_key_file;
};

// The key material `repo init` needs for `mode`, from --key-file and --public-key.
Status InitKeys(const RepoInitOptions& options, repository::EncryptionMode mode,
                repository::KeyMaterial* key, std::string* public_key) {
  FileSystem* fs = FileSystem::Default();
  if (mode == repository::EncryptionMode::kNone) {
    if (!options.key_file.empty() || !options.public_key_file.empty()) {
      return Status::InvalidArgument(
          "--key-file and --public-key apply only to --encryption "
          "key or public-key");
    }
    return Status::Ok();
  }
  if (mode == repository::EncryptionMode::kKey) {
    if (options.key_file.empty()) {
      return Status::InvalidArgument(
          "--encryption key needs --key-file (make one with "
          "`ordo keygen --out PREFIX`)");
    }
    ORDO_RETURN_IF_ERROR(repository::ReadKeyFile(fs, options.key_file, key));
    if (key->secret_key.empty() || !key->public_key.empty()) {
      return Status::InvalidArgument(options.key_file +
                                     " is not a symmetric key (it is half of "
                                     "a key pair: use --encryption public-key)");
    }
    return Status::Ok();
  }
  const std::string& path =
      options.public_key_file.empty() ? options.key_file : options.public_key_file;
  if (path.empty()) {
    return Status::InvalidArgument(
        "--encryption public-key needs --public-key PREFIX.pub (make "
        "a pair with `ordo keygen --out PREFIX --public-key`)");
  }
  repository::KeyMaterial read;
  ORDO_RETURN_IF_ERROR(repository::ReadKeyFile(fs, path, &read));
  if (read.public_key.empty()) {
    return Status::InvalidArgument(path +
                                   " is a symmetric key, not half of a key pair (use "
                                   "--encryption key)");
  }
  *public_key = read.public_key;
  return Status::Ok();
}

void RunInit(const RepoInitOptions& options) {
  const Result<repository::EncryptionMode> mode =
      repository::ParseEncryptionMode(options.encryption);
  repository::KeyMaterial key;
  std::string public_key;
  Status status = mode.status();
  if (status.ok()) status = InitKeys(options, *mode, &key, &public_key);
  repository::RepositoryInfo info;
  if (status.ok()) {
    status = repository::Repository::Init(FileSystem::Default(), options.repo, *mode, key,
                                          public_key, &info);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "repo init: %s\n", status.ToString().c_str());
    exit_code = 1;
    return;
  }
  std::printf("repo init: created repository %s (id %s, encryption %s", options.repo.c_str(),
              info.repository_id.c_str(), repository::EncryptionModeName(info.encryption));
  if (!info.key_id.empty()) std::printf(", key id %s", info.key_id.c_str());
  if (!info.public_key.empty()) std::printf(", public key %s", info.public_key.c_str());
  std::printf(")\n");
}

void RunInfo(const std::string& repo, const std::string& key_file) {
  repository::KeyMaterial key;
  Status status;
  if (!key_file.empty()) status = repository::ReadKeyFile(FileSystem::Default(), key_file, &key);
  Result<std::unique_ptr<repository::Repository>> opened =
      status.ok() ? repository::Repository::Open(FileSystem::Default(), repo, key)
                  : Result<std::unique_ptr<repository::Repository>>(status);
  if (!opened.ok()) {
    std::fprintf(stderr, "repo info: %s\n", opened.status().ToString().c_str());
    exit_code = 1;
    return;
  }
  repository::Repository& repository = **opened;
  const repository::RepositoryInfo& info = repository.info();
  std::printf("repository:    %s\n", repo.c_str());
  std::printf("id:            %s\n", info.repository_id.c_str());
  std::printf("created:       %s\n", info.created.c_str());
  std::printf("compression:   %s\n", info.compression.c_str());
  std::printf("encryption:    %s\n", repository::EncryptionModeName(info.encryption));
  if (!info.key_id.empty()) std::printf("key id:        %s\n", info.key_id.c_str());
  if (!info.public_key.empty()) std::printf("public key:    %s\n", info.public_key.c_str());
  std::printf("can write:     %s\n", repository.CanWrite() ? "yes" : "no (needs --key-file)");
  std::printf("can read:      %s\n", repository.CanRead() ? "yes" : "no (needs --key-file)");
  Result<std::vector<repository::Manifest>> manifests = repository.ListManifests();
  if (!manifests.ok()) {
    std::fprintf(stderr, "repo info: %s\n", manifests.status().ToString().c_str());
    exit_code = 1;
    return;
  }
  std::printf("backups:       %zu\n", manifests->size());
}

}  // namespace

void AddRepoCommand(CLI::App& app) {
  auto* command = app.add_subcommand("repo", "Create or describe a backup repository");
  command->require_subcommand(1);

  auto* init = command->add_subcommand("init",
                                       "Create a backup repository (a missing or empty "
                                       "directory)");
  auto options = std::make_shared<RepoInitOptions>();
  init->add_option("--repo", options->repo, "repository directory")->required();
  init->add_option("--encryption", options->encryption,
                   "none; key (a symmetric key: --key-file); public-key (hosts that back up "
                   "hold only the public key: --public-key PREFIX.pub)")
      ->check(CLI::IsMember({"none", "key", "public-key"}))
      ->capture_default_str();
  init->add_option("--key-file", options->key_file, "key file written by `ordo keygen`");
  init->add_option("--public-key", options->public_key_file,
                   "public key file PREFIX.pub written by `ordo keygen --public-key`");
  init->callback([options] { RunInit(*options); });

  auto* info = command->add_subcommand(
      "info", "Describe a repository; with --key-file, check that the key is the repository's");
  auto repo = std::make_shared<std::string>();
  auto key_file = std::make_shared<std::string>();
  info->add_option("--repo", *repo, "repository directory")->required();
  info->add_option("--key-file", *key_file, "key file to check against the repository");
  info->callback([repo, key_file] { RunInfo(*repo, *key_file); });
}

}  // namespace ordo::cli
