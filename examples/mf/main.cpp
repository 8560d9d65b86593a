// recfuse-mf: train a factorization model on a ratings file, evaluate it on another, and print
// the figures as one JSON object on the last line of standard output.
//
//   recfuse-mf --train PATH --test PATH [--model biased_sgd|biased_als|implicit_als]
//              [--factors N] [--epochs N] [--reg X] [--alpha X] [--no-tune] [--tune-seconds S]
//              [--relevance MIN] [--values ones|counts|log] [--seed N] [--threads N] [--k N]
//              [--save PATH]
//   recfuse-mf --demo [...]        generated data of MovieLens 100K's shape instead of files
//
// Files: `user item rating [time]` per line, tab or space separated (MovieLens u.data, uN.base,
// uN.test; a header line is skipped); ids may be integers or strings.
//
// Settings: with none of --epochs, --reg, --alpha and no --no-tune, the program tunes
// (recfuse/factorize/tune.hpp, grid strategy): it holds out 10% of every user's training ratings
// (split_per_user, seeded by --seed), fits every candidate on the rest with early stopping
// (patience 5) on that validation set, within --tune-seconds (default 60; no new candidate starts
// after it), then refits on the whole training file with the best candidate's regularisation and
// its best epoch (iteration) count. Candidates and bases (docs/generalisation.md):
//   biased_sgd   reg_factor in {0.03, 0.05, 0.07, 0.1, 0.15, 0.2} (reg_bias = reg / 2), 128
//                factors unless --factors, init_scale 0.01, up to 100 epochs;
//   biased_als   reg_factor in {0.03, 0.06, 0.12, 0.25, 0.5} (the library's grid), up to 20 sweeps;
//   implicit_als regularization in {10, 30, 100} x alpha in {1, 3, 10}, up to 15 sweeps, on the
//                --values of the training part, ndcg@k against its held-out items with a value
//                >= --relevance.
// With any of those options, or --no-tune: exactly the settings given and the library's defaults
// for the rest (recfuse/factorize/model.hpp), no tuning. --factors is never tuned. The JSON says
// which ("tuned") and what was used ("reg", "epochs", "alpha"; with tuning "tune_seconds",
// "tune_trials", "validation_value", "validation_curve", "best_iteration").
//
// biased_sgd / biased_als: rmse and mae of the predictions for every test rating (a test user
// or item absent from the training file falls back to the global mean plus the known biases),
// and two baselines on the same test ratings: rmse_global_mean (the training mean) and
// rmse_biases (mu + b_u + b_i with shrinkage, fitted by alternating closed-form sweeps as in
// Koren 2010 / Surprise's BaselineOnly: reg 15 on users, 10 on items, 10 sweeps).
// implicit_als: every training rating is one interaction of value 1 (--values ones), its count
// (counts) or log(1 + count) (log); the relevant items of a user are its test items with a value
// >= --relevance (default 4: "liked" on a star scale; 0 counts every test item); its training
// items are excluded from its top k; users without a relevant test item are skipped.
// precision@k, recall@k, ndcg@k and map@k, and the same for the popularity baseline (items
// ranked by their number of training users).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "recfuse/factorize.hpp"
#include "recfuse/io/ratings.hpp"
#include "recfuse/metrics/error.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/select/topk.hpp"
#include "recfuse/xsimd/all.hpp"

namespace {

using recfuse::index_t;

constexpr const char* usage =
    "usage: recfuse-mf --train PATH --test PATH [--model biased_sgd|biased_als|implicit_als]\n"
    "                  [--factors N] [--epochs N] [--reg X] [--alpha X] [--no-tune]\n"
    "                  [--tune-seconds S] [--relevance MIN] [--values ones|counts|log]\n"
    "                  [--seed N] [--threads N] [--k N] [--save PATH]\n"
    "       recfuse-mf --demo [same options]   (generated data instead of files)\n";

struct arguments {
  std::string train, test, model = "biased_sgd", save, values = "ones";
  bool demo = false, no_tune = false;
  long long factors = -1, epochs = -1, k = 10, threads = 0;
  double reg = -1, alpha = -1, relevance = 4, tune_seconds = 60;
  unsigned long long seed = 0;
  bool seed_set = false;
  // Tuning runs unless a setting it would choose was given, or --no-tune.
  bool tune() const { return !no_tune && epochs < 0 && reg < 0 && alpha < 0; }
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "recfuse-mf: %s\n%s", message.c_str(), usage);
  std::exit(2);
}

