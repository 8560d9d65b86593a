// recfuse bench: the cross-backend table (issue 11). One row per component at one realistic size,
// one column per backend, each cell the median time of a call (after a warm-up) and its fraction of
// the ceiling that bounds the component, measured by bench/ceilings in the same session.
//
//   bench_backends [--quick] [--threads N] [--ceilings FILE] [--json FILE] [--only LIST]
//
//   --quick           small sizes and few repetitions: checks that every cell runs (seconds)
//   --threads N       threads of xsimd, Thrust's OMP system and Kokkos' OpenMP space (default 2;
//                     the fractions need N = 1 or 2, the thread counts bench/ceilings measures)
//   --ceilings FILE   the output of `ceilings --json` (bench/backends/run passes it); without it
//                     the table has times only
//   --json FILE       also write the table as JSON (bench/backends/chart.py draws it)
//   --only LIST       comma-separated families: metrics,scale,select,factorize,graph,nn,fuse
//
// Columns: reference (serial), xsimd, thrust<omp> (where built with Thrust), kokkos<OpenMP>
// (harness.hpp). There is no thrust<cuda> column: that needs nvcc and a GPU, and the GPU numbers
// come from bench/gpu/run. A kokkos<OpenMP> cell whose kernel the Kokkos policy does not list as
// native ran the serial reference kernel: the table marks it "ref".
//
// Fractions: bandwidth-bound rows divide bytes / time by the read, copy or triad ceiling; compute-
// bound rows divide FLOPs / time by the fp32 (or fp64 = fp32 / 2) FMA peak. The serial reference
// column is held to the 1-thread ceilings, the other columns to those of N threads.
// bench/backends/run builds this program and ceilings, sets OMP_NUM_THREADS / KOKKOS_NUM_THREADS,
// runs both and draws the chart.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"
#include "recfuse/xsimd/detail/xsimd.hpp"

namespace rb = recfuse::bench::backends;

