// Little-endian fixed-width integers and LEB128 varints. Every on-disk integer in ordo is
// little-endian (docs/FORMAT.md states it once for all formats).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ordo {

inline void EncodeFixed32(char* target, uint32_t value) {
  for (int i = 0; i < 4; ++i) target[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}
inline void EncodeFixed64(char* target, uint64_t value) {
  for (int i = 0; i < 8; ++i) target[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}
inline uint32_t DecodeFixed32(const char* source) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i)
    value |= static_cast<uint32_t>(static_cast<unsigned char>(source[i])) << (8 * i);
  return value;
}
inline uint64_t DecodeFixed64(const char* source) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value |= static_cast<uint64_t>(static_cast<unsigned char>(source[i])) << (8 * i);
  return value;
}

inline void PutFixed32(std::string* target, uint32_t value) {
  char buffer[4];
  EncodeFixed32(buffer, value);
  target->append(buffer, 4);
}
inline void PutFixed64(std::string* target, uint64_t value) {
  char buffer[8];
  EncodeFixed64(buffer, value);
  target->append(buffer, 8);
}
inline void PutVarint64(std::string* target, uint64_t value) {
  while (value >= 0x80) {
    target->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  target->push_back(static_cast<char>(value));
}
inline void PutLengthPrefixed(std::string* target, std::string_view bytes) {
  PutVarint64(target, bytes.size());
  target->append(bytes.data(), bytes.size());
}

// A cursor over bytes being decoded. Every Get* returns false, and consumes nothing, when the
// input is too short or malformed; the caller turns that into a Corruption with its context.
class Decoder {
 public:
  explicit Decoder(std::string_view input) : input_(input) {}

  bool GetFixed32(uint32_t* value) {
    if (input_.size() < 4) return false;
    *value = DecodeFixed32(input_.data());
    input_.remove_prefix(4);
    return true;
  }
  bool GetFixed64(uint64_t* value) {
    if (input_.size() < 8) return false;
    *value = DecodeFixed64(input_.data());
    input_.remove_prefix(8);
    return true;
  }
  bool GetByte(uint8_t* value) {
    if (input_.empty()) return false;
    *value = static_cast<uint8_t>(input_[0]);
    input_.remove_prefix(1);
    return true;
  }
  bool GetVarint64(uint64_t* value) {
    uint64_t result = 0;
    for (size_t i = 0; i < input_.size() && i < 10; ++i) {
      const uint64_t byte = static_cast<unsigned char>(input_[i]);
      result |= (byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) {
        if (i == 9 && byte > 1) return false;  // would overflow 64 bits
        *value = result;
        input_.remove_prefix(i + 1);
        return true;
      }
    }
    return false;
  }
  bool GetLengthPrefixed(std::string_view* bytes) {
    Decoder saved = *this;
    uint64_t length = 0;
    if (!GetVarint64(&length) || length > input_.size()) {
      *this = saved;
      return false;
    }
    *bytes = input_.substr(0, length);
    input_.remove_prefix(length);
    return true;
  }
  bool GetBytes(size_t count, std::string_view* bytes) {
    if (input_.size() < count) return false;
    *bytes = input_.substr(0, count);
    input_.remove_prefix(count);
    return true;
  }

  size_t remaining() const { return input_.size(); }
  bool empty() const { return input_.empty(); }

 private:
  std::string_view input_;
};

}  // namespace ordo
