// Strong id types: a NodeId is not a Term is not an Index, even though all are
// integers. StrongId<Tag, T> is a thin wrapper with comparison and hashing.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace cairn {

template <typename Tag, typename T>
class StrongId {
 public:
  using value_type = T;
  constexpr StrongId() = default;
  constexpr explicit StrongId(T v) : v_(std::move(v)) {}
  constexpr const T& value() const noexcept { return v_; }
  friend constexpr auto operator<=>(const StrongId&, const StrongId&) = default;

 private:
  T v_{};
};

}  // namespace cairn

template <typename Tag, typename T>
struct std::hash<cairn::StrongId<Tag, T>> {
  size_t operator()(const cairn::StrongId<Tag, T>& id) const noexcept {
    return std::hash<T>{}(id.value());
  }
};
