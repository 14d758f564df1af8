// The KV linearizability checker on hand-made histories.
#include <gtest/gtest.h>

#include "test/faults/checker/linearizability.h"

namespace cairn::faults {
namespace {

KvOp put(int p, std::string key, std::string v, int64_t a, int64_t b) {
  KvOp op;
  op.process = p;
  op.kind = KvOpKind::put;
  op.key = std::move(key);
  op.value = std::move(v);
  op.invoke = a;
  op.complete = b;
  return op;
}
KvOp get(int p, std::string key, std::optional<std::string> v, int64_t a, int64_t b) {
  KvOp op = put(p, std::move(key), "", a, b);
  op.kind = KvOpKind::get;
  op.value = std::move(v);
  return op;
}
KvOp cas(int p, std::string key, std::optional<std::string> expected, std::string v, bool ok, int64_t a, int64_t b) {
  KvOp op = put(p, std::move(key), std::move(v), a, b);
  op.kind = KvOpKind::cas;
  op.expected = std::move(expected);
  op.cas_succeeded = ok;
  return op;
}
KvOp del(int p, std::string key, int64_t a, int64_t b) {
  KvOp op = put(p, std::move(key), "", a, b);
  op.kind = KvOpKind::del;
  op.value.reset();
  return op;
}
KvOp info(KvOp op) {
  op.outcome = KvOutcome::info;
  op.complete = 0;
  return op;
}

TEST(LinearizabilityChecker, SequentialHistoryIsLinearizable) {
  std::vector<KvOp> h = {get(0, "k", std::nullopt, 0, 1), put(0, "k", "a", 2, 3), get(1, "k", "a", 4, 5),
                         cas(1, "k", "a", "b", true, 6, 7),   cas(0, "k", "a", "c", false, 8, 9),
                         get(0, "k", "b", 10, 11),            del(1, "k", 12, 13),
                         get(0, "k", std::nullopt, 14, 15),   cas(0, "k", std::nullopt, "d", true, 16, 17)};
  auto r = check_kv(h);
  EXPECT_EQ(r.verdict, Verdict::linearizable) << r.summary();
  EXPECT_EQ(r.ops, h.size());
}

TEST(LinearizabilityChecker, ConcurrentReadMaySeeEitherValue) {
  // The put overlaps both reads: the first may see the old value and the
  // second the new one (the put took effect between them).
  std::vector<KvOp> h = {put(0, "k", "a", 0, 1), put(1, "k", "b", 10, 40), get(2, "k", "a", 12, 20),
                         get(3, "k", "b", 21, 30), get(2, "k", "b", 41, 42)};
  EXPECT_EQ(check_kv(h).verdict, Verdict::linearizable);
}

TEST(LinearizabilityChecker, ReadsThatGoBackwardsInOverlapAreNotLinearizable) {
  // Both reads overlap the put, but the first returned before the second
  // started: once "b" was seen, "a" may not be seen again.
  std::vector<KvOp> h = {put(0, "k", "a", 0, 1), put(1, "k", "b", 10, 40), get(2, "k", "b", 12, 20),
                         get(3, "k", "a", 21, 30)};
  EXPECT_EQ(check_kv(h).verdict, Verdict::not_linearizable);
}

TEST(LinearizabilityChecker, FindsStaleReadAndPrintsMinimalHistory) {
  std::vector<KvOp> h;
  // Noise on the same key and on other keys, then a stale read.
  for (int i = 0; i < 20; ++i) {
    h.push_back(put(i % 3, "k", "n" + std::to_string(i), i * 10, i * 10 + 5));
    h.push_back(get((i + 1) % 3, "k", "n" + std::to_string(i), i * 10 + 6, i * 10 + 8));
    h.push_back(put(4, "other", "o" + std::to_string(i), i * 10, i * 10 + 9));
  }
  h.push_back(put(0, "k", "a", 300, 310));
  h.push_back(put(1, "k", "b", 320, 330));
  h.push_back(get(2, "k", "a", 340, 350));  // stale: "b" was acknowledged before this read began
  auto r = check_kv(h);
  ASSERT_EQ(r.verdict, Verdict::not_linearizable);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].key, "k");
  const auto& anomaly = r.problems[0].anomaly;
  // put a, put b, get a: nothing smaller is anomalous.
  ASSERT_EQ(anomaly.size(), 3u) << r.summary();
  EXPECT_EQ(check_register(anomaly, 1000000), Verdict::not_linearizable);
  std::string text = r.summary();
  EXPECT_NE(text.find("put k \"b\""), std::string::npos) << text;
  EXPECT_NE(text.find("get k = \"a\""), std::string::npos) << text;
}

