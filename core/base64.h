// Standard base64 (RFC 4648 §4, with padding), as Go's encoding/json writes
// []byte fields such as KVPair.Value and Event.Payload.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace cairn {

std::string base64_encode(std::string_view bytes);
// Rejects bad characters, bad padding and lengths that are not a multiple of 4.
Result<std::string> base64_decode(std::string_view text);

}  // namespace cairn
