// recfuse bench: this machine's ceilings, the denominators of every benchmark table.
//
//   ceilings            a table: streaming read, copy and triad bandwidth, fp32 FMA peak,
//                       with 1 and 2 threads
//   ceilings --json     the same as one JSON object on one line
//   ceilings --quick    smaller arrays and fewer repetitions (a smoke test)
//
// Ceilings are maxima, so each figure is the best of several repetitions. Bandwidth is counted
// the STREAM way: bytes the kernel names (read: n, copy: 2n, triad: 3n elements), with no
// write-allocate traffic counted for the stores. Arrays are far larger than the last-level cache
// and are first touched by the threads that later stream them. Build with -DRECFUSE_NATIVE=ON:
// the FMA peak is measured on xsimd's default batch, so without -march=native it is the SSE peak.
// Pin threads for stable numbers: OMP_PROC_BIND=close OMP_PLACES=cores.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "recfuse/xsimd/detail/xsimd.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using batch = xsimd::batch<float>;
constexpr std::size_t lanes = batch::size;
// Thread ranges start on multiples of this many floats, so every thread's loads are aligned.
constexpr std::size_t grain = 4096 / sizeof(float);

struct options {
  bool json = false;
  std::size_t read_mb = 512;   // the read array
  std::size_t triad_mb = 128;  // each of the three triad / copy arrays
  int bandwidth_reps = 10;
  int fma_reps = 7;
  long fma_iterations = 20'000'000;  // per thread and repetition
};

struct aligned_free {
  void operator()(float* p) const { std::free(p); }
};
using buffer = std::unique_ptr<float[], aligned_free>;

buffer allocate(std::size_t n) {
  const std::size_t bytes = (n * sizeof(float) + 4095) / 4096 * 4096;
  auto* p = static_cast<float*>(std::aligned_alloc(4096, bytes));
  if (p == nullptr) {
    std::fprintf(stderr, "ceilings: cannot allocate %zu bytes\n", bytes);
    std::exit(1);
  }
  return buffer(p);
}

// Runs body(begin, end) on `threads` threads over a static split of [0, n), the same split every
// time, so pages stay with the thread that first touched them.
template <class Body>
void parallel_ranges(int threads, std::size_t n, Body&& body) {
  const std::size_t blocks = (n + grain - 1) / grain;
  auto range = [&](int t, int count) {
    const std::size_t b = std::min(n, blocks * t / count * grain);
    const std::size_t e = std::min(n, blocks * (t + 1) / count * grain);
    body(b, e);
  };
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  range(omp_get_thread_num(), omp_get_num_threads());
#else
  (void)threads;
  range(0, 1);
#endif
}

int threads_granted(int wanted) {
#ifdef _OPENMP
  int got = 1;
#pragma omp parallel num_threads(wanted)
  {
#pragma omp single
    got = omp_get_num_threads();
  }
  return got;
#else
  (void)wanted;
  return 1;
#endif
}

template <class F>
double best_seconds(int reps, F&& run) {
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best;
}

volatile float sink;  // keeps results alive without timing a store per element

float sum_range(const float* x, std::size_t b, std::size_t e) {
  // Eight independent accumulators: enough adds in flight to never be latency-bound.
  batch s0(0.f), s1(0.f), s2(0.f), s3(0.f), s4(0.f), s5(0.f), s6(0.f), s7(0.f);
  std::size_t i = b;
  for (; i + 8 * lanes <= e; i += 8 * lanes) {
    s0 += batch::load_aligned(x + i);
    s1 += batch::load_aligned(x + i + lanes);
    s2 += batch::load_aligned(x + i + 2 * lanes);
    s3 += batch::load_aligned(x + i + 3 * lanes);
    s4 += batch::load_aligned(x + i + 4 * lanes);
    s5 += batch::load_aligned(x + i + 5 * lanes);
    s6 += batch::load_aligned(x + i + 6 * lanes);
    s7 += batch::load_aligned(x + i + 7 * lanes);
  }
  float s = xsimd::reduce_add(((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)));
  for (; i < e; ++i) s += x[i];
  return s;
}

void copy_range(float* a, const float* b, std::size_t lo, std::size_t hi) {
  std::size_t i = lo;
  for (; i + lanes <= hi; i += lanes) batch::load_aligned(b + i).store_aligned(a + i);
  for (; i < hi; ++i) a[i] = b[i];
}

