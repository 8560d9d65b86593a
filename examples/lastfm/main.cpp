// recfuse-lastfm: a real knowledge graph in the fusion. Implicit ALS on the HetRec 2011 Last.FM
// listening counts is blended with knowledge-graph signals (artist -> entity -> artist paths of
// the MKR authors' Satori graph), ranked with training artists excluded, checked on artists
// removed from training entirely (cold start), and explained. The last line of standard output
// is one JSON object.
//
//   recfuse-lastfm [--data DIR] [--seed N] [--threads N] [--protocol topk|mkr]
//
// DIR holds user_artists.dat, item_index2entity_id.txt and kg.txt (default: ../shared/data/
// lastfm-kg beside the source tree). Where they are absent the program says so and exits 0.
// --protocol topk (default): top-k ranking (NDCG@10, Recall@20) and cold start (data.hpp,
// signals.hpp, evaluate.hpp); mkr: the MKR papers' CTR protocol (AUC, accuracy; mkr.hpp).
// docs/lastfm.md describes both protocols and the results.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "data.hpp"
#include "evaluate.hpp"
#include "mkr.hpp"
#include "recfuse/fuse/explain.hpp"
#include "recfuse/xsimd/all.hpp"
#include "signals.hpp"

#ifndef RECFUSE_DEFAULT_DATA
#define RECFUSE_DEFAULT_DATA "../shared/data/lastfm-kg"
#endif

namespace {

using lastfm::index_t;
using cpu_policy = recfuse::exec::xsimd;

constexpr const char* usage =
    "usage: recfuse-lastfm [--data DIR] [--seed N] [--threads N] [--protocol topk|mkr]\n";

struct arguments {
  std::string data = RECFUSE_DEFAULT_DATA, protocol = "topk";
  std::uint64_t seed = 1;
  int threads = 0;
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "recfuse-lastfm: %s\n%s", message.c_str(), usage);
  std::exit(2);
}

template <class N>
N parse_number(std::string_view flag, std::string_view text, N min, N max) {
  N value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    fail(std::string(flag) + " needs an integer >= " + std::to_string(min) +
         " and <= " + std::to_string(max) + ", got '" + std::string(text) + "'");
  }
  return value;
}

arguments parse(int argc, char** argv) {
  arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::printf("%s", usage);
      std::exit(0);
    }
    if (i + 1 >= argc) fail("option " + std::string(flag) + " needs a value");
    const std::string_view value = argv[++i];
    if (flag == "--data")
      a.data = value;
    else if (flag == "--seed")
      a.seed =
          parse_number<std::uint64_t>(flag, value, 0, std::numeric_limits<std::uint64_t>::max());
    else if (flag == "--threads")
      a.threads = parse_number<int>(flag, value, 1, 1024);
    else if (flag == "--protocol") {
      if (value != "topk" && value != "mkr")
        fail("--protocol must be topk or mkr, got '" + std::string(value) + "'");
      a.protocol = value;
    } else
      fail("unknown option " + std::string(flag));
  }
  return a;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", v);
  return text;
}

std::vector<std::int32_t> all_items(index_t n) {
  std::vector<std::int32_t> c(static_cast<std::size_t>(n));
  std::iota(c.begin(), c.end(), 0);
  return c;
}

// Training pairs plus every pair on the `banned` artists for every user: the exclusion pattern.
recfuse::csr_matrix<float> exclusion(const lastfm::pairs& train, const std::vector<index_t>& banned,
                                     index_t users, const std::vector<std::int32_t>& candidates,
                                     index_t items) {
  lastfm::pairs p = train;
  for (index_t u = 0; u < users; ++u)
    for (index_t i : banned) lastfm::push(p, u, i, 1.0f);
  return lastfm::by_candidate(p, users, candidates, items);
}

// The grids the blend weights are chosen from (on validation data only).
std::vector<lastfm::weights> warm_grid() {
  std::vector<lastfm::weights> g;
  for (double knn : {0.0, 0.01, 0.02, 0.04, 0.08})
    for (double agg : {0.0, 0.02, 0.05, 0.1, 0.2}) g.push_back({1.0, knn, agg, 0.0});
  return g;
}
std::vector<lastfm::weights> cold_grid() {
  std::vector<lastfm::weights> g;
  for (double knn : {0.0, 0.5, 1.0})
    for (double agg : {0.0, 0.5, 1.0})
      for (double pop : {0.0, 0.5, 1.0})
        if (knn + agg + pop > 0) g.push_back({0.0, knn, agg, pop});
  return g;
}

