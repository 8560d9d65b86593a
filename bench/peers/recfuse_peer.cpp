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
// Factorization (issue 3): the timed call is a whole fit, `--warmup W` untimed fits first
// (default 1; 0 for the long ones), then R timed fits; every timed fit's seconds are listed in
// "fit_seconds_all". Options not given keep their recfuse defaults; the settings used are echoed.
//
//   implicit_als   --train-user PATH --train-item PATH --train-value PATH --users U --items N
//                  --nnz E [--factors F --iterations I --reg R --alpha A --cg-steps S]
//                  [--k K --exclude-offsets PATH --exclude-indices PATH --relevant-offsets PATH
//                   --relevant-indices PATH]
//                  train COO int32/int32/float32 x E; with --k, ranks every user's top K by
//                  recfuse::topk_inner_product excluding the exclusion CSR (int64 offsets U + 1,
//                  int32 ids) and scores them with recfuse::evaluate_ranking against the relevant
//                  CSR (same layout): ndcg, precision, recall, map, hit_rate. --out PATH writes
//                  PATH.recs (int64 U x K) and PATH.user_factors / PATH.item_factors (float32)
//   biased_sgd     --train-user --train-item --train-value PATH --users U --items N --nnz E
//                  --test-user --test-item --test-value PATH --test-nnz T
//                  [--factors --epochs --lr --lr-decay --reg-bias --reg-factor --init-scale
//                   --blocks --seed]
//                  fit_biased_sgd, then predict on the test pairs (id -1: unseen) and rmse;
//                  --out PATH writes PATH.pred (float32 x T)
//   defaults       prints sgd_options{} and implicit_als_options{} as JSON (peers.py sets the
//                  peers from them)
//
// Neural and graph (issue 4):
//
//   mlp_forward      --params PATH --widths 64,256,128,1 --activations relu,relu,identity
//                    --x PATH --batch B [--calls C]
//                    params: float32, per layer the weight (out x in, torch's layout) then the
//                    bias, layer after layer (recfuse::nn::mlp's flat layout; loaded through
//                    weight(l) / bias(l)); x float32 B x inputs. One timed repeat runs C calls of
//                    recfuse::nn::forward (default 1); "seconds" is per call. --out PATH writes the
//                    output (float32 B x outputs)
//   mlp_train_step   the same network, --x PATH --y PATH (float32 B x outputs) --batch B
//                    [--calls C --lr L]: recfuse::nn::train_step (MSE, Adam with lr L, default
//                    1e-3); "seconds" is per step. --out PATH writes the parameters after ONE step
//                    from the given ones (flat layout, as --params); the timed steps run on a copy
//   graph_aggregate_mean  --offsets PATH --indices PATH --x PATH --nodes N --nnz E --d D
//                    graph CSR: int64 offsets N + 1, int32 neighbour ids (row i = destination,
//                    its entries = sources); x float32 N x D; times recfuse::graph::aggregate with
//                    aggregation::mean (unweighted) into a preallocated output; --out PATH writes
//                    it (float32 N x D)
//
// Search (issue 13):
//
//   bm25             --corpus PATH --queries PATH [--k K --k1 X --b X]
//                    corpus and queries: UTF-8 text, one document (query) per line, tokens
//                    separated by single spaces (peers.py writes the same token lists bm25s gets).
//                    Builds recfuse::search::bm25_index<float> once ("build_seconds", not in
//                    "seconds"), then each timed repeat encodes the queries (index.encode) and runs
//                    recfuse::search::bm25_topk for k (default 10); "scoring_seconds" is
//                    bm25_topk alone on encoded queries. --out PATH writes PATH.indices (int64
//                    queries x k, -1 padding) and PATH.values (float32, -inf padding)
//
// A component whose recfuse header is not there yet is left out of `list`, and asking for it
// prints {"component": ..., "skipped": reason} and exits with status 3.
//
// The command line is parsed by CLI11: one subcommand per component, each with the options above
// plus --threads N (default 2), --repeat R (default 5) and --out PATH; an unknown option, a
// malformed number or a missing input exits with status 2 and a message naming it;
// `recfuse_peer <component> --help` lists a component's options.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "recfuse/core/sparse.hpp"
#include "recfuse/factorize/model.hpp"
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

// The factorization kernels: the public header decides whether the component exists; the xsimd
// kernel header (until all.hpp includes it) decides which kernel runs, which the JSON reports.
#if __has_include("recfuse/factorize/implicit_als.hpp") && RECFUSE_PEER_HAS_TOPK && \
                  __has_include("recfuse/metrics/ranking.hpp")
