// Outgoing TCP connections from a node's own address. A node bound to a
// specific address (-bind 10.0.0.5) dials its peers from that address too, as
// Consul does for RPC (RPCSrcAddr): its gossip streams, Raft and RPC
// connections leave from it, so a peer (or test/faults' fault-injecting relay,
// which tells nodes apart by 127.0.0.x source address) sees which node
// dialled. A wildcard or empty source leaves the choice to the kernel.
//
// Asio: include from io .cc files only.
#pragma once

#include <string>

#include "core/io/pch.h"

namespace cairn::io {

// Opens `socket` (closed) for `peer`'s protocol and binds it to `source_ip`
// with the port left to connect() (IP_BIND_ADDRESS_NO_PORT, so source ports
// are shared across destinations), when source_ip is a specific address of
// peer's family; otherwise does nothing (async_connect opens the socket).
// A failure is in `ec`, with the socket closed again.
void bind_source(boost::asio::ip::tcp::socket& socket, const std::string& source_ip,
                 const boost::asio::ip::tcp::endpoint& peer, boost::system::error_code& ec);

}  // namespace cairn::io