std::string weights_text(const lastfm::weights& w) {
  std::string t;
  for (int c = 0; c < lastfm::scorers; ++c) {
    if (w[c] == 0) continue;
    char part[48];
    std::snprintf(part, sizeof part, "%s%.2f %s", t.empty() ? "" : " + ", w[c],
                  lastfm::scorer_name(c));
    t += part;
  }
  return t.empty() ? "0" : t;
}

// Picks the blend with the best NDCG@10 + Recall@20 on `relevant` (the two figures the fused
// ranking is judged by; ties: the earlier blend, so the smaller weights).
template <class Policy>
lastfm::weights pick(const Policy& cpu, const lastfm::signals& s,
                     const std::vector<std::int32_t>& candidates,
                     const recfuse::csr_matrix<float>& exclude,
                     const recfuse::csr_matrix<float>& relevant,
                     const std::vector<lastfm::weights>& grid, const char* what) {
  const index_t k = 20;
  const auto recs = lastfm::rank_blends(cpu, s, candidates, exclude, grid, k);
  double best = -1;
  lastfm::weights chosen = grid[0];
  for (std::size_t b = 0; b < grid.size(); ++b) {
    const auto m = lastfm::score(cpu, recs[b], k, relevant);
    const double v = m.ndcg10 + (std::isfinite(m.recall20) ? m.recall20 : 0.0);
    if (v > best) best = v, chosen = grid[b];
  }
  std::printf("  %s: chose %s (validation ndcg@10 + recall@20 %.4f over %zu blends)\n", what,
              weights_text(chosen).c_str(), best, grid.size());
  return chosen;
}

// ndcg@10 of a fixed per-item score shared by every user (popularity baselines) over the cold
// candidates; `per_user` (when not null) gives user-specific scores instead.
template <class Policy>
double rank_fixed(const Policy& cpu, index_t users, const std::vector<float>& item_score,
                  const recfuse::csr_matrix<float>& relevant, const std::vector<float>* per_user) {
  const index_t m = static_cast<index_t>(item_score.size()), k = std::min<index_t>(10, m);
  std::vector<float> scores(static_cast<std::size_t>(users * m));
  for (index_t u = 0; u < users; ++u)
    for (index_t c = 0; c < m; ++c)
      scores[u * m + c] = per_user ? (*per_user)[u * m + c] : item_score[c];
  const auto top =
      recfuse::topk(cpu, recfuse::matrix_view<const float>(scores.data(), users, m), k);
  return recfuse::evaluate_ranking(cpu, top.indices_view(), relevant.pattern(), k).ndcg;
}

