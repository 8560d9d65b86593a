// recfuse xsimd backend: implicit ALS kernels (recfuse/factorize/implicit_als.hpp).
//
// fit_implicit_als_kernel: rows in parallel, dynamically scheduled in blocks of about equal cost
// (entries + k / 2 per row for CG), so a few heavy rows of power-law data do not serialise a
// block; scratch is allocated once per block, never per row; a Cholesky failure reports the
// smallest failing row (an atomic minimum), as the reference does. Per row and CG step:
//   - (Y^T Y + reg I) p as k broadcast-FMA sweeps over the rows of the gramian, the output kept
//     in up to 8 batches of registers (a k x k matrix-vector product, the gramian stays in L1);
//   - the entries in groups of one per lane (8 for float on AVX2): the group's dots y_e . p in
//     one pass over p (independent FMA chains, reduced together by detail::reduce_rows), the
//     coefficients as one batch, then one pass over A p adding all the group's scaled rows (A p is
//     loaded and stored once per group); each y row is read from memory once per step, its second
//     use hits L1, and the next group's rows are prefetched.
// The CG arithmetic is in T (the reference's is in double); Cholesky forms the system in double
// (8 entries per rank-8 update of the lower triangle) and solves it with a vectorised
// right-looking Cholesky (the reference uses detail::cholesky_solve: same maths, other rounding).
// gramian_kernel: fixed chunks of rows (set by n and k only, so the result does not depend on
// the thread count), each summed in T by rank-4 updates of the upper triangle, flushed to a
// double partial every 1024 rows; partials are added in chunk order.
// fold_in_user_kernel (fold-in): the same row solver on the calling thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "recfuse/xsimd/detail/xsimd.hpp"

#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/xsimd/detail/parallel.hpp"
#include "recfuse/xsimd/detail/reduce_rows.hpp"
#include "recfuse/xsimd/detail/vector_ops.hpp"

namespace recfuse::xsimd_backend {
namespace detail {

template <class T>
struct ials_kernels {
  using batch = ::xsimd::batch<T>;
  static constexpr index_t lanes = static_cast<index_t>(batch::size);

  static void prefetch_row([[maybe_unused]] const T* y, [[maybe_unused]] index_t k) {
#if defined(__GNUC__) || defined(__clang__)
    const char* p = reinterpret_cast<const char*>(y);
    const index_t bytes = k * static_cast<index_t>(sizeof(T));
    for (index_t b = 0; b < bytes; b += 64) __builtin_prefetch(p + b);
#endif
  }

  // sum_{j in [from, k)} a[j] b[j], scalar (the columns past the last whole batch).
  static T tail_dot(const T* a, const T* b, index_t from, index_t k) {
    T s = T(0);
    for (index_t j = from; j < k; ++j) s += a[j] * b[j];
    return s;
  }

