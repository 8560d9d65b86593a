// recfuse quickstart: scale item features, score users against items, select the top 10 per
// user with the items they already rated excluded, and evaluate against held-out ratings.
//
//   quickstart [--data DIR] [--train FILE] [--test FILE] [--threads N] [--seed N]
//
// DIR defaults to ../shared/data/ml-100k (MovieLens 100K: u1.base / u1.test / u.item, read by
// recfuse::io; FILE names are relative to DIR). Where they are absent the program says so and
// generates data of the same shape (seeded by --seed), so it runs anywhere. The command line is
// parsed by CLI11: a malformed one (an unknown option, a number that is not a decimal integer in
// range) prints the reason and exits with status 2. The last line of standard output is one JSON
// object with the figures (nlohmann-json).
//
// The scorers are deliberately simple (factorization arrives with its own component):
//   popularity:  items ranked by how many train users rated them 4 or more;
//   content:     cosine between a user's taste profile and each item's scaled features;
//   blend:       content + a popularity prior, as one inner product over augmented vectors.
// Ratings are predicted by the usual baseline mu + b_user + b_item, evaluated with RMSE/MAE.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "../common/cli.hpp"
#include "recfuse/core/sparse.hpp"
#include "recfuse/io/id_map.hpp"
#include "recfuse/io/movielens.hpp"
#include "recfuse/io/ratings.hpp"
#include "recfuse/metrics/error.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/scale/standard_scaler.hpp"
#include "recfuse/select/topk.hpp"
#include "recfuse/xsimd/all.hpp"

