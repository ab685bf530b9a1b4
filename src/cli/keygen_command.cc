// ordo keygen --out PREFIX [--public-key]: writes the key of an encrypted backup repository.
#include <cstdio>

#include "cli/commands.h"
#include "ordo/file_system.h"
#include "repository/repository.h"

namespace ordo::cli {

void AddKeygenCommand(CLI::App& app) {
  auto* command = app.add_subcommand(
      "keygen", "Write a key for an encrypted backup repository (refuses to overwrite)");
  auto prefix = std::make_shared<std::string>();
  auto key_pair = std::make_shared<bool>(false);
  command->add_option("--out", *prefix, "PREFIX: writes PREFIX.key (and PREFIX.pub)")->required();
  command->add_flag("--public-key", *key_pair,
                    "a key pair: the secret to PREFIX.key, the public half to PREFIX.pub, for a "
                    "write-only repository (hosts that back up hold only PREFIX.pub)");
  command->callback([prefix, key_pair] {
    const Status status = repository::GenerateKeyFiles(FileSystem::Default(), *prefix, *key_pair);
    if (!status.ok()) {
      std::fprintf(stderr, "keygen: %s\n", status.ToString().c_str());
      exit_code = 1;
      return;
    }
    if (*key_pair) {
      std::printf("keygen: wrote %s.key (secret key, mode 0600) and %s.pub (public key)\n",
                  prefix->c_str(), prefix->c_str());
      std::printf(
          "keygen: back up with %s.pub; restore and verify need %s.key. Keep %s.key "
          "away from the database host: without it no backup can be read.\n",
          prefix->c_str(), prefix->c_str(), prefix->c_str());
    } else {
      std::printf(
          "keygen: wrote %s.key (symmetric key, mode 0600). Keep a copy apart from the "
          "repository: without it no backup can be read.\n",
          prefix->c_str());
    }
  });
}

}  // namespace ordo::cli
