// nn::autorec on a backend against the reference: the same random ratings (odd sizes, both
// sides), untrained (the forward pass alone) and after a few epochs (forward, masked backward,
// Adam). Training amplifies rounding: Adam's first steps move each parameter by about
// lr sign(g), so a gradient near 0 that rounds to the other sign moves it 2 lr the other way.
// double is compared tightly, float within a few such steps.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "backend.hpp"
#include "recfuse/nn/autorec.hpp"
#include "test_support.hpp"

using namespace recfuse;

namespace {

template <class T>
struct random_ratings {
  index_t users, items;
  std::vector<std::int32_t> user, item;
  std::vector<T> value;
  random_ratings(index_t u, index_t i, std::uint64_t seed) : users(u), items(i) {
    std::mt19937_64 g(seed);
    for (std::int32_t a = 0; a < u; ++a) {
      for (std::int32_t b = 0; b < i; ++b) {
        if (g() % 2 == 0) continue;
        user.push_back(a);
        item.push_back(b);
        value.push_back(static_cast<T>(1 + g() % 5));
      }
    }
  }
  interactions_view<T> view() const {
    return {users,
            items,
            {user.data(), static_cast<index_t>(user.size())},
            {item.data(), static_cast<index_t>(item.size())},
            {value.data(), static_cast<index_t>(value.size())}};
  }
};

}  // namespace

TEMPLATE_TEST_CASE("nn::autorec: backend vs reference", "[nn][autorec][backend]", float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const reference_backend::policy ref;
  const random_ratings<T> r(31, 23, 8);
  for (const auto side : {nn::autorec_side::item, nn::autorec_side::user}) {
    for (const index_t epochs : {0, 4}) {
      CAPTURE(static_cast<int>(side), epochs);
      nn::autorec_options o;
      o.side = side;
      o.hidden = 9;
      o.epochs = epochs;
      o.batch_size = 7;
      o.learning_rate = 1e-3;
      o.l2 = 1.0;
      o.seed = 3;
      const auto a = nn::autorec<T>::fit(ref, r.view(), o);
      const auto b = nn::autorec<T>::fit(policy, r.view(), o);
      const double tol =
          epochs == 0 ? (sizeof(T) == 4 ? 1e-5 : 1e-12) : (sizeof(T) == 4 ? 1e-2 : 1e-9);
      double worst = 0;
      for (index_t u = 0; u < r.users; ++u) {
        for (index_t i = 0; i < r.items; ++i) {
          const double d = std::abs(static_cast<double>(a.predict(u, i, T(0))) -
                                    static_cast<double>(b.predict(u, i, T(0))));
          worst = std::max(worst, d);
        }
      }
      CHECK(worst <= tol);
    }
  }
}