TEST(LinearizabilityChecker, FindsLostAcknowledgedWrite) {
  std::vector<KvOp> h = {put(0, "k", "a", 0, 5), put(1, "k", "b", 10, 15), get(2, "k", "a", 20, 25),
                         get(2, "k", "a", 30, 35)};
  auto r = check_kv(h);
  EXPECT_EQ(r.verdict, Verdict::not_linearizable);
}

TEST(LinearizabilityChecker, FindsLostDelete) {
  std::vector<KvOp> h = {put(0, "k", "a", 0, 5), del(1, "k", 10, 15), get(2, "k", "a", 20, 25)};
  EXPECT_EQ(check_kv(h).verdict, Verdict::not_linearizable);
}

TEST(LinearizabilityChecker, FindsTwoCasWinnersOnOneValue) {
  // Both CASes expected "a" and both claim success, concurrently: only one can.
  std::vector<KvOp> h = {put(0, "k", "a", 0, 5), cas(1, "k", "a", "b", true, 10, 30),
                         cas(2, "k", "a", "c", true, 12, 28)};
  auto r = check_kv(h);
  ASSERT_EQ(r.verdict, Verdict::not_linearizable);
  EXPECT_EQ(r.problems[0].anomaly.size(), 3u) << r.summary();
}

TEST(LinearizabilityChecker, FindsCasThatFailedAlthoughItShouldHaveWon) {
  std::vector<KvOp> h = {put(0, "k", "a", 0, 5), cas(1, "k", "a", "b", false, 10, 20), get(2, "k", "a", 30, 40)};
  EXPECT_EQ(check_kv(h).verdict, Verdict::not_linearizable);
}

TEST(LinearizabilityChecker, InfoWriteMayOrMayNotHaveHappened) {
  // An unknown put may show up late, or never.
  std::vector<KvOp> seen = {put(0, "k", "a", 0, 5), info(put(1, "k", "b", 10, 0)), get(2, "k", "a", 100, 110),
                            get(2, "k", "b", 200, 210)};
  EXPECT_EQ(check_kv(seen).verdict, Verdict::linearizable);
  std::vector<KvOp> never = {put(0, "k", "a", 0, 5), info(put(1, "k", "b", 10, 0)), get(2, "k", "a", 100, 110)};
  EXPECT_EQ(check_kv(never).verdict, Verdict::linearizable);
  // ... but once seen it cannot be unseen.
  std::vector<KvOp> flicker = {put(0, "k", "a", 0, 5), info(put(1, "k", "b", 10, 0)), get(2, "k", "b", 100, 110),
                               get(2, "k", "a", 200, 210)};
  EXPECT_EQ(check_kv(flicker).verdict, Verdict::not_linearizable);
  // Nor can it take effect before it was invoked.
  std::vector<KvOp> early = {put(0, "k", "a", 0, 5), get(2, "k", "b", 6, 8), info(put(1, "k", "b", 10, 0))};
  EXPECT_EQ(check_kv(early).verdict, Verdict::not_linearizable);
}

