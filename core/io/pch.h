// The one precompiled header of the io targets (cairn_core_io; other io
// targets reuse it with REUSE_FROM). Only io/ sources may see these headers.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>
