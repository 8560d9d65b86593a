// recfuse-lastfm: the data (read by the library's Last.FM loaders) and the seeded splits.
//
// Top-k protocol (split_topk): 10% of the graph-linked artists are cold: every listening pair
// of theirs is held out (cold_test) and they never appear in training. Of every user's other
// pairs, 20% (rounded down, seeded shuffle) are test, the rest train. The validation carve
// (carve) does the same inside a training set: another 10% of its linked artists become
// pseudo-cold, 20% of each user's remaining pairs are validation, the rest the fit set.
//
// MKR protocol (split_mkr, the preprocessing of the MKR authors' code for music): every listening
// pair of a linked artist is a positive; for each user as many negatives, drawn without
// replacement from the linked artists the user never listened to (fewer when too few remain);
// all labelled pairs shuffled and cut 6:2:2 into train, eval and test.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "recfuse/core/sparse.hpp"
#include "recfuse/io/lastfm.hpp"

namespace lastfm {

using recfuse::index_t;
using pairs = recfuse::interactions<float>;

struct dataset {
  recfuse::io::id_map users, artists;
  pairs listens;  // value = listening count
  recfuse::io::knowledge_graph kg;
  recfuse::io::item_entity_links links;
  recfuse::io::item_attributes attributes, typed_attributes;  // item -> adjacent entities
  std::vector<float> kg_degree;                               // triples touching an item's entity
  std::vector<index_t> linked;                                // linked artists, ascending
  index_t n_users() const { return users.size(); }
  index_t n_items() const { return artists.size(); }
};

inline dataset load(const std::filesystem::path& dir) {
  dataset d;
  d.listens = recfuse::io::load_lastfm_listens<float>(dir / "user_artists.dat", d.users, d.artists);
  d.kg = recfuse::io::load_kg_triples(dir / "kg.txt");
  d.links = recfuse::io::load_item_entities(dir / "item_index2entity_id.txt", d.artists, d.kg);
  d.attributes = recfuse::io::kg_item_attributes(d.kg, d.links, d.n_items());
  d.typed_attributes = recfuse::io::kg_item_attributes(d.kg, d.links, d.n_items(), {}, true);
  std::vector<float> entity_degree(static_cast<std::size_t>(d.kg.entities.size()), 0.0f);
  for (index_t t = 0; t < d.kg.size(); ++t) {
    entity_degree[d.kg.head[t]] += 1;
    entity_degree[d.kg.tail[t]] += 1;
  }
  d.kg_degree.assign(static_cast<std::size_t>(d.n_items()), 0.0f);
  for (index_t i = 0; i < d.n_items(); ++i) {
    const std::int32_t e =
        i < static_cast<index_t>(d.links.entity_of_item.size()) ? d.links.entity_of_item[i] : -1;
    if (e < 0) continue;
    d.linked.push_back(i);
    d.kg_degree[i] = entity_degree[e];
  }
  return d;
}

inline double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

template <class V>
void shuffle(V& v, std::mt19937_64& rng) {
  for (std::size_t j = v.size(); j > 1; --j)
    std::swap(v[j - 1], v[static_cast<std::size_t>(unit(rng) * static_cast<double>(j))]);
}

inline void push(pairs& p, index_t u, index_t i, float v) {
  p.user.push_back(static_cast<std::int32_t>(u));
  p.item.push_back(static_cast<std::int32_t>(i));
  p.value.push_back(v);
}

inline pairs empty_like(const pairs& p) {
  pairs out;
  out.users = p.users;
  out.items = p.items;
  return out;
}

// Splits `data`: the pairs of `cold_share` of `linked` (seeded) go to cold; of every user's
// other pairs `held_share` go to held, the rest to kept. cold_items gets the cold artists.
struct split {
  pairs kept, held, cold;
  std::vector<index_t> cold_items;  // ascending
  std::vector<char> is_cold;        // per item
};

inline split make_split(const pairs& data, const std::vector<index_t>& linked, double cold_share,
                        double held_share, std::mt19937_64& rng) {
  split s;
  s.kept = s.held = s.cold = empty_like(data);
  std::vector<index_t> order = linked;
  shuffle(order, rng);
  const auto n_cold = static_cast<std::size_t>(std::llround(cold_share * order.size()));
  s.cold_items.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_cold));
  std::sort(s.cold_items.begin(), s.cold_items.end());
  s.is_cold.assign(static_cast<std::size_t>(data.items), 0);
  for (index_t i : s.cold_items) s.is_cold[i] = 1;
  const auto by_user = recfuse::to_csr(data.view());
  std::vector<index_t> mine;
  for (index_t u = 0; u < data.users; ++u) {
    mine.clear();
    for (index_t e = by_user.offsets[u]; e < by_user.offsets[u + 1]; ++e) {
      if (s.is_cold[by_user.indices[e]])
        push(s.cold, u, by_user.indices[e], by_user.values[e]);
      else
        mine.push_back(e);
    }
    shuffle(mine, rng);
    const auto n_held = static_cast<std::size_t>(held_share * static_cast<double>(mine.size()));
    for (std::size_t q = 0; q < mine.size(); ++q)
      push(q < n_held ? s.held : s.kept, u, by_user.indices[mine[q]], by_user.values[mine[q]]);
  }
  return s;
}

