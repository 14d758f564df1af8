#include "gossip/vivaldi.h"

#include <algorithm>
#include <cmath>

namespace cairn::gossip {
namespace {

using Vec = std::array<double, VivaldiConfig::kDimensionality>;
constexpr double kZeroThreshold = 1.0e-6;

double magnitude(const Vec& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum);
}

Vec diff(const Vec& a, const Vec& b) {
  Vec r;
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = a[i] - b[i];
  return r;
}

double raw_distance(const Coordinate& a, const Coordinate& b) {
  return magnitude(diff(a.vec, b.vec)) + a.height + b.height;
}

// serf unitVectorAt: the direction from b to a, or a random direction when
// the two sit on top of each other (so coincident nodes push apart).
std::pair<Vec, double> unit_vector_at(const Vec& a, const Vec& b, Rng& rng) {
  Vec r = diff(a, b);
  double mag = magnitude(r);
  if (mag > kZeroThreshold) {
    for (double& x : r) x /= mag;
    return {r, mag};
  }
  for (double& x : r) x = rng.unit() - 0.5;
  mag = magnitude(r);
  if (mag > kZeroThreshold) {
    for (double& x : r) x /= mag;
    return {r, 0.0};
  }
  r = Vec{};
  r[0] = 1.0;
  return {r, 0.0};
}

Coordinate apply_force(const Coordinate& c, double height_min, double force, const Coordinate& other,
                       Rng& rng) {
  Coordinate ret = c;
  auto [unit, mag] = unit_vector_at(c.vec, other.vec, rng);
  for (std::size_t i = 0; i < ret.vec.size(); ++i) ret.vec[i] += unit[i] * force;
  if (mag > kZeroThreshold) {
    ret.height = (ret.height + other.height) * force / mag + ret.height;
    ret.height = std::max(ret.height, height_min);
  }
  return ret;
}

}  // namespace

bool Coordinate::valid() const {
  for (double x : vec)
    if (!std::isfinite(x)) return false;
  return std::isfinite(error) && std::isfinite(adjustment) && std::isfinite(height);
}

double Coordinate::distance_seconds(const Coordinate& other) const {
  double dist = raw_distance(*this, other);
  double adjusted = dist + adjustment + other.adjustment;
  return adjusted > 0.0 ? adjusted : dist;
}

Duration estimate_rtt(const Coordinate& a, const Coordinate& b) {
  return Duration(static_cast<int64_t>(a.distance_seconds(b) * 1.0e9));
}

double LatencyFilter::add(double rtt_seconds) {
  samples[next] = static_cast<float>(rtt_seconds);
  next = static_cast<uint8_t>((next + 1) % samples.size());
  if (count < samples.size()) ++count;
  std::array<float, 3> sorted = samples;
  std::sort(sorted.begin(), sorted.begin() + count);
  return sorted[count / 2];
}

VivaldiClient::VivaldiClient(VivaldiConfig config)
    : config_(config), coord_(Coordinate::origin(config)), origin_(Coordinate::origin(config)) {
  config_.adjustment_window = std::min(config_.adjustment_window, VivaldiConfig::kMaxWindow);
}

bool VivaldiClient::update(LatencyFilter& filter, const Coordinate& other, Duration rtt, Rng& rng) {
  // serf rejects RTTs that are negative or over 10s as measurement errors.
  if (!other.valid() || rtt < Duration::zero() || rtt > std::chrono::seconds(10)) return false;
  double rtt_s = filter.add(std::chrono::duration<double>(rtt).count());
  update_vivaldi(other, rtt_s, rng);
  update_adjustment(other, rtt_s);
  update_gravity(rng);
  if (!coord_.valid()) {
    ++resets_;
    coord_ = Coordinate::origin(config_);
  }
  return true;
}

void VivaldiClient::update_vivaldi(const Coordinate& other, double rtt, Rng& rng) {
  double dist = coord_.distance_seconds(other);
  rtt = std::max(rtt, kZeroThreshold);
  double wrongness = std::abs(dist - rtt) / rtt;
  double total_error = std::max(coord_.error + other.error, kZeroThreshold);
  double weight = coord_.error / total_error;
  coord_.error = config_.ce * weight * wrongness + coord_.error * (1.0 - config_.ce * weight);
  coord_.error = std::min(coord_.error, config_.error_max);
  double force = config_.cc * weight * (rtt - dist);
  coord_ = apply_force(coord_, config_.height_min, force, other, rng);
}

void VivaldiClient::update_adjustment(const Coordinate& other, double rtt) {
  if (config_.adjustment_window == 0) return;
  // The raw distance: existing adjustments must not feed back into themselves.
  adjustment_samples_[adjustment_index_] = rtt - raw_distance(coord_, other);
  adjustment_index_ = (adjustment_index_ + 1) % config_.adjustment_window;
  double sum = 0;
  for (uint32_t i = 0; i < config_.adjustment_window; ++i) sum += adjustment_samples_[i];
  coord_.adjustment = sum / (2.0 * config_.adjustment_window);
}

void VivaldiClient::update_gravity(Rng& rng) {
  double dist = origin_.distance_seconds(coord_);
  double force = -1.0 * std::pow(dist / config_.gravity_rho, 2.0);
  coord_ = apply_force(coord_, config_.height_min, force, origin_, rng);
}

}  // namespace cairn::gossip
