// recfuse-mf: train a factorization model on a ratings file, evaluate it on another, and print
// the figures as one JSON object on the last line of standard output.
//
//   recfuse-mf --train PATH --test PATH [--model biased_sgd|biased_als|implicit_als]
//              [--factors N] [--epochs N] [--seed N] [--threads N] [--k N] [--save PATH]
//   recfuse-mf --demo [...]        generated data of MovieLens 100K's shape instead of files
//
// Files: `user item rating [time]` per line, tab or space separated (MovieLens u.data, uN.base,
// uN.test); ids may be integers or strings. Every option left out takes the library's default
// (recfuse/factorize/model.hpp): the program tunes nothing.
//
// biased_sgd / biased_als: rmse and mae of the predictions for every test rating (a test user
// or item absent from the training file falls back to the global mean plus the known biases).
// implicit_als: every training rating is an interaction of value 1; the relevant items of a
// user are its test items rated 4 or more; its training items are excluded from its top k;
// users without a relevant test item are skipped. precision@k, recall@k, ndcg@k and map@k.
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
    "                  [--factors N] [--epochs N] [--seed N] [--threads N] [--k N] [--save PATH]\n"
    "       recfuse-mf --demo [same options]   (generated data instead of files)\n";

struct arguments {
  std::string train, test, model = "biased_sgd", save;
  bool demo = false;
  long long factors = -1, epochs = -1, k = 10, threads = 0;
  unsigned long long seed = 0;
  bool seed_set = false;
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

arguments parse(int argc, char** argv) {
  arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--demo") {
      a.demo = true;
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

// rmse / mae of an explicit model on every test rating.
template <class Model>
void report_explicit(const arguments& a, const split& s, const Model& model, double train_seconds,
                     const recfuse::exec::xsimd& cpu) {
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
  std::printf(
      "%s: %lld factors, rmse %.4f, mae %.4f on %lld test ratings (%lld with an unseen "
      "user or item), trained in %.3f s\n",
      a.model.c_str(), static_cast<long long>(model.factors), rmse, mae, static_cast<long long>(n),
      static_cast<long long>(unseen), train_seconds);
  std::printf(
      "{\"model\": \"%s\", \"data\": \"%s\", \"factors\": %lld, \"rmse\": %.6f, \"mae\": %.6f, "
      "\"test_ratings\": %lld, \"unseen_test_ratings\": %lld, \"train_seconds\": %.6f}\n",
      a.model.c_str(), s.source == "generated" ? "generated" : "files",
      static_cast<long long>(model.factors), rmse, mae, static_cast<long long>(n),
      static_cast<long long>(unseen), train_seconds);
}

void report_implicit(const arguments& a, const split& s,
                     const recfuse::implicit_mf_model<float>& model, double train_seconds,
                     const recfuse::exec::xsimd& cpu) {
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
    if (s.test.value[e] < 4.0f) continue;
    liked.user.push_back(s.test.user[e]);
    liked.item.push_back(s.test.item[e]);
    liked.value.push_back(1.0f);
  }
  const auto seen_csr = recfuse::to_csr(seen.view());
  const auto liked_csr = recfuse::to_csr(liked.view());
  std::vector<float> queries(static_cast<std::size_t>(users * model.factors), 0.0f);
  std::copy(model.user_factors.begin(), model.user_factors.end(), queries.begin());
  const recfuse::matrix_view<const float> q(queries.data(), users, model.factors);
  const auto k = static_cast<index_t>(a.k);
  const auto top = recfuse::topk_inner_product(cpu, q, model.item_matrix(), k, seen_csr.pattern());
  const auto r = recfuse::evaluate_ranking(cpu, top.indices_view(), liked_csr.pattern(), k);
  std::printf(
      "implicit_als: %lld factors, top %lld of %lld items for %lld users with a relevant "
      "test item: precision %.4f, recall %.4f, ndcg %.4f, map %.4f; trained in %.3f s\n",
      static_cast<long long>(model.factors), a.k, static_cast<long long>(items),
      static_cast<long long>(r.users), r.precision, r.recall, r.ndcg, r.map, train_seconds);
  std::printf(
      "{\"model\": \"implicit_als\", \"data\": \"%s\", \"factors\": %lld, \"users\": %lld, "
      "\"precision@%lld\": %.6f, \"recall@%lld\": %.6f, \"ndcg@%lld\": %.6f, \"map@%lld\": %.6f, "
      "\"train_seconds\": %.6f}\n",
      s.source == "generated" ? "generated" : "files", static_cast<long long>(model.factors),
      static_cast<long long>(r.users), a.k, r.precision, a.k, r.recall, a.k, r.ndcg, a.k, r.map,
      train_seconds);
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
    if (a.model == "biased_sgd") {
      recfuse::sgd_options o;
      if (a.factors > 0) o.factors = a.factors;
      if (a.epochs >= 0) o.epochs = static_cast<int>(a.epochs);
      if (a.seed_set) o.seed = a.seed;
      const auto model = recfuse::fit_biased_sgd(cpu, s.train.view(), o);
      const double train_seconds = seconds_since(t0);
      if (!a.save.empty()) recfuse::save_model(a.save, model);
      report_explicit(a, s, model, train_seconds, cpu);
    } else if (a.model == "biased_als") {
      recfuse::als_options o;
      if (a.factors > 0) o.factors = a.factors;
      if (a.epochs >= 0) o.iterations = static_cast<int>(a.epochs);
      if (a.seed_set) o.seed = a.seed;
      const auto model = recfuse::fit_biased_als(cpu, s.train.view(), o);
      const double train_seconds = seconds_since(t0);
      if (!a.save.empty()) recfuse::save_model(a.save, model);
      report_explicit(a, s, model, train_seconds, cpu);
    } else {
      recfuse::implicit_als_options o;
      if (a.factors > 0) o.factors = a.factors;
      if (a.epochs >= 0) o.iterations = static_cast<int>(a.epochs);
      if (a.seed_set) o.seed = a.seed;
      std::fill(s.train.value.begin(), s.train.value.end(), 1.0f);  // every rating: one event
      const auto t1 = std::chrono::steady_clock::now();
      const auto model = recfuse::fit_implicit_als(cpu, s.train.view(), o);
      const double train_seconds = seconds_since(t1);
      if (!a.save.empty()) recfuse::save_model(a.save, model);
      report_implicit(a, s, model, train_seconds, cpu);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recfuse-mf: %s\n", e.what());
    return 1;
  }
  return 0;
}
