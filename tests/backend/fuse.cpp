// blend and blend_contributions on a backend against the reference, on random scores of many
// lengths (empty, one, odd tails, large) with 1 to 5 scorers; in place; thread counts; and
// explain_factorization (biased, and implicit with its gramian given) through the backend's
// policy (the reference kernel or its own).
//
// blend is compared with a tolerance scaled by the terms sum_c |w_c s_c[i]|, not the result: a
// backend may accumulate in T, and the terms can cancel.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "backend.hpp"
#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/fuse/blend.hpp"
#include "recfuse/fuse/explain.hpp"
#include "test_support.hpp"
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
#include "recfuse/xsimd/fuse/blend.hpp"
#include "recfuse/xsimd/fuse/learned.hpp"
#elif defined(RECFUSE_TEST_BACKEND_THRUST)
#include "recfuse/thrust/fuse/blend.hpp"
#include "recfuse/thrust/fuse/explain.hpp"
#include "recfuse/thrust/fuse/learned.hpp"
#elif defined(RECFUSE_TEST_BACKEND_KOKKOS)
#include "recfuse/kokkos/fuse/blend.hpp"
#include "recfuse/kokkos/fuse/explain.hpp"
#include "recfuse/kokkos/fuse/learned.hpp"
#endif

using namespace recfuse;
using test::cview;
using test::mview;

namespace {

const std::vector<index_t> fuse_sizes = {0, 1, 7, 17, 1000, 100003};

}  // namespace

TEMPLATE_TEST_CASE("fuse::blend: backend vs reference", "[fuse][blend][backend]", float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const reference_backend::policy ref;
  constexpr double eps = std::numeric_limits<T>::epsilon();
  for (const index_t n : fuse_sizes) {
    for (std::size_t count = 1; count <= 5; ++count) {
      CAPTURE(n, count);
      std::vector<std::vector<T>> s;
      std::vector<vector_view<const T>> views;
      for (std::size_t c = 0; c < count; ++c) {
        s.push_back(test::random_vector<T>(n, 100 * n + c, -3.0, 3.0));
      }
      for (const auto& v : s) views.push_back(cview(v));
      const auto w = test::random_vector<double>(static_cast<index_t>(count), 7 + n, -2.0, 2.0);

      std::vector<T> expect(static_cast<std::size_t>(n)), got(expect.size(), T(-5));
      fuse::blend(ref, views, w, mview(expect));
      fuse::blend(policy, views, w, mview(got));
      bool ok = true;
      for (index_t i = 0; i < n; ++i) {
        double terms = 0;
        for (std::size_t c = 0; c < count; ++c) terms += std::abs(w[c] * s[c][i]);
        const double tol = 4.0 * static_cast<double>(count + 1) * eps * terms + 1e-300;
        if (!(std::abs(static_cast<double>(got[i]) - expect[i]) <= tol)) {
          ok = false;
          CAPTURE(i, got[i], expect[i], terms);
          CHECK(std::abs(static_cast<double>(got[i]) - expect[i]) <= tol);
          break;
        }
      }
      CHECK(ok);

      // One thread gives the same result as two (fixed chunking, element-wise work).
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
      std::vector<T> one(expect.size());
      fuse::blend(exec::xsimd{1}, views, w, mview(one));
      CHECK(one == got);
#endif
      // In place: out is the first scorer.
      auto first = s[0];
      std::vector<vector_view<const T>> aliased = views;
      aliased[0] = cview(first);
      fuse::blend(policy, aliased, w, mview(first));
      CHECK(first == got);

      // Contributions: rows sum to the blend, each entry is w_c s_c[i].
      std::vector<T> ce(static_cast<std::size_t>(n) * count), cg(ce.size(), T(-5));
      const auto ci = static_cast<index_t>(count);
      fuse::blend_contributions(ref, views, w, matrix_view<T>(ce.data(), n, ci));
      fuse::blend_contributions(policy, views, w, matrix_view<T>(cg.data(), n, ci));
      bool same = true;
      for (std::size_t j = 0; j < ce.size() && same; ++j) {
        same = test::close(cg[j], ce[j], test::tolerance<T>());
        if (!same) CHECK(cg[j] == Approx(ce[j]));
      }
      CHECK(same);
    }
  }
}

TEST_CASE("fuse::blend: backend two-scorer form and NaN", "[fuse][blend][backend]") {
  const auto policy = test::backend_policy();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> cf(37, 1.0f), content(37, 2.0f), out(37);
  cf[3] = nan;
  content[36] = nan;
  fuse::blend(policy, 0.25, cview(cf), cview(content), mview(out));
  for (std::size_t i = 0; i < out.size(); ++i) {
    CAPTURE(i);
    if (i == 3 || i == 36) {
      CHECK(std::isnan(out[i]));
    } else {
      CHECK(out[i] == 1.75f);
    }
  }
}

