// Generated ratings of MovieLens 100K's shape, for the examples that run where the real data is
// absent (recfuse-mf --demo, recfuse-service --generated): 943 users, 1682 items, ratings on
// 1..5 from a rank-8 taste model with user and item biases and power-law item popularity.
//
//   examples::generate_ratings(seed, {.max_extra = 400, .train_fraction = 0.8},
//                              [&](int32_t user, int32_t item, float rating, bool test) {...});
//
// User u rates 20 + floor(unit^3 * max_extra) draws of item floor(unit^2.5 * items) (repeats
// skipped); with train_fraction < 1 a rating is a test rating when one more uniform draw is
// >= train_fraction. mt19937_64's output is fixed by the standard and the distributions are not,
// so uniform and normal draws are made here (53-bit uniforms, Box-Muller): the same data on
// every platform. O(users * items) memory for the repeat check.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace examples {

struct generated_shape {
  std::int32_t users = 943, items = 1682;
  int max_extra = 400;          // ratings per user: 20 + unit^3 * max_extra
  double train_fraction = 1.0;  // 1: every rating is a training rating, no split draw
};

template <class Emit>
void generate_ratings(std::uint64_t seed, const generated_shape& shape, Emit&& emit) {
  constexpr int rank = 8;
  const std::size_t users = static_cast<std::size_t>(shape.users);
  const std::size_t items = static_cast<std::size_t>(shape.items);
  std::mt19937_64 rng(seed);
  auto unit = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  auto gauss = [&] {
    const double u1 = 1.0 - unit(), u2 = unit();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  };
  std::vector<double> p(users * rank), q(items * rank), bu(users), bi(items);
  for (auto& x : p) x = 0.35 * gauss();
  for (auto& x : q) x = 0.35 * gauss();
  for (auto& x : bu) x = 0.4 * gauss();
  for (auto& x : bi) x = 0.5 * gauss();
  std::vector<char> taken(users * items, 0);
  for (std::size_t u = 0; u < users; ++u) {
    const auto count = 20 + static_cast<std::size_t>(std::pow(unit(), 3.0) * shape.max_extra);
    for (std::size_t c = 0; c < count; ++c) {
      const auto i = static_cast<std::size_t>(std::pow(unit(), 2.5) * static_cast<double>(items));
      if (taken[u * items + i]) continue;
      taken[u * items + i] = 1;
      double r = 3.53 + bu[u] + bi[i] + 0.3 * gauss();
      for (int f = 0; f < rank; ++f) r += p[u * rank + f] * q[i * rank + f];
      const bool test = shape.train_fraction < 1.0 && !(unit() < shape.train_fraction);
      emit(static_cast<std::int32_t>(u), static_cast<std::int32_t>(i),
           static_cast<float>(std::clamp(std::round(r), 1.0, 5.0)), test);
    }
  }
}

}  // namespace examples
