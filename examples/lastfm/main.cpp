// recfuse-lastfm: a real knowledge graph in the fusion. Implicit ALS on the HetRec 2011 Last.FM
// listening counts is blended with knowledge-graph signals, ranked with training artists
// excluded, checked on artists removed from training entirely (cold start), and explained. The
// graph has two kinds of relations between artists: the Satori ones of the MKR authors' graph
// (artist -> (relation, entity) -> artist) and a co-listen relation built from the training
// listens (kNN-sparsified cosine co-occurrence). The last line of standard output is one JSON
// object (nlohmann-json; a figure that is not a finite number is printed as null).
//
//   recfuse-lastfm [--data DIR] [--seed N] [--threads N] [--protocol topk|mkr]
//                  [--colisten-neighbors N] [--colisten-min-count N]
//
// DIR holds user_artists.dat, item_index2entity_id.txt and kg.txt (default: ../shared/data/
// lastfm-kg beside the source tree). Where they are absent the program says so and exits 0.
// --protocol topk (default): top-k ranking (NDCG@10, Recall@20) and cold start (data.hpp,
// signals.hpp, evaluate.hpp); mkr: the MKR papers' CTR protocol (AUC, accuracy; mkr.hpp).
// Bad options: a message on standard error and exit status 2.
// docs/lastfm.md describes both protocols and the results.
#include <algorithm>
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
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "../common/cli.hpp"
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

struct arguments {
  std::string data = RECFUSE_DEFAULT_DATA, protocol = "topk";
  std::uint64_t seed = 1;
  int threads = 0;
  lastfm::colisten_options colisten;
};

arguments parse(int argc, char** argv) {
  arguments a;
  CLI::App app{
      "recfuse-lastfm: implicit ALS on Last.FM fused with a knowledge graph (Satori relations "
      "and a co-listen relation); prints the figures as one JSON object on the last line "
      "(docs/lastfm.md)",
      "recfuse-lastfm"};
  app.add_option("--data", a.data,
                 "folder with user_artists.dat, item_index2entity_id.txt and kg.txt")
      ->capture_default_str();
  app.add_option("--seed", a.seed, "seed of the splits and of ALS (default 1)")
      ->check(examples::integer_in<std::uint64_t>(0, std::numeric_limits<std::uint64_t>::max()));
  app.add_option("--threads", a.threads, "threads (default: all)")
      ->check(examples::integer_in(1, 1024));
  app.add_option("--protocol", a.protocol,
                 "topk: top-k ranking and cold start; mkr: the MKR papers' CTR protocol")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            if (v == "topk" || v == "mkr") return {};
            return "must be topk or mkr, got '" + v + "'";
          },
          "topk|mkr"))
      ->capture_default_str();
  app.add_option("--colisten-neighbors", a.colisten.neighbors,
                 "co-listen relation: strongest links kept per artist (0: no co-listen "
                 "relation; default 100)")
      ->check(examples::integer_in<index_t>(0, 100000));
  app.add_option("--colisten-min-count", a.colisten.min_count,
                 "co-listen relation: fewest common listeners of a link (default 2)")
      ->check(examples::integer_in<index_t>(1, 100000));
  examples::parse_or_exit(app, argc, argv);
  return a;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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

// The grids the blend weights are chosen from (on validation data only). Warm: the Satori-only
// blends (ALS + kg_knn + kg_als, 25 points), then blends with the co-listen relation (co_knn,
// co_als) with and without the Satori scorers.
std::vector<lastfm::weights> warm_grid() {
  std::vector<lastfm::weights> g;
  for (double knn : {0.0, 0.01, 0.02, 0.04, 0.08})
    for (double agg : {0.0, 0.02, 0.05, 0.1, 0.2}) g.push_back({1.0, knn, agg, 0.0, 0.0, 0.0});
  for (double knn : {0.0, 0.04})
    for (double agg : {0.0, 0.05})
      for (double co : {0.5, 1.0, 1.5, 2.0, 3.0})
        for (double co_als : {0.0, 0.3}) g.push_back({1.0, knn, agg, 0.0, co, co_als});
  return g;
}
std::vector<lastfm::weights> cold_grid() {
  std::vector<lastfm::weights> g;
  for (double knn : {0.0, 0.5, 1.0})
    for (double agg : {0.0, 0.5, 1.0})
      for (double pop : {0.0, 0.5, 1.0})
        if (knn + agg + pop > 0) g.push_back({0.0, knn, agg, pop, 0.0, 0.0});
  return g;
}

