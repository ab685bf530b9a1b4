#include "util/base64.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/test_util.h"

namespace ordo {
namespace {

TEST(Base64Test, RoundTrip) {
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte.push_back(static_cast<char>(i));
  for (const std::string& bytes : {std::string(), std::string("f"), std::string(32, '\xff'),
                                   std::string("\0\x01\xfe", 3), every_byte}) {
    Result<std::string> decoded = Base64Decode(Base64Encode(bytes));
    ASSERT_OK(decoded);
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(Base64Test, KnownVectors) {
  // RFC 4648, section 10.
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [bytes, text] : vectors) {
    EXPECT_EQ(Base64Encode(bytes), text);
    Result<std::string> decoded = Base64Decode(text);
    ASSERT_OK(decoded);
    EXPECT_EQ(*decoded, bytes);
  }
  // The standard alphabet: '+' and '/', not the URL-safe '-' and '_'.
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64Test, RejectsInvalid) {
  for (const char* text : {"not base64!", "Zm9vYg", "Zm9vYg=", "Zm9v=", "Zm9v\n", " Zm9v",
                           "Zm9vYg==Zm9v", "-_8=", "Zg==="}) {
    const Result<std::string> decoded = Base64Decode(text);
    ASSERT_FALSE(decoded.ok()) << text;
    EXPECT_TRUE(decoded.status().IsInvalidArgument()) << text;
  }
}

}  // namespace
}  // namespace ordo
