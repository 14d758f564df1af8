// agent/connect LeafCache with a manual clock and a fake CA behind the
// api::rpc::Handler: keys made on the agent, renewal at about half life,
// renewal at once on a root change, blocking reads woken by a new leaf.
#include "agent/connect/leaf_cache.h"

#include <gtest/gtest.h>

#include "core/io/x509.h"

namespace cairn::agent::connect {
namespace {

namespace rpc = api::rpc;
namespace x509 = io::x509;

constexpr auto kHour = std::chrono::hours(1);
const std::string kTrustDomain = "11111111-2222-4333-8444-555555555555.consul";

// A CA answering ConnectCARoots (parking blocking queries until a rotation)
// and ConnectCASign, on the test thread.
class FakeCa final : public rpc::Handler {
 public:
  explicit FakeCa(const Clock& clock) : clock_(clock) { rotate(); }

  void rotate() {
    std::string key = *x509::generate_key("ec", 256);
    x509::CertTemplate t;
    t.common_name = "root-" + std::to_string(index_);
    t.uris = {"spiffe://" + kTrustDomain};
    t.serial = std::string(1, static_cast<char>(index_ + 1));
    t.not_before = clock_.wall_now();
    t.not_after = WallTime{clock_.wall_now().since_unix_epoch + 87600 * kHour};
    t.is_ca = true;
    root_cert_ = *x509::sign_cert(t, x509::read_key(key)->public_pem, "", key);
    root_key_ = key;
    ++index_;
    auto parked = std::move(parked_);
    parked_.clear();
    for (auto& p : parked) answer_roots(p);
  }

  void query(rpc::QueryOptions o, rpc::Query q, rpc::QueryCallback done) override {
    ASSERT_TRUE(std::holds_alternative<rpc::ConnectCARoots>(q));
    ++roots_queries;
    if (o.min_index >= index_) {
      parked_.push_back(std::move(done));
      return;
    }
    answer_roots(done);
  }

  void write(rpc::WriteOptions, rpc::Write w, rpc::WriteCallback done) override {
    ASSERT_TRUE(std::holds_alternative<rpc::ConnectCASign>(w));
    const std::string& csr = std::get<rpc::ConnectCASign>(w).csr;
    csrs.push_back(csr);
    if (fail_next > 0) {
      --fail_next;
      return done(Error(errc::resource_exhausted, "rate limit reached, try again later"));
    }
    auto info = x509::read_csr(csr);
    ASSERT_TRUE(info.ok());
    x509::CertTemplate t;
    t.common_name = "leaf";
    t.uris = info->uris;
    t.serial = "s" + std::to_string(++signed_count);
    t.not_before = clock_.wall_now();
    t.not_after = WallTime{clock_.wall_now().since_unix_epoch + leaf_ttl};
    api::IssuedCert c;
    c.cert_pem = *x509::sign_cert(t, info->public_pem, root_cert_, root_key_);
    c.serial_number = x509::colon_hex(t.serial);
    c.service_uri = info->uris.at(0);
    c.service = c.service_uri.substr(c.service_uri.rfind('/') + 1);
    c.valid_after = x509::rfc3339(t.not_before);
    c.valid_before = x509::rfc3339(t.not_after);
    done(rpc::WriteResponse{0, rpc::make_value<rpc::ConnectCASign, rpc::WriteValue>(c)});
  }

  api::CARoots roots() const {
    api::CARoot r;
    r.id = "root-" + std::to_string(index_);
    r.signing_key_id = x509::read_cert(root_cert_)->subject_key_id;
    r.root_cert = root_cert_;
    r.active = true;
    return api::CARoots{r.id, kTrustDomain, {r}};
  }
  std::string signing_key_id() const { return x509::read_cert(root_cert_)->subject_key_id; }
  size_t parked() const { return parked_.size(); }

  Duration leaf_ttl = 72 * kHour;
  int fail_next = 0;
  int signed_count = 0;
  int roots_queries = 0;
  std::vector<std::string> csrs;

 private:
  void answer_roots(const rpc::QueryCallback& done) {
    rpc::QueryResponse resp;
    resp.meta.index = index_;
    resp.value = rpc::make_value<rpc::ConnectCARoots, rpc::QueryValue>(roots());
    done(resp);
  }

  const Clock& clock_;
  uint64_t index_ = 0;
  std::string root_cert_;
  std::string root_key_;
  std::vector<rpc::QueryCallback> parked_;
};

struct LeafCacheTest : ::testing::Test {
  ManualClock clock;
  ManualScheduler scheduler{clock};
  std::shared_ptr<FakeCa> ca = std::make_shared<FakeCa>(clock);
  std::shared_ptr<LeafCache> cache;

