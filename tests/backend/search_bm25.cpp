// search::bm25_topk on a backend against the reference, on random corpora: 1 to 20011 documents
// (the odd tails of the SIMD scan and both selection paths: few items reached, many reached),
// 0, 1, odd and many queries, repeated query terms, unknown terms, k from 1 to all items, random
// exclusion lists; fixed seeds. Every result is also checked against the contract directly
// (best first, padding, no duplicate, nothing excluded, each value the item's true score in
// double), so a reference bug cannot hide behind agreement. Thread counts give identical bits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "backend.hpp"
#include "recfuse/search/bm25.hpp"
#include "test_support.hpp"
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
#include "recfuse/xsimd/search/bm25.hpp"
#endif

using namespace recfuse;

namespace {

using docs_t = std::vector<std::vector<std::string>>;

// Documents of 0 to 12 tokens over a vocabulary of `vocab` words, Zipf-like (word w drawn with
// probability ~ 1 / (w + 1)), so common words reach many documents and rare ones few.
docs_t random_corpus(index_t docs, index_t vocab, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> p(static_cast<std::size_t>(vocab));
  for (index_t w = 0; w < vocab; ++w) p[static_cast<std::size_t>(w)] = 1.0 / double(w + 1);
  std::discrete_distribution<index_t> word(p.begin(), p.end());
  std::uniform_int_distribution<int> len(0, 12);
  docs_t out(static_cast<std::size_t>(docs));
  for (auto& d : out) {
    const int n = len(rng);
    for (int t = 0; t < n; ++t) d.push_back("w" + std::to_string(word(rng)));
  }
  return out;
}

// Queries of 0 to 5 tokens, some repeated, some unknown ("zz...").
docs_t random_queries(index_t count, index_t vocab, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<index_t> word(0, vocab - 1);
  std::uniform_int_distribution<int> len(0, 5), coin(0, 9);
  docs_t out(static_cast<std::size_t>(count));
  for (auto& q : out) {
    const int n = len(rng);
    for (int t = 0; t < n; ++t) {
      const int c = coin(rng);
      if (c == 0) {
        q.push_back("zz" + std::to_string(t));
      } else if (c == 1 && !q.empty()) {
        q.push_back(q.back());
      } else {
        q.push_back("w" + std::to_string(word(rng)));
      }
    }
  }
  return out;
}

// Random exclusion lists: up to 4 ids per row, unsorted, duplicates allowed.
struct exclusion {
  std::vector<index_t> offsets{0};
  std::vector<std::int32_t> ids;
};
exclusion random_exclusion(index_t rows, index_t items, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> count(0, 4);
  std::uniform_int_distribution<std::int32_t> id(0, static_cast<std::int32_t>(items - 1));
  exclusion e;
  for (index_t r = 0; r < rows; ++r) {
    const int c = count(rng);
    for (int j = 0; j < c; ++j) e.ids.push_back(id(rng));
    e.offsets.push_back(static_cast<index_t>(e.ids.size()));
  }
  return e;
}

// Dense scores of every item for query r, in double, from the index's weights.
template <class T>
std::vector<double> dense_scores(const search::bm25_index<T>& index, const csr_matrix<T>& q,
                                 index_t r) {
  std::vector<double> s(static_cast<std::size_t>(index.items()), 0.0);
  const auto w = index.weights();
  for (index_t e = q.offsets[r]; e < q.offsets[r + 1]; ++e) {
    const index_t t = q.indices[e];
    for (index_t p = w.offsets()[t]; p < w.offsets()[t + 1]; ++p) {
      s[static_cast<std::size_t>(w.indices()[p])] +=
          static_cast<double>(q.values[e]) * static_cast<double>(w.values()[p]);
    }
  }
  return s;
}

}  // namespace

