// recfuse quickstart: scale item features, score users against items, select the top 10 per
// user with the items they already rated excluded, and evaluate against held-out ratings.
//
//   quickstart [--data DIR] [--train FILE] [--test FILE] [--threads N] [--seed N]
//
// DIR defaults to ../shared/data/ml-100k (MovieLens 100K: u1.base / u1.test / u.item). Where it
// is absent the program says so and generates data of the same shape, so it runs anywhere.
// The last line of standard output is one JSON object with the figures.
//
// The scorers are deliberately simple (factorization arrives with its own component):
//   popularity:  items ranked by how many train users rated them 4 or more;
//   content:     cosine between a user's taste profile and each item's scaled features;
//   blend:       content + a popularity prior, as one inner product over augmented vectors.
// Ratings are predicted by the usual baseline mu + b_user + b_item, evaluated with RMSE/MAE.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "recfuse/metrics/error.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/scale/standard_scaler.hpp"
#include "recfuse/select/topk.hpp"
#include "recfuse/xsimd/all.hpp"

namespace {

using recfuse::index_t;

struct rating {
  index_t user;
  index_t item;
  float value;
};

struct dataset {
  std::string source;  // "ml-100k" or "generated"
  index_t users = 0;
  index_t items = 0;
  std::vector<rating> train, test;
  std::vector<std::string> titles;
  std::vector<float> item_features;  // items x features, row-major (genre flags, year)
  index_t features = 0;
};

std::vector<rating> read_ratings(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::vector<rating> out;
  std::string line;
  index_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::istringstream fields(line);
    index_t u = 0, i = 0;
    float r = 0;
    if (!(fields >> u >> i >> r) || u < 1 || i < 1) {
      throw std::runtime_error(path.string() + ":" + std::to_string(line_no) +
                               ": malformed rating line");
    }
    out.push_back({u - 1, i - 1, r});  // MovieLens ids start at 1
  }
  return out;
}

// u.item: id|title|release date|video date|url|19 genre flags. Features: the flags and the year.
void read_items(const std::filesystem::path& path, dataset& d) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  constexpr index_t genres = 19;
  d.features = genres + 1;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string part; std::getline(ss, part, '|');) f.push_back(part);
    if (f.size() < 5 + genres) throw std::runtime_error(path.string() + ": malformed item line");
    const index_t id = std::stoll(f[0]) - 1;
    if (id >= static_cast<index_t>(d.titles.size())) {
      d.titles.resize(id + 1);
      d.item_features.resize((id + 1) * d.features, 0.0f);
    }
    d.titles[id] = f[1];
    for (index_t g = 0; g < genres; ++g) d.item_features[id * d.features + g] = std::stof(f[5 + g]);
    const std::string& date = f[2];  // 01-Jan-1995
    d.item_features[id * d.features + genres] =
        date.size() >= 4 ? std::stof(date.substr(date.size() - 4)) : 1995.0f;
  }
}

// Same shape as MovieLens 100K: users with latent genre tastes rate items carrying genres.
dataset generate(std::uint64_t seed) {
  dataset d;
  d.source = "generated";
  d.users = 943;
  d.items = 1682;
  constexpr index_t genres = 19;
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
  std::vector<rating> all;
  for (index_t u = 0; u < d.users; ++u) {
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
  for (const auto& r : all) (unit(rng) < 0.8f ? d.train : d.test).push_back(r);
  return d;
}

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
  d.train = read_ratings(dir / train);
  d.test = read_ratings(dir / test);
  read_items(dir / "u.item", d);
  d.items = static_cast<index_t>(d.titles.size());
  for (const auto* set : {&d.train, &d.test}) {
    for (const auto& r : *set) {
      d.users = std::max(d.users, r.user + 1);
      d.items = std::max(d.items, r.item + 1);
    }
  }
  d.titles.resize(d.items);
  d.item_features.resize(d.items * d.features, 0.0f);
  return d;
}