template <class N>
N parse_number(std::string_view flag, std::string_view text, N min,
               N max = std::numeric_limits<N>::max()) {
  N value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    fail(std::string(flag) + " needs an integer >= " + std::to_string(min) +
         (max == std::numeric_limits<N>::max() ? "" : " and <= " + std::to_string(max)) +
         ", got '" + std::string(text) + "'");
  }
  return value;
}

double parse_real(std::string_view flag, std::string_view text, double min) {
  double value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
      value < min) {
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", min);
    fail(std::string(flag) + " needs a finite number >= " + bound + ", got '" + std::string(text) +
         "'");
  }
  return value;
}

arguments parse(int argc, char** argv) {
  arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--demo" || flag == "--no-tune") {
      (flag == "--demo" ? a.demo : a.no_tune) = true;
      continue;
    }
    if (flag == "-h" || flag == "--help") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) fail(std::string(flag) + " needs a value");
    const std::string_view value = argv[++i];
    if (flag == "--train")
      a.train = value;
    else if (flag == "--test")
      a.test = value;
    else if (flag == "--model")
      a.model = value;
    else if (flag == "--save")
      a.save = value;
    else if (flag == "--values")
      a.values = value;
    else if (flag == "--reg")
      a.reg = parse_real(flag, value, 0.0);
    else if (flag == "--alpha")
      a.alpha = parse_real(flag, value, 0.0);
    else if (flag == "--relevance")
      a.relevance = parse_real(flag, value, -std::numeric_limits<double>::max());
    else if (flag == "--tune-seconds")
      a.tune_seconds = parse_real(flag, value, 0.0);
    else if (flag == "--factors")
      a.factors = parse_number<long long>(flag, value, 1, 65536);
    else if (flag == "--epochs")
      a.epochs = parse_number<long long>(flag, value, 0, 1000000);
    else if (flag == "--k")
      a.k = parse_number<long long>(flag, value, 1, 1000000);
    else if (flag == "--threads")
      a.threads = parse_number<long long>(flag, value, 0, 4096);
    else if (flag == "--seed") {
      a.seed = parse_number<unsigned long long>(flag, value, 0);
      a.seed_set = true;
    } else {
      fail("unknown option " + std::string(flag));
    }
  }
  if (a.model != "biased_sgd" && a.model != "biased_als" && a.model != "implicit_als")
    fail("--model must be biased_sgd, biased_als or implicit_als, got '" + a.model + "'");
  if (a.values != "ones" && a.values != "counts" && a.values != "log")
    fail("--values must be ones, counts or log, got '" + a.values + "'");
  if (a.alpha >= 0 && a.model != "implicit_als") fail("--alpha applies to implicit_als only");
  if (!a.demo && (a.train.empty() || a.test.empty())) fail("--train and --test are required");
  return a;
}

struct split {
  recfuse::interactions<float> train, test;  // test may hold ids >= train.users / train.items
  std::string source;
};

// MovieLens 100K's shape: 943 users, 1682 items, ~100K ratings on 1..5 from a rank-8 taste
// model with biases, item popularity by a power law; 80/20 split by the seed.
split generate(std::uint64_t seed) {
  constexpr index_t users = 943, items = 1682, rank = 8;
  // mt19937_64's output is fixed by the standard; the distributions are not, so uniform and
  // normal draws are made here (53-bit uniforms, Box-Muller): the same data on every platform.
  std::mt19937_64 rng(seed);
  auto unit = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  auto gauss = [&] {
    const double u1 = 1.0 - unit(), u2 = unit();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  };
  std::vector<double> p(users * rank), q(items * rank), bu(users), bi(items);
  for (auto& x : p) x = 0.35 * gauss();
  for (auto& x : q) x = 0.35 * gauss();
  for (auto& x : bu) x = 0.4 * gauss();
  for (auto& x : bi) x = 0.5 * gauss();
  split s;
  s.source = "generated";
  s.train.users = s.test.users = users;
  s.train.items = s.test.items = items;
  std::vector<char> taken(users * items, 0);
  for (index_t u = 0; u < users; ++u) {
    const index_t count = 20 + static_cast<index_t>(std::pow(unit(), 3.0) * 400);
    for (index_t c = 0; c < count; ++c) {
      const auto i = static_cast<index_t>(std::pow(unit(), 2.5) * items);
      if (taken[u * items + i]) continue;
      taken[u * items + i] = 1;
      double r = 3.53 + bu[u] + bi[i] + 0.3 * gauss();
      for (index_t f = 0; f < rank; ++f) r += p[u * rank + f] * q[i * rank + f];
      auto& set = unit() < 0.8 ? s.train : s.test;
      set.user.push_back(static_cast<std::int32_t>(u));
      set.item.push_back(static_cast<std::int32_t>(i));
      set.value.push_back(static_cast<float>(std::clamp(std::round(r), 1.0, 5.0)));
    }
  }
  return s;
}

