// recfuse bench: the recfuse side of bench/peers/run.
//
//   recfuse_peer list
//   recfuse_peer <component> --threads N --repeat R <inputs...> [--out PATH]
//
// peers.py writes the arrays (raw little-endian, row-major) and calls this program, which loads
// them, runs the recfuse kernel once as a warm-up and then R times, and prints one JSON object:
// {"component", "threads", "repeat", "seconds" (the median), "min_seconds", "checksum", ...}.
// With --out it also writes the result, raw, for peers.py to check against the peer.
//
//   rmse                       --a PATH --b PATH --n N                       (float32 x n each)
//   topk_inner_product         --queries PATH --items PATH --m M --n N --d D --k K
//                              [--exclude-offsets PATH --exclude-indices PATH]
//                              queries float32 m x d, items float32 n x d, exclusion CSR with
//                              int64 offsets (m + 1) and int32 item ids; --out PATH writes
//                              PATH.indices (int64 m x k) and PATH.values (float32 m x k)
//   standard_scaler_fit        --x PATH --rows R --cols C   times fit; --out writes transform(x)
//   standard_scaler_transform  --x PATH --rows R --cols C   fits once, times transform into a
//                              preallocated output (out-of-place); --out writes that output
//
// A component whose recfuse header is not there yet is left out of `list`, and asking for it
// prints {"component": ..., "skipped": reason} and exits with status 3.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "recfuse/metrics/error.hpp"
#include "recfuse/xsimd/all.hpp"
#include "recfuse/xsimd/policy.hpp"

#if __has_include("recfuse/select/topk.hpp")
#include "recfuse/select/topk.hpp"
#define RECFUSE_PEER_HAS_TOPK 1
#else
#define RECFUSE_PEER_HAS_TOPK 0
#endif

#if __has_include("recfuse/scale/standard_scaler.hpp")
#include "recfuse/scale/standard_scaler.hpp"
#define RECFUSE_PEER_HAS_SCALER 1
#else
#define RECFUSE_PEER_HAS_SCALER 0
#endif

namespace {

using recfuse::index_t;

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class arguments {
 public:
  arguments(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string key = argv[i];
      if (key.rfind("--", 0) != 0 || i + 1 >= argc) {
        throw usage_error("expected --name value pairs, got '" + key + "'");
      }
      values_[key.substr(2)] = argv[++i];
    }
  }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::string text(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) throw usage_error("missing --" + key);
    return it->second;
  }
  long number(const std::string& key, long fallback = -1) const {
    if (!has(key)) {
      if (fallback >= 0) return fallback;
      throw usage_error("missing --" + key);
    }
    char* end = nullptr;
    const std::string s = text(key);
    const long v = std::strtol(s.c_str(), &end, 10);
    if (end == s.c_str() || *end != '\0' || v < 0) {
      throw usage_error("--" + key + " needs a non-negative integer, got '" + s + "'");
    }
    return v;
  }

 private:
  std::map<std::string, std::string> values_;
};

template <class T>
std::vector<T> load(const std::string& path, std::size_t count) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw usage_error("cannot open " + path);
  const auto bytes = static_cast<std::size_t>(in.tellg());
  if (bytes != count * sizeof(T)) {
    throw usage_error(path + " holds " + std::to_string(bytes) + " bytes, expected " +
                      std::to_string(count * sizeof(T)));
  }
  std::vector<T> v(count);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(bytes));
  if (!in) throw usage_error("cannot read " + path);
  return v;
}

template <class T>
void save(const std::string& path, const T* data, std::size_t count) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * sizeof(T)));
  if (!out) throw usage_error("cannot write " + path);
}

struct timing {
  double median = 0;
  double min = 0;
};

// One warm-up call, then `repeat` timed calls; the median is the figure reported.
template <class F>
timing time_calls(int repeat, F&& call) {
  call();
  std::vector<double> t;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    const auto t1 = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  std::sort(t.begin(), t.end());
  const std::size_t h = t.size() / 2;
  const double median = t.size() % 2 == 1 ? t[h] : 0.5 * (t[h - 1] + t[h]);
  return {median, t.front()};
}

void print(const char* component, int threads, int repeat, timing t, double checksum,
           const std::string& extra = "") {
  std::printf(
      "{\"component\": \"%s\", \"threads\": %d, \"repeat\": %d, \"seconds\": %.9g, "
      "\"min_seconds\": %.9g, \"checksum\": %.17g%s}\n",
      component, threads, repeat, t.median, t.min, checksum, extra.c_str());
}

template <class T>
volatile T sink{};

int run_rmse(const arguments& args, int threads, int repeat) {
  const auto n = static_cast<std::size_t>(args.number("n"));
  const auto a = load<float>(args.text("a"), n);
  const auto b = load<float>(args.text("b"), n);
  const recfuse::exec::xsimd policy{threads};
  double value = 0;
  const timing t = time_calls(repeat, [&] {
    value = recfuse::rmse(policy, a, b);
    sink<double> = value;
  });
  char extra[64];
  std::snprintf(extra, sizeof extra, ", \"value\": %.17g", value);
  print("rmse", threads, repeat, t, value, extra);
  return 0;
}

