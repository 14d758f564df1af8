#include "core/io/source_addr.h"

#include <netinet/in.h>

namespace cairn::io {

void bind_source(boost::asio::ip::tcp::socket& socket, const std::string& source_ip,
                 const boost::asio::ip::tcp::endpoint& peer, boost::system::error_code& ec) {
  ec.clear();
  if (source_ip.empty()) return;
  boost::system::error_code parse_ec;
  auto ip = boost::asio::ip::make_address(source_ip, parse_ec);
  if (parse_ec || ip.is_unspecified() || ip.is_v4() != peer.address().is_v4()) return;
  socket.open(peer.protocol(), ec);
  if (ec) return;
#ifdef IP_BIND_ADDRESS_NO_PORT
  int one = 1;
  ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
  socket.bind(boost::asio::ip::tcp::endpoint(ip, 0), ec);
  if (ec) {
    boost::system::error_code ignored;
    socket.close(ignored);
  }
}

}  // namespace cairn::io
