// recfuse-search: search quality on MovieLens 100K titles, BM25, semantic and hybrid, as MRR@10.
//
//   recfuse-search [--data DIR] [--seed N] [--threads N] [--k1 X] [--b X] [--k-rrf X]
//                  [--candidates N] [--item-embeddings E.npy --query-embeddings Q.npy]
//   recfuse-search --write-queries FILE       write the query texts (one per line), then stop
//   recfuse-search --dump-bm25 FILE           also write corpus, queries and BM25 top-10 as JSON
//   recfuse-search --generated                generated titles instead of MovieLens
//
// Corpus: the titles of DIR/ml-100k/u.item (default DIR ../shared/data), Latin-1 converted to
// UTF-8 (recfuse::io::load_movielens_items), item i = movie id i + 1, each title as u.item has it
// ("Toy Story (1995)": the year is one of its words). Where that file is absent (or with
// --generated), 1,682 generated titles of 1 to 5 made-up words and a year, seeded by --seed.
// Tokens: recfuse::search::tokenize with its defaults (lower case, tokens of >= 2 characters).
//
// Queries: for every title of at least two tokens, the title's tokens with one dropped (chosen
// uniformly by a std::mt19937_64 seeded with --seed, titles in id order), joined by spaces; the
// relevant item is that title's item. Titles of fewer than two tokens make no query
// ("skipped_titles"). MRR@10 = the mean over queries of 1 / rank of the relevant item in the top
// 10 (0 when absent); duplicate titles count only the item the query came from.
// - bm25: search::bm25_topk (k1 1.5, b 0.75 unless given) over the titles, top 10.
// - semantic: search::semantic_topk of the query embeddings against the item embeddings (inner
//   product; tools/embed_titles.py writes L2-normalised all-MiniLM-L6-v2 vectors: cosine). The
//   embeddings come from files: --write-queries FILE writes the query texts, and
//     python tools/embed_titles.py --items DIR/ml-100k/u.item --text title --out items.npy
//     python tools/embed_titles.py --queries FILE --out queries.npy
//   embed the titles and the queries the same way. Without them the semantic and hybrid figures
//   are null and "semantic" says why.
// - hybrid: search::hybrid_rank with reciprocal-rank fusion (k_rrf 60, weights 1) of the BM25
//   and semantic top --candidates (default 50), top 10; "mrr@10_hybrid_blend" is the min-max
//   blend of the same candidates.
// Output: one JSON line (nlohmann-json): "mrr@10_bm25", "mrr@10_semantic", "mrr@10_hybrid" (null
// where not run), "mrr@10_hybrid_blend", "hits@10_*", the counts, the data source and the BM25
// build and query times, figures with six decimals (examples/common/cli.hpp). Options are parsed
// by CLI11: --help exits 0, a bad value or an unknown option exits with status 2.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "../common/cli.hpp"
#include "recfuse/io/id_map.hpp"
#include "recfuse/io/movielens.hpp"
#include "recfuse/io/npy.hpp"
#include "recfuse/search/bm25.hpp"
#include "recfuse/search/hybrid.hpp"
#include "recfuse/search/semantic.hpp"
#include "recfuse/xsimd/search/bm25.hpp"
#include "recfuse/xsimd/search/semantic.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using recfuse::index_t;
namespace search = recfuse::search;

namespace {

struct options {
  std::string data = "../shared/data";
  bool generated = false;
  std::uint64_t seed = 1;
  int threads = 2;
  double k1 = 1.5;
  double b = 0.75;
  double k_rrf = 60;
  index_t candidates = 50;
  std::string write_queries;
  std::string item_embeddings;
  std::string query_embeddings;
  std::string dump_bm25;
};

constexpr index_t top_n = 10;

// u.item's titles (UTF-8) in id order, or nothing when the file is absent.
std::optional<std::vector<std::string>> movielens_titles(const fs::path& u_item) {
  if (!fs::exists(u_item)) return std::nullopt;
  index_t lines = 0;
  {
    std::ifstream in(u_item);
    std::string line;
    while (std::getline(in, line)) lines += line.find_first_not_of(" \t\r") != std::string::npos;
  }
  recfuse::io::id_map items;
  for (index_t id = 1; id <= lines; ++id) items.insert(std::int64_t{id});
  return recfuse::io::load_movielens_items(u_item, items).titles;
}

// 1,682 titles of 1 to 5 words from a made-up vocabulary of 600 words (Zipf-like), plus a year.
std::vector<std::string> generated_titles(std::uint64_t seed) {
  static const char* syllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "do", "re",
                                    "ba", "fe", "gu", "ho", "zi", "pe", "qu", "wa", "xo", "ly"};
  std::mt19937_64 rng(seed);
  std::vector<std::string> words(600);
  for (std::size_t w = 0; w < words.size(); ++w) {
    words[w] = std::string(syllables[w % 20]) + syllables[(w / 20) % 20] + syllables[(w * 7) % 20];
  }
  std::vector<double> p(words.size());
  for (std::size_t w = 0; w < p.size(); ++w) p[w] = 1.0 / static_cast<double>(w + 1);
  std::discrete_distribution<std::size_t> word(p.begin(), p.end());
  std::uniform_int_distribution<int> length(1, 5), year(1920, 1998);
  std::vector<std::string> titles(1682);
  for (auto& t : titles) {
    const int n = length(rng);
    for (int i = 0; i < n; ++i) t += (i ? " " : "") + words[word(rng)];
    t += " (" + std::to_string(year(rng)) + ")";
  }
  return titles;
}