void triad_range(float* a, const float* b, const float* c, float s, std::size_t lo,
                 std::size_t hi) {
  const batch vs(s);
  std::size_t i = lo;
  for (; i + lanes <= hi; i += lanes) {
    xsimd::fma(vs, batch::load_aligned(c + i), batch::load_aligned(b + i)).store_aligned(a + i);
  }
  for (; i < hi; ++i) a[i] = b[i] + s * c[i];
}

// Twelve independent FMA chains in registers: latency (4-5 cycles) x pipes (2) needs at least
// ten batches in flight. acc = acc * m + c converges to c / (1 - m), so values stay normal.
float fma_chains(long iterations, float seed) {
  const batch m(0.999f);
  const batch c(0.001f);
  batch a0(seed), a1(seed + 1), a2(seed + 2), a3(seed + 3), a4(seed + 4), a5(seed + 5);
  batch a6(seed + 6), a7(seed + 7), a8(seed + 8), a9(seed + 9), a10(seed + 10), a11(seed + 11);
  for (long it = 0; it < iterations; ++it) {
    a0 = xsimd::fma(a0, m, c);
    a1 = xsimd::fma(a1, m, c);
    a2 = xsimd::fma(a2, m, c);
    a3 = xsimd::fma(a3, m, c);
    a4 = xsimd::fma(a4, m, c);
    a5 = xsimd::fma(a5, m, c);
    a6 = xsimd::fma(a6, m, c);
    a7 = xsimd::fma(a7, m, c);
    a8 = xsimd::fma(a8, m, c);
    a9 = xsimd::fma(a9, m, c);
    a10 = xsimd::fma(a10, m, c);
    a11 = xsimd::fma(a11, m, c);
  }
  return xsimd::reduce_add(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) +
                           ((a8 + a9) + (a10 + a11)));
}
constexpr int fma_chain_count = 12;

struct result {
  double read = 0, copy = 0, triad = 0, fma = 0;  // GB/s, GB/s, GB/s, GFLOP/s
};

result measure(const options& opt, int threads, float* big, std::size_t n_big, float* a, float* b,
               float* c, std::size_t n) {
  result r;
  // Page placement follows the first touch: re-touch with this thread count before timing.
  parallel_ranges(threads, n_big, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) big[i] = 1.0f + static_cast<float>(i % 7) * 0.125f;
  });
  parallel_ranges(threads, n, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      a[i] = 0.0f;
      b[i] = 1.0f + static_cast<float>(i % 5) * 0.25f;
      c[i] = 2.0f - static_cast<float>(i % 3) * 0.5f;
    }
  });

  std::vector<float> partial(static_cast<std::size_t>(threads) * 16, 0.f);
  const double t_read = best_seconds(opt.bandwidth_reps, [&] {
    parallel_ranges(threads, n_big, [&](std::size_t lo, std::size_t hi) {
#ifdef _OPENMP
      partial[static_cast<std::size_t>(omp_get_thread_num()) * 16] = sum_range(big, lo, hi);
#else
      partial[0] = sum_range(big, lo, hi);
#endif
    });
    float s = 0;
    for (float p : partial) s += p;
    sink = s;
  });
  r.read = static_cast<double>(n_big * sizeof(float)) / t_read * 1e-9;

  const double t_copy = best_seconds(opt.bandwidth_reps, [&] {
    parallel_ranges(threads, n, [&](std::size_t lo, std::size_t hi) { copy_range(a, b, lo, hi); });
  });
  sink = a[n / 2];
  r.copy = static_cast<double>(2 * n * sizeof(float)) / t_copy * 1e-9;

  const double t_triad = best_seconds(opt.bandwidth_reps, [&] {
    parallel_ranges(threads, n,
                    [&](std::size_t lo, std::size_t hi) { triad_range(a, b, c, 3.0f, lo, hi); });
  });
  sink = a[n / 3];
  r.triad = static_cast<double>(3 * n * sizeof(float)) / t_triad * 1e-9;

  const double t_fma = best_seconds(opt.fma_reps, [&] {
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
    {
      const float s = fma_chains(opt.fma_iterations, static_cast<float>(omp_get_thread_num()));
      partial[static_cast<std::size_t>(omp_get_thread_num()) * 16] = s;
    }
#else
    partial[0] = fma_chains(opt.fma_iterations, 0.f);
#endif
    float s = 0;
    for (float p : partial) s += p;
    sink = s;
  });
  const double flops = 2.0 * static_cast<double>(lanes) * fma_chain_count *
                       static_cast<double>(opt.fma_iterations) * threads;
  r.fma = flops / t_fma * 1e-9;
  return r;
}

