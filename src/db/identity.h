// IDENTITY: the database id (random, 16 bytes), the format version and the creation time.
// A small JSON document, published atomically once when the database is created and never
// changed. Every segment and checkpoint carries the id, so a file from another database is
// recognised and refused.
#pragma once

#include <string>

#include "ordo/file_system.h"

namespace ordo::db {

inline constexpr int kIdentityFormatVersion = 1;

struct Identity {
  std::string database_id;  // 16 raw bytes
  int format_version = kIdentityFormatVersion;
  std::string created;  // RFC 3339, UTC
};

std::string DatabaseIdHex(const std::string& database_id);
// A new identity with a random id (from /dev/urandom via std::random_device).
Identity NewIdentity();
Status WriteIdentity(FileSystem* fs, const std::string& path, const Identity& identity);
// NotFound when absent; Corruption naming the file when unreadable or malformed.
Status ReadIdentity(FileSystem* fs, const std::string& path, Identity* identity);

}  // namespace ordo::db
