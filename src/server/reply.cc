#include "server/reply.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace ordo::server {

namespace {

void AppendPrefixedNumber(std::string* out, char prefix, int64_t value) {
  char buffer[24];
  buffer[0] = prefix;
  auto [end, error] = std::to_chars(buffer + 1, buffer + sizeof(buffer) - 2, value);
  assert(error == std::errc());
  *end++ = '\r';
  *end++ = '\n';
  out->append(buffer, static_cast<size_t>(end - buffer));
}

}  // namespace

void AppendSimpleString(std::string* out, std::string_view text) {
  assert(text.find_first_of("\r\n") == std::string_view::npos);
  out->push_back('+');
  out->append(text);
  out->append("\r\n");
}

void AppendError(std::string* out, std::string_view text) {
  out->push_back('-');
  size_t start = out->size();
  out->append(text);
  for (size_t i = start; i < out->size(); ++i) {
    if ((*out)[i] == '\r' || (*out)[i] == '\n') (*out)[i] = ' ';
  }
  out->append("\r\n");
}

void AppendInteger(std::string* out, int64_t value) { AppendPrefixedNumber(out, ':', value); }

void AppendBulk(std::string* out, std::string_view bytes) {
  AppendPrefixedNumber(out, '$', static_cast<int64_t>(bytes.size()));
  out->append(bytes);
  out->append("\r\n");
}

void AppendArrayHeader(std::string* out, uint64_t count) {
  AppendPrefixedNumber(out, '*', static_cast<int64_t>(count));
}

void AppendBulkArray(std::string* out, const std::vector<std::string>& items) {
  AppendArrayHeader(out, items.size());
  for (const std::string& item : items) AppendBulk(out, item);
}

void AppendNull(std::string* out, Protocol protocol) {
  out->append(protocol == Protocol::kResp2 ? "$-1\r\n" : "_\r\n");
}

void AppendNullArray(std::string* out, Protocol protocol) {
  out->append(protocol == Protocol::kResp2 ? "*-1\r\n" : "_\r\n");
}

void AppendMapHeader(std::string* out, uint64_t pairs, Protocol protocol) {
  if (protocol == Protocol::kResp2) return AppendArrayHeader(out, 2 * pairs);
  AppendPrefixedNumber(out, '%', static_cast<int64_t>(pairs));
}

void AppendSetHeader(std::string* out, uint64_t count, Protocol protocol) {
  AppendPrefixedNumber(out, protocol == Protocol::kResp2 ? '*' : '~', static_cast<int64_t>(count));
}

void AppendPushHeader(std::string* out, uint64_t count, Protocol protocol) {
  AppendPrefixedNumber(out, protocol == Protocol::kResp2 ? '*' : '>', static_cast<int64_t>(count));
}

void AppendDouble(std::string* out, double value, Protocol protocol) {
  // Redis spells the infinities itself rather than trust each libc's "%g" of them.
  char text[32];
  if (std::isinf(value)) {
    std::snprintf(text, sizeof(text), "%s", value > 0 ? "inf" : "-inf");
  } else {
    std::snprintf(text, sizeof(text), "%.17g", value);  // at most 24 characters
  }
  if (protocol == Protocol::kResp2) return AppendBulk(out, text);
  out->push_back(',');
  out->append(text);
  out->append("\r\n");
}

void AppendBool(std::string* out, bool value, Protocol protocol) {
  if (protocol == Protocol::kResp2) return AppendInteger(out, value ? 1 : 0);
  out->append(value ? "#t\r\n" : "#f\r\n");
}

void AppendVerbatimText(std::string* out, std::string_view text, Protocol protocol) {
  if (protocol == Protocol::kResp2) return AppendBulk(out, text);
  constexpr std::string_view kFormat = "txt:";  // three letters and a colon, as RESP3 requires
  AppendPrefixedNumber(out, '=', static_cast<int64_t>(kFormat.size() + text.size()));
  out->append(kFormat);
  out->append(text);
  out->append("\r\n");
}

}  // namespace ordo::server
