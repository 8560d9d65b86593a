// recfuse xsimd backend: explicit biased matrix factorization kernels (fit_biased_sgd,
// fit_biased_als, predict, fold_in_user, refit_users / refit_items).
//
//   auto model = recfuse::fit_biased_sgd(recfuse::exec::xsimd{}, train.view());
//
// - SGD: the reference's tile schedule (detail::bmf::make_sgd_schedule); the `blocks` tiles of a
//   round share no user and no item, so they run in parallel, one tile per task, on copies of
//   the parameters stored in the schedule's rank order (each group's rows contiguous, so threads
//   can share a cache line only at a group boundary). Each update does the dot product and both
//   factor updates in T batches with FMA (scalar tail), so results differ from the reference in the
//   last bits per update; they never depend on the thread count. Rounds too small to be worth the
//   synchronisation run on one thread.
// - ALS: rows in parallel (for_each_index, tasks of 8 rows). A row gathers its ratings' features
//   [1, q_j] into a panel of up to 128 rows in double, accumulates the Gram matrix's upper
//   triangle from the panel in 4 x (2 batches) register tiles, adds the ridge, and solves by a
//   left-looking Cholesky (U^T U, each row of U built in registers). Double throughout, like
//   the reference, in another summation order.
// - predict: pairs in parallel, the dot product in T batches, then the sum in double.
#pragma once

#include "recfuse/xsimd/detail/xsimd.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/reference/factorize/biased_mf.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/detail/vector_ops.hpp"

