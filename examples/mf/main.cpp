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
//   biased_sgd   reg_factor in {0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5} (reg_bias =
//                reg / 2), 256 factors unless --factors, init_scale 0.01, learning_rate 0.01,
//                up to 100 epochs;
//   biased_als   reg_factor in {0.03, 0.06, 0.12, 0.25, 0.5} (the library's grid), up to 20 sweeps;
//   implicit_als regularization in {10, 30, 100, 300} x alpha in {1, 3, 10, 40}, up to 15
//                sweeps, on the --values of the training part, ndcg@k against its held-out
//                items with a value >= --relevance.
// With any of those options, or --no-tune: exactly the settings given and the library's defaults
// for the rest (recfuse/factorize/model.hpp), no tuning. --factors is never tuned. The JSON says
// which ("tuned") and what was used ("reg", "epochs", "alpha"; with tuning "tune_seconds",
// "tune_trials", "validation_value", "validation_curve", "best_iteration").
// Options are parsed by CLI11 (--help lists them); a bad value or an unknown option exits with
// status 2 and a message naming it. The JSON line is written by nlohmann-json: a figure that is
// NaN or infinite (the rmse and mae of a fit diverged by settings given by hand) is null;
// figures have six decimals.
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
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "../common/cli.hpp"
#include "../common/generated.hpp"
#include "recfuse/factorize.hpp"
#include "recfuse/io/ratings.hpp"
#include "recfuse/metrics/error.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/select/topk.hpp"
#include "recfuse/xsimd/all.hpp"

namespace {

using recfuse::index_t;

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
  std::fprintf(stderr, "recfuse-mf: %s\nRun with --help for the options.\n", message.c_str());
  std::exit(2);
}

arguments parse(int argc, char** argv) {
  arguments a;
  CLI::App app{
      "recfuse-mf: train a factorization model on a ratings file, evaluate it on another, and "
      "print the figures as one JSON object on the last line (docs/generalisation.md)",
      "recfuse-mf"};
  // An option given twice takes its last value (as before CLI11).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--train", a.train, "training ratings: user item rating [time] per line");
  app.add_option("--test", a.test, "test ratings, same format");
  app.add_flag("--demo", a.demo, "generated data of MovieLens 100K's shape instead of files");
  app.add_option("--model", a.model, "the model")
      ->check(CLI::IsMember({"biased_sgd", "biased_als", "implicit_als"}));
  app.add_option("--factors", a.factors, "latent factors (default: 256 tuned sgd, else 64)")
      ->check(examples::integer_in(1, 65536));
  app.add_option("--epochs", a.epochs, "epochs / sweeps (given: no tuning)")
      ->check(examples::integer_in(0, 1000000));
  app.add_option("--reg", a.reg, "factor regularisation (given: no tuning)")
      ->check(examples::finite_number(0.0));
  app.add_option("--alpha", a.alpha, "implicit_als confidence scale (given: no tuning)")
      ->check(examples::finite_number(0.0));
  app.add_flag("--no-tune", a.no_tune, "the library's defaults, no tuning");
  app.add_option("--tune-seconds", a.tune_seconds,
                 "no new tuning candidate starts after this (default 60)")
      ->check(examples::finite_number(0.0));
  app.add_option("--relevance", a.relevance,
                 "implicit_als: a test item is relevant when its value is >= this (default 4)")
      ->check(examples::finite_number());
  app.add_option("--values", a.values, "implicit_als training values (default ones)")
      ->check(CLI::IsMember({"ones", "counts", "log"}));
  auto* seed = app.add_option("--seed", a.seed, "seed of the carve (and of --demo's data)")
                   ->check(examples::finite_number(0.0));
  app.add_option("--threads", a.threads, "threads (0: all)")->check(examples::integer_in(0, 4096));
  app.add_option("--k", a.k, "implicit_als: the length of the top list (default 10)")
      ->check(examples::integer_in(1, 1000000));
  app.add_option("--save", a.save, "write the fitted model to this file");
  examples::parse_or_exit(app, argc, argv);
  a.seed_set = seed->count() > 0;
  if (a.alpha >= 0 && a.model != "implicit_als") fail("--alpha applies to implicit_als only");
  if (!a.demo && (a.train.empty() || a.test.empty())) fail("--train and --test are required");
  return a;
}