bool uses_satori(const lastfm::weights& w) {
  return w[lastfm::kg_knn_score] != 0 || w[lastfm::kg_als_score] != 0 ||
         w[lastfm::kg_pop_score] != 0;
}
bool uses_colisten(const lastfm::weights& w) {
  return w[lastfm::co_knn_score] != 0 || w[lastfm::co_als_score] != 0;
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

// The validation figure of every blend of `grid`: NDCG@10 + Recall@20 on `relevant` (the two
// figures the fused ranking is judged by).
template <class Policy>
std::vector<double> validate(const Policy& cpu, const lastfm::signals& s,
                             const std::vector<std::int32_t>& candidates,
                             const recfuse::csr_matrix<float>& exclude,
                             const recfuse::csr_matrix<float>& relevant,
                             const std::vector<lastfm::weights>& grid) {
  const index_t k = 20;
  const auto recs = lastfm::rank_blends(cpu, s, candidates, exclude, grid, k);
  std::vector<double> value(grid.size());
  for (std::size_t b = 0; b < grid.size(); ++b) {
    const auto m = lastfm::score(cpu, recs[b], k, relevant);
    value[b] = m.ndcg10 + (std::isfinite(m.recall20) ? m.recall20 : 0.0);
  }
  return value;
}

// The blend of `grid` with the best validation figure among those `allowed` (ties: the earlier
// blend, so the smaller weights).
template <class Allowed>
lastfm::weights pick(const std::vector<lastfm::weights>& grid, const std::vector<double>& value,
                     Allowed allowed, const char* what) {
  double best = -1;
  lastfm::weights chosen = grid[0];
  std::size_t n = 0;
  for (std::size_t b = 0; b < grid.size(); ++b) {
    if (!allowed(grid[b])) continue;
    ++n;
    if (value[b] > best) best = value[b], chosen = grid[b];
  }
  std::printf("  %s: chose %s (validation ndcg@10 + recall@20 %.4f over %zu blends)\n", what,
              weights_text(chosen).c_str(), best, n);
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
  lastfm::weights warm_w, satori_w, colisten_w, cold_w;
  {
    const auto t = std::chrono::steady_clock::now();
    const auto pool = lastfm::linked_with_pairs(d, sp.kept, sp.is_cold);
    const auto va = lastfm::make_split(
        sp.kept, pool,
        0.1 * static_cast<double>(d.linked.size()) / static_cast<double>(pool.size()), 0.2, rng);
    const auto s = lastfm::build_signals(cpu, d, kg, va.kept, a.seed, a.colisten);
    std::vector<index_t> banned = sp.cold_items;
    banned.insert(banned.end(), va.cold_items.begin(), va.cold_items.end());
    const auto exclude = exclusion(va.kept, banned, users, candidates, items);
    const auto relevant = lastfm::by_candidate(va.held, users, candidates, items);
    std::printf("stage A: %lld fit, %lld validation pairs, %zu pseudo-cold artists (%.2f s)\n",
                static_cast<long long>(va.kept.size()), static_cast<long long>(va.held.size()),
                va.cold_items.size(), seconds_since(t));
    const auto grid = warm_grid();
    const auto value = validate(cpu, s, candidates, exclude, relevant, grid);
    const auto any = [](const lastfm::weights&) { return true; };
    satori_w = pick(
        grid, value, [](const lastfm::weights& w) { return !uses_colisten(w); },
        "warm blend, Satori relations only");
    colisten_w = pick(
        grid, value, [](const lastfm::weights& w) { return !uses_satori(w); },
        "warm blend, co-listen relation only");
    warm_w = pick(grid, value, any, "warm blend, Satori + co-listen");
    const std::vector<std::int32_t> pc(va.cold_items.begin(), va.cold_items.end());
    lastfm::pairs none = lastfm::empty_like(va.kept);
    const auto cgrid = cold_grid();
    cold_w = pick(cgrid,
                  validate(cpu, s, pc, lastfm::by_candidate(none, users, pc, items),
                           lastfm::by_candidate(va.cold, users, pc, items), cgrid),
                  any, "cold blend");
  }

  // ---- stage B: every scorer on the whole training set; the figures ----
  const auto s = lastfm::build_signals(cpu, d, kg, sp.kept, a.seed, a.colisten);
  const auto exclude = exclusion(sp.kept, sp.cold_items, users, candidates, items);
  const auto relevant = lastfm::by_candidate(sp.held, users, candidates, items);
  const lastfm::weights als_only{1.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  const index_t k = 20;
  const auto recs =
      lastfm::rank_blends(cpu, s, candidates, exclude, {als_only, warm_w, satori_w, colisten_w}, k);
  const auto m_als = lastfm::score(cpu, recs[0], k, relevant);
  const auto m_fused = lastfm::score(cpu, recs[1], k, relevant);
  const auto m_satori = lastfm::score(cpu, recs[2], k, relevant);
  const auto m_colisten = lastfm::score(cpu, recs[3], k, relevant);
  std::printf(
      "warm ranking over %lld artists for %lld users: ndcg@10 als %.4f, kg fused %.4f "
      "(Satori only %.4f, co-listen only %.4f); recall@20 als %.4f, kg fused %.4f (Satori only "
      "%.4f, co-listen only %.4f)\n",
      static_cast<long long>(items), static_cast<long long>(m_als.users), m_als.ndcg10,
      m_fused.ndcg10, m_satori.ndcg10, m_colisten.ndcg10, m_als.recall20, m_fused.recall20,
      m_satori.recall20, m_colisten.recall20);

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
    const auto co_smoothed = lastfm::gather_rows(s.co_smoothed, s.als.factors, candidates);
    std::vector<float> parts[lastfm::scorers];
    lastfm::score_block(cpu, s, u, 1, factors, smoothed, co_smoothed, candidates, parts, true);
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
      // The strongest knowledge-graph path from a listened artist: a shared (relation, entity),
      // and the strongest co-listen link.
      const auto kg_why = lastfm::kg_reason(d, kg, listened, i);
      if (!kg_why.empty()) std::printf("     %s\n", kg_why.c_str());
      const auto co_why = lastfm::colisten_reason(d, s, listened, i);
      if (!co_why.empty()) std::printf("     %s\n", co_why.c_str());
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

  nlohmann::ordered_json j;
  j["protocol"] = "topk";
  j["seed"] = a.seed;
  j["ndcg@10_als"] = examples::figure(m_als.ndcg10);
  j["ndcg@10_kg_fused"] = examples::figure(m_fused.ndcg10);
  j["recall@20_als"] = examples::figure(m_als.recall20);
  j["recall@20_kg_fused"] = examples::figure(m_fused.recall20);
  j["cold_ndcg@10_kg"] = examples::figure(cold_kg);
  j["cold_ndcg@10_popularity"] = examples::figure(cold_pop);
  j["cold_ndcg@10_random"] = examples::figure(cold_random);
  j["cold_ndcg@10_popularity_oracle"] = examples::figure(cold_oracle);
  j["ndcg@10_satori_fused"] = examples::figure(m_satori.ndcg10);
  j["recall@20_satori_fused"] = examples::figure(m_satori.recall20);
  j["ndcg@10_colisten_fused"] = examples::figure(m_colisten.ndcg10);
  j["recall@20_colisten_fused"] = examples::figure(m_colisten.recall20);
  j["users"] = m_als.users;
  j["cold_items"] = nc;
  j["colisten_neighbors"] = a.colisten.neighbors;
  j["colisten_min_count"] = a.colisten.min_count;
  j["warm_weights"] = weights_text(warm_w);
  j["satori_weights"] = weights_text(satori_w);
  j["colisten_weights"] = weights_text(colisten_w);
  j["cold_weights"] = weights_text(cold_w);
  j["seconds"] = examples::figure(seconds_since(t0));
  std::printf("%s\n", j.dump().c_str());
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
        const nlohmann::ordered_json j{{"protocol", a.protocol}, {"data", "not found"}};
        std::printf("%s\n", j.dump().c_str());
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