namespace recfuse::xsimd_backend {
namespace detail::bmf {

using ::recfuse::detail::bmf::als_side;
using ::recfuse::detail::bmf::side;

// On large data an SGD update waits for its two rows from DRAM: the rows of the rating this
// many places ahead in the tile are requested while the current one is updated. Measured 1.2x
// on 20M power-law ratings (7.6 -> 9.2 M updates/s, 2 threads); no change on ML-100K, where a
// tile's rows fit in L2 and the update's own dependency chain is the limit. A prefetch changes
// no value, so the model is bit-identical either way.
inline constexpr index_t sgd_prefetch_distance = 4;

template <class T>
inline void prefetch_row(const T* row, index_t k) {
#if defined(__GNUC__) || defined(__clang__)
  const char* bytes = reinterpret_cast<const char*>(row);
  const index_t n = k * static_cast<index_t>(sizeof(T));
  for (index_t b = 0; b < n; b += 64) __builtin_prefetch(bytes + b, 1);
#else
  (void)row;
  (void)k;
#endif
}

// The reference's biased_sgd_update in batches.
template <class T>
inline void sgd_update(T* p, T* q, T& bu, T& bi, T mu, T r, T lr, T reg_bias, T reg_factor,
                       index_t k) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t w = static_cast<index_t>(batch::size);
  const T e = r - (mu + bu + bi + dot(p, q, k));
  bu += lr * (e - reg_bias * bu);
  bi += lr * (e - reg_bias * bi);
  const batch vlr(lr), ve(e), vrf(reg_factor);
  index_t f = 0;
  for (; f + w <= k; f += w) {
    const batch pf = batch::load_unaligned(p + f);
    const batch qf = batch::load_unaligned(q + f);
    ::xsimd::fma(vlr, ::xsimd::fms(ve, qf, vrf * pf), pf).store_unaligned(p + f);
    ::xsimd::fma(vlr, ::xsimd::fms(ve, pf, vrf * qf), qf).store_unaligned(q + f);
  }
  for (; f < k; ++f) {
    const T pf = p[f];
    const T qf = q[f];
    p[f] = pf + lr * (e * qf - reg_factor * pf);
    q[f] = qf + lr * (e * pf - reg_factor * qf);
  }
}

// Scratch for one row solve: the feature panel, the targets, the system.
struct als_scratch {
  std::vector<double> x, y, a, b;
};

inline constexpr index_t panel_rows = 128;

template <class T>
constexpr index_t padded_width(index_t m) {
  constexpr index_t w2 = 2 * static_cast<index_t>(::xsimd::batch<double>::size);
  constexpr index_t step = w2 > 4 ? w2 : 4;  // >= the 4-row register tile
  return (m + step - 1) / step * step;
}

// a[r][c] += sum_t x[t][r] x[t][c] for the upper triangle (c >= r, whole tiles: a few entries
// below the diagonal are written too and never read). x: n rows of stride ld, a: stride ld.
inline void gram_upper(const double* x, index_t n, index_t ld, index_t m, double* a) {
  using batch = ::xsimd::batch<double>;
  constexpr index_t w = static_cast<index_t>(batch::size);
  for (index_t r0 = 0; r0 < m; r0 += 4) {
    for (index_t c0 = r0 / (2 * w) * (2 * w); c0 < m; c0 += 2 * w) {
      double* a0 = a + r0 * ld + c0;
      batch s00 = batch::load_unaligned(a0), s01 = batch::load_unaligned(a0 + w);
      batch s10 = batch::load_unaligned(a0 + ld), s11 = batch::load_unaligned(a0 + ld + w);
      batch s20 = batch::load_unaligned(a0 + 2 * ld), s21 = batch::load_unaligned(a0 + 2 * ld + w);
      batch s30 = batch::load_unaligned(a0 + 3 * ld), s31 = batch::load_unaligned(a0 + 3 * ld + w);
      for (index_t t = 0; t < n; ++t) {
        const double* xt = x + t * ld;
        const batch c0v = batch::load_unaligned(xt + c0);
        const batch c1v = batch::load_unaligned(xt + c0 + w);
        const batch r0v(xt[r0]), r1v(xt[r0 + 1]), r2v(xt[r0 + 2]), r3v(xt[r0 + 3]);
        s00 = ::xsimd::fma(r0v, c0v, s00);
        s01 = ::xsimd::fma(r0v, c1v, s01);
        s10 = ::xsimd::fma(r1v, c0v, s10);
        s11 = ::xsimd::fma(r1v, c1v, s11);
        s20 = ::xsimd::fma(r2v, c0v, s20);
        s21 = ::xsimd::fma(r2v, c1v, s21);
        s30 = ::xsimd::fma(r3v, c0v, s30);
        s31 = ::xsimd::fma(r3v, c1v, s31);
      }
      s00.store_unaligned(a0);
      s01.store_unaligned(a0 + w);
      s10.store_unaligned(a0 + ld);
      s11.store_unaligned(a0 + ld + w);
      s20.store_unaligned(a0 + 2 * ld);
      s21.store_unaligned(a0 + 2 * ld + w);
      s30.store_unaligned(a0 + 3 * ld);
      s31.store_unaligned(a0 + 3 * ld + w);
    }
  }
}

// Row j of U from column c, nb (1..8) batches: A[j][c..] - sum_{l<j} U[l][j] U[l][c..], kept
// in registers (nb independent FMA chains) while the rows above stream past.
template <int nb>
inline void cholesky_row_chunk(double* a, index_t ld, index_t j, index_t c) {
  using batch = ::xsimd::batch<double>;
  constexpr index_t w = static_cast<index_t>(batch::size);
  double* uj = a + j * ld + c;
  batch s0(0.0), s1(0.0), s2(0.0), s3(0.0), s4(0.0), s5(0.0), s6(0.0), s7(0.0);
#define RECFUSE_BMF_CHUNK(q, stmt) \
  if constexpr (nb > q) {          \
    stmt;                          \
  }
#define RECFUSE_BMF_ALL(op) \
  op(0, s0) op(1, s1) op(2, s2) op(3, s3) op(4, s4) op(5, s5) op(6, s6) op(7, s7)
#define RECFUSE_BMF_LOAD(q, s) RECFUSE_BMF_CHUNK(q, s = batch::load_unaligned(uj + q * w))
#define RECFUSE_BMF_FMA(q, s) \
  RECFUSE_BMF_CHUNK(q, s = ::xsimd::fnma(f, batch::load_unaligned(ul + q * w), s))
#define RECFUSE_BMF_STORE(q, s) RECFUSE_BMF_CHUNK(q, s.store_unaligned(uj + q * w))
  RECFUSE_BMF_ALL(RECFUSE_BMF_LOAD)
  for (index_t l = 0; l < j; ++l) {
    const double* ul = a + l * ld + c;
    const batch f(a[l * ld + j]);
    RECFUSE_BMF_ALL(RECFUSE_BMF_FMA)
  }
  RECFUSE_BMF_ALL(RECFUSE_BMF_STORE)
#undef RECFUSE_BMF_STORE
#undef RECFUSE_BMF_FMA
#undef RECFUSE_BMF_LOAD
#undef RECFUSE_BMF_ALL
#undef RECFUSE_BMF_CHUNK
}

// Solves A w = b for the symmetric positive-definite m x m A whose upper triangle is in a
// (stride ld, a multiple of the batch size; columns m..ld of rows < m hold zeros): A = U^T U,
// U computed row by row, left-looking: row j = (A[j][j..] - sum_{l<j} U[l][j] U[l][j..]) /
// U[j][j], so each chunk of a row stays in registers while the rows above stream past. A row
// is computed from the batch boundary at or below j; the few entries left of the diagonal
// that this touches are set to 0 afterwards (they are never part of the result). Then
// U^T z = b and U w = z. Returns false when A is not positive definite.
inline bool cholesky_solve_upper(double* a, double* b, index_t m, index_t ld) {
  using batch = ::xsimd::batch<double>;
  constexpr index_t w = static_cast<index_t>(batch::size);
  for (index_t j = 0; j < m; ++j) {
    double* uj = a + j * ld;
    const index_t head = j / w * w;  // whole batches from here; [head, j) is zeroed below
    index_t c = head;
    for (; c + 8 * w <= ld; c += 8 * w) cholesky_row_chunk<8>(a, ld, j, c);
    switch ((ld - c) / w) {
      case 7:
        cholesky_row_chunk<7>(a, ld, j, c);
        break;
      case 6:
        cholesky_row_chunk<6>(a, ld, j, c);
        break;
      case 5:
        cholesky_row_chunk<5>(a, ld, j, c);
        break;
      case 4:
        cholesky_row_chunk<4>(a, ld, j, c);
        break;
      case 3:
        cholesky_row_chunk<3>(a, ld, j, c);
        break;
      case 2:
        cholesky_row_chunk<2>(a, ld, j, c);
        break;
      case 1:
        cholesky_row_chunk<1>(a, ld, j, c);
        break;
      default:
        break;
    }
    const double d = uj[j];
    if (!(d > 0.0)) return false;
    const double ujj = std::sqrt(d);
    const double inv = 1.0 / ujj;
    uj[j] = ujj;
    for (index_t c2 = head; c2 < j; ++c2) uj[c2] = 0.0;
    for (index_t c2 = j + 1; c2 < m; ++c2) uj[c2] *= inv;
  }
  for (index_t j = 0; j < m; ++j) {  // U^T z = b, column by column
    const double* uj = a + j * ld;
    b[j] /= uj[j];
    axpy(-b[j], uj + j + 1, b + j + 1, m - j - 1);  // b[j+1, m) -= b[j] U[j][j+1, m)
  }
  for (index_t i = m - 1; i >= 0; --i) {  // U w = z (b and U's rows are 0 past m)
    const double* ui = a + i * ld;
    b[i] = (b[i] - dot(ui + i + 1, b + i + 1, ld - i - 1)) / ui[i];
  }
  return true;
}

// The reference's als_solve_row_reference with the Gram matrix from feature panels.
template <class T>
void als_solve_row(const als_side<T>& s, const std::int32_t* ids, const T* values, index_t n,
                   double reg_bias, double reg_factor, T* out_factors, T* out_bias,
                   als_scratch& w) {
  const index_t k = s.k;
  const index_t m = k + 1;
  const index_t ld = padded_width<T>(m);
  auto build = [&] {
    w.a.assign(static_cast<std::size_t>(ld * ld), 0.0);
    w.b.assign(static_cast<std::size_t>(ld), 0.0);
    w.x.resize(static_cast<std::size_t>(panel_rows * ld));
    w.y.resize(static_cast<std::size_t>(panel_rows));
    for (index_t t0 = 0; t0 < n; t0 += panel_rows) {
      const index_t rows = std::min(panel_rows, n - t0);
      for (index_t t = 0; t < rows; ++t) {
        const index_t id = ids[t0 + t];
        const T* q = s.other_factors + id * k;
        double* xt = w.x.data() + t * ld;
        xt[0] = 1.0;
        for (index_t f = 0; f < k; ++f) xt[f + 1] = static_cast<double>(q[f]);
        for (index_t f = m; f < ld; ++f) xt[f] = 0.0;
        w.y[t] = static_cast<double>(values[t0 + t]) - static_cast<double>(s.mu) -
                 static_cast<double>(s.other_bias[id]);
      }
      gram_upper(w.x.data(), rows, ld, m, w.a.data());
      for (index_t t = 0; t < rows; ++t) axpy(w.y[t], w.x.data() + t * ld, w.b.data(), m);
    }
  };
  bool ok = false;
  if (n > 0) {
    build();
    ::recfuse::detail::bmf::add_ridge(w.a.data(), m, ld, n, reg_bias, reg_factor, 0.0);
    ok = cholesky_solve_upper(w.a.data(), w.b.data(), m, ld);
    if (!ok) {
      build();
      ::recfuse::detail::bmf::add_ridge(w.a.data(), m, ld, n, reg_bias, reg_factor,
                                        ::recfuse::detail::bmf::ridge_jitter);
      ok = cholesky_solve_upper(w.a.data(), w.b.data(), m, ld);
    }
  }
  *out_bias = ok ? static_cast<T>(w.b[0]) : T(0);
  for (index_t f = 0; f < k; ++f) out_factors[f] = ok ? static_cast<T>(w.b[f + 1]) : T(0);
}

// Rows a task solves at a time (sharing one scratch).
inline constexpr index_t als_grain = 8;

// Threads for the SGD rounds. A round holds about ratings / blocks updates of k + 8 multiply-adds
// or so each; below 2^18 of those, a parallel round costs more in thread synchronisation than it
// saves, so the fit runs on one thread (the model is the same either way).
inline constexpr index_t sgd_parallel_work = index_t{1} << 18;

inline int sgd_threads(const policy& p, index_t ratings, index_t blocks, index_t k) {
  if (ratings / blocks * (k + 8) < sgd_parallel_work) return 1;
  return static_cast<int>(std::min<index_t>(max_threads(p), blocks));
}

// Threads for an ALS half step over `rows` rows holding `ratings` ratings: one below about 2^20
// multiply-adds (Gram matrices ratings * m^2 / 2, Cholesky rows * m^3 / 6, m = k + 1).
inline int als_threads(const policy& p, index_t rows, double ratings, index_t k) {
  const double m = static_cast<double>(k + 1);
  const double work = ratings * m * m / 2 + static_cast<double>(rows) * m * m * m / 6;
  return work < static_cast<double>(index_t{1} << 20) ? 1 : max_threads(p);
}

}  // namespace detail::bmf