#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/metrics/ranking.hpp"
#define RECFUSE_PEER_HAS_IMPLICIT 1
#if __has_include("recfuse/xsimd/factorize/implicit_als.hpp")
#include "recfuse/xsimd/factorize/implicit_als.hpp"
#define RECFUSE_PEER_IMPLICIT_KERNEL "xsimd"
#else
#define RECFUSE_PEER_IMPLICIT_KERNEL "reference"
#endif
#else
#define RECFUSE_PEER_HAS_IMPLICIT 0
#endif

#if __has_include("recfuse/factorize/biased_mf.hpp")
#include "recfuse/factorize/biased_mf.hpp"
#define RECFUSE_PEER_HAS_BIASED 1
#if __has_include("recfuse/xsimd/factorize/biased_mf.hpp")
#include "recfuse/xsimd/factorize/biased_mf.hpp"
#define RECFUSE_PEER_BIASED_KERNEL "xsimd"
#else
#define RECFUSE_PEER_BIASED_KERNEL "reference"
#endif
#else
#define RECFUSE_PEER_HAS_BIASED 0
#endif

#if __has_include("recfuse/nn/mlp.hpp") && __has_include("recfuse/nn/train.hpp")
#include "recfuse/nn/activation.hpp"
#include "recfuse/nn/mlp.hpp"
#include "recfuse/nn/train.hpp"
#define RECFUSE_PEER_HAS_NN 1
#if __has_include("recfuse/xsimd/nn/mlp.hpp")
#include "recfuse/xsimd/nn/mlp.hpp"
#include "recfuse/xsimd/nn/train.hpp"
#define RECFUSE_PEER_NN_KERNEL "xsimd"
#else
#define RECFUSE_PEER_NN_KERNEL "reference"
#endif
#else
#define RECFUSE_PEER_HAS_NN 0
#endif

#if __has_include("recfuse/graph/aggregate.hpp")
#include "recfuse/graph/aggregate.hpp"
#define RECFUSE_PEER_HAS_GRAPH 1
#if __has_include("recfuse/xsimd/graph/aggregate.hpp")
#include "recfuse/xsimd/graph/aggregate.hpp"
#include "recfuse/xsimd/graph/builders.hpp"
#define RECFUSE_PEER_GRAPH_KERNEL "xsimd"
#else
#define RECFUSE_PEER_GRAPH_KERNEL "reference"
#endif
#else
#define RECFUSE_PEER_HAS_GRAPH 0
#endif

#if __has_include("recfuse/search/bm25.hpp") && __has_include("recfuse/xsimd/search/bm25.hpp")
#include "recfuse/search/bm25.hpp"
#include "recfuse/xsimd/search/bm25.hpp"
#define RECFUSE_PEER_HAS_BM25 1
#else
#define RECFUSE_PEER_HAS_BM25 0
#endif

namespace {

using recfuse::index_t;

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The options of the chosen component, as CLI11 parsed them (see make_cli); values stay text
// until a component converts them, and CLI11 has already checked their form.
class arguments {
 public:
  explicit arguments(std::map<std::string, std::string> values) : values_(std::move(values)) {}
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
  double real(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    char* end = nullptr;
    const std::string s = text(key);
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end != '\0') {
      throw usage_error("--" + key + " needs a number, got '" + s + "'");
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

#if RECFUSE_PEER_HAS_IMPLICIT || RECFUSE_PEER_HAS_BIASED
// `warmup` untimed calls, then `repeat` timed ones: the seconds of each timed call.
template <class F>
std::vector<double> fit_times(int warmup, int repeat, F&& call) {
  for (int w = 0; w < warmup; ++w) call();
  std::vector<double> t;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    const auto t1 = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  return t;
}

timing summarise(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  const std::size_t h = t.size() / 2;
  return {t.size() % 2 == 1 ? t[h] : 0.5 * (t[h - 1] + t[h]), t.front()};
}

std::string json_list(const std::vector<double>& v) {
  std::string s = "[";
  char buf[40];
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.9g", i == 0 ? "" : ", ", v[i]);
    s += buf;
  }
  return s + "]";
}

// Train interactions from --train-user/--train-item/--train-value (E = --nnz entries).
struct coo_data {
  index_t users = 0, items = 0;
  std::vector<std::int32_t> user, item;
  std::vector<float> value;