struct query_set {
  std::vector<std::vector<std::string>> tokens;
  std::vector<std::string> texts;
  std::vector<index_t> relevant;
  index_t skipped = 0;
};

query_set make_queries(const std::vector<std::vector<std::string>>& docs, std::uint64_t seed) {
  query_set q;
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const auto& d = docs[i];
    if (d.size() < 2) {
      ++q.skipped;
      continue;
    }
    std::uniform_int_distribution<std::size_t> pick(0, d.size() - 1);
    const std::size_t drop = pick(rng);
    std::vector<std::string> t;
    std::string text;
    for (std::size_t j = 0; j < d.size(); ++j) {
      if (j == drop) continue;
      text += (t.empty() ? "" : " ") + d[j];
      t.push_back(d[j]);
    }
    q.tokens.push_back(std::move(t));
    q.texts.push_back(std::move(text));
    q.relevant.push_back(static_cast<index_t>(i));
  }
  return q;
}

struct quality {
  double mrr = 0;
  double hits = 0;
};

// MRR@10 and hits@10 of ranked ids (row r: query r's ids, -1 padding) against `relevant`.
template <class Id>
quality evaluate(const std::vector<index_t>& relevant, Id&& id_at) {
  quality q;
  for (std::size_t r = 0; r < relevant.size(); ++r) {
    for (index_t j = 0; j < top_n; ++j) {
      if (id_at(static_cast<index_t>(r), j) == relevant[r]) {
        q.mrr += 1.0 / static_cast<double>(j + 1);
        q.hits += 1.0;
        break;
      }
    }
  }
  const auto n = static_cast<double>(relevant.size());
  if (n > 0) {
    q.mrr /= n;
    q.hits /= n;
  }
  return q;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int run(const options& a) {
  const recfuse::exec::xsimd cpu{a.threads};
  json out;
  std::vector<std::string> titles;
  const fs::path u_item = fs::path(a.data) / "ml-100k" / "u.item";
  auto loaded = a.generated ? std::nullopt : movielens_titles(u_item);
  if (loaded) {
    titles = std::move(*loaded);
    out["dataset"] = "ml-100k";
  } else {
    titles = generated_titles(a.seed);
    out["dataset"] = a.generated ? "generated" : "generated (no " + u_item.string() + ")";
  }

  std::vector<std::vector<std::string>> docs;
  docs.reserve(titles.size());
  for (const auto& t : titles) docs.push_back(search::tokenize(t));
  const query_set queries = make_queries(docs, a.seed);

  if (!a.write_queries.empty()) {
    std::ofstream f(a.write_queries, std::ios::binary);
    for (const auto& t : queries.texts) f << t << '\n';
    f.close();
    if (!f) throw recfuse::io_error("recfuse-search: cannot write " + a.write_queries);
    out["queries_written"] = queries.texts.size();
    out["file"] = a.write_queries;
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }

  auto t0 = std::chrono::steady_clock::now();
  const search::bm25_index<float> index(docs, search::bm25_params{a.k1, a.b});
  const double build_s = seconds_since(t0);
  const auto encoded = index.encode(queries.tokens);
  t0 = std::chrono::steady_clock::now();
  const auto lexical = search::bm25_topk(cpu, index, encoded.view(), top_n);
  const double query_s = seconds_since(t0);
  const auto bm25_q =
      evaluate(queries.relevant, [&](index_t r, index_t j) { return lexical.index(r, j); });

  out["items"] = index.items();
  out["terms"] = index.terms();
  out["queries"] = queries.relevant.size();
  out["skipped_titles"] = queries.skipped;
  out["seed"] = a.seed;
  out["threads"] = a.threads;
  out["k1"] = a.k1;
  out["b"] = a.b;
  out["mrr@10_bm25"] = examples::figure(bm25_q.mrr);
  out["hits@10_bm25"] = examples::figure(bm25_q.hits);
  out["bm25_build_seconds"] = build_s;
  out["bm25_query_seconds"] = query_s;

  if (!a.dump_bm25.empty()) {
    json d;
    d["k1"] = a.k1;
    d["b"] = a.b;
    d["corpus"] = docs;
    d["queries"] = queries.tokens;
    std::vector<std::vector<index_t>> ids(queries.tokens.size());
    std::vector<std::vector<double>> scores(queries.tokens.size());
    for (index_t r = 0; r < lexical.rows; ++r) {
      for (index_t j = 0; j < top_n && lexical.index(r, j) >= 0; ++j) {
        ids[static_cast<std::size_t>(r)].push_back(lexical.index(r, j));
        scores[static_cast<std::size_t>(r)].push_back(lexical.value(r, j));
      }
    }
    d["top_ids"] = ids;
    d["top_scores"] = scores;
    std::ofstream f(a.dump_bm25, std::ios::binary);
    f << d.dump() << '\n';
    f.close();
    if (!f) throw recfuse::io_error("recfuse-search: cannot write " + a.dump_bm25);
  }

  out["mrr@10_semantic"] = nullptr;
  out["mrr@10_hybrid"] = nullptr;
  out["mrr@10_hybrid_blend"] = nullptr;
  if (a.item_embeddings.empty() || a.query_embeddings.empty()) {
    out["semantic"] =
        "not run: give --item-embeddings and --query-embeddings (tools/embed_titles.py)";
  } else {
    const auto items = recfuse::io::load_npy<float>(a.item_embeddings);
    const auto qemb = recfuse::io::load_npy<float>(a.query_embeddings);
    const auto x = items.matrix();
    const auto q = qemb.matrix();
    if (x.rows() != index.items()) {
      throw recfuse::value_error("recfuse-search: " + a.item_embeddings + " has " +
                                 std::to_string(x.rows()) + " rows but there are " +
                                 std::to_string(index.items()) + " titles");
    }
    if (q.rows() != static_cast<index_t>(queries.relevant.size())) {
      throw recfuse::value_error("recfuse-search: " + a.query_embeddings + " has " +
                                 std::to_string(q.rows()) + " rows but there are " +
                                 std::to_string(queries.relevant.size()) +
                                 " queries (write them with --write-queries and the same --seed)");
    }
    const auto semantic = search::semantic_topk(cpu, q, x, top_n);
    const auto sem_q =
        evaluate(queries.relevant, [&](index_t r, index_t j) { return semantic.index(r, j); });
    const index_t c = std::min(a.candidates, index.items());
    const auto lexical_c = search::bm25_topk(cpu, index, encoded.view(), c);
    const auto semantic_c = search::semantic_topk(cpu, q, x, c);
    search::hybrid_options o;
    o.k_rrf = a.k_rrf;
    const auto rrf = search::hybrid_rank(&lexical_c, &semantic_c, top_n, o);
    o.method = search::fusion_method::blend;
    const auto blend = search::hybrid_rank(&lexical_c, &semantic_c, top_n, o);
    const auto at = [](const auto& hits) {
      return [&hits](index_t r, index_t j) {
        const auto& row = hits[static_cast<std::size_t>(r)];
        return j < static_cast<index_t>(row.size()) ? row[static_cast<std::size_t>(j)].item
                                                    : index_t{-1};
      };
    };
    const auto rrf_q = evaluate(queries.relevant, at(rrf));
    const auto blend_q = evaluate(queries.relevant, at(blend));
    out["semantic"] = "item embeddings " + a.item_embeddings + " (" + std::to_string(x.cols()) +
                      " dimensions), query embeddings " + a.query_embeddings;
    out["mrr@10_semantic"] = examples::figure(sem_q.mrr);
    out["hits@10_semantic"] = examples::figure(sem_q.hits);
    out["mrr@10_hybrid"] = examples::figure(rrf_q.mrr);
    out["hits@10_hybrid"] = examples::figure(rrf_q.hits);
    out["mrr@10_hybrid_blend"] = examples::figure(blend_q.mrr);
    out["candidates"] = c;
    out["k_rrf"] = a.k_rrf;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options a;
  CLI::App app{
      "recfuse-search: BM25, semantic and hybrid search quality (MRR@10) on MovieLens titles",
      "recfuse-search"};
  app.add_option("--data", a.data, "directory holding ml-100k/u.item (default ../shared/data)");
  app.add_flag("--generated", a.generated, "generated titles instead of MovieLens");
  app.add_option("--seed", a.seed, "seed of the dropped words (and of generated titles)")
      ->check(examples::integer_in<std::uint64_t>(0, UINT64_MAX));
  app.add_option("--threads", a.threads, "threads (0: all)")->check(examples::integer_in(0, 4096));
  app.add_option("--k1", a.k1, "BM25 k1 (default 1.5)")->check(examples::finite_number(0.0));
  app.add_option("--b", a.b, "BM25 b (default 0.75)")
      ->check(examples::finite_number(0.0) & CLI::Range(0.0, 1.0));
  app.add_option("--k-rrf", a.k_rrf, "reciprocal-rank fusion offset (default 60)")
      ->check(examples::finite_number(0.0));
  app.add_option("--candidates", a.candidates, "candidates per signal for hybrid (default 50)")
      ->check(examples::integer_in<index_t>(1, index_t{1} << 30));
  app.add_option("--write-queries", a.write_queries,
                 "write the query texts, one per line, and stop");
  app.add_option("--item-embeddings", a.item_embeddings, "items x d .npy (tools/embed_titles.py)");
  app.add_option("--query-embeddings", a.query_embeddings,
                 "queries x d .npy (embed_titles.py --queries)");
  app.add_option("--dump-bm25", a.dump_bm25, "write corpus, queries and BM25 top-10 as JSON");
  examples::parse_or_exit(app, argc, argv);
  try {
    return run(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
