// Vivaldi coordinates (serf coordinate package algorithm).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/rng.h"
#include "gossip/vivaldi.h"

namespace cairn::gossip {
namespace {

using namespace std::chrono_literals;

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

TEST(Vivaldi, NewCoordinateSitsAtTheOriginWithMaximumError) {
  VivaldiClient c;
  EXPECT_EQ(c.coordinate().error, 1.5);
  EXPECT_EQ(c.coordinate().height, 10.0e-6);
  for (double x : c.coordinate().vec) EXPECT_EQ(x, 0.0);
}

TEST(Vivaldi, EstimateIsDistancePlusHeights) {
  Coordinate a, b;
  a.height = 0.001;
  b.height = 0.002;
  a.vec[0] = 0.003;
  b.vec[1] = 0.004;  // |a - b| = 5 ms
  EXPECT_NEAR(ms(estimate_rtt(a, b)), 8.0, 1e-6);
  EXPECT_EQ(estimate_rtt(a, b), estimate_rtt(b, a));
}

TEST(Vivaldi, NegativeAdjustmentIsIgnoredWhenItWouldMakeDistanceNegative) {
  Coordinate a, b;
  a.height = b.height = 0.001;
  a.adjustment = b.adjustment = -0.01;
  EXPECT_NEAR(ms(estimate_rtt(a, b)), 2.0, 1e-6);
}

TEST(Vivaldi, TwoNodesLearnTheirRoundTripTime) {
  SeededRng rng(1);
  VivaldiClient a, b;
  LatencyFilter fa, fb;
  for (int i = 0; i < 200; ++i) {
    a.update(fa, b.coordinate(), 20ms, rng);
    b.update(fb, a.coordinate(), 20ms, rng);
  }
  EXPECT_NEAR(ms(estimate_rtt(a.coordinate(), b.coordinate())), 20.0, 2.0);
  EXPECT_LT(a.coordinate().error, 0.2);
}

TEST(Vivaldi, ThreeNodesOnALineEmbed) {
  SeededRng rng(2);
  VivaldiClient n[3];
  LatencyFilter f[3][3];
  const double rtt[3][3] = {{0, 10, 20}, {10, 0, 10}, {20, 10, 0}};
  for (int round = 0; round < 500; ++round)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        if (i != j)
          n[i].update(f[i][j], n[j].coordinate(),
                      std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(rtt[i][j])),
                      rng);
  EXPECT_NEAR(ms(estimate_rtt(n[0].coordinate(), n[2].coordinate())), 20.0, 3.0);
  EXPECT_NEAR(ms(estimate_rtt(n[0].coordinate(), n[1].coordinate())), 10.0, 3.0);
}

TEST(Vivaldi, LatencyFilterReturnsTheMedianOfTheLastThreeSamples) {
  LatencyFilter f;
  EXPECT_FLOAT_EQ(f.add(0.010), 0.010f);
  EXPECT_FLOAT_EQ(f.add(0.500), 0.500f);  // of {10, 500}: index 1
  EXPECT_FLOAT_EQ(f.add(0.012), 0.012f);  // {10, 500, 12}
  EXPECT_FLOAT_EQ(f.add(0.011), 0.012f);  // {11, 500, 12}: the 500 spike is filtered
  EXPECT_FLOAT_EQ(f.add(0.013), 0.012f);  // {11, 13, 12}
}

TEST(Vivaldi, UpdateRejectsRttOutOfRange) {
  SeededRng rng(3);
  VivaldiClient c;
  LatencyFilter f;
  Coordinate other;
  EXPECT_FALSE(c.update(f, other, -1ms, rng));
  EXPECT_FALSE(c.update(f, other, 11s, rng));
  EXPECT_EQ(f.count, 0);
}

TEST(Vivaldi, UpdateRejectsANonFiniteCoordinate) {
  SeededRng rng(4);
  VivaldiClient c;
  LatencyFilter f;
  Coordinate other;
  other.vec[3] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(other.valid());
  EXPECT_FALSE(c.update(f, other, 5ms, rng));
  EXPECT_TRUE(c.coordinate().valid());
}

TEST(Vivaldi, CoincidentNodesArePushedApart) {
  SeededRng rng(5);
  VivaldiClient c;
  LatencyFilter f;
  ASSERT_TRUE(c.update(f, Coordinate::origin(VivaldiConfig{}), 10ms, rng));
  double mag = 0;
  for (double x : c.coordinate().vec) mag += x * x;
  EXPECT_GT(mag, 0.0);
}

}  // namespace
}  // namespace cairn::gossip