  recfuse::interactions_view<float> view() const {
    const auto n = static_cast<index_t>(value.size());
    return {users, items, {user.data(), n}, {item.data(), n}, {value.data(), n}};
  }
};

coo_data load_train(const arguments& args) {
  coo_data d;
  const auto nnz = static_cast<std::size_t>(args.number("nnz"));
  d.users = args.number("users");
  d.items = args.number("items");
  d.user = load<std::int32_t>(args.text("train-user"), nnz);
  d.item = load<std::int32_t>(args.text("train-item"), nnz);
  d.value = load<float>(args.text("train-value"), nnz);
  return d;
}
#endif

const char* solver_name(recfuse::implicit_solver s) {
  return s == recfuse::implicit_solver::cholesky ? "cholesky" : "conjugate_gradient";
}

std::string implicit_settings_json(const recfuse::implicit_als_options& o) {
  char buf[320];
  std::snprintf(
      buf, sizeof buf,
      "{\"factors\": %lld, \"iterations\": %d, \"regularization\": %.15g, \"alpha\": "
      "%.15g, \"cg_steps\": %d, \"solver\": \"%s\", \"init_scale\": %.15g, \"seed\": %llu}",
      static_cast<long long>(o.factors), o.iterations, o.regularization, o.alpha, o.cg_steps,
      solver_name(o.solver), o.init_scale, static_cast<unsigned long long>(o.seed));
  return buf;
}

// The standard deviation of fit_biased_sgd's initial factors (init_scale times an approximately
// standard normal number, biased_mf.hpp), for surprise's init_std_dev.
double sgd_init_std_dev(const recfuse::sgd_options& o) { return o.init_scale; }

std::string sgd_settings_json(const recfuse::sgd_options& o) {
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "{\"factors\": %lld, \"epochs\": %d, \"learning_rate\": %.15g, "
                "\"learning_rate_decay\": %.15g, \"reg_bias\": %.15g, \"reg_factor\": %.15g, "
                "\"init_scale\": %.15g, \"init_std_dev\": %.15g, \"blocks\": %d, \"seed\": %llu}",
                static_cast<long long>(o.factors), o.epochs, o.learning_rate, o.learning_rate_decay,
                o.reg_bias, o.reg_factor, o.init_scale, sgd_init_std_dev(o), o.blocks,
                static_cast<unsigned long long>(o.seed));
  return buf;
}

int run_defaults() {
  std::printf("{\"sgd\": %s, \"implicit_als\": %s}\n",
              sgd_settings_json(recfuse::sgd_options{}).c_str(),
              implicit_settings_json(recfuse::implicit_als_options{}).c_str());
  return 0;
}

#if RECFUSE_PEER_HAS_IMPLICIT || RECFUSE_PEER_HAS_BIASED
void print_fit(const char* component, int threads, int repeat, int warmup,
               const std::vector<double>& times, int iterations, const char* kernel,
               const std::string& settings, const std::string& extra) {
  const timing t = summarise(times);
  std::printf(
      "{\"component\": \"%s\", \"threads\": %d, \"repeat\": %d, \"warmup\": %d, "
      "\"seconds\": %.9g, \"min_seconds\": %.9g, \"seconds_per_iteration\": %.9g, "
      "\"fit_seconds_all\": %s, \"kernel\": \"%s\", \"settings\": %s%s}\n",
      component, threads, repeat, warmup, t.median, t.min, t.median / std::max(iterations, 1),
      json_list(times).c_str(), kernel, settings.c_str(), extra.c_str());
}
#endif

#if RECFUSE_PEER_HAS_IMPLICIT
int run_implicit_als(const arguments& args, int threads, int repeat) {
  const coo_data train = load_train(args);
  const index_t users = train.users;
  const index_t items = train.items;
  recfuse::implicit_als_options opt;
  opt.factors = args.number("factors", opt.factors);
  opt.iterations = static_cast<int>(args.number("iterations", opt.iterations));
  opt.regularization = args.real("reg", opt.regularization);
  opt.alpha = args.real("alpha", opt.alpha);
  opt.cg_steps = static_cast<int>(args.number("cg-steps", opt.cg_steps));
  const int warmup = static_cast<int>(args.number("warmup", 1));
  const recfuse::exec::xsimd policy{threads};

  recfuse::implicit_mf_model<float> model;
  const auto times = fit_times(warmup, repeat, [&] {
    model = recfuse::fit_implicit_als(policy, train.view(), opt);
    sink<float> = model.user_factors.empty() ? 0.f : model.user_factors[0];
  });
  double checksum = 0;
  for (const float x : model.user_factors) checksum += x;
  for (const float y : model.item_factors) checksum += y;

  std::string extra;
  char buf[400];
  std::snprintf(buf, sizeof buf, ", \"checksum\": %.17g", checksum);
  extra += buf;
  const std::string out = args.has("out") ? args.text("out") : std::string();
  if (args.has("k")) {
    const index_t k = args.number("k");
    const auto ex_off =
        load<index_t>(args.text("exclude-offsets"), static_cast<std::size_t>(users + 1));
    const auto ex_idx =
        load<std::int32_t>(args.text("exclude-indices"), static_cast<std::size_t>(ex_off.back()));
    const auto rel_off =
        load<index_t>(args.text("relevant-offsets"), static_cast<std::size_t>(users + 1));
    const auto rel_idx =
        load<std::int32_t>(args.text("relevant-indices"), static_cast<std::size_t>(rel_off.back()));
    const recfuse::csr_pattern_view<std::int32_t> exclude(users, items, ex_off.data(),
                                                          ex_idx.data());
    const recfuse::csr_pattern_view<std::int32_t> relevant(users, items, rel_off.data(),
                                                           rel_idx.data());
    const auto& fitted = std::as_const(model);
    const auto recs =
        recfuse::topk_inner_product(policy, fitted.user_matrix(), fitted.item_matrix(), k, exclude);
    const recfuse::ranking_report r =
        recfuse::evaluate_ranking(policy, recs.indices_view(), relevant, k);
    std::snprintf(buf, sizeof buf,
                  ", \"k\": %lld, \"ndcg\": %.17g, \"precision\": %.17g, \"recall\": %.17g, "
                  "\"map\": %.17g, \"hit_rate\": %.17g, \"users_evaluated\": %lld",
                  static_cast<long long>(k), r.ndcg, r.precision, r.recall, r.map, r.hit_rate,
                  static_cast<long long>(r.users));
    extra += buf;
    if (!out.empty()) save(out + ".recs", recs.indices.data(), recs.indices.size());
  }
  if (!out.empty()) {
    save(out + ".user_factors", model.user_factors.data(), model.user_factors.size());
    save(out + ".item_factors", model.item_factors.data(), model.item_factors.size());
  }
  print_fit("implicit_als", threads, repeat, warmup, times, opt.iterations,
            RECFUSE_PEER_IMPLICIT_KERNEL, implicit_settings_json(opt), extra);
  return 0;
}
#endif

#if RECFUSE_PEER_HAS_BIASED
int run_biased_sgd(const arguments& args, int threads, int repeat) {
  const coo_data train = load_train(args);
  const auto test_nnz = static_cast<std::size_t>(args.number("test-nnz"));
  const auto test_user = load<std::int32_t>(args.text("test-user"), test_nnz);
  const auto test_item = load<std::int32_t>(args.text("test-item"), test_nnz);
  const auto test_value = load<float>(args.text("test-value"), test_nnz);
  recfuse::sgd_options opt;
  opt.factors = args.number("factors", opt.factors);
  opt.epochs = static_cast<int>(args.number("epochs", opt.epochs));
  opt.learning_rate = args.real("lr", opt.learning_rate);
  opt.learning_rate_decay = args.real("lr-decay", opt.learning_rate_decay);
  opt.reg_bias = args.real("reg-bias", opt.reg_bias);
  opt.reg_factor = args.real("reg-factor", opt.reg_factor);
  opt.init_scale = args.real("init-scale", opt.init_scale);
  opt.blocks = static_cast<int>(args.number("blocks", opt.blocks));
  opt.seed = static_cast<std::uint64_t>(args.number("seed", static_cast<long>(opt.seed)));
  const int warmup = static_cast<int>(args.number("warmup", 1));
  const recfuse::exec::xsimd policy{threads};

  recfuse::biased_mf_model<float> model;
  const auto times = fit_times(warmup, repeat, [&] {
    model = recfuse::fit_biased_sgd(policy, train.view(), opt);
    sink<float> = model.user_factors.empty() ? 0.f : model.user_factors[0];
  });
  const auto n = static_cast<index_t>(test_nnz);
  std::vector<float> pred(test_nnz);
  recfuse::predict(policy, std::as_const(model),
                   recfuse::vector_view<const std::int32_t>(test_user.data(), n),
                   recfuse::vector_view<const std::int32_t>(test_item.data(), n),
                   recfuse::vector_view<float>(pred.data(), n));
  const double rmse = recfuse::rmse(policy, pred, test_value);
  if (args.has("out")) save(args.text("out") + ".pred", pred.data(), pred.size());
  char buf[200];
  std::snprintf(buf, sizeof buf, ", \"rmse\": %.17g, \"test_size\": %lld, \"checksum\": %.17g",
                rmse, static_cast<long long>(n), std::accumulate(pred.begin(), pred.end(), 0.0));
  print_fit("biased_sgd", threads, repeat, warmup, times, opt.epochs, RECFUSE_PEER_BIASED_KERNEL,
            sgd_settings_json(opt), buf);
  return 0;
}
#endif

#if RECFUSE_PEER_HAS_NN
// "64,256,128,1" -> {64, 256, 128, 1}; "relu,relu,identity" -> the activations.
std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

recfuse::nn::mlp<float> load_network(const arguments& args) {
  std::vector<index_t> widths;
  for (const auto& w : split_list(args.text("widths"))) {
    char* end = nullptr;
    const long v = std::strtol(w.c_str(), &end, 10);
    if (w.empty() || *end != '\0' || v < 1) throw usage_error("--widths: bad width '" + w + "'");
    widths.push_back(v);
  }
  std::vector<recfuse::nn::activation> acts;
  for (const auto& a : split_list(args.text("activations"))) {
    acts.push_back(recfuse::nn::parse_activation("recfuse_peer --activations", a));
  }
  recfuse::nn::mlp<float> net(widths, acts);
  const auto params =
      load<float>(args.text("params"), static_cast<std::size_t>(net.parameter_count()));
  // torch's layout, layer by layer: weight (out x in, row-major), then bias.
  const float* p = params.data();
  for (index_t l = 0; l < net.layers(); ++l) {
    const auto w = net.weight(l);
    for (index_t i = 0; i < w.rows(); ++i) {
      for (index_t j = 0; j < w.cols(); ++j) w(i, j) = *p++;
    }
    const auto b = net.bias(l);
    for (index_t i = 0; i < b.size(); ++i) b[i] = *p++;
  }
  return net;
}

std::vector<float> flat_parameters(const recfuse::nn::mlp<float>& net) {
  std::vector<float> out;
  for (index_t l = 0; l < net.layers(); ++l) {
    const auto w = net.weight(l);
    for (index_t i = 0; i < w.rows(); ++i) {
      for (index_t j = 0; j < w.cols(); ++j) out.push_back(w(i, j));
    }
    const auto b = net.bias(l);
    for (index_t i = 0; i < b.size(); ++i) out.push_back(b[i]);
  }
  return out;
}

std::string nn_extra(index_t batch, long calls) {
  char buf[160];
  std::snprintf(buf, sizeof buf, ", \"batch\": %lld, \"calls_per_repeat\": %ld, \"kernel\": \"%s\"",
                static_cast<long long>(batch), calls, RECFUSE_PEER_NN_KERNEL);
  return buf;
}

int run_mlp_forward(const arguments& args, int threads, int repeat) {
  const recfuse::nn::mlp<float> net = load_network(args);
  const index_t batch = args.number("batch");
  const long calls = std::max(args.number("calls", 1), 1L);
  const auto x = load<float>(args.text("x"), static_cast<std::size_t>(batch * net.inputs()));
  std::vector<float> y(static_cast<std::size_t>(batch * net.outputs()));
  const recfuse::matrix_view<const float> in(x.data(), batch, net.inputs());
  const recfuse::matrix_view<float> out(y.data(), batch, net.outputs());
  const recfuse::exec::xsimd policy{threads};
  timing t = time_calls(repeat, [&] {
    for (long c = 0; c < calls; ++c) {
      recfuse::nn::forward(policy, net, in, out);
      sink<float> = y[0];
    }
  });
  t.median /= static_cast<double>(calls);
  t.min /= static_cast<double>(calls);
  if (args.has("out")) save(args.text("out"), y.data(), y.size());
  print("mlp_forward", threads, repeat, t, std::accumulate(y.begin(), y.end(), 0.0),
        nn_extra(batch, calls));
  return 0;
}

int run_mlp_train_step(const arguments& args, int threads, int repeat) {
  const recfuse::nn::mlp<float> initial = load_network(args);
  const index_t batch = args.number("batch");
  const long calls = std::max(args.number("calls", 1), 1L);
  const auto x = load<float>(args.text("x"), static_cast<std::size_t>(batch * initial.inputs()));
  const auto y = load<float>(args.text("y"), static_cast<std::size_t>(batch * initial.outputs()));
  const recfuse::matrix_view<const float> xv(x.data(), batch, initial.inputs());
  const recfuse::matrix_view<const float> yv(y.data(), batch, initial.outputs());
  recfuse::nn::adam_options o;
  o.learning_rate = args.real("lr", o.learning_rate);
  const recfuse::exec::xsimd policy{threads};

  // One step from the given weights, for peers.py's check.
  double first_loss = 0;
  std::vector<float> after_one;
  {
    recfuse::nn::mlp<float> net = initial;
    recfuse::nn::adam<float> opt(net.parameter_count(), o);
    recfuse::nn::mlp_workspace<float> ws;
    first_loss = recfuse::nn::train_step(policy, net, opt, ws, xv, yv, recfuse::nn::loss::mse);
    after_one = flat_parameters(net);
  }
  // The timed steps keep training one network (a training loop's steady state).
  recfuse::nn::mlp<float> net = initial;
  recfuse::nn::adam<float> opt(net.parameter_count(), o);
  recfuse::nn::mlp_workspace<float> ws;
  timing t = time_calls(repeat, [&] {
    for (long c = 0; c < calls; ++c) {
      sink<double> = recfuse::nn::train_step(policy, net, opt, ws, xv, yv, recfuse::nn::loss::mse);
    }
  });
  t.median /= static_cast<double>(calls);
  t.min /= static_cast<double>(calls);
  if (args.has("out")) save(args.text("out"), after_one.data(), after_one.size());
  char buf[80];
  std::snprintf(buf, sizeof buf, ", \"first_loss\": %.17g", first_loss);
  print("mlp_train_step", threads, repeat, t,
        std::accumulate(after_one.begin(), after_one.end(), 0.0), nn_extra(batch, calls) + buf);
  return 0;
}
#endif

#if RECFUSE_PEER_HAS_GRAPH
int run_graph_aggregate_mean(const arguments& args, int threads, int repeat) {
  const index_t nodes = args.number("nodes");
  const index_t nnz = args.number("nnz");
  const index_t d = args.number("d");
  recfuse::csr_matrix<float> g;
  g.rows = nodes;
  g.cols = nodes;
  g.offsets = load<index_t>(args.text("offsets"), static_cast<std::size_t>(nodes + 1));
  g.indices = load<std::int32_t>(args.text("indices"), static_cast<std::size_t>(nnz));
  g.values.assign(static_cast<std::size_t>(nnz), 1.0f);  // unweighted mean: not read
  const auto x = load<float>(args.text("x"), static_cast<std::size_t>(nodes * d));
  std::vector<float> y(static_cast<std::size_t>(nodes * d));
  const recfuse::matrix_view<const float> in(x.data(), nodes, d);
  const recfuse::matrix_view<float> out(y.data(), nodes, d);
  const recfuse::exec::xsimd policy{threads};
  const recfuse::graph::aggregate_options options{recfuse::graph::aggregation::mean, false};
  const timing t = time_calls(repeat, [&] {
    recfuse::graph::aggregate(policy, g.view(), in, out, options);
    sink<float> = y[0];
  });
  if (args.has("out")) save(args.text("out"), y.data(), y.size());
  char buf[80];
  std::snprintf(buf, sizeof buf, ", \"kernel\": \"%s\"", RECFUSE_PEER_GRAPH_KERNEL);
  print("graph_aggregate_mean", threads, repeat, t, std::accumulate(y.begin(), y.end(), 0.0), buf);
  return 0;
}
#endif

#if RECFUSE_PEER_HAS_BM25
// Lines of space-separated tokens (one document or query per line; an empty line is an empty one).
std::vector<std::vector<std::string>> read_token_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error("cannot open " + path);
  std::vector<std::vector<std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    auto& tokens = out.emplace_back();
    std::size_t at = 0;
    while (at < line.size()) {
      const std::size_t space = std::min(line.find(' ', at), line.size());
      if (space > at) tokens.push_back(line.substr(at, space - at));
      at = space + 1;
    }
  }
  return out;
}

