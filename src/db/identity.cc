#include "db/identity.h"

#include <ctime>
#include <random>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "util/time_format.h"

namespace ordo::db {

std::string DatabaseIdHex(const std::string& database_id) {
  std::string hex;
  for (unsigned char byte : database_id) hex += fmt::format("{:02x}", byte);
  return hex;
}

Identity NewIdentity() {
  std::random_device random;
  Identity identity;
  for (int i = 0; i < 16; ++i) identity.database_id.push_back(static_cast<char>(random() & 0xff));
  // RFC 4122 version 4 bits, so the id reads as a UUID.
  identity.database_id[6] = static_cast<char>((identity.database_id[6] & 0x0f) | 0x40);
  identity.database_id[8] = static_cast<char>((identity.database_id[8] & 0x3f) | 0x80);
  identity.created = NowRfc3339();
  return identity;
}

Status WriteIdentity(FileSystem* fs, const std::string& path, const Identity& identity) {
  nlohmann::json document = {{"format", "ordo-identity"},
                             {"version", identity.format_version},
                             {"database_id", DatabaseIdHex(identity.database_id)},
                             {"created", identity.created}};
  return WriteFileAtomically(fs, path, document.dump(2) + "\n");
}

Status ReadIdentity(FileSystem* fs, const std::string& path, Identity* identity) {
  auto contents = ReadFileToString(fs, path);
  if (!contents.ok()) return contents.status();
  nlohmann::json document = nlohmann::json::parse(*contents, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object() ||
      document.value("format", "") != "ordo-identity" || !document["database_id"].is_string() ||
      !document["version"].is_number_integer()) {
    return Status::Corruption(path + ": not an ordo IDENTITY document");
  }
  const std::string hex = document["database_id"];
  if (hex.size() != 32) return Status::Corruption(path + ": database_id is not 32 hex digits");
  identity->database_id.clear();
  for (size_t i = 0; i < 32; i += 2) {
    const std::string pair = hex.substr(i, 2);
    char* end = nullptr;
    const long value = std::strtol(pair.c_str(), &end, 16);
    if (end != pair.c_str() + 2) return Status::Corruption(path + ": database_id is not hex");
    identity->database_id.push_back(static_cast<char>(value));
  }
  identity->format_version = document["version"];
  if (identity->format_version != kIdentityFormatVersion) {
    return Status::NotSupported(
        fmt::format("{}: format version {} is not supported (this build "
                    "reads version {})",
                    path, identity->format_version, kIdentityFormatVersion));
  }
  identity->created = document.value("created", "");
  return Status::Ok();
}

}  // namespace ordo::db