namespace {

struct cell {
  bool ran = false;
  std::string error;
  rb::timing t;
  double seconds = 0;   // median per unit
  double rate = 0;      // GB/s or GFLOP/s
  double ceiling = 0;   // GB/s or GFLOP/s, 0 when unknown
  double fraction = 0;  // rate / ceiling
  std::string kokkos;   // kokkos<OpenMP> only: native, reference, partial
};

struct ceilings {
  bool known = false;
  std::map<std::string, double> values;
  // GB/s or GFLOP/s of `b` with `threads` threads (1 or 2), 0 when unknown.
  double get(rb::bound b, int threads) const {
    if (!known || (threads != 1 && threads != 2)) return 0;
    const std::string t = threads == 1 ? "_1t" : "_2t";
    auto at = [&](const std::string& key) {
      auto it = values.find(key + t);
      return it == values.end() ? 0.0 : it->second;
    };
    switch (b) {
      case rb::bound::read:
        return at("read_gbs");
      case rb::bound::copy:
        return at("copy_gbs");
      case rb::bound::triad:
        return at("triad_gbs");
      case rb::bound::fp32_fma:
        return at("fma_gflops");
      case rb::bound::fp64_fma:
        return at("fma_gflops") / 2;
    }
    return 0;
  }
};

// `ceilings --json` prints one flat object of numbers (and two strings): read the numbers.
ceilings read_ceilings(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "bench_backends: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  ceilings c;
  for (const char* key : {"read_gbs_1t", "read_gbs_2t", "copy_gbs_1t", "copy_gbs_2t",
                          "triad_gbs_1t", "triad_gbs_2t", "fma_gflops_1t", "fma_gflops_2t"}) {
    const std::string quoted = std::string("\"") + key + "\"";
    const auto at = text.find(quoted);
    if (at == std::string::npos) continue;
    const auto colon = text.find(':', at + quoted.size());
    if (colon == std::string::npos) continue;
    c.values[key] = std::strtod(text.c_str() + colon + 1, nullptr);
  }
  c.known = c.values.size() == 8;
  if (!c.known) std::fprintf(stderr, "bench_backends: %s lacks some ceilings\n", path.c_str());
  return c;
}

std::string format_time(double s) {
  char buf[32];
  if (s >= 1) {
    std::snprintf(buf, sizeof buf, "%.2f s", s);
  } else if (s >= 1e-3) {
    std::snprintf(buf, sizeof buf, "%.3g ms", s * 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g us", s * 1e6);
  }
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

// Kokkos-vs-xsimd goal (issue 11): within 2x on the bandwidth-bound scalers, rmse and graph mean.
bool goal_row(const rb::row& r) {
  return r.component == "rmse" || r.family == "scale" || r.component == "aggregate mean";
}

void usage() {
  std::fprintf(stderr,
               "usage: bench_backends [--quick] [--threads N] [--ceilings FILE] [--json FILE]\n"
               "                      [--only metrics,scale,select,factorize,graph,nn,fuse]\n");
}

}  // namespace

int main(int argc, char** argv) {
  rb::options opt;
  std::string ceilings_path, json_path, only;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--quick") {
      opt.quick = true;
      opt.min_reps = 2;
      opt.max_reps = 3;
      opt.budget_s = 0.3;
    } else if (arg == "--threads") {
      opt.threads = std::atoi(value().c_str());
      if (opt.threads < 1) {
        std::fprintf(stderr, "bench_backends: --threads needs a positive number\n");
        return 2;
      }
    } else if (arg == "--ceilings") {
      ceilings_path = value();
    } else if (arg == "--json") {
      json_path = value();
    } else if (arg == "--only") {
      only = "," + value() + ",";
    } else if (arg == "-h" || arg == "--help") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "bench_backends: unknown argument %s\n", arg.c_str());
      usage();
      return 2;
    }
  }
  const ceilings ceil = ceilings_path.empty() ? ceilings{} : read_ceilings(ceilings_path);

  // Kokkos once for the program, with the thread count of the other columns.
  Kokkos::ScopeGuard guard(Kokkos::InitializationSettings().set_num_threads(opt.threads));
  const int kokkos_threads = Kokkos::OpenMP().concurrency();

  std::vector<rb::row> rows;
  const std::pair<const char*, std::vector<rb::row> (*)(const rb::options&)> families[] = {
      {"metrics", rb::metrics_rows}, {"scale", rb::scale_rows},
      {"select", rb::select_rows},   {"factorize", rb::factorize_rows},
      {"graph", rb::graph_rows},     {"nn", rb::nn_rows},
      {"fuse", rb::fuse_rows}};
  for (const auto& [name, make] : families) {
    if (!only.empty() && only.find(std::string(",") + name + ",") == std::string::npos) continue;
    for (auto& r : make(opt)) rows.push_back(std::move(r));
  }
  const auto cols = rb::columns();

  std::fprintf(stderr,
               "bench_backends: %zu rows x %zu columns, %d threads (Kokkos OpenMP concurrency %d), "
               "xsimd arch %s%s\n",
               rows.size(), cols.size(), opt.threads, kokkos_threads, xsimd::default_arch::name(),
               opt.quick ? ", --quick" : "");

  std::vector<std::vector<cell>> cells(rows.size(), std::vector<cell>(cols.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    std::fprintf(stderr, "  %-10s %-34s", r.family.c_str(), r.component.c_str());
    const std::function<void(rb::column)> run = r.prepare();
    const auto times = rb::time_columns(run, cols, opt);
    for (std::size_t j = 0; j < cols.size(); ++j) {
      const rb::column c = cols[j];
      cell& x = cells[i][j];
      if (c == rb::column::kokkos_openmp) {
        std::size_t native = 0;
        for (auto k : r.kernels) native += rb::kokkos_native(k) ? 1 : 0;
        x.kokkos = native == r.kernels.size() ? "native" : native == 0 ? "reference" : "partial";
      }
      x.t = times[j];
      x.ran = x.t.reps > 0;
      x.error = x.t.error;
      if (x.ran) {
        x.seconds = x.t.median / r.units;
        x.rate = r.work / x.seconds * 1e-9;
        x.ceiling = ceil.get(r.by, c == rb::column::reference ? 1 : opt.threads);
        x.fraction = x.ceiling > 0 ? x.rate / x.ceiling : 0;
        std::fprintf(stderr, " %s %s (%d)", rb::column_name(c), format_time(x.seconds).c_str(),
                     x.t.reps);
      } else {
        std::fprintf(stderr, " %s error: %s", rb::column_name(c), x.error.c_str());
      }
    }
    std::fprintf(stderr, "\n");
  }

  // ---- the table (Markdown) ---------------------------------------------------------------
  auto col_index = [&](rb::column c) -> int {
    for (std::size_t j = 0; j < cols.size(); ++j) {
      if (cols[j] == c) return static_cast<int>(j);
    }
    return -1;
  };
  const int xs = col_index(rb::column::xsimd), kk = col_index(rb::column::kokkos_openmp);
  std::printf("recfuse across backends: %d threads (reference: 1), median time per call",
              opt.threads);
  std::printf(" (per epoch / sweep for fits) and %% of the ceiling%s\n",
              ceil.known ? "" : " (no --ceilings: times only)");
  std::printf("\n| family | component | size | bound |");
  for (auto c : cols) std::printf(" %s |", rb::column_name(c));
  std::printf(" kokkos / xsimd |\n|---|---|---|---|");
  for (std::size_t j = 0; j < cols.size(); ++j) std::printf("---|");
  std::printf("---|\n");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    std::printf("| %s | %s | %s | %s |", r.family.c_str(), r.component.c_str(), r.size.c_str(),
                rb::bound_name(r.by));
    for (std::size_t j = 0; j < cols.size(); ++j) {
      const cell& x = cells[i][j];
      if (!x.ran) {
        std::printf(" error |");
        continue;
      }
      std::printf(" %s", format_time(x.seconds).c_str());
      if (x.ceiling > 0) std::printf(", %.0f%%", 100 * x.fraction);
      if (x.kokkos == "reference") std::printf(" (ref)");
      if (x.kokkos == "partial") std::printf(" (partly ref)");
      std::printf(" |");
    }
    const cell& a = cells[i][static_cast<std::size_t>(kk)];
    const cell& b = cells[i][static_cast<std::size_t>(xs)];
    if (a.ran && b.ran) {
      const double ratio = a.seconds / b.seconds;
      const char* goal = "";
      if (goal_row(r)) {
        goal = a.kokkos != "native" ? " (goal <= 2x: not yet, ran the reference)"
               : ratio <= 2         ? " (goal <= 2x: met)"
                                    : " (goal <= 2x: missed)";
      }
      std::printf(" %.2fx%s |\n", ratio, goal);
    } else {
      std::printf(" |\n");
    }
  }
  std::printf(
      "\n(ref): kokkos<OpenMP> has no kernel of its own for this call yet and ran the serial "
      "reference's.\nNo thrust<cuda> column: no GPU here (bench/gpu/run measures the GPU).\n");
  if (ceil.known) {
    std::printf(
        "Ceilings (bench/ceilings, GB/s or GFLOP/s, 1 / %d threads): read %.1f / %.1f, copy %.1f "
        "/ %.1f, triad %.1f / %.1f, fp32 FMA %.1f / %.1f (fp64: half)\n",
        opt.threads, ceil.get(rb::bound::read, 1), ceil.get(rb::bound::read, opt.threads),
        ceil.get(rb::bound::copy, 1), ceil.get(rb::bound::copy, opt.threads),
        ceil.get(rb::bound::triad, 1), ceil.get(rb::bound::triad, opt.threads),
        ceil.get(rb::bound::fp32_fma, 1), ceil.get(rb::bound::fp32_fma, opt.threads));
  }

  // ---- JSON -------------------------------------------------------------------------------
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    if (!out) {
      std::fprintf(stderr, "bench_backends: cannot write %s\n", json_path.c_str());
      return 1;
    }
    out << "{\n  \"threads\": " << opt.threads
        << ",\n  \"quick\": " << (opt.quick ? "true" : "false")
        << ",\n  \"xsimd_arch\": " << json_string(xsimd::default_arch::name())
        << ",\n  \"kokkos_version\": " << KOKKOS_VERSION
        << ",\n  \"kokkos_threads\": " << kokkos_threads
        << ",\n  \"gpu_column\": false,\n  \"ceilings\": {";
    bool first = true;
    for (const auto& [k, v] : ceil.values) {
      out << (first ? "" : ", ") << json_string(k) << ": " << v;
      first = false;
    }
    out << "},\n  \"columns\": [";
    for (std::size_t j = 0; j < cols.size(); ++j) {
      out << (j ? ", " : "") << json_string(rb::column_name(cols[j]));
    }
    out << "],\n  \"rows\": [\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      out << "    {\"family\": " << json_string(r.family)
          << ", \"component\": " << json_string(r.component)
          << ", \"size\": " << json_string(r.size)
          << ", \"bound\": " << json_string(rb::bound_name(r.by))
          << ", \"bandwidth_bound\": " << (rb::bandwidth_bound(r.by) ? "true" : "false")
          << ", \"work_per_unit\": " << r.work
          << ", \"work_unit\": " << json_string(rb::bandwidth_bound(r.by) ? "bytes" : "flops")
          << ", \"units_per_call\": " << r.units << ", \"counting\": " << json_string(r.note)
          << ", \"kokkos_goal_2x\": " << (goal_row(r) ? "true" : "false") << ",\n     \"cells\": {";
      for (std::size_t j = 0; j < cols.size(); ++j) {
        const cell& x = cells[i][j];
        out << (j ? ",\n               " : "") << json_string(rb::column_name(cols[j])) << ": {";
        if (x.ran) {
          out << "\"seconds\": " << x.seconds << ", \"seconds_best\": " << x.t.best / r.units
              << ", \"reps\": " << x.t.reps << ", \"rate\": " << x.rate
              << ", \"ceiling\": " << x.ceiling << ", \"fraction\": " << x.fraction;
        } else {
          out << "\"error\": " << json_string(x.error);
        }
        if (!x.kokkos.empty()) out << ", \"kokkos_kernel\": " << json_string(x.kokkos);
        out << "}";
      }
      out << "}}" << (i + 1 < rows.size() ? "," : "") << "\n";
    }
    out << "  ]\n}\n";
  }
  return 0;
}