TEST_CASE("fuse::explain_factorization: backend policy vs reference", "[fuse][explain][backend]") {
  const auto policy = test::backend_policy();
  const reference_backend::policy ref;
  interactions<double> d;
  d.users = 20;
  d.items = 15;
  const auto u01 = test::random_vector<double>(20 * 15, 5, 0.0, 1.0);
  for (index_t u = 0; u < 20; ++u) {
    for (index_t i = 0; i < 15; ++i) {
      if (u01[u * 15 + i] < 0.4) {
        d.user.push_back(static_cast<std::int32_t>(u));
        d.item.push_back(static_cast<std::int32_t>(i));
        d.value.push_back(1 + 4 * u01[(u * 15 + i + 7) % (20 * 15)]);
      }
    }
  }
  als_options o;
  o.factors = 3;
  o.iterations = 3;
  const auto model = fit_biased_als(ref, d.view(), o);
  const std::vector<std::int32_t> rated = {1, 4, 9, 14};
  const std::vector<double> ratings = {5, 1, 3.5, 4};
  for (index_t i = 0; i < 15; ++i) {
    const auto a = fuse::explain_factorization(ref, model, cview(rated), cview(ratings), i, 2, o);
    const auto b =
        fuse::explain_factorization(policy, model, cview(rated), cview(ratings), i, 2, o);
    CHECK(b.score == Approx(a.score).epsilon(1e-12));
    REQUIRE(b.evidence.size() == a.evidence.size());
    for (std::size_t e = 0; e < a.evidence.size(); ++e) {
      CHECK(b.evidence[e].item == a.evidence[e].item);
      CHECK(b.evidence[e].contribution == Approx(a.evidence[e].contribution).epsilon(1e-12));
    }
  }
}

TEST_CASE("fuse::explain_factorization: backend edge cases vs reference",
          "[fuse][explain][backend]") {
  // k = 12 and rated lists of 0, 1 and 80 entries (with repeats), with the fold-in's
  // regularization and with none (one rated item: the jitter retry), and a model holding NaN (the
  // system stays singular: every contribution is 0).
  const auto policy = test::backend_policy();
  const reference_backend::policy ref;
  interactions<double> d;
  d.users = 40;
  d.items = 60;
  const auto u01 = test::random_vector<double>(40 * 60, 13, 0.0, 1.0);
  for (index_t u = 0; u < 40; ++u) {
    for (index_t i = 0; i < 60; ++i) {
      if (u01[u * 60 + i] < 0.3) {
        d.user.push_back(static_cast<std::int32_t>(u));
        d.item.push_back(static_cast<std::int32_t>(i));
        d.value.push_back(1 + 4 * u01[(u * 60 + i + 29) % (40 * 60)]);
      }
    }
  }
  als_options o;
  o.factors = 12;
  o.iterations = 2;
  const auto model = fit_biased_als(ref, d.view(), o);
  als_options unregularized = o;
  unregularized.reg_bias = 0;
  unregularized.reg_factor = 0;
  const auto pick = test::random_vector<double>(80, 17, 0.0, 60.0);
  std::vector<std::int32_t> many;
  for (const double x : pick) many.push_back(static_cast<std::int32_t>(x));
  const auto many_ratings = test::random_vector<double>(80, 19, 1.0, 5.0);
  const std::vector<std::vector<std::int32_t>> lists = {{}, {5}, many};
  const std::vector<std::vector<double>> ratings = {{}, {4.5}, many_ratings};
  for (std::size_t l = 0; l < lists.size(); ++l) {
    for (const bool regularized : {true, false}) {
      const als_options& opt = regularized ? o : unregularized;
      // Without regularization one rated item gives a rank-1 system solved with the jitter,
      // whose solution is ill-conditioned (about 1e8 times the data): a looser tolerance.
      const double tol = regularized ? 1e-10 : 1e-6;
      for (const index_t i : {0, 5, 31, 59}) {
        CAPTURE(l, regularized, i);
        const auto a =
            fuse::explain_factorization(ref, model, cview(lists[l]), cview(ratings[l]), i, 5, opt);
        const auto b = fuse::explain_factorization(policy, model, cview(lists[l]),
                                                   cview(ratings[l]), i, 5, opt);
        CHECK(test::close(b.score, a.score, tol));
        CHECK(test::close(b.rest, a.rest, tol));
        CHECK(b.baseline == a.baseline);
        REQUIRE(b.evidence.size() == a.evidence.size());
        for (std::size_t e = 0; e < a.evidence.size(); ++e) {
          CHECK(b.evidence[e].item == a.evidence[e].item);
          CHECK(test::close(b.evidence[e].contribution, a.evidence[e].contribution, tol));
        }
      }
    }
  }
  auto broken = model;
  broken.item_factors[many[0] * 12 + 3] = std::numeric_limits<double>::quiet_NaN();
  const auto b =
      fuse::explain_factorization(policy, broken, cview(lists[2]), cview(ratings[2]), 31, 5, o);
  CHECK(b.score == b.baseline);
  CHECK(b.rest == 0.0);
  for (const auto& e : b.evidence) CHECK(e.contribution == 0.0);
}