int run_bm25(const arguments& args, int threads, int repeat) {
  const auto corpus = read_token_lines(args.text("corpus"));
  const auto queries = read_token_lines(args.text("queries"));
  const index_t k = args.number("k", 10);
  const recfuse::search::bm25_params params{args.real("k1", 1.5), args.real("b", 0.75)};
  const recfuse::exec::xsimd policy{threads};
  auto t0 = std::chrono::steady_clock::now();
  const recfuse::search::bm25_index<float> index(corpus, params);
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  recfuse::topk_result<float> result;
  const timing t = time_calls(repeat, [&] {
    const auto q = index.encode(queries);
    result = recfuse::search::bm25_topk(policy, index, q.view(), k);
    sink<float> = result.values.empty() ? 0.f : result.values[0];
  });
  const auto encoded = index.encode(queries);
  const timing scoring = time_calls(repeat, [&] {
    result = recfuse::search::bm25_topk(policy, index, encoded.view(), k);
    sink<float> = result.values.empty() ? 0.f : result.values[0];
  });
  double checksum = 0;
  for (std::size_t i = 0; i < result.values.size(); ++i) {
    if (result.indices[i] >= 0) checksum += static_cast<double>(result.values[i]);
  }
  if (args.has("out")) {
    const std::string out = args.text("out");
    save(out + ".indices", result.indices.data(), result.indices.size());
    save(out + ".values", result.values.data(), result.values.size());
  }
  char extra[400];
  std::snprintf(extra, sizeof extra,
                ", \"build_seconds\": %.9g, \"scoring_seconds\": %.9g, \"scoring_min_seconds\": "
                "%.9g, \"documents\": %lld, \"queries\": %lld, \"terms\": %lld, "
                "\"postings\": %lld, \"k\": %lld, \"k1\": %.17g, \"b\": %.17g",
                build_s, scoring.median, scoring.min, static_cast<long long>(index.items()),
                static_cast<long long>(queries.size()), static_cast<long long>(index.terms()),
                static_cast<long long>(index.nnz()), static_cast<long long>(k), params.k1,
                params.b);
  print("bm25", threads, repeat, t, checksum, extra);
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
    {"implicit_als", "recfuse/factorize/implicit_als.hpp", RECFUSE_PEER_HAS_IMPLICIT != 0},
    {"biased_sgd", "recfuse/factorize/biased_mf.hpp", RECFUSE_PEER_HAS_BIASED != 0},
    {"mlp_forward", "recfuse/nn/mlp.hpp", RECFUSE_PEER_HAS_NN != 0},
    {"mlp_train_step", "recfuse/nn/train.hpp", RECFUSE_PEER_HAS_NN != 0},
    {"graph_aggregate_mean", "recfuse/graph/aggregate.hpp", RECFUSE_PEER_HAS_GRAPH != 0},
    {"bm25", "recfuse/search/bm25.hpp", RECFUSE_PEER_HAS_BM25 != 0},
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
#if RECFUSE_PEER_HAS_IMPLICIT
  if (name == "implicit_als") return run_implicit_als(args, threads, repeat);
#endif
#if RECFUSE_PEER_HAS_BIASED
  if (name == "biased_sgd") return run_biased_sgd(args, threads, repeat);
#endif
#if RECFUSE_PEER_HAS_NN
  if (name == "mlp_forward") return run_mlp_forward(args, threads, repeat);
  if (name == "mlp_train_step") return run_mlp_train_step(args, threads, repeat);
#endif
#if RECFUSE_PEER_HAS_GRAPH
  if (name == "graph_aggregate_mean") return run_graph_aggregate_mean(args, threads, repeat);
#endif
#if RECFUSE_PEER_HAS_BM25
  if (name == "bm25") return run_bm25(args, threads, repeat);
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

// ---- the command line (CLI11) -------------------------------------------------------------------

enum class kind { path, count, real, list };

struct option_spec {
  const char* name;
  kind type;
  const char* help;
};

// Every component's options besides --threads, --repeat and --out (the header comment says what
// each means). Values are checked for their form here and converted by the component.
const std::vector<std::pair<const char*, std::vector<option_spec>>>& component_options() {
  using k = kind;
  static const std::vector<option_spec> train = {{"train-user", k::path, "int32 x nnz"},
                                                 {"train-item", k::path, "int32 x nnz"},
                                                 {"train-value", k::path, "float32 x nnz"},
                                                 {"users", k::count, "users"},
                                                 {"items", k::count, "items"},
                                                 {"nnz", k::count, "training entries"},
                                                 {"factors", k::count, "latent factors"},
                                                 {"warmup", k::count, "untimed fits first"}};
  static const std::vector<option_spec> network = {
      {"params", k::path, "float32 parameters, torch's layout"},
      {"widths", k::list, "layer widths, e.g. 64,256,128,1"},
      {"activations", k::list, "e.g. relu,relu,identity"},
      {"x", k::path, "float32 batch x inputs"},
      {"batch", k::count, "rows"},
      {"calls", k::count, "calls per timed repeat"}};
  const auto join = [](std::vector<option_spec> a, const std::vector<option_spec>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  static const std::vector<std::pair<const char*, std::vector<option_spec>>> all = {
      {"list", {}},
      {"defaults", {}},
      {"rmse",
       {{"a", k::path, "float32 x n"}, {"b", k::path, "float32 x n"}, {"n", k::count, "n"}}},
      {"topk_inner_product",
       {{"queries", k::path, "float32 m x d"},
        {"items", k::path, "float32 n x d"},
        {"m", k::count, "queries"},
        {"n", k::count, "items"},
        {"d", k::count, "dimensions"},
        {"k", k::count, "results per query"},
        {"exclude-offsets", k::path, "int64 m + 1"},
        {"exclude-indices", k::path, "int32 item ids"}}},
      {"standard_scaler_fit",
       {{"x", k::path, "float32 rows x cols"},
        {"rows", k::count, "rows"},
        {"cols", k::count, "cols"}}},
      {"standard_scaler_transform",
       {{"x", k::path, "float32 rows x cols"},
        {"rows", k::count, "rows"},
        {"cols", k::count, "cols"}}},
      {"implicit_als", join(train, {{"iterations", k::count, "sweeps"},
                                    {"reg", k::real, "regularization"},
                                    {"alpha", k::real, "confidence scale"},
                                    {"cg-steps", k::count, "conjugate-gradient steps"},
                                    {"k", k::count, "top-k length for the ranking metrics"},
                                    {"exclude-offsets", k::path, "int64 users + 1"},
                                    {"exclude-indices", k::path, "int32 item ids"},
                                    {"relevant-offsets", k::path, "int64 users + 1"},
                                    {"relevant-indices", k::path, "int32 item ids"}})},
      {"biased_sgd", join(train, {{"test-user", k::path, "int32 x test-nnz"},
                                  {"test-item", k::path, "int32 x test-nnz"},
                                  {"test-value", k::path, "float32 x test-nnz"},
                                  {"test-nnz", k::count, "test entries"},
                                  {"epochs", k::count, "epochs"},
                                  {"lr", k::real, "learning rate"},
                                  {"lr-decay", k::real, "learning-rate decay"},
                                  {"reg-bias", k::real, "bias regularisation"},
                                  {"reg-factor", k::real, "factor regularisation"},
                                  {"init-scale", k::real, "initial factor scale"},
                                  {"blocks", k::count, "tile blocks"},
                                  {"seed", k::count, "seed"}})},
      {"mlp_forward", network},
      {"mlp_train_step",
       join(network, {{"y", k::path, "float32 batch x outputs"}, {"lr", k::real, "Adam lr"}})},
      {"graph_aggregate_mean",
       {{"offsets", k::path, "int64 nodes + 1"},
        {"indices", k::path, "int32 sources"},
        {"x", k::path, "float32 nodes x d"},
        {"nodes", k::count, "nodes"},
        {"nnz", k::count, "edges"},
        {"d", k::count, "feature width"}}},
      {"bm25",
       {{"corpus", k::path, "documents, one per line, space-separated tokens"},
        {"queries", k::path, "queries, one per line, space-separated tokens"},
        {"k", k::count, "results per query (default 10)"},
        {"k1", k::real, "BM25 k1 (default 1.5)"},
        {"b", k::real, "BM25 b (default 0.75)"}}},
  };
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "recfuse_peer: the recfuse side of bench/peers/run (see the header of recfuse_peer.cpp)"};
  app.require_subcommand(1);
  // Storage for every option's text: std::map nodes stay put, so CLI11 may bind to them.
  std::map<std::string, std::map<std::string, std::string>> values;
  std::map<std::string, std::vector<CLI::Option*>> given;
  const CLI::Range non_negative(0L, std::numeric_limits<long>::max());
  for (const auto& [name, options] : component_options()) {
    auto* sub = app.add_subcommand(name, name);
    if (std::string(name) == "list" || std::string(name) == "defaults") continue;
    auto& store = values[name];
    auto& opts = given[name];
    const auto add = [&](const char* key, kind type, const char* help) {
      auto* o = sub->add_option(std::string("--") + key, store[key], help);
      if (type == kind::count) o->check(CLI::TypeValidator<long>("INTEGER") & non_negative);
      if (type == kind::real) o->check(CLI::Number);
      opts.push_back(o);
    };
    add("threads", kind::count, "threads (default 2)");
    add("repeat", kind::count, "timed calls (default 5)");
    add("out", kind::path, "write the result here (see the header comment)");
    for (const auto& o : options) add(o.name, o.type, o.help);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  const std::string name = app.get_subcommands().front()->get_name();
  if (name == "defaults") return run_defaults();
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
  std::map<std::string, std::string> chosen;
  for (const auto* o : given[name]) {
    if (o->count() > 0) {
      const std::string key = o->get_name().substr(2);
      chosen[key] = values[name][key];
    }
  }
  try {
    return dispatch(name, arguments(std::move(chosen)));
  } catch (const usage_error& e) {
    std::fprintf(stderr, "recfuse_peer %s: %s\n", name.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recfuse_peer %s: recfuse threw: %s\n", name.c_str(), e.what());
    return 1;
  }
}