template <class T>
void fit_biased_sgd_kernel(const policy& p, const interactions_view<T>& train, const sgd_options& o,
                           biased_mf_model<T>& m) {
  auto s = ::recfuse::detail::bmf::make_sgd_schedule(train, static_cast<index_t>(o.blocks), o.seed);
  const index_t k = m.factors;
  // Train on copies of the parameters stored in rank order (each group's rows contiguous, so
  // two threads can write to one cache line only where their groups meet: the last row of one
  // group and the first of the next, e.g. ub[r - 1] and ub[r]), with the entries renamed to
  // match.
  std::vector<T> uf(m.user_factors.size()), itf(m.item_factors.size());
  std::vector<T> ub(m.user_bias.size()), ib(m.item_bias.size());
  for (index_t u = 0; u < m.users; ++u) {
    const index_t r = s.user_rank[u];
    std::copy_n(m.user_factors.data() + u * k, k, uf.data() + r * k);
    ub[r] = m.user_bias[u];
  }
  for (index_t i = 0; i < m.items; ++i) {
    const index_t r = s.item_rank[i];
    std::copy_n(m.item_factors.data() + i * k, k, itf.data() + r * k);
    ib[r] = m.item_bias[i];
  }
  for (auto& x : s.entries) {
    x.user = s.user_rank[x.user];
    x.item = s.item_rank[x.item];
  }
  const T rb = static_cast<T>(o.reg_bias);
  const T rf = static_cast<T>(o.reg_factor);
  const T mu = m.global_mean;
  const policy run(detail::bmf::sgd_threads(p, train.size(), s.blocks, k));
  double lr = o.learning_rate;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const T lr_t = static_cast<T>(lr);
    for (index_t round = 0; round < s.blocks; ++round) {
      detail::for_each_index(run, s.blocks, 1, [&](index_t b) {
        const index_t t = s.tile(round, b);
        const auto* x = s.entries.data();
        const index_t end = s.offsets[t + 1];
        for (index_t e = s.offsets[t]; e < end; ++e) {
          if (e + detail::bmf::sgd_prefetch_distance < end) {
            const auto& ahead = x[e + detail::bmf::sgd_prefetch_distance];
            detail::bmf::prefetch_row(uf.data() + ahead.user * k, k);
            detail::bmf::prefetch_row(itf.data() + ahead.item * k, k);
          }
          const index_t u = x[e].user;
          const index_t i = x[e].item;
          detail::bmf::sgd_update(uf.data() + u * k, itf.data() + i * k, ub[u], ib[i], mu,
                                  x[e].value, lr_t, rb, rf, k);
        }
      });
    }
    lr *= o.learning_rate_decay;
  }
  for (index_t u = 0; u < m.users; ++u) {
    const index_t r = s.user_rank[u];
    std::copy_n(uf.data() + r * k, k, m.user_factors.data() + u * k);
    m.user_bias[u] = ub[r];
  }
  for (index_t i = 0; i < m.items; ++i) {
    const index_t r = s.item_rank[i];
    std::copy_n(itf.data() + r * k, k, m.item_factors.data() + i * k);
    m.item_bias[i] = ib[r];
  }
}

