// agent/dns/message.h: round trips, compression, and every malformed-input
// class ending in a ParseError (never a crash).
#include "agent/dns/message.h"

#include <gtest/gtest.h>

#include "test/agent/dns/dns_test_util.h"

namespace cairn::agent::dns {
namespace {

using test::query_bytes;

TEST(DnsMessage, QueryRoundTrips) {
  Message q;
  q.header.id = 0xBEEF;
  q.header.rd = true;
  q.questions.push_back({"Web.Service.cairn", type::SRV, kClassIN});
  q.edns = Edns{4096, 0, true};
  auto bytes = encode(q);
  auto parsed = parse(bytes);
  ASSERT_TRUE(std::holds_alternative<Message>(parsed)) << std::get<ParseError>(parsed).reason;
  const auto& m = std::get<Message>(parsed);
  EXPECT_EQ(m.header.id, 0xBEEF);
  EXPECT_TRUE(m.header.rd);
  EXPECT_FALSE(m.header.qr);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name, "Web.Service.cairn");
  EXPECT_EQ(m.questions[0].qtype, type::SRV);
  ASSERT_TRUE(m.edns);
  EXPECT_EQ(m.edns->udp_size, 4096);
  EXPECT_TRUE(m.edns->dnssec_ok);
}

TEST(DnsMessage, EveryRecordTypeRoundTrips) {
  Message r;
  r.header.qr = r.header.aa = true;
  r.header.rcode = Rcode::nxdomain;
  r.questions.push_back({"x.cairn", type::ANY, kClassIN});
  r.answers.push_back({"x.cairn", type::A, kClassIN, 5, std::array<uint8_t, 4>{10, 0, 0, 1}});
  r.answers.push_back({"x.cairn", type::AAAA, kClassIN, 5, std::array<uint8_t, 16>{0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}});
  r.answers.push_back({"x.cairn", type::SRV, kClassIN, 5, Srv{1, 7, 8080, "n1.node.dc1.cairn"}});
  r.answers.push_back({"x.cairn", type::TXT, kClassIN, 5, Txt{"a=b", "c"}});
  r.answers.push_back({"x.cairn", type::CNAME, kClassIN, 5, NameData{"example.com"}});
  r.authority.push_back({"cairn", type::SOA, kClassIN, 0, Soa{"ns.cairn", "hostmaster.cairn", 1, 2, 3, 4, 5}});
  r.additional.push_back({"n1.node.dc1.cairn", type::A, kClassIN, 0, std::array<uint8_t, 4>{127, 0, 0, 1}});
  auto parsed = parse(encode(r));
  ASSERT_TRUE(std::holds_alternative<Message>(parsed)) << std::get<ParseError>(parsed).reason;
  const auto& m = std::get<Message>(parsed);
  EXPECT_EQ(m.header.rcode, Rcode::nxdomain);
  ASSERT_EQ(m.answers.size(), 5u);
  EXPECT_EQ(std::get<Srv>(m.answers[2].data).target, "n1.node.dc1.cairn");
  EXPECT_EQ(std::get<Srv>(m.answers[2].data).port, 8080);
  EXPECT_EQ(std::get<Txt>(m.answers[3].data), (Txt{"a=b", "c"}));
  EXPECT_EQ(std::get<NameData>(m.answers[4].data).name, "example.com");
  EXPECT_EQ(std::get<Soa>(m.authority[0].data).minimum, 5u);
  EXPECT_EQ(std::get<Soa>(m.authority[0].data).rname, "hostmaster.cairn");
  EXPECT_EQ(m.additional[0].name, "n1.node.dc1.cairn");
}

TEST(DnsMessage, RepeatedNamesAreCompressed) {
  Message r;
  r.questions.push_back({"web.service.cairn", type::A, kClassIN});
  for (int i = 0; i < 10; ++i)
    r.answers.push_back({"web.service.cairn", type::A, kClassIN, 0, std::array<uint8_t, 4>{10, 0, 0, uint8_t(i)}});
  auto bytes = encode(r);
  // 12 header + 23 question + 10 × (2 pointer + 10 fixed + 4 data).
  EXPECT_EQ(bytes.size(), 12u + 19 + 4 + 10 * 16);
}

TEST(DnsMessage, LabelsWithDotsAreEscaped) {
  std::vector<std::string> labels{"a.b", "c\\d", "e"};
  std::string text = join_labels(labels);
  EXPECT_EQ(text, "a\\.b.c\\\\d.e");
  EXPECT_EQ(split_labels(text), labels);
  Message q;
  q.questions.push_back({text, type::A, kClassIN});
  auto parsed = parse(encode(q));
  ASSERT_TRUE(std::holds_alternative<Message>(parsed));
  EXPECT_EQ(std::get<Message>(parsed).questions[0].name, text);
}

TEST(DnsMessage, ShortHeaderIsUnreadable) {
  std::vector<uint8_t> b{0x12, 0x34, 0x01};
  auto p = parse(b);
  ASSERT_TRUE(std::holds_alternative<ParseError>(p));
  EXPECT_FALSE(std::get<ParseError>(p).header_readable);
}

TEST(DnsMessage, TruncatedQuestionIsFormErr) {
  auto b = query_bytes("web.service.cairn", type::A);
  b.resize(b.size() - 3);
  auto p = parse(b);
  ASSERT_TRUE(std::holds_alternative<ParseError>(p));
  EXPECT_TRUE(std::get<ParseError>(p).header_readable);
  EXPECT_EQ(std::get<ParseError>(p).header.id, 0x4242);
}

TEST(DnsMessage, CountsBeyondTheRecordsAreFormErr) {
  auto b = query_bytes("web.service.cairn", type::A);
  b[7] = 3;  // ANCOUNT 3, no answers present
  auto p = parse(b);
  ASSERT_TRUE(std::holds_alternative<ParseError>(p));
  EXPECT_TRUE(std::get<ParseError>(p).header_readable);
  b[7] = 0;
  b[4] = 0xFF;  // QDCOUNT 65280
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse(b)));
}