struct split {
  recfuse::interactions<float> train, test;  // test may hold ids >= train.users / train.items
  std::string source;
};

// MovieLens 100K's shape (examples/common/generated.hpp), 80/20 split by the seed.
split generate(std::uint64_t seed) {
  split s;
  s.source = "generated";
  s.train.users = s.test.users = 943;
  s.train.items = s.test.items = 1682;
  examples::generate_ratings(seed, {.max_extra = 400, .train_fraction = 0.8},
                             [&](std::int32_t u, std::int32_t i, float r, bool test) {
                               auto& set = test ? s.test : s.train;
                               set.user.push_back(u);
                               set.item.push_back(i);
                               set.value.push_back(r);
                             });
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

using json = nlohmann::ordered_json;

// What a fit used, for the JSON: the settings, and with tuning what the tuner saw.
struct settings {
  bool tuned = false;
  double reg = 0, alpha = -1;  // alpha < 0: not printed (explicit models)
  int epochs = 0;
  double tune_seconds = 0, validation_value = 0;
  std::string metric;
  int trials = 0, curve = 0, best_iteration = 0;
  bool budget_exhausted = false;

  // Adds the keys to a JSON object.
  void add_to(json& out) const {
    out["tuned"] = tuned;
    out["reg"] = examples::figure(reg);
    out["epochs"] = epochs;
    if (alpha >= 0) out["alpha"] = examples::figure(alpha);
    if (!tuned) return;
    out["tune_seconds"] = examples::figure(tune_seconds);
    out["tune_trials"] = trials;
    out["tune_budget_exhausted"] = budget_exhausted;
    out["validation_metric"] = metric;
    out["validation_value"] = examples::figure(validation_value);
    out["validation_curve"] = curve;
    out["best_iteration"] = best_iteration;
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
  // A diverged fit (settings given by hand, e.g. a huge --reg) predicts NaN: its rmse and mae
  // are then NaN, written as null, and the baselines are still reported.
  const bool all_finite =
      std::all_of(predicted.begin(), predicted.end(), [](float x) { return std::isfinite(x); });
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double rmse = all_finite ? recfuse::rmse(cpu, predicted, s.test.value) : nan;
  const double mae = all_finite ? recfuse::mae(cpu, predicted, s.test.value) : nan;
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
  json out;
  out["model"] = a.model;
  out["data"] = s.source == "generated" ? "generated" : "files";
  out["factors"] = model.factors;
  out["rmse"] = examples::figure(rmse);
  out["mae"] = examples::figure(mae);
  out["rmse_global_mean"] = examples::figure(rmse_mean);
  out["rmse_biases"] = examples::figure(rmse_biases);
  out["test_ratings"] = n;
  out["unseen_test_ratings"] = unseen;
  out["train_seconds"] = examples::figure(train_seconds);
  used.add_to(out);
  std::puts(out.dump().c_str());
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
  const std::string at = "@" + std::to_string(a.k);
  json out;
  out["model"] = "implicit_als";
  out["data"] = s.source == "generated" ? "generated" : "files";
  out["factors"] = model.factors;
  out["users"] = r.users;
  for (const auto& [suffix, x] : {std::pair{"", r}, std::pair{"_popularity", p}}) {
    out["precision" + at + suffix] = examples::figure(x.precision);
    out["recall" + at + suffix] = examples::figure(x.recall);
    out["ndcg" + at + suffix] = examples::figure(x.ndcg);
    out["map" + at + suffix] = examples::figure(x.map);
  }
  out["values"] = a.values;
  out["relevance"] = examples::figure(a.relevance);
  out["train_seconds"] = examples::figure(train_seconds);
  used.add_to(out);
  std::puts(out.dump().c_str());
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
        // The tuning base (docs/generalisation.md): more factors, a smaller start and a lower
        // learning rate than the library's defaults, and up to 100 epochs cut by early
        // stopping.
        if (a.factors <= 0) o.factors = 256;
        o.init_scale = 0.01;
        o.learning_rate = 0.01;
        o.epochs = 100;
        auto t = tuning(a);
        t.reg_grid = {0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5};
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
        // Around the library's defaults (30, 2) and up to the strong regularisation and
        // confidence that sparse data needs (docs/generalisation.md): 16 fits.
        t.reg_grid = {10, 30, 100, 300};
        t.alpha_grid = {1, 3, 10, 40};
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
