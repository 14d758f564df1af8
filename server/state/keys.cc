#include "server/state/keys.h"

namespace cairn::server::state {

void append_component(std::string& out, std::string_view part) {
  for (char c : part) {
    out.push_back(c);
    if (c == '\0') out.push_back('\xff');
  }
  out.push_back('\0');
  out.push_back('\x01');
}

std::string composite_key(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) append_component(out, p);
  return out;
}

bool split_components(std::string_view key, std::vector<std::string>& out) {
  out.clear();
  std::string cur;
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] != '\0') {
      cur.push_back(key[i]);
      continue;
    }
    if (i + 1 >= key.size()) return false;
    char next = key[++i];
    if (next == '\xff') {
      cur.push_back('\0');
    } else if (next == '\x01') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      return false;
    }
  }
  return cur.empty();
}

}  // namespace cairn::server::state