split load(const arguments& a) {
  if (a.demo) return generate(a.seed_set ? a.seed : 42);
  recfuse::io::id_map users, items;
  split s;
  s.source = a.train;
  s.train = recfuse::io::load_ratings<float>(a.train, users, items);
  const index_t train_users = users.size(), train_items = items.size();
  s.test = recfuse::io::load_ratings<float>(a.test, users, items);  // new ids are appended
  s.train.users = train_users;
  s.train.items = train_items;
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// What a fit used, for the JSON: the settings, and with tuning what the tuner saw.
struct settings {
  bool tuned = false;
  double reg = 0, alpha = -1;  // alpha < 0: not printed (explicit models)
  int epochs = 0;
  double tune_seconds = 0, validation_value = 0;
  std::string metric;
  int trials = 0, curve = 0, best_iteration = 0;
  bool budget_exhausted = false;

  std::string json() const {
    char buffer[512];
    std::string out;
    std::snprintf(buffer, sizeof buffer, ", \"tuned\": %s, \"reg\": %.6g, \"epochs\": %d",
                  tuned ? "true" : "false", reg, epochs);
    out += buffer;
    if (alpha >= 0) {
      std::snprintf(buffer, sizeof buffer, ", \"alpha\": %.6g", alpha);
      out += buffer;
    }
    if (tuned) {
      std::snprintf(buffer, sizeof buffer,
                    ", \"tune_seconds\": %.6f, \"tune_trials\": %d, \"tune_budget_exhausted\": %s, "
                    "\"validation_metric\": \"%s\", \"validation_value\": %.6f, "
                    "\"validation_curve\": %d, \"best_iteration\": %d",
                    tune_seconds, trials, budget_exhausted ? "true" : "false", metric.c_str(),
                    validation_value, curve, best_iteration);
      out += buffer;
    }
    return out;
  }
};

// The regularised biases baseline: mu + b_u + b_i, fitted by alternating closed-form sweeps
// b_i = sum_u (r - mu - b_u) / (reg_item + n_i), b_u = sum_i (r - mu - b_i) / (reg_user + n_u)
// (Koren 2010; Surprise's BaselineOnly with its ALS defaults), clipped like the models.
struct bias_baseline {
  double mu = 0, lo = 0, hi = 0;
  std::vector<double> bu, bi;

  explicit bias_baseline(const recfuse::interactions<float>& train, double reg_user = 15,
                         double reg_item = 10, int sweeps = 10)
      : bu(static_cast<std::size_t>(train.users)), bi(static_cast<std::size_t>(train.items)) {
    const index_t n = train.size();
    if (n == 0) return;
    lo = hi = train.value[0];
    for (const float r : train.value) {
      mu += r;
      lo = std::min<double>(lo, r);
      hi = std::max<double>(hi, r);
    }
    mu /= static_cast<double>(n);
    std::vector<double> sum_u(bu.size()), sum_i(bi.size()), n_u(bu.size()), n_i(bi.size());
    for (index_t e = 0; e < n; ++e) {
      ++n_u[train.user[e]];
      ++n_i[train.item[e]];
    }
    for (int s = 0; s < sweeps; ++s) {
      std::fill(sum_i.begin(), sum_i.end(), 0.0);
      for (index_t e = 0; e < n; ++e)
        sum_i[train.item[e]] += train.value[e] - mu - bu[train.user[e]];
      for (std::size_t i = 0; i < bi.size(); ++i) bi[i] = sum_i[i] / (reg_item + n_i[i]);
      std::fill(sum_u.begin(), sum_u.end(), 0.0);
      for (index_t e = 0; e < n; ++e)
        sum_u[train.user[e]] += train.value[e] - mu - bi[train.item[e]];
      for (std::size_t u = 0; u < bu.size(); ++u) bu[u] = sum_u[u] / (reg_user + n_u[u]);
    }
  }

  double predict(index_t u, index_t i) const {
    double s = mu;
    if (u < static_cast<index_t>(bu.size())) s += bu[u];
    if (i < static_cast<index_t>(bi.size())) s += bi[i];
    return std::clamp(s, lo, hi);
  }
};

// rmse / mae of an explicit model on every test rating, with the two baselines.
template <class Model>
void report_explicit(const arguments& a, const split& s, const Model& model, double train_seconds,
                     const settings& used, const recfuse::exec::xsimd& cpu) {
  const auto n = s.test.size();
  if (n == 0) fail("the test file holds no ratings");
  std::vector<float> predicted(static_cast<std::size_t>(n));
  recfuse::predict(cpu, model, recfuse::vector_view<const std::int32_t>(s.test.user.data(), n),
                   recfuse::vector_view<const std::int32_t>(s.test.item.data(), n),
                   recfuse::vector_view<float>(predicted.data(), n));
  index_t unseen = 0;
  for (index_t e = 0; e < n; ++e)
    unseen += s.test.user[e] >= model.users || s.test.item[e] >= model.items;
  const double rmse = recfuse::rmse(cpu, predicted, s.test.value);
  const double mae = recfuse::mae(cpu, predicted, s.test.value);
  const bias_baseline biases(s.train);
  std::vector<float> mean(predicted.size(), static_cast<float>(biases.mu)), bias(predicted.size());
  for (index_t e = 0; e < n; ++e)
    bias[e] = static_cast<float>(biases.predict(s.test.user[e], s.test.item[e]));
  const double rmse_mean = recfuse::rmse(cpu, mean, s.test.value);
  const double rmse_biases = recfuse::rmse(cpu, bias, s.test.value);
  std::printf(
      "%s: %lld factors, rmse %.4f, mae %.4f on %lld test ratings (%lld with an unseen "
      "user or item), trained in %.3f s; global mean rmse %.4f, regularised biases rmse %.4f\n",
      a.model.c_str(), static_cast<long long>(model.factors), rmse, mae, static_cast<long long>(n),
      static_cast<long long>(unseen), train_seconds, rmse_mean, rmse_biases);
  std::printf(
      "{\"model\": \"%s\", \"data\": \"%s\", \"factors\": %lld, \"rmse\": %.6f, \"mae\": %.6f, "
      "\"rmse_global_mean\": %.6f, \"rmse_biases\": %.6f, \"test_ratings\": %lld, "
      "\"unseen_test_ratings\": %lld, \"train_seconds\": %.6f%s}\n",
      a.model.c_str(), s.source == "generated" ? "generated" : "files",
      static_cast<long long>(model.factors), rmse, mae, rmse_mean, rmse_biases,
      static_cast<long long>(n), static_cast<long long>(unseen), train_seconds,
      used.json().c_str());
}

// Every user's top k of the items by query . item, its training items excluded, scored against
// the relevant test items.
recfuse::ranking_report rank(const recfuse::exec::xsimd& cpu, recfuse::matrix_view<const float> q,
                             recfuse::matrix_view<const float> items, index_t k,
                             const recfuse::csr_matrix<float>& seen,
                             const recfuse::csr_matrix<float>& liked) {
  const auto top = recfuse::topk_inner_product(cpu, q, items, k, seen.pattern());
  return recfuse::evaluate_ranking(cpu, top.indices_view(), liked.pattern(), k);
}

void report_implicit(const arguments& a, const split& s,
                     const recfuse::implicit_mf_model<float>& model, double train_seconds,
                     const settings& used, const recfuse::exec::xsimd& cpu) {
  // Users are every id in either file; a test-only user has zero factors (its scores tie, so
  // its list is the first items by id: it counts, and scores what an unseen user can).
  const index_t users = std::max(s.train.users, s.test.users);
  const index_t items = model.items;
  const index_t all_items = std::max(s.train.items, s.test.items);
  recfuse::interactions<float> seen = s.train, liked;
  seen.users = users;
  liked.users = users;
  liked.items = all_items;
  for (index_t e = 0; e < s.test.size(); ++e) {
    if (!(s.test.value[e] >= a.relevance)) continue;
    liked.user.push_back(s.test.user[e]);
    liked.item.push_back(s.test.item[e]);
    liked.value.push_back(1.0f);
  }
  const auto seen_csr = recfuse::to_csr(seen.view());
  const auto liked_csr = recfuse::to_csr(liked.view());
  std::vector<float> queries(static_cast<std::size_t>(users * model.factors), 0.0f);
  std::copy(model.user_factors.begin(), model.user_factors.end(), queries.begin());
  const auto k = static_cast<index_t>(a.k);
  const auto r = rank(cpu, {queries.data(), users, model.factors}, model.item_matrix(), k, seen_csr,
                      liked_csr);
  // Popularity: every user's query is 1 and an item's score its number of training entries.
  std::vector<float> ones(static_cast<std::size_t>(users), 1.0f);
  std::vector<float> count(static_cast<std::size_t>(s.train.items), 0.0f);
  for (const auto i : s.train.item) ++count[i];
  const auto p =
      rank(cpu, {ones.data(), users, 1}, {count.data(), s.train.items, 1}, k, seen_csr, liked_csr);
  std::printf(
      "implicit_als: %lld factors, top %lld of %lld items for %lld users with a relevant "
      "test item: precision %.4f, recall %.4f, ndcg %.4f, map %.4f; trained in %.3f s; "
      "popularity: precision %.4f, recall %.4f, ndcg %.4f, map %.4f\n",
      static_cast<long long>(model.factors), a.k, static_cast<long long>(items),
      static_cast<long long>(r.users), r.precision, r.recall, r.ndcg, r.map, train_seconds,
      p.precision, p.recall, p.ndcg, p.map);
  const auto k_ = a.k;
  std::printf(
      "{\"model\": \"implicit_als\", \"data\": \"%s\", \"factors\": %lld, \"users\": %lld, "
      "\"precision@%lld\": %.6f, \"recall@%lld\": %.6f, \"ndcg@%lld\": %.6f, \"map@%lld\": %.6f, "
      "\"precision@%lld_popularity\": %.6f, \"recall@%lld_popularity\": %.6f, "
      "\"ndcg@%lld_popularity\": %.6f, \"map@%lld_popularity\": %.6f, \"values\": \"%s\", "
      "\"relevance\": %.6g, \"train_seconds\": %.6f%s}\n",
      s.source == "generated" ? "generated" : "files", static_cast<long long>(model.factors),
      static_cast<long long>(r.users), k_, r.precision, k_, r.recall, k_, r.ndcg, k_, r.map, k_,
      p.precision, k_, p.recall, k_, p.ndcg, k_, p.map, a.values.c_str(), a.relevance,
      train_seconds, used.json().c_str());
}

// The tuner's settings: --tune-seconds, a 10% per-user validation carve seeded by --seed.
recfuse::tune_options tuning(const arguments& a) {
  recfuse::tune_options t;
  t.time_budget_seconds = a.tune_seconds;
  t.validation_fraction = 0.1;
  t.seed = a.seed;
  return t;
}

// What the tuner chose, for the JSON.
template <class Options>
void note(settings& used, const recfuse::tune_result<Options>& r, double seconds) {
  used.tuned = true;
  used.tune_seconds = seconds;
  used.trials = static_cast<int>(r.trials.size());
  used.budget_exhausted = r.budget_exhausted;
  used.metric = r.best_report.metric;
  used.validation_value = r.best_value;
  used.curve = static_cast<int>(r.best_report.curve.size());
  used.best_iteration = r.best_report.best_iteration;
}

// The training values implicit_als sees (--values).
void implicit_values(const arguments& a, recfuse::interactions<float>& train) {
  for (auto& v : train.value) {
    if (a.values == "ones")
      v = 1.0f;
    else if (a.values == "log")
      v = static_cast<float>(std::log1p(std::max(0.0f, v)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const arguments a = parse(argc, argv);
  try {
    const recfuse::exec::xsimd cpu{static_cast<int>(a.threads)};
    split s = load(a);
    std::printf("data: %s, %lld users and %lld items in train, %lld train and %lld test ratings\n",
                s.source.c_str(), static_cast<long long>(s.train.users),
                static_cast<long long>(s.train.items), static_cast<long long>(s.train.size()),
                static_cast<long long>(s.test.size()));
    const auto t0 = std::chrono::steady_clock::now();
    settings used;
    if (a.model == "biased_sgd") {
      recfuse::sgd_options o;
      if (a.factors > 0) o.factors = a.factors;
      if (a.epochs >= 0) o.epochs = static_cast<int>(a.epochs);
      if (a.reg >= 0) o.reg_factor = a.reg;
      if (a.seed_set) o.seed = a.seed;
      if (a.tune()) {
        // The tuning base (docs/generalisation.md): more factors and a smaller start than the
        // library's defaults, and up to 100 epochs cut by early stopping.
        if (a.factors <= 0) o.factors = 128;
        o.init_scale = 0.01;
        o.epochs = 100;
        auto t = tuning(a);
        t.reg_grid = {0.03, 0.05, 0.07, 0.1, 0.15, 0.2};
        const auto r = recfuse::tune_biased_sgd(cpu, s.train.view(), o, t);
        note(used, r, seconds_since(t0));
        o = r.best;  // the chosen reg_factor (reg_bias in proportion) and best epoch
      }
      used.reg = o.reg_factor;
      used.epochs = o.epochs;
      const auto t1 = std::chrono::steady_clock::now();
      const auto model = recfuse::fit_biased_sgd(cpu, s.train.view(), o);
      const double train_seconds = seconds_since(t1);
      if (!a.save.empty()) recfuse::save_model(a.save, model);
      report_explicit(a, s, model, train_seconds, used, cpu);
    } else if (a.model == "biased_als") {
      recfuse::als_options o;
      if (a.factors > 0) o.factors = a.factors;
      if (a.epochs >= 0) o.iterations = static_cast<int>(a.epochs);
      if (a.reg >= 0) o.reg_factor = a.reg;
      if (a.seed_set) o.seed = a.seed;
      if (a.tune()) {
        o.iterations = 20;  // cut by early stopping
        const auto r = recfuse::tune_biased_als(cpu, s.train.view(), o, tuning(a));
        note(used, r, seconds_since(t0));
        o = r.best;
      }
      used.reg = o.reg_factor;
      used.epochs = o.iterations;
      const auto t1 = std::chrono::steady_clock::now();
      const auto model = recfuse::fit_biased_als(cpu, s.train.view(), o);
      const double train_seconds = seconds_since(t1);
      if (!a.save.empty()) recfuse::save_model(a.save, model);
      report_explicit(a, s, model, train_seconds, used, cpu);
    } else {
      recfuse::implicit_als_options o;
      if (a.factors > 0) o.factors = a.factors;
      if (a.epochs >= 0) o.iterations = static_cast<int>(a.epochs);
      if (a.reg >= 0) o.regularization = a.reg;
      if (a.alpha >= 0) o.alpha = a.alpha;
      if (a.seed_set) o.seed = a.seed;
      if (a.tune()) {
        // The validation carve is made here, before the values are transformed, so that its
        // relevant entries are those the test uses (value >= --relevance).
        auto carve = recfuse::split_per_user(s.train.view(), 0.1, a.seed);
        auto& held = carve.validation;
        std::size_t kept = 0;
        for (std::size_t e = 0; e < held.value.size(); ++e) {
          if (!(held.value[e] >= a.relevance)) continue;
          held.user[kept] = held.user[e];
          held.item[kept] = held.item[e];
          held.value[kept++] = 1.0f;
        }
        held.user.resize(kept);
        held.item.resize(kept);
        held.value.resize(kept);
        if (kept == 0) {
          fail(
              "tuning found no held-out training item with a value >= --relevance in the 10% "
              "validation carve; lower --relevance, or pass --no-tune or settings");
        }
        implicit_values(a, carve.train);
        recfuse::validation<float> v;
        v.data = held.view();
        v.k = static_cast<index_t>(a.k);
        auto t = tuning(a);
        t.reg_grid = {10, 30, 100};  // around the library's defaults (30, 2): 9 fits, not 25
        t.alpha_grid = {1, 3, 10};
        const auto r = recfuse::tune_implicit_als(cpu, carve.train.view(), o, t, &v);
        note(used, r, seconds_since(t0));
        o = r.best;
      }
      used.reg = o.regularization;
      used.alpha = o.alpha;
      used.epochs = o.iterations;
      implicit_values(a, s.train);
      const auto t1 = std::chrono::steady_clock::now();
      const auto model = recfuse::fit_implicit_als(cpu, s.train.view(), o);
      const double train_seconds = seconds_since(t1);
      if (!a.save.empty()) recfuse::save_model(a.save, model);
      report_implicit(a, s, model, train_seconds, used, cpu);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recfuse-mf: %s\n", e.what());
    return 1;
  }
  return 0;
}