TEST(DnsMessage, PointerLoopsAreRejected) {
  // Header, then a question whose name is a pointer to itself.
  std::vector<uint8_t> b{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
  auto p = parse(b);
  ASSERT_TRUE(std::holds_alternative<ParseError>(p));
  EXPECT_NE(std::get<ParseError>(p).reason.find("backwards"), std::string::npos);
  // Two labels pointing at each other: the second points forward.
  std::vector<uint8_t> c{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xC0, 16, 1, 'b', 0xC0, 12, 0, 1, 0, 1};
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse(c)));
}

TEST(DnsMessage, OverLongNamesAreRejected) {
  std::vector<uint8_t> b{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 5; ++i) {  // 5 × 64 bytes > 255
    b.push_back(63);
    b.insert(b.end(), 63, 'x');
  }
  b.push_back(0);
  b.insert(b.end(), {0, 1, 0, 1});
  auto p = parse(b);
  ASSERT_TRUE(std::holds_alternative<ParseError>(p));
  EXPECT_NE(std::get<ParseError>(p).reason.find("255"), std::string::npos);
}

TEST(DnsMessage, ReservedLabelTypesAreRejected) {
  std::vector<uint8_t> b{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 'a', 0, 0, 1, 0, 1};
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse(b)));
}

TEST(DnsMessage, TwoOptRecordsAreFormErr) {
  Message q;
  q.questions.push_back({"a.cairn", type::A, kClassIN});
  q.edns = Edns{};
  auto b = encode(q);
  // Append a second OPT and bump ARCOUNT.
  b.insert(b.end(), {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
  b[11] = 2;
  auto p = parse(b);
  ASSERT_TRUE(std::holds_alternative<ParseError>(p));
  EXPECT_NE(std::get<ParseError>(p).reason.find("OPT"), std::string::npos);
}

TEST(DnsMessage, RdataLengthMustMatch) {
  Message r;
  r.answers.push_back({"a", type::A, kClassIN, 0, std::array<uint8_t, 4>{1, 2, 3, 4}});
  auto b = encode(r);
  b[b.size() - 5] = 5;  // RDLENGTH 5 for an A record
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse(b)));
}

TEST(DnsMessage, NamesAreComparedWithoutCase) {
  EXPECT_TRUE(name_equal("WEB.service.Cairn", "web.SERVICE.cairn"));
  EXPECT_FALSE(name_equal("web", "wec"));
}

}  // namespace
}  // namespace cairn::agent::dns
