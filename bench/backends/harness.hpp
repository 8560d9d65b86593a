// recfuse bench: the cross-backend table's harness. A row is one public function at one size; it
// is run under each backend column with the same data, timed (time_columns: a warm-up call per
// column, then the columns in turns; the median is the cell's time) and held to one ceiling of
// bench/ceilings:
//
//   column          policy                                        threads
//   reference       exec::reference                               1 (serial)
//   xsimd           exec::xsimd{threads}                          threads
//   thrust<omp>     exec::thrust<thrust::system::omp::tag>        threads (omp_set_num_threads);
//                   only where built with Thrust (RECFUSE_BENCH_THRUST)
//   kokkos<OpenMP>  exec::kokkos<Kokkos::OpenMP>                  threads (Kokkos::initialize)
//
// A kokkos<OpenMP> call whose kernel is not in the policy's native_kernels runs the reference's
// kernel (the policy derives from the reference's): the cell says so, and such a cell shows the
// serial reference, not Kokkos.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Kokkos_Core.hpp>

#include "recfuse/kokkos/all.hpp"
#include "recfuse/xsimd/policy.hpp"

#if defined(RECFUSE_BENCH_THRUST)
#include <omp.h>
#include <thrust/system/omp/execution_policy.h>

#include "recfuse/thrust/policy.hpp"
#endif

namespace recfuse::bench::backends {

enum class column { reference, xsimd, thrust_omp, kokkos_openmp };

// The columns this program was built with, in table order.
inline std::vector<column> columns() {
  std::vector<column> c{column::reference, column::xsimd};
#if defined(RECFUSE_BENCH_THRUST)
  c.push_back(column::thrust_omp);
#endif
  c.push_back(column::kokkos_openmp);
  return c;
}

inline const char* column_name(column c) {
  switch (c) {
    case column::reference:
      return "reference";
    case column::xsimd:
      return "xsimd";
    case column::thrust_omp:
      return "thrust<omp>";
    case column::kokkos_openmp:
      return "kokkos<OpenMP>";
  }
  return "?";
}

// The ceiling a row is held to (docs/performance.md, "What each kernel must move"): the bandwidth
// ones count bytes, the FMA ones FLOPs; fp64 FMA is half the fp32 figure (the ALS Gram matrices
// are accumulated in double).
enum class bound { read, copy, triad, fp32_fma, fp64_fma };

inline const char* bound_name(bound b) {
  switch (b) {
    case bound::read:
      return "read";
    case bound::copy:
      return "copy";
    case bound::triad:
      return "triad";
    case bound::fp32_fma:
      return "fp32 FMA";
    case bound::fp64_fma:
      return "fp64 FMA";
  }
  return "?";
}

inline bool bandwidth_bound(bound b) { return b != bound::fp32_fma && b != bound::fp64_fma; }

// Calls f with the column's policy; `threads` for xsimd and Thrust's OMP system (Kokkos' thread
// count is fixed when Kokkos is initialized).
template <class F>
void with_column(column c, int threads, F&& f) {
  switch (c) {
    case column::reference:
      f(exec::reference{});
      return;
    case column::xsimd:
      f(exec::xsimd{threads});
      return;
    case column::thrust_omp:
#if defined(RECFUSE_BENCH_THRUST)
      omp_set_num_threads(threads);
      f(exec::thrust<::thrust::system::omp::tag>{});
#endif
      return;
    case column::kokkos_openmp:
      f(exec::kokkos<Kokkos::OpenMP>{});
      return;
  }
}

// Whether exec::kokkos<Kokkos::OpenMP> has its own kernel of this name (else the reference runs).
inline bool kokkos_native(std::string_view kernel) {
  const auto& names = kokkos_backend::policy<Kokkos::OpenMP>::native_kernels;
  return std::find(std::begin(names), std::end(names), kernel) != std::end(names);
}

struct options {
  bool quick = false;
  int threads = 2;
  // Repetitions per cell after the warm-up: at least min_reps, then more while the cell's time
  // stays under budget_s, at most max_reps.
  int min_reps = 3;
  int max_reps = 7;
  double budget_s = 2.0;
};

// One row: `prepare` builds the data (once, shared by every column) and returns the call to time
// under a column. Work (bytes or FLOPs) is per unit; a call covers `units` units (epochs or
// sweeps of a fit), and the cell's time is per unit.
struct row {
  std::string family;     // metrics, scale, select, factorize, graph, nn, fuse
  std::string component;  // e.g. "standard_scaler transform"
  std::string size;       // e.g. "10,000 x 1,024 float"
  bound by = bound::read;
  double work = 0;  // bytes (bandwidth bounds) or FLOPs (FMA bounds) per unit
  double units = 1;
  std::vector<std::string_view> kernels;  // what the call dispatches to (names as in policies)
  std::string note;                       // how the work is counted
  std::function<std::function<void(column)>()> prepare;
};

struct timing {
  double median = 0, best = 0;  // seconds per call
  int reps = 0;
  std::string error;  // what the call threw, if it did (then nothing was timed)
};

// Times run(c) for every column c of one row. Each column gets a warm-up call first (first touch of
// pages, workspaces, thread pools); then the columns take turns, one timed call each per round, so
// that a change in the machine's bandwidth or load (a shared host) hits every column alike and the
// ratios between columns hold better than the absolute times. A column stops after max_reps
// calls, or after min_reps once its calls have taken budget_s in all.
inline std::vector<timing> time_columns(const std::function<void(column)>& run,
                                        const std::vector<column>& cols, const options& o) {
  using clock = std::chrono::steady_clock;
  const std::size_t n = cols.size();
  std::vector<timing> out(n);
  std::vector<std::vector<double>> t(n);
  std::vector<double> spent(n, 0.0);
  std::vector<bool> done(n, false);
  auto call = [&](std::size_t j) {
    try {
      run(cols[j]);
      return true;
    } catch (const std::exception& e) {
      out[j].error = e.what();
      done[j] = true;
      return false;
    }
  };
  for (std::size_t j = 0; j < n; ++j) call(j);
  for (bool more = true; more;) {
    more = false;
    for (std::size_t j = 0; j < n; ++j) {
      if (done[j]) continue;
      const auto t0 = clock::now();
      if (!call(j)) continue;
      const double s = std::chrono::duration<double>(clock::now() - t0).count();
      t[j].push_back(s);
      spent[j] += s;
      const int reps = static_cast<int>(t[j].size());
      done[j] = reps >= o.max_reps || (reps >= o.min_reps && spent[j] > o.budget_s);
      more = more || !done[j];
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    auto& v = t[j];
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    const std::size_t k = v.size();
    out[j].reps = static_cast<int>(k);
    out[j].best = v.front();
    out[j].median = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
  }
  return out;
}

// The rows of each family (bench/backends/rows_<family>.cpp), in table order.
std::vector<row> metrics_rows(const options& o);
std::vector<row> scale_rows(const options& o);
std::vector<row> select_rows(const options& o);
std::vector<row> factorize_rows(const options& o);
std::vector<row> graph_rows(const options& o);
std::vector<row> nn_rows(const options& o);
std::vector<row> fuse_rows(const options& o);

}  // namespace recfuse::bench::backends