TEST(LinearizabilityChecker, InfoCasTakesEffectOnlyWhenItsExpectationHolds) {
  std::vector<KvOp> ok = {put(0, "k", "a", 0, 5), info(cas(1, "k", "a", "b", false, 10, 0)),
                          get(2, "k", "b", 20, 30)};
  EXPECT_EQ(check_kv(ok).verdict, Verdict::linearizable);
  std::vector<KvOp> bad = {put(0, "k", "a", 0, 5), info(cas(1, "k", "z", "b", false, 10, 0)),
                           get(2, "k", "b", 20, 30)};
  EXPECT_EQ(check_kv(bad).verdict, Verdict::not_linearizable);
}

TEST(LinearizabilityChecker, InfoReadsAreIgnored) {
  std::vector<KvOp> h = {put(0, "k", "a", 0, 5), info(get(1, "k", "zzz", 10, 0))};
  auto r = check_kv(h);
  EXPECT_EQ(r.verdict, Verdict::linearizable);
  EXPECT_EQ(r.ops, 1u);
}

TEST(LinearizabilityChecker, ReportsOnlyTheAnomalousKey) {
  std::vector<KvOp> h = {put(0, "a", "1", 0, 5),  get(1, "a", "1", 6, 9),  put(0, "b", "1", 0, 5),
                         put(0, "b", "2", 10, 15), get(1, "b", "1", 20, 25), get(1, "c", std::nullopt, 0, 1)};
  auto r = check_kv(h);
  ASSERT_EQ(r.verdict, Verdict::not_linearizable);
  EXPECT_EQ(r.keys, 3u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].key, "b");
}

TEST(LinearizabilityChecker, RunsOutOfBudgetAsUnknownNeverOk) {
  // Many mutually concurrent writes followed by reads that fit no order:
  // with a tiny budget the search must give up, and say so.
  std::vector<KvOp> h;
  for (int i = 0; i < 40; ++i) h.push_back(put(i, "k", "v" + std::to_string(i), 0, 1000));
  for (int i = 0; i < 40; ++i) h.push_back(get(i, "k", "v" + std::to_string(i), 1001 + 2 * i, 1002 + 2 * i));
  CheckOptions tiny;
  tiny.max_steps = 500;
  auto r = check_kv(h, tiny);
  EXPECT_EQ(r.verdict, Verdict::unknown);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_TRUE(r.problems[0].anomaly.empty());

  // So does the memory cap on the memo.
  CheckOptions small_memo;
  small_memo.max_memo_bytes = 1024;
  EXPECT_EQ(check_kv(h, small_memo).verdict, Verdict::unknown);

  // The deadline predicate stops it too.
  CheckOptions deadline;
  deadline.out_of_time = [] { return true; };
  EXPECT_EQ(check_kv(h, deadline).verdict, Verdict::unknown);
}

TEST(LinearizabilityChecker, ManyConcurrentOpsStayTractableWithMemoisation) {
  // 5 processes, 400 ops of overlapping puts and reads that are all legal.
  std::vector<KvOp> h;
  std::string last = "";
  for (int i = 0; i < 400; ++i) {
    int64_t t = i * 10;
    if (i % 2 == 0) {
      last = "v" + std::to_string(i);
      h.push_back(put(i % 5, "k", last, t, t + 25));
    } else {
      h.push_back(get(i % 5, "k", last, t + 20, t + 30));
    }
  }
  CheckOptions o;
  o.max_steps = 2'000'000;
  auto r = check_kv(h, o);
  EXPECT_EQ(r.verdict, Verdict::linearizable) << r.summary();
}

TEST(LinearizabilityChecker, FormatsInfoOps) {
  std::string line = format_op(info(cas(3, "k", std::nullopt, "x", false, 2'000'000, 0)));
  EXPECT_NE(line.find("p3 cas k <absent>->\"x\" = ? (info)"), std::string::npos) << line;
  EXPECT_NE(line.find("?]"), std::string::npos) << line;
}

}  // namespace
}  // namespace cairn::faults