  // out += sum_e coef(value_e, y_e . v) y_e over the entries, in groups of `lanes` entries: one
  // pass over v computes the group's dots (one FMA chain per entry, reduced together by
  // detail::reduce_rows), the coefficients are computed as one batch, then one pass over out adds
  // the group's scaled rows. The next group's rows are prefetched. Entries past the last whole
  // group go singly.
  template <std::size_t... Q, class CoefB, class CoefS>
  static void sparse_pass(std::index_sequence<Q...>, matrix_view<const T> y,
                          const std::int32_t* ids, const T* values, index_t n, const T* v, T* out,
                          CoefB&& coef_batch, CoefS&& coef_scalar) {
    constexpr auto group = static_cast<index_t>(sizeof...(Q));
    static_assert(group == lanes, "one entry per lane");
    const index_t k = y.cols();
    const index_t kv = k - k % lanes;
    const index_t full = n - n % group;
    for (index_t e = 0; e < full; e += group) {
      const T* rows[group] = {y.row(ids[e + static_cast<index_t>(Q)])...};
      if (e + group < full) {
        (prefetch_row(y.row(ids[e + group + static_cast<index_t>(Q)]), k), ...);
      }
      batch acc[group] = {((void)Q, batch(T(0)))...};
      for (index_t j = 0; j < kv; j += lanes) {
        const batch vj = batch::load_unaligned(v + j);
        ((acc[Q] = ::xsimd::fma(batch::load_unaligned(rows[Q] + j), vj, acc[Q])), ...);
      }
      batch d = ::recfuse::xsimd_backend::detail::reduce_rows(acc);
      if (kv < k) {
        alignas(64) T tail[group] = {tail_dot(rows[Q], v, kv, k)...};
        d += batch::load_aligned(tail);
      }
      alignas(64) T c[group];
      coef_batch(batch::load_unaligned(values + e), d).store_aligned(c);
      const batch cb[group] = {batch(c[Q])...};
      for (index_t j = 0; j < kv; j += lanes) {
        batch o = batch::load_unaligned(out + j);
        ((o = ::xsimd::fma(cb[Q], batch::load_unaligned(rows[Q] + j), o)), ...);
        o.store_unaligned(out + j);
      }
      for (index_t j = kv; j < k; ++j) {
        T t = out[j];
        ((t += c[Q] * rows[Q][j]), ...);
        out[j] = t;
      }
    }
    for (index_t e = full; e < n; ++e) {
      const T* ye = y.row(ids[e]);
      axpy(coef_scalar(values[e], dot(ye, v, k)), ye, out, k);
    }
  }

  // out = (G + reg I) v over the columns [c0, c0 + sizeof...(B) * lanes), G symmetric k x k.
  // The accumulators are indexed by constants only (a fold, not a loop), so they stay in
  // registers at -O2 too.
  template <std::size_t... B>
  static void matvec_block(std::index_sequence<B...>, const T* g, index_t k, T reg, const T* v,
                           T* out, index_t c0) {
    const batch r(reg);
    batch acc[sizeof...(B)] = {(r * batch::load_unaligned(v + c0 + B * lanes))...};
    for (index_t j = 0; j < k; ++j) {
      const batch vj(v[j]);
      const T* gj = g + j * k + c0;
      ((acc[B] = ::xsimd::fma(vj, batch::load_unaligned(gj + B * lanes), acc[B])), ...);
    }
    (acc[B].store_unaligned(out + c0 + B * lanes), ...);
  }

  static void matvec(const T* g, index_t k, T reg, const T* v, T* out) {
    index_t c = 0;
    for (; c + 8 * lanes <= k; c += 8 * lanes)
      matvec_block(std::make_index_sequence<8>{}, g, k, reg, v, out, c);
    if (c + 4 * lanes <= k) {
      matvec_block(std::make_index_sequence<4>{}, g, k, reg, v, out, c);
      c += 4 * lanes;
    }
    if (c + 2 * lanes <= k) {
      matvec_block(std::make_index_sequence<2>{}, g, k, reg, v, out, c);
      c += 2 * lanes;
    }
    if (c + lanes <= k) {
      matvec_block(std::make_index_sequence<1>{}, g, k, reg, v, out, c);
      c += lanes;
    }
    for (; c < k; ++c) out[c] = reg * v[c] + dot(g + c * k, v, k);  // G symmetric: row c
  }

