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

std::string fold_case(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

namespace key {
std::string node(std::string_view node) { return fold_case(node); }
std::string node_id(std::string_view id) { return fold_case(id); }
std::string of_node(std::string_view node) { return composite_key({fold_case(node)}); }
std::string service(std::string_view node, std::string_view id) {
  return composite_key({fold_case(node), fold_case(id)});
}
std::string check(std::string_view node, std::string_view id) { return composite_key({fold_case(node), fold_case(id)}); }
std::string instances_of(std::string_view service_name) { return composite_key({fold_case(service_name)}); }
std::string instance(std::string_view service_name, std::string_view node, std::string_view id) {
  return composite_key({fold_case(service_name), fold_case(node), fold_case(id)});
}
std::string node_session(std::string_view node, std::string_view session) {
  return composite_key({fold_case(node), session});
}
std::string sessions_of_check(std::string_view node, std::string_view check) {
  return composite_key({fold_case(node), fold_case(check)});
}
std::string check_session(std::string_view node, std::string_view check, std::string_view session) {
  return composite_key({fold_case(node), fold_case(check), session});
}
std::string held_by(std::string_view session) { return composite_key({session}); }
std::string held(std::string_view session, std::string_view kv_key) {
  std::string k = held_by(session);
  k.append(kv_key);
  return k;
}
}  // namespace key

}  // namespace cairn::server::state