// CSR of the (user, item) pairs selected by keep(rating), one row per user.
template <class Keep>
void build_csr(const std::vector<rating>& ratings, index_t users, Keep keep,
               std::vector<index_t>& offsets, std::vector<std::int32_t>& indices) {
  offsets.assign(users + 1, 0);
  for (const auto& r : ratings)
    if (keep(r)) ++offsets[r.user + 1];
  for (index_t u = 0; u < users; ++u) offsets[u + 1] += offsets[u];
  indices.assign(offsets[users], 0);
  std::vector<index_t> fill(offsets.begin(), offsets.end() - 1);
  for (const auto& r : ratings)
    if (keep(r)) indices[fill[r.user]++] = static_cast<std::int32_t>(r.item);
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path data_dir = "../shared/data/ml-100k";
  std::string train_file = "u1.base", test_file = "u1.test";
  int threads = 2;
  std::uint64_t seed = 42;
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string flag = argv[a];
    if (flag == "--data")
      data_dir = argv[a + 1];
    else if (flag == "--train")
      train_file = argv[a + 1];
    else if (flag == "--test")
      test_file = argv[a + 1];
    else if (flag == "--threads")
      threads = std::atoi(argv[a + 1]);
    else if (flag == "--seed")
      seed = std::strtoull(argv[a + 1], nullptr, 10);
    else {
      std::cerr << "quickstart: unknown flag " << flag << "\n";
      return 2;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const recfuse::exec::xsimd cpu{threads};
  const dataset d = load(data_dir, train_file, test_file, seed);
  const index_t users = d.users, items = d.items, nf = d.features;
  std::cout << "data: " << d.source << ", " << users << " users, " << items << " items, "
            << d.train.size() << " train and " << d.test.size() << " test ratings\n";

  // 1. Ratings: the baseline mu + b_u + b_i (regularised means), evaluated with rmse and mae.
  double mu = 0;
  for (const auto& r : d.train) mu += r.value;
  mu /= static_cast<double>(d.train.size());
  std::vector<double> bi(items, 0), bu(users, 0), count_i(items, 0), count_u(users, 0);
  for (const auto& r : d.train) bi[r.item] += r.value - mu, count_i[r.item] += 1;
  for (index_t i = 0; i < items; ++i) bi[i] /= count_i[i] + 25.0;
  for (const auto& r : d.train) bu[r.user] += r.value - mu - bi[r.item], count_u[r.user] += 1;
  for (index_t u = 0; u < users; ++u) bu[u] /= count_u[u] + 10.0;
  std::vector<float> predicted, truth, mean_only;
  for (const auto& r : d.test) {
    predicted.push_back(static_cast<float>(std::clamp(mu + bu[r.user] + bi[r.item], 1.0, 5.0)));
    mean_only.push_back(static_cast<float>(mu));
    truth.push_back(r.value);
  }
  const double rmse_mean = recfuse::rmse(cpu, mean_only, truth);
  const double rmse_baseline = recfuse::rmse(cpu, predicted, truth);
  const double mae_baseline = recfuse::mae(cpu, predicted, truth);

  // 2. Item features: genre flags, year, and how well the item did in train; standard-scaled.
  const index_t cols = nf + 2;
  std::vector<float> features(items * cols);
  std::vector<double> liked(items, 0);
  for (const auto& r : d.train)
    if (r.value >= 4) liked[r.item] += 1;
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
  for (const auto& r : d.train) {
    if (r.value < 4) continue;
    for (index_t c = 0; c < cols; ++c) taste[r.user * cols + c] += features[r.item * cols + c];
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
  std::vector<index_t> train_offsets, relevant_offsets;
  std::vector<std::int32_t> train_items, relevant_items;
  build_csr(
      d.train, users, [](const rating&) { return true; }, train_offsets, train_items);
  build_csr(
      d.test, users, [](const rating& r) { return r.value >= 4; }, relevant_offsets,
      relevant_items);
  const recfuse::csr_pattern_view<std::int32_t> seen(users, items, train_offsets.data(),
                                                     train_items.data());
  const recfuse::csr_pattern_view<std::int32_t> relevant(users, items, relevant_offsets.data(),
                                                         relevant_items.data());
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
    auto top = recfuse::topk_inner_product(cpu, user_view, item_view, k, seen);
    reports[s.name] = recfuse::evaluate_ranking(cpu, top.indices_view(), relevant, k);
    if (std::string(s.name) == "blend") blend_top = std::move(top);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("\nratings on %s (%zu test ratings)\n", test_file.c_str(), d.test.size());
  std::printf("  %-28s rmse %.4f\n", "global mean", rmse_mean);
  std::printf("  %-28s rmse %.4f  mae %.4f\n", "mu + b_user + b_item", rmse_baseline, mae_baseline);
  std::printf(
      "\ntop-%lld with train items excluded, relevant = test rating >= 4 (%lld users evaluated)\n",
      static_cast<long long>(k), static_cast<long long>(reports["blend"].users));
  std::printf("  %-12s %9s %9s %9s %9s %9s\n", "scorer", "prec@10", "recall@10", "ndcg@10",
              "map@10", "hit@10");
  for (const auto& s : scorers) {
    const auto& r = reports[s.name];
    std::printf("  %-12s %9.4f %9.4f %9.4f %9.4f %9.4f\n", s.name, r.precision, r.recall, r.ndcg,
                r.map, r.hit_rate);
  }
  const index_t sample = 0;
  std::printf("\nuser %lld, top 3 (blend):\n", static_cast<long long>(sample + 1));
  for (index_t j = 0; j < 3 && j < blend_top.k; ++j) {
    const index_t item = blend_top.index(sample, j);
    if (item < 0) break;
    std::printf("  %lld. %s (score %.3f)\n", static_cast<long long>(j + 1), d.titles[item].c_str(),
                blend_top.value(sample, j));
  }
  const auto& p = reports["popularity"];
  const auto& b = reports["blend"];
  std::printf(
      "{\"data\": \"%s\", \"rmse_mean\": %.4f, \"rmse_baseline\": %.4f, \"mae_baseline\": %.4f, "
      "\"ndcg@10_popularity\": %.4f, \"ndcg@10_content\": %.4f, \"ndcg@10_blend\": %.4f, "
      "\"precision@10_popularity\": %.4f, \"precision@10_blend\": %.4f, \"seconds\": %.3f}\n",
      d.source.c_str(), rmse_mean, rmse_baseline, mae_baseline, p.ndcg, reports["content"].ndcg,
      b.ndcg, p.precision, b.precision, seconds);
  return 0;
}