void usage() {
  std::fprintf(stderr,
               "usage: ceilings [--json] [--quick] [--read-mb N] [--triad-mb N] [--reps N]\n"
               "  --read-mb N   size of the read array in MB (default 512)\n"
               "  --triad-mb N  size of each of the three copy/triad arrays in MB (default 128)\n"
               "  --reps N      repetitions per bandwidth figure, best kept (default 10)\n");
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> long {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      const long v = std::strtol(argv[++i], nullptr, 10);
      if (v <= 0) {
        std::fprintf(stderr, "ceilings: %s needs a positive number\n", arg.c_str());
        std::exit(2);
      }
      return v;
    };
    if (arg == "--json") {
      opt.json = true;
    } else if (arg == "--quick") {
      opt.read_mb = 128;
      opt.triad_mb = 64;
      opt.bandwidth_reps = 4;
      opt.fma_reps = 3;
      opt.fma_iterations = 5'000'000;
    } else if (arg == "--read-mb") {
      opt.read_mb = static_cast<std::size_t>(value());
    } else if (arg == "--triad-mb") {
      opt.triad_mb = static_cast<std::size_t>(value());
    } else if (arg == "--reps") {
      opt.bandwidth_reps = static_cast<int>(value());
    } else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "ceilings: unknown argument %s\n", arg.c_str());
      usage();
      return 2;
    }
  }

  const std::size_t n_big = opt.read_mb * (1u << 20) / sizeof(float);
  const std::size_t n = opt.triad_mb * (1u << 20) / sizeof(float);
  buffer big = allocate(n_big), a = allocate(n), b = allocate(n), c = allocate(n);

  const int thread_counts[2] = {1, 2};
  result res[2];
  int granted[2];
  for (int k = 0; k < 2; ++k) {
    granted[k] = threads_granted(thread_counts[k]);
    res[k] = measure(opt, granted[k], big.get(), n_big, a.get(), b.get(), c.get(), n);
  }

  const char* arch = xsimd::default_arch::name();
  if (opt.json) {
    std::printf(
        "{\"read_gbs_1t\": %.2f, \"read_gbs_2t\": %.2f, \"copy_gbs_1t\": %.2f, "
        "\"copy_gbs_2t\": %.2f, \"triad_gbs_1t\": %.2f, \"triad_gbs_2t\": %.2f, "
        "\"fma_gflops_1t\": %.2f, \"fma_gflops_2t\": %.2f, \"threads_2t\": %d, "
        "\"arch\": \"%s\", \"fp32_lanes\": %zu}\n",
        res[0].read, res[1].read, res[0].copy, res[1].copy, res[0].triad, res[1].triad, res[0].fma,
        res[1].fma, granted[1], arch, lanes);
    return 0;
  }
  std::printf("recfuse ceilings: xsimd arch %s, %zu fp32 lanes; best of %d (bandwidth), %d (FMA)\n",
              arch, lanes, opt.bandwidth_reps, opt.fma_reps);
  std::printf("read array %zu MB; copy/triad arrays 3 x %zu MB; STREAM byte counting\n",
              opt.read_mb, opt.triad_mb);
  if (granted[1] != 2) {
    std::printf("note: OpenMP granted %d thread(s) where 2 were asked\n", granted[1]);
  }
  if (std::getenv("OMP_PROC_BIND") == nullptr) {
    std::printf(
        "note: OMP_PROC_BIND is unset; OMP_PROC_BIND=close OMP_PLACES=cores pins threads\n");
  }
  std::printf("%-22s %10s %10s\n", "", "1 thread", "2 threads");
  std::printf("%-22s %10.1f %10.1f\n", "read         GB/s", res[0].read, res[1].read);
  std::printf("%-22s %10.1f %10.1f\n", "copy         GB/s", res[0].copy, res[1].copy);
  std::printf("%-22s %10.1f %10.1f\n", "triad        GB/s", res[0].triad, res[1].triad);
  std::printf("%-22s %10.1f %10.1f\n", "fp32 FMA  GFLOP/s", res[0].fma, res[1].fma);
  return 0;
}
