// RESP2 reply encoders (Redis's addReply* family). Each appends one reply to `out`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ordo::server {

// "+OK\r\n". `text` must not contain '\r' or '\n'.
void AppendSimpleString(std::string* out, std::string_view text);
// "-ERR ...\r\n": `text` includes the error code ("ERR syntax error", "WRONGPASS ...").
// Newlines in `text` are replaced by spaces, as Redis does, so the reply stays one line.
void AppendError(std::string* out, std::string_view text);
void AppendInteger(std::string* out, int64_t value);
void AppendBulk(std::string* out, std::string_view bytes);
void AppendNullBulk(std::string* out);  // "$-1\r\n"
void AppendArrayHeader(std::string* out, uint64_t count);
void AppendNullArray(std::string* out);  // "*-1\r\n"
void AppendBulkArray(std::string* out, const std::vector<std::string>& items);

inline constexpr std::string_view kReplyOk = "+OK\r\n";

}  // namespace ordo::server