  LeafCacheTest() {
    LeafOptions o;
    o.datacenter = "dc1";
    o.seed = 42;
    cache = LeafCache::make(ca, clock, scheduler, o);
  }
  ~LeafCacheTest() override { cache->stop(); }

  std::optional<Result<api::IssuedCert>> get(const std::string& service, uint64_t min_index = 0,
                                             Duration wait = std::chrono::seconds(10)) {
    auto slot = std::make_shared<std::optional<Result<api::IssuedCert>>>();
    cache->get(service, min_index, wait, [slot](Result<api::IssuedCert> r) { slot->emplace(std::move(r)); });
    return *slot;
  }
};

TEST_F(LeafCacheTest, FirstUseSignsALeafWhoseKeyNeverLeavesTheAgent) {
  auto got = get("web");
  ASSERT_TRUE(got && got->ok()) << (got ? got->error().message() : "no answer");
  const api::IssuedCert& cert = **got;
  EXPECT_EQ(cert.service, "web");
  EXPECT_EQ(cert.service_uri, "spiffe://" + kTrustDomain + "/ns/default/dc/dc1/svc/web");
  EXPECT_TRUE(*x509::key_matches_cert(cert.private_key_pem, cert.cert_pem));
  EXPECT_EQ(x509::read_key(cert.private_key_pem)->type, "ec");
  ASSERT_EQ(ca->csrs.size(), 1u);
  EXPECT_EQ(ca->csrs[0].find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(x509::read_csr(ca->csrs[0])->uris, std::vector<std::string>{cert.service_uri});
  EXPECT_GT(cert.raft.modify_index, 0u);

  // A second read is a cache hit.
  auto again = get("web");
  ASSERT_TRUE(again && again->ok());
  EXPECT_EQ((*again)->serial_number, cert.serial_number);
  EXPECT_EQ(ca->signed_count, 1);
}

TEST_F(LeafCacheTest, RenewsAtAboutHalfLifeBeforeExpiry) {
  auto first = get("web");
  ASSERT_TRUE(first && first->ok());
  auto renew_at = cache->renew_at("web");
  ASSERT_TRUE(renew_at);
  Duration until = renew_at->since_unix_epoch - clock.wall_now().since_unix_epoch;
  EXPECT_GE(until, 36 * kHour);  // half of 72h
  EXPECT_LE(until, 43 * kHour + std::chrono::minutes(12));  // 60% of 72h

  scheduler.advance(until - std::chrono::seconds(1));
  EXPECT_EQ(ca->signed_count, 1);
  scheduler.advance(std::chrono::seconds(2));
  EXPECT_EQ(ca->signed_count, 2);
  EXPECT_EQ(cache->stats().renewals, 1u);
  auto second = get("web");
  ASSERT_TRUE(second && second->ok());
  EXPECT_NE((*second)->serial_number, (*first)->serial_number);
  EXPECT_GT((*second)->raft.modify_index, (*first)->raft.modify_index);
  EXPECT_NE((*second)->private_key_pem, (*first)->private_key_pem);  // a new key pair each time
  // Renewed while the old leaf was still valid.
  EXPECT_LT(clock.wall_now().since_unix_epoch, x509::parse_rfc3339((*first)->valid_before)->since_unix_epoch);
}

TEST_F(LeafCacheTest, JitterSpreadsRenewalsOfLeavesIssuedTogether) {
  std::set<int64_t> times;
  for (const char* s : {"a", "b", "c", "d", "e"}) {
    ASSERT_TRUE(get(s)->ok());
    times.insert(cache->renew_at(s)->since_unix_epoch.count());
  }
  EXPECT_GT(times.size(), 1u);
}

TEST_F(LeafCacheTest, BlockingReadWakesWhenANewLeafReplacesTheOld) {
  auto first = get("web");
  ASSERT_TRUE(first && first->ok());
  uint64_t index = (*first)->raft.modify_index;
  auto slot = std::make_shared<std::optional<Result<api::IssuedCert>>>();
  cache->get("web", index, 100 * kHour, [slot](Result<api::IssuedCert> r) { slot->emplace(std::move(r)); });
  EXPECT_FALSE(*slot);
  scheduler.advance(30 * kHour);
  EXPECT_FALSE(*slot);
  scheduler.advance(14 * kHour);  // past 60% of 72h: renewed
  ASSERT_TRUE(*slot && (*slot)->ok());
  EXPECT_GT((**slot)->raft.modify_index, index);
  EXPECT_NE((**slot)->serial_number, (*first)->serial_number);
}

TEST_F(LeafCacheTest, BlockingReadAnswersTheCurrentLeafWhenItsWaitEnds) {
  auto first = get("web");
  ASSERT_TRUE(first && first->ok());
  auto slot = std::make_shared<std::optional<Result<api::IssuedCert>>>();
  cache->get("web", (*first)->raft.modify_index, std::chrono::minutes(5),
             [slot](Result<api::IssuedCert> r) { slot->emplace(std::move(r)); });
  scheduler.advance(std::chrono::minutes(4));
  EXPECT_FALSE(*slot);
  scheduler.advance(std::chrono::minutes(1));
  ASSERT_TRUE(*slot && (*slot)->ok());
  EXPECT_EQ((**slot)->serial_number, (*first)->serial_number);
}

TEST_F(LeafCacheTest, ANewActiveRootRenewsLeavesAtOnce) {
  auto first = get("web");
  ASSERT_TRUE(first && first->ok());
  EXPECT_EQ(x509::read_cert((*first)->cert_pem)->authority_key_id, ca->signing_key_id());
  EXPECT_EQ(ca->parked(), 1u);  // the background roots query waits for a change
  auto slot = std::make_shared<std::optional<Result<api::IssuedCert>>>();
  cache->get("web", (*first)->raft.modify_index, 10 * kHour,
             [slot](Result<api::IssuedCert> r) { slot->emplace(std::move(r)); });

  ca->rotate();  // no clock movement: the roots query answers, the leaf is renewed
  EXPECT_EQ(ca->signed_count, 2);
  EXPECT_EQ(cache->stats().root_changes, 1u);
  ASSERT_TRUE(*slot && (*slot)->ok());
  EXPECT_EQ(x509::read_cert((**slot)->cert_pem)->authority_key_id, ca->signing_key_id());
  EXPECT_EQ(ca->parked(), 1u);  // and watches again
}

TEST_F(LeafCacheTest, AFailedRenewalKeepsTheOldLeafAndRetries) {
  auto first = get("web");
  ASSERT_TRUE(first && first->ok());
  ca->fail_next = 1;
  Duration until = cache->renew_at("web")->since_unix_epoch - clock.wall_now().since_unix_epoch;
  scheduler.advance(until + std::chrono::milliseconds(100));  // the renewal is refused
  EXPECT_EQ(cache->stats().sign_failures, 1u);
  auto still = get("web");
  ASSERT_TRUE(still && still->ok());
  EXPECT_EQ((*still)->serial_number, (*first)->serial_number);
  scheduler.advance(std::chrono::seconds(1));  // retry_min
  EXPECT_EQ(ca->signed_count, 2);
  EXPECT_NE((*get("web"))->serial_number, (*first)->serial_number);
}

TEST_F(LeafCacheTest, AFirstSigningFailureIsTheCallersError) {
  ca->fail_next = 1;
  auto got = get("web");
  ASSERT_TRUE(got);
  ASSERT_FALSE(got->ok());
  EXPECT_TRUE(got->error().is(errc::resource_exhausted));
  auto retry = get("web");  // the next read tries again
  ASSERT_TRUE(retry && retry->ok());
}

TEST_F(LeafCacheTest, RootsAreWatchedAndBlockingRootReadsWake) {
  std::optional<Result<std::pair<api::CARoots, uint64_t>>> first;
  cache->roots(0, std::chrono::seconds(10), [&](auto r) { first.emplace(std::move(r)); });
  ASSERT_TRUE(first && first->ok());
  EXPECT_EQ((*first)->first.trust_domain, kTrustDomain);
  uint64_t index = (*first)->second;
  std::optional<Result<std::pair<api::CARoots, uint64_t>>> next;
  cache->roots(index, std::chrono::minutes(5), [&](auto r) { next.emplace(std::move(r)); });
  EXPECT_FALSE(next);
  ca->rotate();
  ASSERT_TRUE(next && next->ok());
  EXPECT_GT((*next)->second, index);
  EXPECT_NE((*next)->first.active_root_id, (*first)->first.active_root_id);
}

TEST_F(LeafCacheTest, StopAnswersParkedReads) {
  ASSERT_TRUE(get("web")->ok());
  auto slot = std::make_shared<std::optional<Result<api::IssuedCert>>>();
  cache->get("web", 1000, kHour, [slot](Result<api::IssuedCert> r) { slot->emplace(std::move(r)); });
  cache->stop();
  ASSERT_TRUE(*slot);
  EXPECT_TRUE((*slot)->error().is(errc::cancelled));
}

}  // namespace
}  // namespace cairn::agent::connect