template <class T>
void biased_als_solve_rows(const policy& p, biased_mf_model<T>& m, detail::bmf::side sd,
                           const csr_matrix<T>& by_row, const vector_view<const std::int32_t>* rows,
                           double reg_bias, double reg_factor) {
  const auto s = ::recfuse::detail::bmf::make_als_side(m, sd);
  const index_t count = rows ? rows->size() : by_row.rows;
  const index_t tasks = (count + detail::bmf::als_grain - 1) / detail::bmf::als_grain;
  // The listed rows' share of the ratings, estimated from the average row (refit).
  const double ratings = rows ? static_cast<double>(by_row.nnz()) * static_cast<double>(count) /
                                    static_cast<double>(std::max<index_t>(1, by_row.rows))
                              : static_cast<double>(by_row.nnz());
  const policy run(detail::bmf::als_threads(p, count, ratings, s.k));
  detail::for_each_index(run, tasks, 1, [&](index_t task) {
    detail::bmf::als_scratch w;
    const index_t end = std::min(count, (task + 1) * detail::bmf::als_grain);
    for (index_t j = task * detail::bmf::als_grain; j < end; ++j) {
      const index_t r = rows ? static_cast<index_t>((*rows)[j]) : j;
      const index_t begin = by_row.offsets[r];
      detail::bmf::als_solve_row(s, by_row.indices.data() + begin, by_row.values.data() + begin,
                                 by_row.offsets[r + 1] - begin, reg_bias, reg_factor,
                                 s.factors + r * s.k, s.bias + r, w);
    }
  });
}