TEMPLATE_TEST_CASE("search::bm25_topk: backend vs reference", "[search][bm25][backend]", float,
                   double) {
  using T = TestType;
  const auto policy = test::backend_policy();
  const reference_backend::policy ref;
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;  // relative to the score
  struct shape {
    index_t docs, vocab, queries;
  };
  for (const shape s : {shape{1, 3, 3}, shape{7, 5, 1}, shape{17, 40, 9}, shape{65, 8, 33},
                        shape{1000, 300, 64}, shape{20011, 2000, 40}}) {
    const auto corpus = random_corpus(s.docs, s.vocab, 11 + s.docs);
    const search::bm25_index<T> index(corpus);
    for (const index_t m : {index_t{0}, s.queries}) {
      const auto q = index.encode(random_queries(m, s.vocab, 97 + s.docs + m));
      const auto ex = random_exclusion(m, index.items(), 5 + m);
      const csr_pattern_view<std::int32_t> exclude(m, index.items(), ex.offsets.data(),
                                                   ex.ids.data());
      for (const index_t k : {index_t{1}, std::min<index_t>(10, index.items()), index.items()}) {
        for (const bool with_exclusion : {false, true}) {
          CAPTURE(s.docs, s.vocab, m, k, with_exclusion);
          const auto expect = with_exclusion ? search::bm25_topk(ref, index, q.view(), k, exclude)
                                             : search::bm25_topk(ref, index, q.view(), k);
          const auto got = with_exclusion ? search::bm25_topk(policy, index, q.view(), k, exclude)
                                          : search::bm25_topk(policy, index, q.view(), k);
          REQUIRE(got.rows == m);
          REQUIRE(got.k == k);
          bool ok = true;
          for (index_t r = 0; r < m && ok; ++r) {
            const auto dense = dense_scores(index, q, r);
            std::set<index_t> seen, excluded;
            if (with_exclusion) {
              for (index_t e = ex.offsets[r]; e < ex.offsets[r + 1]; ++e)
                excluded.insert(ex.ids[e]);
            }
            index_t reachable = 0;  // items with a positive score, not excluded
            for (index_t i = 0; i < index.items(); ++i) {
              reachable += dense[static_cast<std::size_t>(i)] > 0 && !excluded.count(i);
            }
            for (index_t j = 0; j < k; ++j) {
              const index_t gi = got.index(r, j), ei = expect.index(r, j);
              const double gv = got.value(r, j), ev = expect.value(r, j);
              // Same padding, same values (up to rounding) at every rank.
              ok = ok && ((gi < 0) == (ei < 0)) && ((gi < 0) == (j >= std::min(k, reachable)));
              if (gi < 0) {
                ok = ok && gv == -std::numeric_limits<double>::infinity();
                continue;
              }
              ok = ok && std::abs(gv - ev) <= tol * std::abs(ev);
              // The backend's item: a true score equal to its value, selectable, not repeated,
              // and no better than the previous one.
              const double truth = dense[static_cast<std::size_t>(gi)];
              ok = ok && std::abs(gv - truth) <= tol * truth && truth > 0;
              ok = ok && !excluded.count(gi) && seen.insert(gi).second;
              if (j > 0) ok = ok && got.value(r, j - 1) >= got.value(r, j);
              if (!ok) {
                CAPTURE(r, j, gi, ei, gv, ev, truth);
                CHECK(ok);
              }
            }
          }
          CHECK(ok);
#if defined(RECFUSE_TEST_BACKEND_XSIMD)
          // One thread gives the same bits as two.
          const auto one = with_exclusion
                               ? search::bm25_topk(exec::xsimd{1}, index, q.view(), k, exclude)
                               : search::bm25_topk(exec::xsimd{1}, index, q.view(), k);
          CHECK(test::same_bits(one.values, got.values));
          CHECK(one.indices == got.indices);
#endif
        }
      }
    }
  }
}

TEST_CASE("search::bm25_topk: backend ties go to the smaller item", "[search][bm25][backend]") {
  const auto policy = test::backend_policy();
  // 100 identical documents plus 3 others: every tie resolves to the smallest ids, on both the
  // dense-scan path (many items reached) and the reached-list path.
  docs_t docs(100, std::vector<std::string>{"aa", "bb"});
  docs.push_back({"cc"});
  docs.push_back({"cc", "dd"});
  docs.push_back({"dd"});
  const search::bm25_index<double> index(docs);
  const auto q = index.encode({{"aa"}, {"dd"}});
  const auto top = search::bm25_topk(policy, index, q.view(), 5);
  for (index_t j = 0; j < 5; ++j) CHECK(top.index(0, j) == j);
  CHECK(top.index(1, 0) == 102);  // shorter document, higher score
  CHECK(top.index(1, 1) == 101);
  CHECK(top.index(1, 2) == -1);

  // Few items reached (the reached-list path): three identical documents among 400 others, k = 2
  // keeps the two smallest ids, whatever the order the items were reached in.
  docs_t many;
  for (int i = 0; i < 400; ++i) many.push_back({"f" + std::to_string(i), "g"});
  for (const int at : {350, 20, 200}) many[static_cast<std::size_t>(at)] = {"rare", "g"};
  const search::bm25_index<float> sparse(many);
  const auto qs = sparse.encode({{"rare"}, {"rare", "rare"}});
  const auto ts = search::bm25_topk(policy, sparse, qs.view(), 2);
  for (const index_t r : {0, 1}) {
    CHECK(ts.index(r, 0) == 20);
    CHECK(ts.index(r, 1) == 200);
  }
}