// The linked artists that have pairs in `data` and are not in `skip`.
inline std::vector<index_t> linked_with_pairs(const dataset& d, const pairs& data,
                                              const std::vector<char>& skip) {
  std::vector<char> has(static_cast<std::size_t>(d.n_items()), 0);
  for (auto i : data.item) has[i] = 1;
  std::vector<index_t> out;
  for (index_t i : d.linked)
    if (has[i] && !skip[i]) out.push_back(i);
  return out;
}

// The MKR protocol's labelled pairs (value = 1 positive, 0 negative), cut 6:2:2.
struct labelled {
  pairs train, eval, test;  // value: the label (1 listened, 0 sampled negative)
  // train_count[e]: the listening count of train pair e (0 for a negative)
  std::vector<float> train_count;
};

inline labelled split_mkr(const dataset& d, std::mt19937_64& rng) {
  const auto by_user = recfuse::to_csr(d.listens.view());
  std::vector<char> is_linked(static_cast<std::size_t>(d.n_items()), 0), listened(is_linked);
  for (index_t i : d.linked) is_linked[i] = 1;
  pairs all = empty_like(d.listens);
  std::vector<float> count;
  std::vector<index_t> unlistened;
  for (index_t u = 0; u < d.n_users(); ++u) {
    index_t positives = 0;
    for (index_t e = by_user.offsets[u]; e < by_user.offsets[u + 1]; ++e) {
      const index_t i = by_user.indices[e];
      listened[i] = 1;
      if (!is_linked[i]) continue;
      push(all, u, i, 1.0f);
      count.push_back(by_user.values[e]);
      ++positives;
    }
    unlistened.clear();
    for (index_t i : d.linked)
      if (!listened[i]) unlistened.push_back(i);
    // A partial Fisher-Yates shuffle: the first `positives` entries are a uniform sample.
    const auto n = std::min<std::size_t>(static_cast<std::size_t>(positives), unlistened.size());
    for (std::size_t q = 0; q < n; ++q) {
      const auto pick =
          q + static_cast<std::size_t>(unit(rng) * static_cast<double>(unlistened.size() - q));
      std::swap(unlistened[q], unlistened[std::min(pick, unlistened.size() - 1)]);
      push(all, u, unlistened[q], 0.0f);
      count.push_back(0.0f);
    }
    for (index_t e = by_user.offsets[u]; e < by_user.offsets[u + 1]; ++e)
      listened[by_user.indices[e]] = 0;
  }
  std::vector<index_t> order(all.value.size());
  std::iota(order.begin(), order.end(), 0);
  shuffle(order, rng);
  labelled l;
  l.train = l.eval = l.test = empty_like(d.listens);
  const auto n = order.size(), n_eval = n / 5, n_test = n / 5;
  for (std::size_t q = 0; q < n; ++q) {
    const index_t e = order[q];
    pairs& to = q < n_eval ? l.eval : (q < n_eval + n_test ? l.test : l.train);
    push(to, all.user[e], all.item[e], all.value[e]);
    if (&to == &l.train) l.train_count.push_back(count[static_cast<std::size_t>(e)]);
  }
  return l;
}

}  // namespace lastfm
