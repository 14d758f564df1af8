// The build's version and git revision (set by CMake at configure time).
#pragma once

namespace cairn {

const char* version();   // "0.1.0"
const char* revision();  // short git hash, or "unknown"

}  // namespace cairn
