#include "core/version.h"

#ifndef CAIRN_VERSION
#error "CAIRN_VERSION must be defined by the build"
#endif
#ifndef CAIRN_REVISION
#define CAIRN_REVISION "unknown"
#endif

namespace cairn {

const char* version() { return CAIRN_VERSION; }
const char* revision() { return CAIRN_REVISION; }

}  // namespace cairn