template <class T>
void fit_biased_als_kernel(const policy& p, const interactions_view<T>& train, const als_options& o,
                           biased_mf_model<T>& m) {
  const auto by_user = to_csr(train, csr_by::user);
  const auto by_item = to_csr(train, csr_by::item);
  for (int it = 0; it < o.iterations; ++it) {
    biased_als_solve_rows(p, m, detail::bmf::side::users, by_user, nullptr, o.reg_bias,
                          o.reg_factor);
    biased_als_solve_rows(p, m, detail::bmf::side::items, by_item, nullptr, o.reg_bias,
                          o.reg_factor);
  }
}

template <class T>
void refit_kernel(const policy& p, biased_mf_model<T>& m, detail::bmf::side sd,
                  const interactions_view<T>& data, vector_view<const std::int32_t> rows,
                  const als_options& o) {
  const auto by_row = to_csr(data, sd == detail::bmf::side::users ? csr_by::user : csr_by::item);
  biased_als_solve_rows(p, m, sd, by_row, &rows, o.reg_bias, o.reg_factor);
}

template <class T>
T fold_in_user_kernel(const policy&, const biased_mf_model<T>& m,
                      vector_view<const std::int32_t> items, vector_view<const T> ratings,
                      vector_view<T> factors_out, const als_options& o) {
  const detail::bmf::als_side<T> s{
      nullptr, nullptr, m.item_factors.data(), m.item_bias.data(), m.factors, m.global_mean};
  detail::bmf::als_scratch w;
  T bias = 0;
  detail::bmf::als_solve_row(s, items.data(), ratings.data(), items.size(), o.reg_bias,
                             o.reg_factor, factors_out.data(), &bias, w);
  return bias;
}

template <class T>
void predict_kernel(const policy& p, const biased_mf_model<T>& m,
                    vector_view<const std::int32_t> users, vector_view<const std::int32_t> items,
                    vector_view<T> out) {
  const index_t k = m.factors;
  const double lo = m.min_rating, hi = m.max_rating;
  detail::for_each_index(p, out.size(), 4096, [&](index_t j) {
    const index_t u = users[j];
    const index_t i = items[j];
    const bool known_u = u >= 0 && u < m.users;
    const bool known_i = i >= 0 && i < m.items;
    double s = m.global_mean;
    if (known_u) s += m.user_bias[u];
    if (known_i) s += m.item_bias[i];
    if (known_u && known_i) {
      s += static_cast<double>(
          detail::dot(m.user_factors.data() + u * k, m.item_factors.data() + i * k, k));
    }
    if (s < lo) s = lo;  // as biased_mf_model::predict
    if (s > hi) s = hi;
    out[j] = static_cast<T>(s);
  });
}

}  // namespace recfuse::xsimd_backend
