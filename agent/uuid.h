// Random (version 4) UUIDs for node ids, event ids and session ids.
#pragma once

#include <string>

namespace cairn::agent {

std::string random_uuid();

}  // namespace cairn::agent
