// Connect CA JSON (/v1/connect/ca/roots, /v1/connect/ca/configuration,
// /v1/agent/connect/ca/leaf/<service>) as Consul's structs marshal them.
// No encoder writes a root's private key: the types do not hold one, and
// the configuration's PrivateKey/RootCert inputs are written empty.
#include "api/json.h"
#include "api/json_detail.h"
#include "core/duration.h"

namespace cairn::api {
namespace {

using detail::decode_object;
using detail::field;
using detail::Field;
using detail::Json;

Json string_list(const std::vector<std::string>& v) {
  Json j = Json::array();
  for (const auto& s : v) j.push_back(s);
  return j;
}

Json encode_root(const CARoot& r) {
  return Json{{"ID", r.id},
              {"Name", r.name},
              {"SerialNumber", r.serial_number},
              {"SigningKeyID", r.signing_key_id},
              {"ExternalTrustDomain", r.external_trust_domain},
              {"NotBefore", r.not_before},
              {"NotAfter", r.not_after},
              {"RootCert", r.root_cert},
              {"IntermediateCerts", r.intermediate_certs.empty() ? Json(nullptr) : string_list(r.intermediate_certs)},
              {"Active", r.active},
              {"PrivateKeyType", r.private_key_type},
              {"PrivateKeyBits", r.private_key_bits},
              {"CreateIndex", r.raft.create_index},
              {"ModifyIndex", r.raft.modify_index}};
}

std::vector<Field> provider_config_fields(CAProviderConfig& c) {
  return {field({"LeafCertTTL", "leaf_cert_ttl"}, c.leaf_cert_ttl),
          field({"PrivateKeyType", "private_key_type"}, c.private_key_type),
          field({"PrivateKeyBits", "private_key_bits"}, c.private_key_bits),
          field({"RootCertTTL", "root_cert_ttl"}, c.root_cert_ttl),
          field({"IntermediateCertTTL", "intermediate_cert_ttl"}, c.intermediate_cert_ttl),
          field({"CSRMaxPerSecond", "csr_max_per_second"}, c.csr_max_per_second),
          field({"CSRMaxConcurrent", "csr_max_concurrent"}, c.csr_max_concurrent),
          field({"PrivateKey", "private_key"}, c.private_key),
          field({"RootCert", "root_cert"}, c.root_cert)};
}

Status read_root(const Json& j, const std::string& path, CARoot& r) {
  std::vector<std::string> intermediates;
  CAIRN_RETURN_IF_ERROR(decode_object(
      j, path,
      {field({"ID"}, r.id), field({"Name"}, r.name), field({"SerialNumber"}, r.serial_number),
       field({"SigningKeyID"}, r.signing_key_id), field({"ExternalTrustDomain"}, r.external_trust_domain),
       field({"NotBefore"}, r.not_before), field({"NotAfter"}, r.not_after), field({"RootCert"}, r.root_cert),
       field({"IntermediateCerts"}, r.intermediate_certs), field({"Active"}, r.active),
       field({"PrivateKeyType"}, r.private_key_type), field({"PrivateKeyBits"}, r.private_key_bits),
       field({"CreateIndex"}, r.raft.create_index), field({"ModifyIndex"}, r.raft.modify_index)}));
  return {};
}

}  // namespace

std::string to_json(const CARoots& roots) {
  Json list = Json::array();
  for (const auto& r : roots.roots) list.push_back(encode_root(r));
  Json j{{"ActiveRootID", roots.active_root_id}, {"TrustDomain", roots.trust_domain}, {"Roots", std::move(list)}};
  return j.dump();
}

std::string to_json(const CAConfiguration& c) {
  const CAProviderConfig& p = c.config;
  Json config{{"LeafCertTTL", format_duration(p.leaf_cert_ttl)},
              {"PrivateKey", ""},
              {"RootCert", ""},
              {"IntermediateCertTTL", format_duration(p.intermediate_cert_ttl)},
              {"RootCertTTL", format_duration(p.root_cert_ttl)},
              {"PrivateKeyType", p.private_key_type},
              {"PrivateKeyBits", p.private_key_bits},
              {"CSRMaxPerSecond", p.csr_max_per_second},
              {"CSRMaxConcurrent", p.csr_max_concurrent}};
  Json state = nullptr;
  if (!c.state.empty()) {
    state = Json::object();
    for (const auto& [k, v] : c.state) state[k] = v;
  }
  Json j{{"ClusterID", c.cluster_id},
         {"Provider", c.provider},
         {"Config", std::move(config)},
         {"State", std::move(state)},
         {"ForceWithoutCrossSigning", c.force_without_cross_signing},
         {"CreateIndex", c.raft.create_index},
         {"ModifyIndex", c.raft.modify_index}};
  return j.dump();
}

std::string to_json(const IssuedCert& c) {
  Json j{{"SerialNumber", c.serial_number},
         {"CertPEM", c.cert_pem},
         {"PrivateKeyPEM", c.private_key_pem},
         {"Service", c.service},
         {"ServiceURI", c.service_uri},
         {"ValidAfter", c.valid_after},
         {"ValidBefore", c.valid_before},
         {"CreateIndex", c.raft.create_index},
         {"ModifyIndex", c.raft.modify_index}};
  return j.dump();
}

Result<CAConfiguration> decode_ca_configuration(std::string_view body) {
  CAIRN_TRY(Json j, detail::parse_body(body));
  CAConfiguration c;
  Field config{{"Config", "config"}, [&c](const Json& v, const std::string& p) {
                 return decode_object(v, p, provider_config_fields(c.config));
               }};
  Status st = decode_object(j, "",
                            {field({"Provider", "provider"}, c.provider), config,
                             field({"ForceWithoutCrossSigning", "force_without_cross_signing"},
                                   c.force_without_cross_signing)});
  if (!st.ok()) return detail::decode_failed(st.error());
  return c;
}

Result<CARoots> decode_ca_roots(std::string_view body) {
  CAIRN_TRY(Json j, detail::parse_body(body, detail::kResponseFailed));
  CARoots out;
  Field roots{{"Roots"}, [&out](const Json& v, const std::string& p) -> Status {
                if (!v.is_array()) return detail::type_error(p, "array", v);
                for (size_t i = 0; i < v.size(); ++i)
                  CAIRN_RETURN_IF_ERROR(read_root(v[i], p + "[" + std::to_string(i) + "]", out.roots.emplace_back()));
                return {};
              }};
  Status st = decode_object(j, "", {field({"ActiveRootID"}, out.active_root_id),
                                    field({"TrustDomain"}, out.trust_domain), roots});
  if (!st.ok()) return detail::decode_failed(st.error(), detail::kResponseFailed);
  return out;
}

Result<IssuedCert> decode_issued_cert(std::string_view body) {
  CAIRN_TRY(Json j, detail::parse_body(body, detail::kResponseFailed));
  IssuedCert c;
  Status st = decode_object(
      j, "",
      {field({"SerialNumber"}, c.serial_number), field({"CertPEM"}, c.cert_pem),
       field({"PrivateKeyPEM"}, c.private_key_pem), field({"Service"}, c.service),
       field({"ServiceURI"}, c.service_uri), field({"ValidAfter"}, c.valid_after),
       field({"ValidBefore"}, c.valid_before), field({"CreateIndex"}, c.raft.create_index),
       field({"ModifyIndex"}, c.raft.modify_index)});
  if (!st.ok()) return detail::decode_failed(st.error(), detail::kResponseFailed);
  return c;
}

}  // namespace cairn::api
