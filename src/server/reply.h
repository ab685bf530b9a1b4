// Reply encoders (Redis's addReply* family). Each appends one reply, or the header of one
// aggregate, to `out`.
//
// A connection speaks RESP2 until it sends HELLO 3. The types RESP2 and RESP3 share (simple
// strings, errors, integers, bulk strings, arrays) are encoded alike whatever the protocol;
// the encoders of the types RESP3 added take the connection's Protocol and write RESP2's
// stand-in when it is 2, as Redis 7.0 does (a map is a flat array of its keys and values, a
// null bulk is "$-1", a double is a bulk string). Which of them a reply uses follows Redis:
// addReplyNull -> AppendNull, addReplyMapLen -> AppendMapHeader, and so on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ordo::server {

// The protocol a connection speaks (Redis's client->resp); the values are the version numbers
// HELLO takes and reports.
enum class Protocol : uint8_t { kResp2 = 2, kResp3 = 3 };

// ---- The same in RESP2 and RESP3.

// "+OK\r\n". `text` must not contain '\r' or '\n'.
void AppendSimpleString(std::string* out, std::string_view text);
// "-ERR ...\r\n": `text` includes the error code ("ERR syntax error", "WRONGPASS ...").
// Newlines in `text` are replaced by spaces, as Redis does, so the reply stays one line.
void AppendError(std::string* out, std::string_view text);
void AppendInteger(std::string* out, int64_t value);
void AppendBulk(std::string* out, std::string_view bytes);
void AppendArrayHeader(std::string* out, uint64_t count);
void AppendBulkArray(std::string* out, const std::vector<std::string>& items);

inline constexpr std::string_view kReplyOk = "+OK\r\n";

// ---- Protocol-dependent: RESP3's type, or RESP2's stand-in.

// No value (addReplyNull): "$-1\r\n" in RESP2, "_\r\n" in RESP3. A missing key's GET, MGET's
// missing elements, SET ... NX that did not set.
void AppendNull(std::string* out, Protocol protocol);
// No array (addReplyNullArray): "*-1\r\n" in RESP2, "_\r\n" in RESP3.
void AppendNullArray(std::string* out, Protocol protocol);
// A map of `pairs` key/value pairs follows (addReplyMapLen): "%<pairs>" in RESP3, an array of
// 2 * pairs elements in RESP2.
void AppendMapHeader(std::string* out, uint64_t pairs, Protocol protocol);
// A set of `count` elements follows (addReplySetLen): "~<count>" in RESP3, an array in RESP2.
void AppendSetHeader(std::string* out, uint64_t count, Protocol protocol);
// A push frame of `count` elements follows (addReplyPushLen): ">" in RESP3. In RESP2 it is an
// array, which is how pub/sub messages reach a RESP2 subscriber.
void AppendPushHeader(std::string* out, uint64_t count, Protocol protocol);
// addReplyDouble (Redis 7.0): "%.17g", infinities as "inf" / "-inf"; a bulk string in RESP2,
// ",<text>\r\n" in RESP3.
void AppendDouble(std::string* out, double value, Protocol protocol);
// addReplyBool: "#t" / "#f" in RESP3, the integers 1 / 0 in RESP2.
void AppendBool(std::string* out, bool value, Protocol protocol);
// addReplyVerbatim with the "txt" format (INFO, CLIENT LIST): "=<n>\r\ntxt:<text>\r\n" in
// RESP3, a bulk string of `text` in RESP2.
void AppendVerbatimText(std::string* out, std::string_view text, Protocol protocol);

}  // namespace ordo::server
