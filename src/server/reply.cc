#include "server/reply.h"

#include <cassert>
#include <charconv>

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

void AppendNullBulk(std::string* out) { out->append("$-1\r\n"); }

void AppendArrayHeader(std::string* out, uint64_t count) {
  AppendPrefixedNumber(out, '*', static_cast<int64_t>(count));
}

void AppendNullArray(std::string* out) { out->append("*-1\r\n"); }

void AppendBulkArray(std::string* out, const std::vector<std::string>& items) {
  AppendArrayHeader(out, items.size());
  for (const std::string& item : items) AppendBulk(out, item);
}

}  // namespace ordo::server
