// recfuse-pipeline: the data a run works on, read from MovieLens 100K files or generated with the
// same shape.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "recfuse/core/sparse.hpp"
#include "recfuse/io/id_map.hpp"
#include "recfuse/io/movielens.hpp"
#include "recfuse/io/npy.hpp"
#include "recfuse/io/ratings.hpp"

namespace pipeline {

using recfuse::index_t;

struct dataset {
  std::string source;  // "ml-100k" (files) or "generated"
  recfuse::interactions<float> train, test;
  index_t users = 0, items = 0;  // every id of either file
  // Side information, one row per dense id (empty titles, year 0 and no genres where unknown).
  std::vector<std::string> user_keys, item_keys;  // the ids as the files spell them
  std::vector<std::string> titles;
  std::vector<int> year;
  std::vector<std::string> genre_names;
  recfuse::csr_matrix<float> genres;  // items x genres
  std::vector<int> age, occupation;
  std::vector<char> gender;
  index_t occupations = 0;
  bool has_items = false, has_users = false;
  // Title embeddings (items x dims, row = dense item id), when a file was given.
  std::vector<float> embeddings;
  index_t embedding_dims = 0;
};

// A uniform [0, 1) double from the top 53 bits: mt19937_64's output is fixed by the standard, the
// standard distributions are not, so the generated data and the splits are the same everywhere.
inline double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

inline double gauss(std::mt19937_64& rng) {
  const double u1 = 1.0 - unit(rng), u2 = unit(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

inline std::int32_t id32(index_t v) { return static_cast<std::int32_t>(v); }

// MovieLens 100K's shape: 943 users, 1682 items, 19 genres, ~100K ratings on 1..5, 80/20 split.
// Ratings come from a rank-8 taste model plus biases plus a user x genre affinity, so that genres
// (the content signal the cold-start ranking relies on) carry real information.
inline dataset generate(std::uint64_t seed, index_t users = 943, index_t items = 1682) {
  constexpr index_t rank = 8, genres = 19, occupations = 21;
  std::mt19937_64 rng(seed);
  dataset d;
  d.source = "generated";
  d.users = users;
  d.items = items;
  d.has_items = d.has_users = true;
  d.occupations = occupations;
  for (index_t g = 0; g < genres; ++g) d.genre_names.push_back("genre " + std::to_string(g));
  d.genres.rows = items;
  d.genres.cols = genres;
  for (index_t i = 0; i < items; ++i) {
    d.year.push_back(1930 + static_cast<int>(std::pow(unit(rng), 0.3) * 68));
    d.titles.push_back("Generated movie " + std::to_string(i + 1) + " (" +
                       std::to_string(d.year.back()) + ")");
    const index_t count = 1 + static_cast<index_t>(unit(rng) * 3);
    std::vector<std::int32_t> gs;
    while (static_cast<index_t>(gs.size()) < count) {
      const auto g = id32(static_cast<index_t>(std::pow(unit(rng), 1.5) * genres));
      if (std::find(gs.begin(), gs.end(), g) == gs.end()) gs.push_back(g);
    }
    std::sort(gs.begin(), gs.end());
    for (auto g : gs) {
      d.genres.indices.push_back(g);
      d.genres.values.push_back(1.0f);
    }
    d.genres.offsets.push_back(static_cast<index_t>(d.genres.indices.size()));
  }
  // Stand-ins for title embeddings: a genre-dependent direction plus noise, 32 dims, so that the
  // text-graph path runs on generated data too.
  d.embedding_dims = 32;
  std::vector<double> genre_direction(static_cast<std::size_t>(genres * d.embedding_dims));
  for (auto& x : genre_direction) x = gauss(rng);
  d.embeddings.assign(static_cast<std::size_t>(items * d.embedding_dims), 0.0f);
  for (index_t i = 0; i < items; ++i) {
    for (index_t c = 0; c < d.embedding_dims; ++c) {
      double v = 0.7 * gauss(rng);
      for (index_t e = d.genres.offsets[i]; e < d.genres.offsets[i + 1]; ++e)
        v += genre_direction[d.genres.indices[e] * d.embedding_dims + c];
      d.embeddings[i * d.embedding_dims + c] = static_cast<float>(v);
    }
  }
  for (index_t u = 0; u < users; ++u) {
    d.age.push_back(15 + static_cast<int>(unit(rng) * 50));
    d.gender.push_back(unit(rng) < 0.7 ? 'M' : 'F');
    d.occupation.push_back(static_cast<int>(unit(rng) * occupations));
  }
  std::vector<double> p(users * rank), q(items * rank), bu(users), bi(items), taste(users * genres);
  for (auto& x : p) x = 0.3 * gauss(rng);
  for (auto& x : q) x = 0.3 * gauss(rng);
  for (auto& x : bu) x = 0.4 * gauss(rng);
  for (auto& x : bi) x = 0.4 * gauss(rng);
  for (auto& x : taste) x = 0.5 * gauss(rng);
  d.train.users = d.test.users = users;
  d.train.items = d.test.items = items;
  // Which items users find follows content, as in MovieLens: recent releases and some genres draw
  // larger audiences (the power-law popularity rank is by a content score plus noise), and users
  // pick films of the genres they like more often (accepted with probability sigmoid(2 * taste)).
  std::vector<double> genre_pull(static_cast<std::size_t>(genres)),
      pull(static_cast<std::size_t>(items));
  for (auto& x : genre_pull) x = 0.6 * gauss(rng);
  std::vector<index_t> by_pull(static_cast<std::size_t>(items));
  for (index_t i = 0; i < items; ++i) {
    pull[i] = 0.05 * (d.year[i] - 1960) + 0.5 * gauss(rng);
    for (index_t e = d.genres.offsets[i]; e < d.genres.offsets[i + 1]; ++e)
      pull[i] += genre_pull[d.genres.indices[e]];
    by_pull[i] = i;
  }
  std::stable_sort(by_pull.begin(), by_pull.end(),
                   [&](index_t a, index_t b) { return pull[a] > pull[b]; });
  auto mean_taste = [&](index_t u, index_t i) {
    double t = 0;
    const index_t gb = d.genres.offsets[i], ge = d.genres.offsets[i + 1];
    for (index_t e = gb; e < ge; ++e) t += taste[u * genres + d.genres.indices[e]];
    return t / static_cast<double>(ge - gb);
  };
  std::vector<char> taken(users * items, 0);
  for (index_t u = 0; u < users; ++u) {
    const index_t count = 20 + static_cast<index_t>(std::pow(unit(rng), 3.0) * (items / 4));
    std::int64_t clock = 874'000'000 + static_cast<std::int64_t>(unit(rng) * 1.5e7);
    for (index_t c = 0; c < count; ++c) {
      const index_t i = by_pull[static_cast<index_t>(std::pow(unit(rng), 2.5) * items)];
      if (taken[u * items + i]) continue;
      if (unit(rng) > 1.0 / (1.0 + std::exp(-2.0 * mean_taste(u, i)))) continue;
      taken[u * items + i] = 1;
      double r = 3.53 + bu[u] + bi[i] + 0.3 * gauss(rng);
      for (index_t f = 0; f < rank; ++f) r += p[u * rank + f] * q[i * rank + f];
      r += mean_taste(u, i);
      clock += static_cast<std::int64_t>(unit(rng) * 600);
      auto& set = unit(rng) < 0.8 ? d.train : d.test;
      set.user.push_back(id32(u));
      set.item.push_back(id32(i));
      set.value.push_back(static_cast<float>(std::clamp(std::round(r), 1.0, 5.0)));
      set.time.push_back(clock);
    }
  }
  return d;
}

// Sibling file `name` of `path`'s folder, if it exists.
inline std::filesystem::path sibling(const std::filesystem::path& path, const char* name) {
  auto s = path.parent_path() / name;
  return std::filesystem::exists(s) ? s : std::filesystem::path{};
}

inline dataset load(const std::filesystem::path& train, const std::filesystem::path& test,
                    std::filesystem::path items_file, std::filesystem::path users_file,
                    const std::filesystem::path& embeddings_file) {
  dataset d;
  d.source = "files";
  recfuse::io::id_map users, items;
  d.train = recfuse::io::load_ratings<float>(train, users, items);
  const index_t train_users = users.size(), train_items = items.size();
  d.test = recfuse::io::load_ratings<float>(test, users, items);
  d.train.users = train_users;
  d.train.items = train_items;
  d.users = users.size();
  d.items = items.size();
  d.user_keys = users.keys();
  d.item_keys = items.keys();
  if (items_file.empty()) items_file = sibling(train, "u.item");
  if (users_file.empty()) users_file = sibling(train, "u.user");
  d.titles.assign(static_cast<std::size_t>(d.items), std::string{});
  d.year.assign(static_cast<std::size_t>(d.items), 0);
  d.genres.rows = d.items;
  d.genres.offsets.assign(static_cast<std::size_t>(d.items + 1), 0);
  if (!items_file.empty()) {
    auto meta = recfuse::io::load_movielens_items(items_file, items);
    d.titles = std::move(meta.titles);
    d.year = std::move(meta.year);
    d.genre_names = std::move(meta.genre_names);
    d.genres = std::move(meta.genres);
    d.has_items = true;
  } else {
    std::printf("no u.item beside %s and no --items: item genres, years and titles left out\n",
                train.string().c_str());
  }
  d.age.assign(static_cast<std::size_t>(d.users), 0);
  d.gender.assign(static_cast<std::size_t>(d.users), '?');
  d.occupation.assign(static_cast<std::size_t>(d.users), 0);
  if (!users_file.empty()) {
    auto meta = recfuse::io::load_movielens_users(users_file, users);
    d.age = std::move(meta.age);
    d.gender = std::move(meta.gender);
    d.occupation = std::move(meta.occupation);
    d.occupations = static_cast<index_t>(meta.occupation_names.size());
    d.has_users = true;
  } else {
    std::printf("no u.user beside %s and no --users: user features left out\n",
                train.string().c_str());
  }
  if (!embeddings_file.empty()) {
    // Row r of the file embeds MovieLens item id r + 1 (tools/embed_titles.py writes u.item order).
    const auto e = recfuse::io::load_npy<float>(embeddings_file);
    if (e.shape.size() != 2) {
      throw recfuse::io_error("recfuse-pipeline: " + embeddings_file.string() +
                              " is not a 2-d array (items x dims)");
    }
    d.embedding_dims = e.shape[1];
    d.embeddings.assign(static_cast<std::size_t>(d.items * d.embedding_dims), 0.0f);
    index_t found = 0, largest = 0;
    for (index_t i = 0; i < d.items; ++i) {
      const std::string& key = items.key(i);
      long long id = 0;
      const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
      if (ec != std::errc() || end != key.data() + key.size() || id < 1) continue;
      largest = std::max<index_t>(largest, id);
      if (id > e.shape[0]) continue;
      std::copy_n(e.data.data() + (id - 1) * d.embedding_dims, d.embedding_dims,
                  d.embeddings.data() + i * d.embedding_dims);
      ++found;
    }
    if (found == 0 || largest > e.shape[0]) {
      throw recfuse::io_error(
          embeddings_file.string() + " has " + std::to_string(e.shape[0]) +
          " rows (row r embeds item id r + 1) but the ratings name item ids up to " +
          std::to_string(largest) + " (" + std::to_string(found) + " of " +
          std::to_string(d.items) + " items have a row)");
    }
    std::printf("title embeddings: %lld x %lld from %s (%lld of %lld items found)\n",
                static_cast<long long>(e.shape[0]), static_cast<long long>(d.embedding_dims),
                embeddings_file.string().c_str(), static_cast<long long>(found),
                static_cast<long long>(d.items));
  }
  return d;
}

}  // namespace pipeline
