// The rules across config entries (api/config_entry.h): the protocol a
// service routes with, and what a change of one entry may not break in the
// routers and splitters that depend on it.
#include "api/config_entry.h"
#include "api/config_entry_detail.h"

namespace cairn::api {

using namespace config_entry_detail;

Result<std::string> service_protocol(const ConfigEntryView& view, std::string_view service) {
  CAIRN_TRY(auto defaults, view.get(kServiceDefaults, service));
  if (defaults) {
    Json j = Json::parse(defaults->body, nullptr, false);
    if (std::string p = lower(str(j, "Protocol")); !p.empty()) return p;
  }
  CAIRN_TRY(auto proxy, view.get(kProxyDefaults, kProxyDefaultsGlobal));
  if (proxy) {
    Json j = Json::parse(proxy->body, nullptr, false);
    if (std::string p = lower(str(sub(j, "Config"), "protocol")); !p.empty()) return p;
  }
  return std::string("tcp");
}

namespace {

// (service, subset, where) for each ServiceSubset a router or splitter names.
struct SubsetRef {
  std::string service, subset, where;
};
std::vector<SubsetRef> subset_refs(const ConfigEntry& e) {
  std::vector<SubsetRef> out;
  Json j = Json::parse(e.body, nullptr, false);
  auto add = [&](const Json& target, const std::string& where) {
    std::string subset = str(target, "ServiceSubset");
    if (subset.empty()) return;
    std::string service = str(target, "Service");
    out.push_back({service.empty() ? e.name : service, subset, where});
  };
  size_t i = 0;
  for (const Json& route : sub(j, "Routes")) {
    add(sub(route, "Destination"), "Routes[" + std::to_string(i) + "].Destination.ServiceSubset");
    ++i;
  }
  i = 0;
  for (const Json& split : sub(j, "Splits")) add(split, "Splits[" + std::to_string(i++) + "].ServiceSubset");
  return out;
}

Status check_router_or_splitter(const ConfigEntryView& view, const ConfigEntry& e) {
  CAIRN_TRY(std::string protocol, service_protocol(view, e.name));
  if (!routes_l7(protocol))
    return invalid(e.kind + " " + go_quote(e.name) + ": discovery chain " + go_quote(e.name) + " uses a protocol " +
                   go_quote(protocol) + " that does not permit advanced routing or splitting behavior");
  for (const SubsetRef& ref : subset_refs(e)) {
    CAIRN_TRY(auto resolver, view.get(kServiceResolver, ref.service));
    bool defined = false;
    if (resolver) defined = sub(Json::parse(resolver->body, nullptr, false), "Subsets").contains(ref.subset);
    if (!defined)
      return invalid(e.kind + " " + go_quote(e.name) + ": " + ref.where + ": service " + go_quote(ref.service) +
                     " has no subset " + go_quote(ref.subset) + " (no service-resolver defines it)");
  }
  return {};
}

}  // namespace

Status check_config_entry_graph(const ConfigEntryView& view, std::string_view kind, std::string_view name) {
  std::vector<ConfigEntry> affected;
  auto add_named = [&](std::string_view k, std::string_view n) -> Status {
    CAIRN_TRY(auto e, view.get(k, n));
    if (e) affected.push_back(std::move(*e));
    return {};
  };
  auto add_all = [&]() -> Status {
    for (std::string_view k : {kServiceRouter, kServiceSplitter}) {
      CAIRN_TRY(auto all, view.list(k));
      for (auto& e : all) affected.push_back(std::move(e));
    }
    return {};
  };
  if (kind == kServiceRouter || kind == kServiceSplitter) {
    CAIRN_RETURN_IF_ERROR(add_named(kind, name));
  } else if (kind == kServiceDefaults) {
    CAIRN_RETURN_IF_ERROR(add_named(kServiceRouter, name));
    CAIRN_RETURN_IF_ERROR(add_named(kServiceSplitter, name));
  } else if (kind == kProxyDefaults || kind == kServiceResolver) {
    // The global protocol, or subsets any route or split may name.
    CAIRN_RETURN_IF_ERROR(add_all());
  }
  for (const auto& e : affected) CAIRN_RETURN_IF_ERROR(check_router_or_splitter(view, e));
  return {};
}

}  // namespace cairn::api
