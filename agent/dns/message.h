// DNS messages (RFC 1035 §4, EDNS0 per RFC 6891): a strict parser and a
// builder with name compression. Pure code: no sockets, no clock.
//
// Parsing is bounded everywhere: every read checks the remaining bytes, a
// compression pointer must point strictly backwards (so it cannot loop) and
// at most kMaxPointers are followed per name, a label is at most 63 bytes and
// a name at most 255 bytes on the wire, the section counts must match the
// records present, and at most one OPT record may appear (in the additional
// section, with the root name). Anything else is a ParseError, which says
// whether the 12-byte header was readable (answer FORMERR) or not (drop).
//
// Names are presentation text without the final dot ("web.service.cairn";
// the root is ""), with '.' and '\' inside a label escaped as "\." and "\\".
//
// Thread-safety: value types; no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cairn::agent::dns {

namespace type {
constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, TXT = 16, AAAA = 28, SRV = 33, OPT = 41,
                   AXFR = 252, IXFR = 251, ANY = 255;
}
constexpr uint16_t kClassIN = 1;
constexpr uint16_t kClassANY = 255;

enum class Rcode : uint8_t { noerror = 0, formerr = 1, servfail = 2, nxdomain = 3, notimp = 4, refused = 5 };

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameWire = 255;  // RFC 1035 §2.3.4
constexpr size_t kMaxLabel = 63;
constexpr int kMaxPointers = 64;      // per name; pointers must also go backwards

struct Header {
  uint16_t id = 0;
  bool qr = false;      // a response
  uint8_t opcode = 0;   // 0: QUERY
  bool aa = false;      // authoritative
  bool tc = false;      // truncated
  bool rd = false;      // recursion desired
  bool ra = false;      // recursion available
  Rcode rcode = Rcode::noerror;
};

struct Question {
  std::string name;
  uint16_t qtype = 0;
  uint16_t qclass = kClassIN;
};

struct Srv {
  uint16_t priority = 1, weight = 1, port = 0;
  std::string target;
};
struct Soa {
  std::string mname, rname;
  uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};
// A record's data. NS, CNAME and PTR hold a name (compressed when written);
// records this code does not interpret keep their bytes.
struct NameData {
  std::string name;
};
using Txt = std::vector<std::string>;  // character-strings, each up to 255 bytes
using Raw = std::vector<uint8_t>;
using Rdata = std::variant<std::array<uint8_t, 4>, std::array<uint8_t, 16>, NameData, Srv, Soa, Txt, Raw>;

struct Record {
  std::string name;
  uint16_t rtype = 0;
  uint16_t rclass = kClassIN;
  uint32_t ttl = 0;
  Rdata data;
};

// The EDNS0 OPT pseudo-record (RFC 6891 §6.1.2).
struct Edns {
  uint16_t udp_size = 512;  // the requester's payload size (class field)
  uint8_t version = 0;
  bool dnssec_ok = false;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::vector<Record> additional;  // without the OPT record, which is `edns`
  std::optional<Edns> edns;
};

struct ParseError {
  bool header_readable = false;  // false: too short to answer, drop it
  Header header;                 // when readable: the request's header
  std::string reason;            // for logs and tests
};

// Parses a whole message (query or response).
std::variant<Message, ParseError> parse(std::span<const uint8_t> bytes);

// Encodes with name compression. Names longer than the limits are written
// truncated to their first labels that fit: callers build names from catalog
// data, which may be anything.
std::vector<uint8_t> encode(const Message& m);

// Just the 12-byte header (for a FORMERR answer to a message whose body did
// not parse: RFC 6891 §7 lets it carry no question).
std::vector<uint8_t> encode_header_only(const Header& h);

// Case-insensitive ASCII comparison of names (RFC 4343).
bool name_equal(std::string_view a, std::string_view b);
std::string lower(std::string_view s);

// Splits a presentation name into its labels (unescaping "\." and "\\").
std::vector<std::string> split_labels(std::string_view name);
// Joins labels into a presentation name (escaping '.' and '\').
std::string join_labels(std::span<const std::string> labels);

}  // namespace cairn::agent::dns