int run_topk(const arguments& a, const cpu_policy& cpu, const lastfm::dataset& d,
             const lastfm::kg_graph& kg, std::chrono::steady_clock::time_point t0) {
  const index_t users = d.n_users(), items = d.n_items();
  std::mt19937_64 rng(a.seed);
  const auto sp = lastfm::make_split(d.listens, d.linked, 0.1, 0.2, rng);
  std::printf("split (seed %llu): %lld train, %lld test pairs; %zu cold artists with %lld pairs\n",
              static_cast<unsigned long long>(a.seed), static_cast<long long>(sp.kept.size()),
              static_cast<long long>(sp.held.size()), sp.cold_items.size(),
              static_cast<long long>(sp.cold.size()));
  const auto candidates = all_items(items);

  // ---- stage A: the blend weights, chosen on a validation carve of the training data ----
  lastfm::weights warm_w, cold_w;
  {
    const auto t = std::chrono::steady_clock::now();
    const auto pool = lastfm::linked_with_pairs(d, sp.kept, sp.is_cold);
    const auto va = lastfm::make_split(
        sp.kept, pool,
        0.1 * static_cast<double>(d.linked.size()) / static_cast<double>(pool.size()), 0.2, rng);
    const auto s = lastfm::build_signals(cpu, d, kg, va.kept, a.seed);
    std::vector<index_t> banned = sp.cold_items;
    banned.insert(banned.end(), va.cold_items.begin(), va.cold_items.end());
    const auto exclude = exclusion(va.kept, banned, users, candidates, items);
    const auto relevant = lastfm::by_candidate(va.held, users, candidates, items);
    std::printf("stage A: %lld fit, %lld validation pairs, %zu pseudo-cold artists (%.2f s)\n",
                static_cast<long long>(va.kept.size()), static_cast<long long>(va.held.size()),
                va.cold_items.size(), seconds_since(t));
    warm_w = pick(cpu, s, candidates, exclude, relevant, warm_grid(), "warm blend");
    const std::vector<std::int32_t> pc(va.cold_items.begin(), va.cold_items.end());
    lastfm::pairs none = lastfm::empty_like(va.kept);
    cold_w = pick(cpu, s, pc, lastfm::by_candidate(none, users, pc, items),
                  lastfm::by_candidate(va.cold, users, pc, items), cold_grid(), "cold blend");
  }

  // ---- stage B: every scorer on the whole training set; the figures ----
  const auto s = lastfm::build_signals(cpu, d, kg, sp.kept, a.seed);
  const auto exclude = exclusion(sp.kept, sp.cold_items, users, candidates, items);
  const auto relevant = lastfm::by_candidate(sp.held, users, candidates, items);
  const lastfm::weights als_only{1.0, 0.0, 0.0, 0.0};
  const index_t k = 20;
  const auto recs = lastfm::rank_blends(cpu, s, candidates, exclude, {als_only, warm_w}, k);
  const auto m_als = lastfm::score(cpu, recs[0], k, relevant);
  const auto m_fused = lastfm::score(cpu, recs[1], k, relevant);
  std::printf(
      "warm ranking over %lld artists for %lld users: ndcg@10 als %.4f, kg fused %.4f; "
      "recall@20 als %.4f, kg fused %.4f\n",
      static_cast<long long>(items), static_cast<long long>(m_als.users), m_als.ndcg10,
      m_fused.ndcg10, m_als.recall20, m_fused.recall20);

  // ---- cold start: each user ranks only the cold artists ----
  const std::vector<std::int32_t> cold(sp.cold_items.begin(), sp.cold_items.end());
  const index_t nc = static_cast<index_t>(cold.size());
  lastfm::pairs none = lastfm::empty_like(sp.kept);
  const auto cold_relevant = lastfm::by_candidate(sp.cold, users, cold, items);
  const auto cold_recs =
      lastfm::rank_blends(cpu, s, cold, lastfm::by_candidate(none, users, cold, items), {cold_w},
                          std::min<index_t>(10, nc))[0];
  const double cold_kg =
      recfuse::evaluate_ranking(
          cpu,
          recfuse::matrix_view<const index_t>(cold_recs.data(), users, std::min<index_t>(10, nc)),
          cold_relevant.pattern(), std::min<index_t>(10, nc))
          .ndcg;
  // Popularity without leakage: the artist's degree in the knowledge graph (how well known the
  // graph says it is). Oracle reference: the artist's number of listeners among the OTHER
  // users' held-out cold pairs (uses test data; an upper reference, not a baseline).
  std::vector<float> degree(static_cast<std::size_t>(nc)), listeners(degree.size());
  for (index_t c = 0; c < nc; ++c) degree[c] = d.kg_degree[cold[c]];
  for (index_t u = 0; u < users; ++u)
    for (index_t e = cold_relevant.offsets[u]; e < cold_relevant.offsets[u + 1]; ++e)
      listeners[cold_relevant.indices[e]] += 1;
  std::vector<float> oracle(static_cast<std::size_t>(users * nc));
  for (index_t u = 0; u < users; ++u) {
    for (index_t c = 0; c < nc; ++c) oracle[u * nc + c] = listeners[c];
    for (index_t e = cold_relevant.offsets[u]; e < cold_relevant.offsets[u + 1]; ++e)
      oracle[u * nc + cold_relevant.indices[e]] -= 1;
  }
  const double cold_pop = rank_fixed(cpu, users, degree, cold_relevant, nullptr);
  const double cold_oracle = rank_fixed(cpu, users, degree, cold_relevant, &oracle);
  double cold_random = 0;
  {
    std::mt19937_64 crng(a.seed ^ 0xc01dULL);
    std::vector<float> random(static_cast<std::size_t>(users * nc));
    constexpr int draws = 20;
    for (int r = 0; r < draws; ++r) {
      for (auto& v : random) v = static_cast<float>(lastfm::unit(crng));
      cold_random += rank_fixed(cpu, users, degree, cold_relevant, &random) / draws;
    }
  }
  std::printf(
      "cold start: %lld artists, %lld held-out pairs; ndcg@10 kg %.4f, popularity (kg "
      "degree) %.4f, random %.4f, oracle popularity (other users' test pairs) %.4f\n",
      static_cast<long long>(nc), static_cast<long long>(sp.cold.size()), cold_kg, cold_pop,
      cold_random, cold_oracle);

  // ---- one user's top 3, explained ----
  {
    // The first user from seed % users on whose top 20 the graph links an artist to one the
    // user listened to (so that the graph's reason can be shown too).
    index_t u = static_cast<index_t>(a.seed % static_cast<std::uint64_t>(users));
    for (index_t tries = 0; tries < users; ++tries, u = (u + 1) % users) {
      std::vector<std::int32_t> mine(s.train.indices.begin() + s.train.offsets[u],
                                     s.train.indices.begin() + s.train.offsets[u + 1]);
      bool found = false;
      for (index_t j = 0; j < k && !found; ++j)
        found =
            recs[1][u * k + j] >= 0 && !lastfm::kg_reason(d, kg, mine, recs[1][u * k + j]).empty();
      if (found) break;
    }
    std::vector<std::int32_t> listened(s.train.indices.begin() + s.train.offsets[u],
                                       s.train.indices.begin() + s.train.offsets[u + 1]);
    std::vector<float> values(s.train.values.begin() + s.train.offsets[u],
                              s.train.values.begin() + s.train.offsets[u + 1]);
    const auto gram = recfuse::gramian(cpu, s.als.item_matrix());
    std::printf(
        "top 3 for user %s (%zu training artists), fused score = sum of the weighted "
        "z-scores:\n",
        std::string(d.users.key(u)).c_str(), listened.size());
    const auto factors = lastfm::gather_rows(s.als.item_factors, s.als.factors, candidates);
    const auto smoothed = lastfm::gather_rows(s.smoothed, s.als.factors, candidates);
    std::vector<float> parts[lastfm::scorers];
    lastfm::score_block(cpu, s, u, 1, factors, smoothed, candidates, parts, true);
    for (index_t j = 0; j < 3; ++j) {
      const index_t i = recs[1][u * k + j];
      if (i < 0) break;
      std::printf("  %lld. artist %s:", static_cast<long long>(j + 1),
                  std::string(d.artists.key(i)).c_str());
      for (int c = 0; c < lastfm::scorers; ++c)
        if (warm_w[c] != 0)
          std::printf(" %+.2f %s", warm_w[c] * parts[c][i], lastfm::scorer_name(c));
      std::printf("\n");
      const auto why = recfuse::fuse::explain_factorization(
          cpu, s.als,
          recfuse::vector_view<const float>(gram.data(), static_cast<index_t>(gram.size())),
          recfuse::vector_view<const std::int32_t>(listened.data(),
                                                   static_cast<index_t>(listened.size())),
          recfuse::vector_view<const float>(values.data(), static_cast<index_t>(values.size())), i,
          2, s.options);
      std::string because;
      for (const auto& ev : why.evidence) {
        if (ev.contribution <= 0) continue;
        because += (because.empty() ? "" : ", ") + std::string("artist ") +
                   std::string(d.artists.key(ev.item));
      }
      if (!because.empty())
        std::printf("     because you listened to %s (als fold-in %.3f)\n", because.c_str(),
                    why.score);
      // The strongest knowledge-graph path from a listened artist: a shared (relation, entity).
      const auto kg_why = lastfm::kg_reason(d, kg, listened, i);
      if (!kg_why.empty()) std::printf("     %s\n", kg_why.c_str());
    }
    // The best-ranked of the user's top 20 that the graph links to a listened artist.
    for (index_t j = 3; j < k; ++j) {
      const index_t i = recs[1][u * k + j];
      if (i < 0) break;
      const auto kg_why = lastfm::kg_reason(d, kg, listened, i);
      if (kg_why.empty()) continue;
      std::printf("  %lld. artist %s:", static_cast<long long>(j + 1),
                  std::string(d.artists.key(i)).c_str());
      for (int c = 0; c < lastfm::scorers; ++c)
        if (warm_w[c] != 0)
          std::printf(" %+.2f %s", warm_w[c] * parts[c][i], lastfm::scorer_name(c));
      std::printf("\n     %s\n", kg_why.c_str());
      break;
    }
    // The user's top cold artist (never in training): its reason is the graph's alone.
    if (nc > 0 && cold_recs[u * std::min<index_t>(10, nc)] >= 0) {
      const index_t i = cold[static_cast<std::size_t>(cold_recs[u * std::min<index_t>(10, nc)])];
      const auto kg_why = lastfm::kg_reason(d, kg, listened, i);
      std::printf("  cold artist %s (no listening data): %s\n",
                  std::string(d.artists.key(i)).c_str(),
                  kg_why.empty() ? "no graph path to a listened artist" : kg_why.c_str());
    }
  }

  std::printf(
      "{\"protocol\": \"topk\", \"seed\": %llu, \"ndcg@10_als\": %s, \"ndcg@10_kg_fused\": %s, "
      "\"recall@20_als\": %s, \"recall@20_kg_fused\": %s, \"cold_ndcg@10_kg\": %s, "
      "\"cold_ndcg@10_popularity\": %s, \"cold_ndcg@10_random\": %s, "
      "\"cold_ndcg@10_popularity_oracle\": %s, \"users\": %lld, \"cold_items\": %lld, "
      "\"warm_weights\": \"%s\", \"cold_weights\": \"%s\", \"seconds\": %.3f}\n",
      static_cast<unsigned long long>(a.seed), number(m_als.ndcg10).c_str(),
      number(m_fused.ndcg10).c_str(), number(m_als.recall20).c_str(),
      number(m_fused.recall20).c_str(), number(cold_kg).c_str(), number(cold_pop).c_str(),
      number(cold_random).c_str(), number(cold_oracle).c_str(), static_cast<long long>(m_als.users),
      static_cast<long long>(nc), weights_text(warm_w).c_str(), weights_text(cold_w).c_str(),
      seconds_since(t0));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const arguments a = parse(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const std::filesystem::path dir = a.data;
    for (const char* f : {"user_artists.dat", "item_index2entity_id.txt", "kg.txt"}) {
      if (!std::filesystem::exists(dir / f)) {
        std::printf("Last.FM data not found at %s\n", dir.string().c_str());
        std::printf("{\"protocol\": \"%s\", \"data\": \"not found\"}\n", a.protocol.c_str());
        return 0;
      }
    }
    const cpu_policy cpu{a.threads};
    const auto d = lastfm::load(dir);
    // The relation-typed artist graph (two artists linked when they share a (relation, entity)
    // pair), top 20 neighbours: chosen over the untyped graph and 50, 100, 200 neighbours on
    // stage A's validation figures (docs/lastfm.md).
    const auto kg = lastfm::build_kg_graph(cpu, d.typed_attributes, 20);
    std::printf(
        "data: %lld users, %lld artists (%zu linked to the graph), %lld listening pairs; "
        "graph: %lld triples, %lld entities, %zu relations; artist graph %lld edges "
        "(%.2f s)\n",
        static_cast<long long>(d.n_users()), static_cast<long long>(d.n_items()), d.linked.size(),
        static_cast<long long>(d.listens.size()), static_cast<long long>(d.kg.size()),
        static_cast<long long>(d.kg.entities.size()), d.kg.relations.size(),
        static_cast<long long>(kg.graph.nnz()), seconds_since(t0));
    if (a.protocol == "mkr") return lastfm::run_mkr(cpu, d, kg, a.seed, t0);
    return run_topk(a, cpu, d, kg, t0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recfuse-lastfm: %s\n", e.what());
    return 1;
  }
}
