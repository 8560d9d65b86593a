// recfuse bench, cross-backend table: the factorize rows, 64 factors, on generated ratings in the
// shape of MovieLens 100K (943 users x 1,682 items, 100,000 ratings; data.hpp). A call is a whole
// fit (the one-time CSR conversion and initialisation included) of E epochs or sweeps; the cell is
// its time / E. Work per epoch or sweep, from docs/performance.md ("What each kernel must move"):
//   fit_biased_sgd, per epoch: p_u and q_i read and written per rating, 4 x k x 4 bytes
//     (read ceiling; on data this small the rows stay in cache, so above 100% is possible: SGD is
//     bound by the latency of one update's dependency chain);
//   fit_biased_als, per sweep (m = k + 1): the Gram matrices 2 x nnz x m^2 (both halves; FMAs
//     in double, 2 FLOPs each over the m^2 / 2 distinct entries) + (users + items) x m^3 / 3
//     (Cholesky); fp64 FMA ceiling (half the fp32 one);
//   fit_implicit_als (CG, 3 steps), per sweep, summed over both halves (rows_h = the half's
//     rows): steps x (4 x nnz x k + 2 x rows_h x k^2) + 2 x nnz x k, plus the two Gram matrices
//     2 x (users + items) x k^2; fp32 FMA ceiling.
#include <memory>

#include "data.hpp"
#include "harness.hpp"
#include "recfuse/factorize.hpp"
#include "recfuse/xsimd/factorize/biased_mf.hpp"
#include "recfuse/xsimd/factorize/implicit_als.hpp"

#if defined(RECFUSE_BENCH_THRUST)
#include "recfuse/thrust/factorize/biased_mf.hpp"
#include "recfuse/thrust/factorize/implicit_als.hpp"
#endif

namespace recfuse::bench::backends {

std::vector<row> factorize_rows(const options& o) {
  const index_t users = 943, items = 1'682, count = o.quick ? 20'000 : 100'000;
  constexpr index_t k = 64;
  const int threads = o.threads;
  const std::string size =
      std::string(o.quick ? "20,000" : "100,000") + " ratings, 943 x 1,682, k = 64";
  // One data set for the three rows, built on first use.
  auto data = std::make_shared<std::shared_ptr<const interactions<float>>>();
  auto get = [=] {
    if (!*data) {
      *data = std::make_shared<const interactions<float>>(movielens_like(users, items, count, 100));
    }
    return *data;
  };
  const double nnz = static_cast<double>(count), kd = static_cast<double>(k);
  const double both_sides = static_cast<double>(users + items);
  std::vector<row> v;

  row sgd;
  sgd.family = "factorize";
  sgd.size = size;
  sgd.component = "fit_biased_sgd, per epoch";
  sgd.by = bound::read;
  sgd.units = o.quick ? 2 : 5;
  sgd.work = nnz * 4 * kd * sizeof(float);
  sgd.kernels = {"fit_biased_sgd_kernel"};
  sgd.note = "bytes = nnz x 4 x k x 4 per epoch (cache-resident rows)";
  sgd.prepare = [=] {
    auto d = get();
    sgd_options opt;
    opt.factors = k;
    opt.epochs = o.quick ? 2 : 5;
    return std::function<void(column)>([=](column c) {
      with_column(c, threads, [&](const auto& p) {
        auto m = fit_biased_sgd(p, d->view(), opt);
        volatile float f = m.user_factors[0];
        (void)f;
      });
    });
  };
  v.push_back(sgd);

  row als = sgd;
  als.component = "fit_biased_als, per sweep";
  als.by = bound::fp64_fma;
  als.units = o.quick ? 2 : 3;
  const double m = kd + 1;
  als.work = 2 * nnz * m * m + both_sides * m * m * m / 3;
  als.kernels = {"fit_biased_als_kernel"};
  als.note = "FLOPs = 2 nnz m^2 + (users + items) m^3 / 3 per sweep, m = k + 1, in double";
  als.prepare = [=] {
    auto d = get();
    als_options opt;
    opt.factors = k;
    opt.iterations = o.quick ? 2 : 3;
    return std::function<void(column)>([=](column c) {
      with_column(c, threads, [&](const auto& p) {
        auto model = fit_biased_als(p, d->view(), opt);
        volatile float f = model.user_factors[0];
        (void)f;
      });
    });
  };
  v.push_back(als);

  row ials = sgd;
  ials.component = "fit_implicit_als (CG), per sweep";
  ials.by = bound::fp32_fma;
  ials.units = o.quick ? 2 : 3;
  constexpr double steps = 3;
  ials.work = steps * (2 * 4 * nnz * kd + 2 * both_sides * kd * kd) + 2 * 2 * nnz * kd +
              2 * both_sides * kd * kd;
  ials.kernels = {"fit_implicit_als_kernel"};
  ials.note = "FLOPs = sum over halves of steps (4 nnz k + 2 rows k^2) + 2 nnz k, + Grams";
  ials.prepare = [=] {
    auto d = get();
    implicit_als_options opt;
    opt.factors = k;
    opt.iterations = o.quick ? 2 : 3;
    opt.cg_steps = static_cast<int>(steps);
    return std::function<void(column)>([=](column c) {
      with_column(c, threads, [&](const auto& p) {
        auto model = fit_implicit_als(p, d->view(), opt);
        volatile float f = model.user_factors[0];
        (void)f;
      });
    });
  };
  v.push_back(ials);
  return v;
}

}  // namespace recfuse::bench::backends