namespace {

using recfuse::index_t;

struct dataset {
  std::string source;  // "ml-100k" or "generated"
  index_t users = 0;
  index_t items = 0;
  recfuse::interactions<float> train, test;  // dense ids: recfuse::io's first-seen order
  std::vector<std::string> user_keys;        // the ids as the files spell them
  std::vector<std::string> titles;
  std::vector<float> item_features;  // items x features, row-major (genre flags, year)
  index_t features = 0;
};

constexpr index_t genres = 19;

// Same shape as MovieLens 100K: users with latent genre tastes rate items carrying genres.
dataset generate(std::uint64_t seed) {
  dataset d;
  d.source = "generated";
  d.users = 943;
  d.items = 1682;
  d.features = genres + 1;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::normal_distribution<float> noise(0.0f, 0.7f);
  d.item_features.assign(d.items * d.features, 0.0f);
  std::vector<float> quality(d.items), appeal(d.items);
  for (index_t i = 0; i < d.items; ++i) {
    d.titles.push_back("Generated item " + std::to_string(i + 1));
    for (index_t g = 0; g < genres; ++g)
      d.item_features[i * d.features + g] = unit(rng) < 0.12f ? 1.0f : 0.0f;
    d.item_features[i * d.features + genres] = 1930.0f + std::floor(68.0f * std::sqrt(unit(rng)));
    quality[i] = noise(rng);
    appeal[i] = std::pow(unit(rng), 3.0f);  // a few items are seen by many users
  }
  struct rating {
    index_t user, item;
    float value;
  };
  std::vector<rating> all;
  for (index_t u = 0; u < d.users; ++u) {
    d.user_keys.push_back(std::to_string(u + 1));
    std::vector<float> taste(genres);
    for (auto& t : taste) t = noise(rng);
    const index_t count = 20 + static_cast<index_t>(std::pow(unit(rng), 2.0f) * 300);
    for (index_t c = 0; c < count; ++c) {
      index_t i = static_cast<index_t>(unit(rng) * static_cast<float>(d.items));
      i = std::min(i, d.items - 1);
      if (unit(rng) > 0.2f + appeal[i]) continue;
      float s = 3.5f + quality[i] + noise(rng) * 0.5f;
      for (index_t g = 0; g < genres; ++g)
        s += 0.4f * taste[g] * d.item_features[i * d.features + g];
      all.push_back({u, i, std::clamp(std::round(s), 1.0f, 5.0f)});
    }
  }
  std::sort(all.begin(), all.end(), [](const rating& a, const rating& b) {
    return a.user != b.user ? a.user < b.user : a.item < b.item;
  });
  all.erase(std::unique(all.begin(), all.end(),
                        [](const rating& a, const rating& b) {
                          return a.user == b.user && a.item == b.item;
                        }),
            all.end());
  for (auto* set : {&d.train, &d.test}) {
    set->users = d.users;
    set->items = d.items;
  }
  for (const auto& r : all) {
    auto& set = unit(rng) < 0.8f ? d.train : d.test;
    set.user.push_back(static_cast<std::int32_t>(r.user));
    set.item.push_back(static_cast<std::int32_t>(r.item));
    set.value.push_back(r.value);
  }
  return d;
}

// MovieLens through recfuse::io: the two rating files share id maps; u.item gives each rated
// item's title, genre flags and release year (1995 where unknown). Features: the flags and the
// year.
dataset load(const std::filesystem::path& dir, const std::string& train, const std::string& test,
             std::uint64_t seed) {
  if (!std::filesystem::exists(dir / train) || !std::filesystem::exists(dir / test) ||
      !std::filesystem::exists(dir / "u.item")) {
    std::cout << "MovieLens data not found under " << dir
              << ": using generated data of the same shape\n";
    return generate(seed);
  }
  dataset d;
  d.source = "ml-100k";
  recfuse::io::id_map users, items;
  d.train = recfuse::io::load_ratings<float>(dir / train, users, items);
  d.test = recfuse::io::load_ratings<float>(dir / test, users, items);
  const auto meta = recfuse::io::load_movielens_items(dir / "u.item", items);
  d.users = d.train.users = d.test.users = users.size();
  d.items = d.train.items = d.test.items = items.size();
  d.user_keys = users.keys();
  d.titles = meta.titles;
  d.features = genres + 1;
  d.item_features.assign(d.items * d.features, 0.0f);
  for (index_t i = 0; i < d.items; ++i) {
    for (index_t e = meta.genres.offsets[i]; e < meta.genres.offsets[i + 1]; ++e)
      d.item_features[i * d.features + meta.genres.indices[e]] = 1.0f;
    d.item_features[i * d.features + genres] =
        meta.year[i] > 0 ? static_cast<float>(meta.year[i]) : 1995.0f;
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "../shared/data/ml-100k";
  std::string train_file = "u1.base", test_file = "u1.test";
  int threads = 2;
  std::uint64_t seed = 42;
  CLI::App app{"recfuse quickstart: scale, score, top-k with exclusion, evaluate", "quickstart"};
  app.add_option("--data", data_dir, "MovieLens 100K folder")->capture_default_str();
  app.add_option("--train", train_file, "training ratings, relative to --data")
      ->capture_default_str();
  app.add_option("--test", test_file, "test ratings, relative to --data")->capture_default_str();
  app.add_option("--threads", threads, "threads")
      ->check(examples::integer_in(1, 1024))
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the generated data")
      ->check(examples::integer_in<std::uint64_t>(0, std::numeric_limits<std::uint64_t>::max()))
      ->capture_default_str();
  examples::parse_or_exit(app, argc, argv);
  try {
    const auto start = std::chrono::steady_clock::now();
    const recfuse::exec::xsimd cpu{threads};
    const dataset d = load(data_dir, train_file, test_file, seed);
    const index_t users = d.users, items = d.items, nf = d.features;
    const auto& train = d.train;
    const auto& test = d.test;
    std::cout << "data: " << d.source << ", " << users << " users, " << items << " items, "
              << train.size() << " train and " << test.size() << " test ratings\n";

    // 1. Ratings: the baseline mu + b_u + b_i (regularised means), evaluated with rmse and mae.
    double mu = 0;
    for (float v : train.value) mu += v;
    mu /= static_cast<double>(train.size());
    std::vector<double> bi(items, 0), bu(users, 0), count_i(items, 0), count_u(users, 0);
    for (index_t e = 0; e < train.size(); ++e)
      bi[train.item[e]] += train.value[e] - mu, count_i[train.item[e]] += 1;
    for (index_t i = 0; i < items; ++i) bi[i] /= count_i[i] + 25.0;
    for (index_t e = 0; e < train.size(); ++e) {
      bu[train.user[e]] += train.value[e] - mu - bi[train.item[e]];
      count_u[train.user[e]] += 1;
    }
    for (index_t u = 0; u < users; ++u) bu[u] /= count_u[u] + 10.0;
    std::vector<float> predicted, mean_only;
    for (index_t e = 0; e < test.size(); ++e) {
      predicted.push_back(
          static_cast<float>(std::clamp(mu + bu[test.user[e]] + bi[test.item[e]], 1.0, 5.0)));
      mean_only.push_back(static_cast<float>(mu));
    }
    const double rmse_mean = recfuse::rmse(cpu, mean_only, test.value);
    const double rmse_baseline = recfuse::rmse(cpu, predicted, test.value);
    const double mae_baseline = recfuse::mae(cpu, predicted, test.value);

    // 2. Item features: genre flags, year, and how well the item did in train; standard-scaled.
    const index_t cols = nf + 2;
    std::vector<float> features(items * cols);
    std::vector<double> liked(items, 0);
    for (index_t e = 0; e < train.size(); ++e)
      if (train.value[e] >= 4) liked[train.item[e]] += 1;
    for (index_t i = 0; i < items; ++i) {
      std::copy_n(d.item_features.begin() + i * nf, nf, features.begin() + i * cols);
      features[i * cols + nf] = static_cast<float>(std::log1p(count_i[i]));
      features[i * cols + nf + 1] = static_cast<float>(bi[i]);
    }
    recfuse::matrix_view<float> feature_view(features.data(), items, cols);
    recfuse::standard_scaler<float> scaler;
    scaler.fit(cpu, feature_view);
    scaler.transform(cpu, feature_view, feature_view);

    // 3. User taste: mean scaled features of the items the user liked in train; then cosine.
    std::vector<float> taste(users * cols, 0.0f);
    for (index_t e = 0; e < train.size(); ++e) {
      if (train.value[e] < 4) continue;
      for (index_t c = 0; c < cols; ++c)
        taste[train.user[e] * cols + c] += features[train.item[e] * cols + c];
    }
    recfuse::matrix_view<float> taste_view(taste.data(), users, cols);
    recfuse::normalize_rows(cpu, taste_view, taste_view);
    recfuse::normalize_rows(cpu, feature_view, feature_view);

    // 4. Three scorers as inner products over augmented vectors [cosine part | popularity]:
    //    score(u, i) = w_content * <taste_u, item_i> + w_pop * popularity_i.
    double max_liked = 1;
    for (double l : liked) max_liked = std::max(max_liked, l);
    auto augmented = [&](const std::vector<float>& base, index_t rows, float w_content, float w_pop,
                         bool item_side) {
      std::vector<float> out(rows * (cols + 1));
      for (index_t r = 0; r < rows; ++r) {
        for (index_t c = 0; c < cols; ++c) out[r * (cols + 1) + c] = w_content * base[r * cols + c];
        out[r * (cols + 1) + cols] = item_side ? static_cast<float>(liked[r] / max_liked) : w_pop;
      }
      return out;
    };
    // Excluded: every train item of the user; relevant: its test items rated 4 or more.
    recfuse::interactions<float> good;
    good.users = users;
    good.items = items;
    for (index_t e = 0; e < test.size(); ++e) {
      if (test.value[e] < 4) continue;
      good.user.push_back(test.user[e]);
      good.item.push_back(test.item[e]);
      good.value.push_back(test.value[e]);
    }
    const auto seen = recfuse::to_csr(train.view());
    const auto relevant = recfuse::to_csr(good.view());
    const auto item_vectors = augmented(features, items, 1.0f, 0.0f, true);
    const recfuse::matrix_view<const float> item_view(item_vectors.data(), items, cols + 1);

    constexpr index_t k = 10;
    struct scorer {
      const char* name;
      float w_content, w_pop;
    };
    const scorer scorers[] = {
        {"popularity", 0.0f, 1.0f}, {"content", 1.0f, 0.0f}, {"blend", 0.25f, 1.0f}};
    std::map<std::string, recfuse::ranking_report> reports;
    recfuse::topk_result<float> blend_top;
    for (const auto& s : scorers) {
      const auto user_vectors = augmented(taste, users, s.w_content, s.w_pop, false);
      const recfuse::matrix_view<const float> user_view(user_vectors.data(), users, cols + 1);
      auto top = recfuse::topk_inner_product(cpu, user_view, item_view, k, seen.pattern());
      reports[s.name] = recfuse::evaluate_ranking(cpu, top.indices_view(), relevant.pattern(), k);
      if (std::string(s.name) == "blend") blend_top = std::move(top);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::printf("\nratings on %s (%lld test ratings)\n", test_file.c_str(),
                static_cast<long long>(test.size()));
    std::printf("  %-28s rmse %.4f\n", "global mean", rmse_mean);
    std::printf("  %-28s rmse %.4f  mae %.4f\n", "mu + b_user + b_item", rmse_baseline,
                mae_baseline);
    std::printf(
        "\ntop-%lld with train items excluded, relevant = test rating >= 4 (%lld users "
        "evaluated)\n",
        static_cast<long long>(k), static_cast<long long>(reports["blend"].users));
    std::printf("  %-12s %9s %9s %9s %9s %9s\n", "scorer", "prec@10", "recall@10", "ndcg@10",
                "map@10", "hit@10");
    for (const auto& s : scorers) {
      const auto& r = reports[s.name];
      std::printf("  %-12s %9.4f %9.4f %9.4f %9.4f %9.4f\n", s.name, r.precision, r.recall, r.ndcg,
                  r.map, r.hit_rate);
    }
    const index_t sample = 0;
    std::printf("\nuser %s, top 3 (blend):\n", d.user_keys[sample].c_str());
    for (index_t j = 0; j < 3 && j < blend_top.k; ++j) {
      const index_t item = blend_top.index(sample, j);
      if (item < 0) break;
      std::printf("  %lld. %s (score %.3f)\n", static_cast<long long>(j + 1),
                  d.titles[item].c_str(), blend_top.value(sample, j));
    }
    const auto& p = reports["popularity"];
    const auto& b = reports["blend"];
    // Every figure is finite: evaluate_ranking throws (value_error, reported below) when no user
    // has a relevant test item.
    nlohmann::ordered_json json;
    json["data"] = d.source;
    json["rmse_mean"] = examples::figure(rmse_mean, 4);
    json["rmse_baseline"] = examples::figure(rmse_baseline, 4);
    json["mae_baseline"] = examples::figure(mae_baseline, 4);
    json["ndcg@10_popularity"] = examples::figure(p.ndcg, 4);
    json["ndcg@10_content"] = examples::figure(reports["content"].ndcg, 4);
    json["ndcg@10_blend"] = examples::figure(b.ndcg, 4);
    json["precision@10_popularity"] = examples::figure(p.precision, 4);
    json["precision@10_blend"] = examples::figure(b.precision, 4);
    json["seconds"] = examples::figure(seconds, 3);
    std::printf("%s\n", json.dump().c_str());
  } catch (const std::exception& e) {  // unreadable or malformed files, no user to evaluate
    std::cerr << "quickstart: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