  // CG from x; scratch holds 3 k elements.
  static void cg_row(matrix_view<const T> y, const T* g, const std::int32_t* ids, const T* values,
                     index_t n, T* x, const implicit_als_options& o, T* scratch) {
    const index_t k = y.cols();
    const T reg = static_cast<T>(o.regularization);
    const T alpha = static_cast<T>(o.alpha);
    T* r = scratch;
    T* p = scratch + k;
    T* ap = scratch + 2 * k;
    // r = b - A x: -(G + reg I) x, then per entry (c p - (c - 1) y.x) y.
    matvec(g, k, reg, x, ap);
    for (index_t j = 0; j < k; ++j) r[j] = -ap[j];
    const batch alpha_b(alpha);
    const batch one(T(1)), zero(T(0));
    sparse_pass(
        std::make_index_sequence<lanes>{}, y, ids, values, n, x, r,
        [&](batch val, batch d) {
          const batch w = alpha_b * val;
          return ::xsimd::select(val > zero, one + w, zero) - w * d;
        },
        [&](T val, T d) {
          const T w = alpha * val;
          return (val > T(0) ? T(1) + w : T(0)) - w * d;
        });
    for (index_t j = 0; j < k; ++j) p[j] = r[j];
    T rs = dot(r, r, k);
    for (int step = 0; step < o.cg_steps && rs > T(0); ++step) {
      matvec(g, k, reg, p, ap);
      sparse_pass(
          std::make_index_sequence<lanes>{}, y, ids, values, n, p, ap,
          [&](batch val, batch d) { return alpha_b * val * d; },
          [&](T val, T d) { return alpha * val * d; });
      const T pap = dot(p, ap, k);
      if (!(pap > T(0))) break;
      const T a = rs / pap;
      const batch ab(a);
      batch rs_acc(T(0));
      index_t j = 0;
      for (; j + lanes <= k; j += lanes) {
        const batch pj = batch::load_unaligned(p + j);
        ::xsimd::fma(ab, pj, batch::load_unaligned(x + j)).store_unaligned(x + j);
        const batch rj =
            ::xsimd::fnma(ab, batch::load_unaligned(ap + j), batch::load_unaligned(r + j));
        rj.store_unaligned(r + j);
        rs_acc = ::xsimd::fma(rj, rj, rs_acc);
      }
      T rs_new = ::xsimd::reduce_add(rs_acc);
      for (; j < k; ++j) {
        x[j] += a * p[j];
        r[j] -= a * ap[j];
        rs_new += r[j] * r[j];
      }
      const T beta = rs_new / rs;
      const batch bb(beta);
      j = 0;
      for (; j + lanes <= k; j += lanes) {
        ::xsimd::fma(bb, batch::load_unaligned(p + j), batch::load_unaligned(r + j))
            .store_unaligned(p + j);
      }
      for (; j < k; ++j) p[j] = r[j] + beta * p[j];
      rs = rs_new;
    }
  }
};

// Solves A x = b for a symmetric positive-definite n x n row-major A (the lower triangle is
// read and overwritten by L), b overwritten by x; false when A is not positive definite. As
// detail::cholesky_solve, but right-looking: each column's trailing update is a contiguous
// axpy per row (no reductions), and the back substitution runs along rows of L. col: n doubles.
inline bool ials_cholesky_solve(double* a, double* b, index_t n, double* col) {
  using batch = ::xsimd::batch<double>;
  constexpr index_t lanes = static_cast<index_t>(batch::size);
  for (index_t j = 0; j < n; ++j) {
    const double d = a[j * n + j];
    if (!(d > 0.0)) return false;
    const double ljj = std::sqrt(d);
    a[j * n + j] = ljj;
    for (index_t i = j + 1; i < n; ++i) {
      col[i] = a[i * n + j] / ljj;
      a[i * n + j] = col[i];
    }
    for (index_t i = j + 1; i < n; ++i) {  // a[i][j + 1 .. i] -= l_ij * l[j + 1 .. i][j]
      double* ai = a + i * n;
      const batch f(-col[i]);
      index_t l = j + 1;
      for (; l + lanes <= i + 1; l += lanes) {
        ::xsimd::fma(f, batch::load_unaligned(col + l), batch::load_unaligned(ai + l))
            .store_unaligned(ai + l);
      }
      for (; l <= i; ++l) ai[l] -= col[i] * col[l];
    }
  }
  for (index_t i = 0; i < n; ++i) {  // L y = b
    const double* li = a + i * n;
    batch acc(0.0);
    index_t l = 0;
    for (; l + lanes <= i; l += lanes) {
      acc = ::xsimd::fma(batch::load_unaligned(li + l), batch::load_unaligned(b + l), acc);
    }
    double s = ::xsimd::reduce_add(acc);
    for (; l < i; ++l) s += li[l] * b[l];
    b[i] = (b[i] - s) / li[i];
  }
  for (index_t i = n - 1; i >= 0; --i) {  // L^T x = y, row i of L updating b[0 .. i)
    const double* li = a + i * n;
    const double xi = b[i] / li[i];
    b[i] = xi;
    const batch f(-xi);
    index_t l = 0;
    for (; l + lanes <= i; l += lanes) {
      ::xsimd::fma(f, batch::load_unaligned(li + l), batch::load_unaligned(b + l))
          .store_unaligned(b + l);
    }
    for (; l < i; ++l) b[l] -= xi * li[l];
  }
  return true;
}

// Cholesky: A = G + reg I + sum (c - 1) y y^T (lower triangle) and b = sum c p y, in double,
// 8 entries per rank-8 update; scratch holds k * k + 10 k doubles.
template <class T>
bool ials_cholesky_row(matrix_view<const T> y, const T* g, const std::int32_t* ids, const T* values,
                       index_t n, T* x, const implicit_als_options& o, double* scratch) {
  using batch = ::xsimd::batch<double>;
  constexpr index_t lanes = static_cast<index_t>(batch::size);
  constexpr index_t group = 8;
  const index_t k = y.cols();
  double* a = scratch;
  double* b = a + k * k;
  double* yd = b + k;            // `group` rows of k
  double* col = yd + group * k;  // k, for the solve
  for (index_t j = 0; j < k * k; ++j) a[j] = static_cast<double>(g[j]);
  for (index_t j = 0; j < k; ++j) {
    a[j * k + j] += o.regularization;
    b[j] = 0.0;
  }
  for (index_t e = 0; e < n; e += group) {
    const index_t m = std::min(group, n - e);
    double w[group] = {};
    for (index_t q = 0; q < group; ++q) {
      double* row = yd + q * k;
      if (q >= m) {
        std::fill(row, row + k, 0.0);
        continue;
      }
      const double v = static_cast<double>(values[e + q]);
      w[q] = o.alpha * v;
      const T* ye = y.row(ids[e + q]);
      for (index_t j = 0; j < k; ++j) row[j] = static_cast<double>(ye[j]);
      if (v > 0) {
        const double c = 1.0 + w[q];
        const batch cb(c);
        index_t j = 0;
        for (; j + lanes <= k; j += lanes) {
          ::xsimd::fma(cb, batch::load_unaligned(row + j), batch::load_unaligned(b + j))
              .store_unaligned(b + j);
        }
        for (; j < k; ++j) b[j] += c * row[j];
      }
    }
    for (index_t j = 0; j < k; ++j) {
      // Row j's columns [0, j], in whole batches where they fit in the row (the lanes past j
      // write the upper triangle, which nothing reads).
      batch s[group];
      for (index_t q = 0; q < group; ++q) s[q] = batch(w[q] * yd[q * k + j]);
      double* aj = a + j * k;
      const index_t stop = std::min(k, (j / lanes + 1) * lanes);
      index_t l = 0;
      for (; l + lanes <= stop; l += lanes) {
        const batch t0 = ::xsimd::fma(s[0], batch::load_unaligned(yd + l),
                                      s[1] * batch::load_unaligned(yd + k + l));
        const batch t1 = ::xsimd::fma(s[2], batch::load_unaligned(yd + 2 * k + l),
                                      s[3] * batch::load_unaligned(yd + 3 * k + l));
        const batch t2 = ::xsimd::fma(s[4], batch::load_unaligned(yd + 4 * k + l),
                                      s[5] * batch::load_unaligned(yd + 5 * k + l));
        const batch t3 = ::xsimd::fma(s[6], batch::load_unaligned(yd + 6 * k + l),
                                      s[7] * batch::load_unaligned(yd + 7 * k + l));
        (batch::load_unaligned(aj + l) + ((t0 + t1) + (t2 + t3))).store_unaligned(aj + l);
      }
      for (; l <= j; ++l) {
        double t = 0.0;
        for (index_t q = 0; q < group; ++q) t += w[q] * yd[q * k + j] * yd[q * k + l];
        aj[l] += t;
      }
    }
  }
  if (!ials_cholesky_solve(a, b, k, col)) return false;
  for (index_t j = 0; j < k; ++j) x[j] = static_cast<T>(b[j]);
  return true;
}

// One row with caller-provided scratch (sized by ials_scratch_size).
template <class T>
bool ials_solve_row(matrix_view<const T> y, const T* g, const std::int32_t* ids, const T* values,
                    index_t n, T* x, const implicit_als_options& o, std::vector<T>& scratch_t,
                    std::vector<double>& scratch_d) {
  const index_t k = y.cols();
  if (n == 0) {
    std::fill(x, x + k, T(0));
    return true;
  }
  if (o.solver == implicit_solver::cholesky) {
    scratch_d.resize(static_cast<std::size_t>(k * k + 10 * k));
    return ials_cholesky_row(y, g, ids, values, n, x, o, scratch_d.data());
  }
  scratch_t.resize(static_cast<std::size_t>(3 * k));
  ials_kernels<T>::cg_row(y, g, ids, values, n, x, o, scratch_t.data());
  return true;
}

}  // namespace detail

template <class T>
void gramian_kernel(const policy& p, matrix_view<const T> f, T* out) {
  using batch = ::xsimd::batch<T>;
  constexpr index_t lanes = static_cast<index_t>(batch::size);
  const index_t n = f.rows();
  const index_t k = f.cols();
  const auto kk = static_cast<std::size_t>(k * k);
  if (n == 0) {
    std::fill(out, out + kk, T(0));
    return;
  }
  // Chunks depend on n and k only; at most 64 of them and about 64 MiB of double partials.
  const index_t max_chunks =
      std::clamp<index_t>((index_t{8} << 20) / std::max<index_t>(1, k * k), 1, 64);
  const index_t chunk_rows = std::max<index_t>(256, (n + max_chunks - 1) / max_chunks);
  const index_t chunks = (n + chunk_rows - 1) / chunk_rows;
  std::vector<double> partial(static_cast<std::size_t>(chunks) * kk, 0.0);
  constexpr index_t flush_rows = 1024;
  detail::for_each_index(p, chunks, 1, [&](index_t c) {
    std::vector<T> acc(kk, T(0));
    double* part = partial.data() + static_cast<std::size_t>(c) * kk;
    const index_t end = std::min(n, (c + 1) * chunk_rows);
    for (index_t start = c * chunk_rows; start < end; start += flush_rows) {
      const index_t stop = std::min(end, start + flush_rows);
      for (index_t i = start; i < stop; i += 4) {
        const index_t m = std::min<index_t>(4, stop - i);
        const T* y0 = f.row(i);
        const T* y1 = f.row(i + std::min<index_t>(1, m - 1));
        const T* y2 = f.row(i + std::min<index_t>(2, m - 1));
        const T* y3 = f.row(i + std::min<index_t>(3, m - 1));
        // Rows past the block's end repeat the last row with weight 0.
        const T m1 = m > 1 ? T(1) : T(0), m2 = m > 2 ? T(1) : T(0), m3 = m > 3 ? T(1) : T(0);
        for (index_t j = 0; j < k; ++j) {
          const T s0 = y0[j], s1 = m1 * y1[j], s2 = m2 * y2[j], s3 = m3 * y3[j];
          const batch b0(s0), b1(s1), b2(s2), b3(s3);
          T* gj = acc.data() + j * k;
          index_t l = (j / lanes) * lanes;  // the upper triangle, from j's batch
          for (; l + lanes <= k; l += lanes) {
            batch a = batch::load_unaligned(gj + l);
            a = ::xsimd::fma(b0, batch::load_unaligned(y0 + l), a);
            a = ::xsimd::fma(b1, batch::load_unaligned(y1 + l), a);
            a = ::xsimd::fma(b2, batch::load_unaligned(y2 + l), a);
            a = ::xsimd::fma(b3, batch::load_unaligned(y3 + l), a);
            a.store_unaligned(gj + l);
          }
          for (l = std::max(l, j); l < k; ++l) {
            gj[l] += s0 * y0[l] + s1 * y1[l] + s2 * y2[l] + s3 * y3[l];
          }
        }
      }
      for (index_t j = 0; j < k; ++j) {
        for (index_t l = j; l < k; ++l) {
          part[j * k + l] += static_cast<double>(acc[j * k + l]);
          acc[j * k + l] = T(0);
        }
      }
    }
  });
  for (index_t j = 0; j < k; ++j) {
    for (index_t l = j; l < k; ++l) {
      double s = 0.0;
      for (index_t c = 0; c < chunks; ++c)
        s += partial[static_cast<std::size_t>(c) * kk + j * k + l];
      out[j * k + l] = static_cast<T>(s);
      out[l * k + j] = static_cast<T>(s);
    }
  }
}

template <class T>
index_t fit_implicit_als_kernel(const policy& p, const csr_view<T>& by_row,
                                matrix_view<const T> fixed, const T* gram, matrix_view<T> target,
                                const std::int32_t* rows, index_t count,
                                const implicit_als_options& o) {
  if (count == 0) return -1;
  const index_t k = fixed.cols();
  const bool chol = o.solver == implicit_solver::cholesky;
  auto row_of = [&](index_t q) -> index_t { return rows == nullptr ? q : rows[q]; };
  // Blocks of about equal cost (per row: entries plus the k x k products, in entry units).
  auto cost = [&](index_t row) -> index_t {
    const index_t nnz = by_row.row_size(row);
    if (nnz == 0) return 1;
    return chol ? nnz * k / 2 + k * k / 6 + k : (nnz + k / 2 + 4);
  };
  const int threads = detail::max_threads(p);
  std::vector<index_t> starts{0};
  if (threads > 1) {
    index_t total = 0;
    for (index_t q = 0; q < count; ++q) total += cost(row_of(q));
    const index_t target_cost = std::max<index_t>(1, total / (static_cast<index_t>(threads) * 32));
    index_t acc = 0;
    for (index_t q = 0; q < count; ++q) {
      acc += cost(row_of(q));
      if (acc >= target_cost && q + 1 < count) {
        starts.push_back(q + 1);
        acc = 0;
      }
    }
  }
  starts.push_back(count);
  const auto blocks = static_cast<index_t>(starts.size()) - 1;
  // The smallest failing row (rows are listed in increasing order, so the first the reference
  // reports), whichever thread finds it.
  std::atomic<index_t> failed{-1};
  auto record_failure = [&](index_t row) {
    index_t seen = failed.load(std::memory_order_relaxed);
    while ((seen < 0 || row < seen) &&
           !failed.compare_exchange_weak(seen, row, std::memory_order_relaxed)) {
    }
  };
  detail::for_each_index(p, blocks, 1, [&](index_t b) {
    std::vector<T> scratch_t;
    std::vector<double> scratch_d;
    for (index_t q = starts[b]; q < starts[b + 1]; ++q) {
      const index_t row = row_of(q);
      const index_t begin = by_row.offsets()[row];
      if (!detail::ials_solve_row(fixed, gram, by_row.indices() + begin, by_row.values() + begin,
                                  by_row.row_size(row), target.row(row), o, scratch_t, scratch_d)) {
        record_failure(row);
      }
    }
  });
  return failed.load();
}

template <class T>
bool fold_in_user_kernel(const policy&, matrix_view<const T> fixed, const T* gram,
                         const std::int32_t* ids, const T* values, index_t n, T* x,
                         const implicit_als_options& o) {
  std::vector<T> scratch_t;
  std::vector<double> scratch_d;
  return detail::ials_solve_row(fixed, gram, ids, values, n, x, o, scratch_t, scratch_d);
}

}  // namespace recfuse::xsimd_backend
