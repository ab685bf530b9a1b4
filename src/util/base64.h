// Base64, the standard alphabet with padding (RFC 4648 section 4), through libsodium
// (sodium_base64_VARIANT_ORIGINAL). Key files and the binary keys and values in `ordo dump`
// and `ordo log --json` use it.
#pragma once

#include <string>
#include <string_view>

#include "ordo/status.h"

namespace ordo {

std::string Base64Encode(std::string_view bytes);
// InvalidArgument if `text` is not standard base64 with padding (no whitespace, nothing after
// the padding).
Result<std::string> Base64Decode(std::string_view text);

}  // namespace ordo
