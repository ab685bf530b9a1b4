// ordo dump --data DIR: every live key and value as JSON lines, by database, then sorted by
// key. A key outside database 0 names it ("db"; absent: database 0).
//
// Binary safety: a key or value that is valid UTF-8 is written as a JSON string ("key",
// "value"); any other is written base64-encoded ("key_base64", "value_base64"). Expiry, when
// set, is "expire_at_ms" (Unix milliseconds). The directory is opened read-only without the
// lock, so a running server is not disturbed: the dump is the consistent prefix of the log
// found when it started.
#include <cstdio>

#include "cli/commands.h"
#include "db/db_internal.h"
#include "nlohmann/json.hpp"
#include "ordo/db.h"
#include "util/base64.h"

namespace ordo::cli {
namespace {

void AddField(nlohmann::json* line, const char* name, std::string_view bytes) {
  // nlohmann's dump() throws on bytes that are not valid UTF-8: that is the test.
  try {
    nlohmann::json text = std::string(bytes);
    (void)text.dump();
    (*line)[name] = std::move(text);
  } catch (const nlohmann::json::type_error&) {
    (*line)[std::string(name) + "_base64"] = Base64Encode(bytes);
  }
}

}  // namespace

void AddDumpCommand(CLI::App& app) {
  auto* command = app.add_subcommand("dump", "Print every live key and value as JSON lines");
  auto data = std::make_shared<std::string>("./data");
  command->add_option("--data", *data, "data directory")->capture_default_str();
  auto segment_bytes = std::make_shared<uint64_t>(kSegmentBytesDefault);
  AddSegmentSizeOption(command, segment_bytes.get(),
                       "segment size in bytes (as for serve; reading does not depend on it)");
  command->callback([data] {
    Options options;
    options.read_only = true;
    options.create_if_missing = false;
    options.integrity_level = 1;
    OpenReport report;
    auto opened = db::DBInternal::Open(options, *data, &report);
    if (!opened.ok()) {
      std::fprintf(stderr, "dump: cannot read %s: %s\n", data->c_str(),
                   opened.status().ToString().c_str());
      exit_code = 1;
      return;
    }
    std::unique_ptr<db::DBInternal> db = std::move(*opened);
    Status walked = Status::Ok();
    const uint32_t databases = db->DatabasesInUse();
    for (uint32_t index = 0; index < databases && walked.ok(); ++index) {
      walked = db->ForEachIn(
          index, "", "",
          [index](std::string_view key, std::string_view value, const ReadInfo& info) {
            nlohmann::json line = nlohmann::json::object();
            if (index != 0) line["db"] = index;  // absent: database 0, as before databases
            AddField(&line, "key", key);
            AddField(&line, "value", value);
            if (info.expire_at_ms != 0) line["expire_at_ms"] = info.expire_at_ms;
            std::fputs(line.dump().c_str(), stdout);
            std::fputc('\n', stdout);
            return true;
          });
    }
    if (!walked.ok()) {
      std::fprintf(stderr, "dump: %s\n", walked.ToString().c_str());
      exit_code = 1;
    }
  });
}

}  // namespace ordo::cli