#if RECFUSE_PEER_HAS_TOPK
int run_topk(const arguments& args, int threads, int repeat) {
  const index_t m = args.number("m");
  const index_t n = args.number("n");
  const index_t d = args.number("d");
  const index_t k = args.number("k");
  const auto queries = load<float>(args.text("queries"), static_cast<std::size_t>(m * d));
  const auto items = load<float>(args.text("items"), static_cast<std::size_t>(n * d));
  const recfuse::matrix_view<const float> q(queries.data(), m, d);
  const recfuse::matrix_view<const float> it(items.data(), n, d);
  const recfuse::exec::xsimd policy{threads};

  std::vector<index_t> offsets;
  std::vector<std::int32_t> seen;
  const bool exclude = args.has("exclude-offsets");
  if (exclude) {
    offsets = load<index_t>(args.text("exclude-offsets"), static_cast<std::size_t>(m + 1));
    seen =
        load<std::int32_t>(args.text("exclude-indices"), static_cast<std::size_t>(offsets.back()));
  }
  const recfuse::csr_pattern_view<std::int32_t> pattern(m, n, offsets.data(), seen.data());

  auto call = [&] {
    if (exclude) return recfuse::topk_inner_product(policy, q, it, k, pattern);
    return recfuse::topk_inner_product(policy, q, it, k);
  };
  decltype(call()) result;
  const timing t = time_calls(repeat, [&] {
    result = call();
    sink<float> = result.values.empty() ? 0.f : result.values[0];
  });
  double checksum = 0;
  for (std::size_t i = 0; i < result.values.size(); ++i) {
    checksum += static_cast<double>(result.values[i]) + static_cast<double>(result.indices[i]);
  }
  if (args.has("out")) {
    const std::string out = args.text("out");
    save(out + ".indices", result.indices.data(), result.indices.size());
    save(out + ".values", result.values.data(), result.values.size());
  }
  print(exclude ? "topk_inner_product_exclude" : "topk_inner_product", threads, repeat, t,
        checksum);
  return 0;
}
#endif

#if RECFUSE_PEER_HAS_SCALER
int run_scaler(const arguments& args, int threads, int repeat, bool time_fit) {
  const index_t rows = args.number("rows");
  const index_t cols = args.number("cols");
  const auto x = load<float>(args.text("x"), static_cast<std::size_t>(rows * cols));
  std::vector<float> y(x.size());
  const recfuse::matrix_view<const float> in(x.data(), rows, cols);
  const recfuse::matrix_view<float> out(y.data(), rows, cols);
  const recfuse::exec::xsimd policy{threads};

  recfuse::standard_scaler<float> scaler;
  timing t;
  if (time_fit) {
    t = time_calls(repeat, [&] { scaler.fit(policy, in); });
    scaler.transform(policy, in, out);
  } else {
    scaler.fit(policy, in);
    // The output is allocated and touched once, outside the timing: out-of-place transform
    // into a buffer the caller reuses.
    t = time_calls(repeat, [&] { scaler.transform(policy, in, out); });
  }
  const double checksum = std::accumulate(y.begin(), y.end(), 0.0);
  if (args.has("out")) save(args.text("out"), y.data(), y.size());
  print(time_fit ? "standard_scaler_fit" : "standard_scaler_transform", threads, repeat, t,
        checksum);
  return 0;
}
#endif

struct component {
  const char* name;
  const char* header;  // the recfuse header it needs
  bool available;
};

const component components[] = {
    {"rmse", "recfuse/metrics/error.hpp", true},
    {"topk_inner_product", "recfuse/select/topk.hpp", RECFUSE_PEER_HAS_TOPK != 0},
    {"standard_scaler_fit", "recfuse/scale/standard_scaler.hpp", RECFUSE_PEER_HAS_SCALER != 0},
    {"standard_scaler_transform", "recfuse/scale/standard_scaler.hpp",
     RECFUSE_PEER_HAS_SCALER != 0},
};

int dispatch(const std::string& name, const arguments& args) {
  const int threads = static_cast<int>(args.number("threads", 2));
  const int repeat = static_cast<int>(args.number("repeat", 5));
  if (threads < 1) throw usage_error("--threads must be at least 1");
  if (repeat < 1) throw usage_error("--repeat must be at least 1");
  if (name == "rmse") return run_rmse(args, threads, repeat);
#if RECFUSE_PEER_HAS_TOPK
  if (name == "topk_inner_product") return run_topk(args, threads, repeat);
#endif
#if RECFUSE_PEER_HAS_SCALER
  if (name == "standard_scaler_fit") return run_scaler(args, threads, repeat, true);
  if (name == "standard_scaler_transform") return run_scaler(args, threads, repeat, false);
#endif
  for (const auto& c : components) {
    if (name == c.name) {
      std::printf(
          "{\"component\": \"%s\", \"skipped\": \"%s not present when recfuse_peer was built\"}\n",
          c.name, c.header);
      return 3;
    }
  }
  throw usage_error("unknown component '" + name + "'");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: recfuse_peer list | <component> --threads N --repeat R ...\n");
    return 2;
  }
  const std::string name = argv[1];
  if (name == "list") {
    std::printf("{\"components\": [");
    const char* sep = "";
    for (const auto& c : components) {
      if (!c.available) continue;
      std::printf("%s\"%s\"", sep, c.name);
      sep = ", ";
    }
    std::printf("], \"missing\": [");
    sep = "";
    for (const auto& c : components) {
      if (c.available) continue;
      std::printf("%s\"%s\"", sep, c.name);
      sep = ", ";
    }
    std::printf("]}\n");
    return 0;
  }
  try {
    return dispatch(name, arguments(argc, argv, 2));
  } catch (const usage_error& e) {
    std::fprintf(stderr, "recfuse_peer %s: %s\n", name.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recfuse_peer %s: recfuse threw: %s\n", name.c_str(), e.what());
    return 1;
  }
}
