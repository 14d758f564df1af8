// JSON of network coordinates (/v1/coordinate/*): serf's coordinate as
// Consul's API writes it, {"Node", "Segment", "Coord": {"Vec", "Error",
// "Adjustment", "Height"}}, and the decoding of PUT /v1/coordinate/update.
#include "api/json.h"
#include "api/json_detail.h"

namespace cairn::api {
namespace {

using detail::Json;

Json encode(const Coord& c) {
  Json vec = Json::array();
  for (double x : c.vec) vec.push_back(x);
  return Json{{"Adjustment", c.adjustment}, {"Error", c.error}, {"Height", c.height}, {"Vec", std::move(vec)}};
}

Status read_number(const Json& j, const std::string& path, double& out) {
  if (!j.is_number()) return detail::type_error(path, "number", j);
  out = j.get<double>();
  return {};
}

Status read_coord(const Json& j, const std::string& path, Coord& c) {
  return detail::decode_object(
      j, path,
      {detail::Field{{"Vec"},
                     [&c](const Json& v, const std::string& p) -> Status {
                       if (!v.is_array()) return detail::type_error(p, "array", v);
                       c.vec.clear();
                       for (size_t i = 0; i < v.size(); ++i) {
                         double x = 0;
                         CAIRN_RETURN_IF_ERROR(read_number(v[i], p + "[" + std::to_string(i) + "]", x));
                         c.vec.push_back(x);
                       }
                       return {};
                     }},
       detail::Field{{"Error"}, [&c](const Json& v, const std::string& p) { return read_number(v, p, c.error); }},
       detail::Field{{"Adjustment"},
                     [&c](const Json& v, const std::string& p) { return read_number(v, p, c.adjustment); }},
       detail::Field{{"Height"}, [&c](const Json& v, const std::string& p) { return read_number(v, p, c.height); }}});
}

Status read_entry(const Json& j, const std::string& path, CoordinateEntry& e) {
  return detail::decode_object(
      j, path,
      {detail::Field{{"Node"}, [&e](const Json& v, const std::string& p) { return detail::read(v, p, e.node); }},
       detail::Field{{"Segment"}, [&e](const Json& v, const std::string& p) { return detail::read(v, p, e.segment); }},
       detail::Field{{"Coord"}, [&e](const Json& v, const std::string& p) { return read_coord(v, p, e.coord); }}});
}

}  // namespace

std::string to_json(const std::vector<CoordinateEntry>& entries) {
  Json out = Json::array();
  for (const auto& e : entries) out.push_back(Json{{"Node", e.node}, {"Segment", e.segment}, {"Coord", encode(e.coord)}});
  return out.dump();
}

Result<CoordinateEntry> decode_coordinate_entry(std::string_view body) {
  CAIRN_TRY(Json j, detail::parse_body(body));
  CoordinateEntry e;
  if (Status st = read_entry(j, "", e); !st.ok()) return detail::decode_failed(st.error());
  return e;
}

Result<std::vector<CoordinateEntry>> decode_coordinate_entries(std::string_view body) {
  CAIRN_TRY(Json j, detail::parse_body(body, detail::kResponseFailed));
  if (!j.is_array()) return detail::decode_failed(detail::type_error("", "array", j), detail::kResponseFailed);
  std::vector<CoordinateEntry> out(j.size());
  for (size_t i = 0; i < j.size(); ++i)
    if (Status st = read_entry(j[i], "[" + std::to_string(i) + "]", out[i]); !st.ok())
      return detail::decode_failed(st.error(), detail::kResponseFailed);
  return out;
}

}  // namespace cairn::api