TEMPLATE_TEST_CASE("fuse::learned_fusion: backend vs reference", "[fuse][learned][backend]", float,
                   double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const reference_backend::policy ref;
  const index_t n = 301;
  auto x = test::random_vector<T>(n * 4, 41, -2.0, 2.0);
  std::vector<T> y(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) y[i] = static_cast<T>(x[i * 4] - 2 * x[i * 4 + 3] + 1);
  const matrix_view<const T> xv(x.data(), n, 4);
  nn::train_options o;
  o.epochs = 10;
  o.batch_size = 64;
  o.adam.learning_rate = 1e-2;

  // Fitting on the backend learns the target.
  fuse::learned_fusion<T> fusion({{"left", 3}, {"right", 1}}, {8}, 4);
  const auto report = fusion.fit(policy, xv, test::cview(y), o);
  CHECK(report.epoch_loss.back() < 0.2 * report.epoch_loss.front());

  // The same fitted state predicts and explains alike on both.
  std::vector<T> pr(n), pb(n), cr(n * 2), cb(n * 2), br(n), bb(n);
  fusion.predict(ref, xv, mview(pr));
  fusion.predict(policy, xv, mview(pb));
  fusion.explain(ref, xv, matrix_view<T>(cr.data(), n, 2), mview(br));
  fusion.explain(policy, xv, matrix_view<T>(cb.data(), n, 2), mview(bb));
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-10;
  for (index_t i = 0; i < n; ++i) {
    CAPTURE(i);
    CHECK(test::close(pb[i], pr[i], tol));
    CHECK(test::close(bb[i], br[i], tol));
    CHECK(test::close(cb[2 * i], cr[2 * i], tol));
    CHECK(test::close(cb[2 * i + 1], cr[2 * i + 1], tol));
  }
}

TEMPLATE_TEST_CASE("fuse::explain_factorization (implicit): backend policy vs reference",
                   "[fuse][explain][backend]", float, double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const reference_backend::policy ref;
  interactions<T> d;
  d.users = 12;
  d.items = 30;
  const auto u01 = test::random_vector<double>(12 * 30, 9, 0.0, 1.0);
  for (index_t u = 0; u < 12; ++u) {
    for (index_t i = 0; i < 30; ++i) {
      if (u01[u * 30 + i] < 0.3) {
        d.user.push_back(static_cast<std::int32_t>(u));
        d.item.push_back(static_cast<std::int32_t>(i));
        d.value.push_back(static_cast<T>(1 + 3 * u01[(u * 30 + i + 11) % (12 * 30)]));
      }
    }
  }
  implicit_als_options o;
  o.factors = 4;
  o.iterations = 3;
  o.regularization = 0.5;
  const auto model = fit_implicit_als(ref, d.view(), o);
  // The gramian is given, so only explain_factorization_kernel differs between the two calls.
  const std::vector<T> gram = gramian(ref, model.item_matrix());
  const std::vector<std::int32_t> rated = {2, 7, 7, 19, 29, 0};
  const std::vector<T> values = {1, 4, 2, 0, T(0.5), 3};       // a repeat and a zero value
  const double tol = std::is_same_v<T, float> ? 1e-9 : 1e-12;  // in double either way
  for (index_t i = 0; i < 30; ++i) {
    CAPTURE(i);
    const auto a =
        fuse::explain_factorization(ref, model, cview(gram), cview(rated), cview(values), i, 3, o);
    const auto b = fuse::explain_factorization(policy, model, cview(gram), cview(rated),
                                               cview(values), i, 3, o);
    CHECK(test::close(b.score, a.score, tol));
    CHECK(test::close(b.rest, a.rest, tol));
    REQUIRE(b.evidence.size() == a.evidence.size());
    for (std::size_t e = 0; e < a.evidence.size(); ++e) {
      CHECK(b.evidence[e].item == a.evidence[e].item);
      CHECK(test::close(b.evidence[e].contribution, a.evidence[e].contribution, tol));
    }
  }
  // Without the gramian: explain_factorization computes it with the backend's gramian kernel,
  // whose T result may differ from the reference's by a rounding (xsimd sums in another order).
  const auto a = fuse::explain_factorization(ref, model, cview(rated), cview(values), 5, 3, o);
  const auto b = fuse::explain_factorization(policy, model, cview(rated), cview(values), 5, 3, o);
  CHECK(test::close(b.score, a.score, test::tolerance<T>()));
  CHECK(test::close(b.rest, a.rest, test::tolerance<T>()));
  // regularization 0, a zero gramian and one rated item: a rank-1 system, not positive definite.
  implicit_als_options singular = o;
  singular.regularization = 0;
  const std::vector<T> zero_gram(16, T(0));
  const std::vector<std::int32_t> one_item = {2};
  const std::vector<T> one_value = {1};
  for (const bool backend : {false, true}) {
    CAPTURE(backend);
    CHECK_THROWS_WITH(
        backend ? fuse::explain_factorization(policy, model, cview(zero_gram), cview(one_item),
                                              cview(one_value), 1, 3, singular)
                : fuse::explain_factorization(ref, model, cview(zero_gram), cview(one_item),
                                              cview(one_value), 1, 3, singular),
        Catch::Contains("not positive definite"));
  }
}
