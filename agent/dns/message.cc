#include "agent/dns/message.h"

#include <algorithm>

namespace cairn::agent::dns {

namespace {

char lower_char(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A bounded reader over the whole message (pointers need the whole of it).
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  size_t pos() const { return pos_; }
  size_t left() const { return b_.size() - pos_; }
  bool u8(uint8_t& v) {
    if (left() < 1) return false;
    v = b_[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (left() < 2) return false;
    v = static_cast<uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    if (left() < 4) return false;
    v = uint32_t{b_[pos_]} << 24 | uint32_t{b_[pos_ + 1]} << 16 | uint32_t{b_[pos_ + 2]} << 8 | b_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool bytes(size_t n, std::span<const uint8_t>& out) {
    if (left() < n) return false;
    out = b_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  // RFC 1035 §4.1.4. Pointers must point before the label that holds them,
  // so no chain can loop; kMaxPointers bounds the work besides.
  bool name(std::string& out, std::string& why) {
    out.clear();
    size_t p = pos_;
    size_t wire = 1;  // the root label
    int jumps = 0;
    bool jumped = false;
    while (true) {
      if (p >= b_.size()) return fail(why, "name runs past the end");
      uint8_t len = b_[p];
      if ((len & 0xC0) == 0xC0) {
        if (p + 1 >= b_.size()) return fail(why, "truncated compression pointer");
        size_t target = static_cast<size_t>((len & 0x3F) << 8 | b_[p + 1]);
        if (target >= p) return fail(why, "compression pointer does not point backwards");
        if (++jumps > kMaxPointers) return fail(why, "too many compression pointers");
        if (!jumped) pos_ = p + 2;
        jumped = true;
        p = target;
        continue;
      }
      if ((len & 0xC0) != 0) return fail(why, "unsupported label type");
      if (len == 0) {
        if (!jumped) pos_ = p + 1;
        return true;
      }
      if (p + 1 + len > b_.size()) return fail(why, "label runs past the end");
      wire += 1 + len;
      if (wire > kMaxNameWire) return fail(why, "name longer than 255 bytes");
      if (!out.empty()) out += '.';
      for (size_t i = 0; i < len; ++i) {
        char c = static_cast<char>(b_[p + 1 + i]);
        if (c == '.' || c == '\\') out += '\\';
        out += c;
      }
      p += 1 + len;
    }
  }

 private:
  static bool fail(std::string& why, const char* w) {
    why = w;
    return false;
  }
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

Header decode_header(std::span<const uint8_t> b) {
  Header h;
  h.id = static_cast<uint16_t>(b[0] << 8 | b[1]);
  h.qr = b[2] & 0x80;
  h.opcode = (b[2] >> 3) & 0x0F;
  h.aa = b[2] & 0x04;
  h.tc = b[2] & 0x02;
  h.rd = b[2] & 0x01;
  h.ra = b[3] & 0x80;
  h.rcode = static_cast<Rcode>(b[3] & 0x0F);
  return h;
}

bool parse_rdata(Reader& r, uint16_t rtype, uint16_t rdlen, Rdata& out, std::string& why) {
  size_t end = r.pos() + rdlen;
  if (r.left() < rdlen) {
    why = "record data runs past the end";
    return false;
  }
  auto need_end = [&] {
    if (r.pos() != end) {
      why = "record data length does not match its contents";
      return false;
    }
    return true;
  };
  std::span<const uint8_t> raw;
  switch (rtype) {
    case type::A:
    case type::AAAA: {
      size_t n = rtype == type::A ? 4 : 16;
      if (rdlen != n) {
        why = "address record of the wrong length";
        return false;
      }
      r.bytes(n, raw);
      if (n == 4) {
        std::array<uint8_t, 4> a{};
        std::copy(raw.begin(), raw.end(), a.begin());
        out = a;
      } else {
        std::array<uint8_t, 16> a{};
        std::copy(raw.begin(), raw.end(), a.begin());
        out = a;
      }
      return true;
    }
    case type::NS:
    case type::CNAME:
    case type::PTR: {
      NameData d;
      if (!r.name(d.name, why)) return false;
      out = std::move(d);
      return need_end();
    }
    case type::SRV: {
      Srv s;
      if (!r.u16(s.priority) || !r.u16(s.weight) || !r.u16(s.port) || !r.name(s.target, why)) {
        if (why.empty()) why = "short SRV record";
        return false;
      }
      out = std::move(s);
      return need_end();
    }
    case type::SOA: {
      Soa s;
      if (!r.name(s.mname, why) || !r.name(s.rname, why)) return false;
      if (!r.u32(s.serial) || !r.u32(s.refresh) || !r.u32(s.retry) || !r.u32(s.expire) || !r.u32(s.minimum)) {
        why = "short SOA record";
        return false;
      }
      out = std::move(s);
      return need_end();
    }
    case type::TXT: {
      Txt t;
      while (r.pos() < end) {
        uint8_t n = 0;
        r.u8(n);
        if (r.pos() + n > end) {
          why = "TXT string runs past its record";
          return false;
        }
        r.bytes(n, raw);
        t.emplace_back(raw.begin(), raw.end());
      }
      out = std::move(t);
      return true;
    }
    default:
      r.bytes(rdlen, raw);
      out = Raw(raw.begin(), raw.end());
      return true;
  }
}

// Name compression (RFC 1035 §4.1.4): every suffix written at an offset
// below 0x4000 is remembered by its lower-cased text.
class Writer {
 public:
  std::vector<uint8_t> out;
  void u8(uint8_t v) { out.push_back(v); }
  void u16(uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void name(std::string_view text) {
    // Label boundaries in `text` (unescaped dots), kept to the limits: a
    // label's tail past 63 bytes and labels past 255 wire bytes are dropped.
    std::array<std::pair<size_t, size_t>, 128> labels;  // [begin, end) in text
    size_t n = 0, begin = 0, wire = 1, unescaped = 0;
    auto close = [&](size_t end) {
      if (end == begin || n == labels.size()) return false;
      size_t len = std::min(unescaped, kMaxLabel);
      if (wire + 1 + len > kMaxNameWire) return false;
      wire += 1 + len;
      labels[n++] = {begin, end};
      return true;
    };
    bool open = true;
    for (size_t i = 0; i < text.size() && open; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        ++i;
        ++unescaped;
      } else if (text[i] == '.') {
        open = close(i);
        begin = i + 1;
        unescaped = 0;
      } else {
        ++unescaped;
      }
    }
    if (open && begin < text.size()) close(text.size());
    if (n == 0) return u8(0);
    // Compression: suffixes already written are found by their lower-cased
    // text (a message holds a few dozen names at most: a linear search).
    std::string low = lower(text.substr(0, labels[n - 1].second));
    for (size_t i = 0; i < n; ++i) {
      std::string_view suffix = std::string_view(low).substr(labels[i].first);
      for (const auto& [known, offset] : offsets_) {
        if (known == suffix) return u16(static_cast<uint16_t>(0xC000 | offset));
      }
      if (out.size() < 0x4000) offsets_.emplace_back(std::string(suffix), static_cast<uint16_t>(out.size()));
      size_t len_at = out.size();
      u8(0);
      size_t len = 0;
      for (size_t k = labels[i].first; k < labels[i].second && len < kMaxLabel; ++k, ++len) {
        if (text[k] == '\\' && k + 1 < labels[i].second) ++k;
        out.push_back(static_cast<uint8_t>(text[k]));
      }
      out[len_at] = static_cast<uint8_t>(len);
    }
    u8(0);
  }
  void record(const Record& rec) {
    name(rec.name);
    u16(rec.rtype);
    u16(rec.rclass);
    u32(rec.ttl);
    size_t len_at = out.size();
    u16(0);
    std::visit(
        [&](const auto& d) {
          using T = std::decay_t<decltype(d)>;
          if constexpr (std::is_same_v<T, std::array<uint8_t, 4>> || std::is_same_v<T, std::array<uint8_t, 16>> ||
                        std::is_same_v<T, Raw>) {
            out.insert(out.end(), d.begin(), d.end());
          } else if constexpr (std::is_same_v<T, NameData>) {
            name(d.name);
          } else if constexpr (std::is_same_v<T, Srv>) {
            u16(d.priority);
            u16(d.weight);
            u16(d.port);
            name(d.target);  // RFC 2782 forbids compressing it; resolvers accept it, Consul does it
          } else if constexpr (std::is_same_v<T, Soa>) {
            name(d.mname);
            name(d.rname);
            u32(d.serial);
            u32(d.refresh);
            u32(d.retry);
            u32(d.expire);
            u32(d.minimum);
          } else if constexpr (std::is_same_v<T, Txt>) {
            for (const auto& s : d) {
              size_t n = std::min<size_t>(s.size(), 255);
              u8(static_cast<uint8_t>(n));
              out.insert(out.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
            }
          }
        },
        rec.data);
    size_t len = out.size() - len_at - 2;
    out[len_at] = static_cast<uint8_t>(len >> 8);
    out[len_at + 1] = static_cast<uint8_t>(len);
  }

 private:
  std::vector<std::pair<std::string, uint16_t>> offsets_;
};

void write_header(Writer& w, const Header& h, size_t qd, size_t an, size_t ns, size_t ar) {
  w.u16(h.id);
  w.u8(static_cast<uint8_t>((h.qr ? 0x80 : 0) | (h.opcode & 0x0F) << 3 | (h.aa ? 0x04 : 0) | (h.tc ? 0x02 : 0) |
                            (h.rd ? 0x01 : 0)));
  w.u8(static_cast<uint8_t>((h.ra ? 0x80 : 0) | (static_cast<uint8_t>(h.rcode) & 0x0F)));
  w.u16(static_cast<uint16_t>(qd));
  w.u16(static_cast<uint16_t>(an));
  w.u16(static_cast<uint16_t>(ns));
  w.u16(static_cast<uint16_t>(ar));
}

}  // namespace

std::variant<Message, ParseError> parse(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderSize) return ParseError{false, {}, "shorter than a header"};
  Message m;
  m.header = decode_header(bytes);
  auto fail = [&](std::string why) { return ParseError{true, m.header, std::move(why)}; };
  Reader r(bytes);
  std::span<const uint8_t> skip;
  r.bytes(4, skip);
  uint16_t qd = 0, an = 0, ns = 0, ar = 0;
  r.u16(qd);
  r.u16(an);
  r.u16(ns);
  r.u16(ar);
  // Each question takes at least 5 bytes and each record 11: a count the
  // bytes cannot hold fails before anything is reserved.
  if (size_t{qd} * 5 + (size_t{an} + ns + ar) * 11 > r.left()) return fail("section counts exceed the message");
  std::string why;
  for (uint16_t i = 0; i < qd; ++i) {
    Question q;
    if (!r.name(q.name, why)) return fail(why);
    if (!r.u16(q.qtype) || !r.u16(q.qclass)) return fail("truncated question");
    m.questions.push_back(std::move(q));
  }
  auto records = [&](uint16_t count, std::vector<Record>& into, bool additional) -> bool {
    for (uint16_t i = 0; i < count; ++i) {
      Record rec;
      uint16_t rdlen = 0;
      if (!r.name(rec.name, why)) return false;
      if (!r.u16(rec.rtype) || !r.u16(rec.rclass) || !r.u32(rec.ttl) || !r.u16(rdlen)) {
        why = "truncated record";
        return false;
      }
      if (rec.rtype == type::OPT) {
        if (!additional) {
          why = "OPT record outside the additional section";
          return false;
        }
        if (m.edns) {
          why = "more than one OPT record";
          return false;
        }
        if (!rec.name.empty()) {
          why = "OPT record with a non-root name";
          return false;
        }
        if (!r.bytes(rdlen, skip)) {
          why = "OPT options run past the end";
          return false;
        }
        m.edns = Edns{rec.rclass, static_cast<uint8_t>(rec.ttl >> 16), (rec.ttl & 0x8000) != 0};
        continue;
      }
      if (!parse_rdata(r, rec.rtype, rdlen, rec.data, why)) return false;
      into.push_back(std::move(rec));
    }
    return true;
  };
  if (!records(an, m.answers, false) || !records(ns, m.authority, false) || !records(ar, m.additional, true))
    return fail(why);
  return m;
}

std::vector<uint8_t> encode(const Message& m) {
  Writer w;
  w.out.reserve(512);
  write_header(w, m.header, m.questions.size(), m.answers.size(), m.authority.size(),
               m.additional.size() + (m.edns ? 1 : 0));
  for (const auto& q : m.questions) {
    w.name(q.name);
    w.u16(q.qtype);
    w.u16(q.qclass);
  }
  for (const auto& r : m.answers) w.record(r);
  for (const auto& r : m.authority) w.record(r);
  for (const auto& r : m.additional) w.record(r);
  if (m.edns) {
    w.u8(0);
    w.u16(type::OPT);
    w.u16(m.edns->udp_size);
    w.u32(uint32_t{m.edns->version} << 16 | (m.edns->dnssec_ok ? 0x8000u : 0u));
    w.u16(0);
  }
  return std::move(w.out);
}

std::vector<uint8_t> encode_header_only(const Header& h) {
  Writer w;
  write_header(w, h, 0, 0, 0, 0);
  return std::move(w.out);
}

bool name_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower_char(a[i]) != lower_char(b[i])) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower_char(c);
  return out;
}

std::vector<std::string> split_labels(std::string_view name) {
  std::vector<std::string> labels;
  if (name.empty()) return labels;
  std::string cur;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '\\' && i + 1 < name.size()) {
      cur += name[++i];
    } else if (c == '.') {
      labels.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  labels.push_back(std::move(cur));
  return labels;
}

std::string join_labels(std::span<const std::string> labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += '.';
    for (char c : labels[i]) {
      if (c == '.' || c == '\\') out += '\\';
      out += c;
    }
  }
  return out;
}

}  // namespace cairn::agent::dns
