// search::hybrid_rank (reciprocal-rank fusion, min-max blend, personal re-rank, explanations)
// and search::semantic_topk on the reference backend, against values worked by hand, and their
// errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "recfuse/search/hybrid.hpp"
#include "recfuse/search/semantic.hpp"
#include "test_support.hpp"

using namespace recfuse;
using Catch::Contains;

namespace {

const reference_backend::policy ref;

topk_result<float> one_row(std::vector<index_t> ids, std::vector<float> values) {
  topk_result<float> r;
  r.rows = 1;
  r.k = static_cast<index_t>(ids.size());
  r.indices = std::move(ids);
  r.values = std::move(values);
  return r;
}

const float pad = -std::numeric_limits<float>::infinity();

// BM25 list: 5 (3.0), 2 (2.0), 7 (1.0); semantic list: 2 (0.9), 9 (0.5), padding.
const topk_result<float> lexical = one_row({5, 2, 7}, {3.0f, 2.0f, 1.0f});
const topk_result<float> semantic = one_row({2, 9, -1}, {0.9f, 0.5f, pad});
// The user's scores for items 0..9: item 2 -> 0, 5 -> 1, 7 -> 2, 9 -> 4.
const std::vector<float> user = {9, 9, 0, 9, 9, 1, 9, 2, 9, 4};

std::vector<index_t> items_of(const std::vector<search::hybrid_hit>& hits) {
  std::vector<index_t> out;
  for (const auto& h : hits) out.push_back(h.item);
  return out;
}

}  // namespace

TEST_CASE("search::hybrid_rank: reciprocal-rank fusion", "[search][hybrid]") {
  // rrf (k_rrf 60, weights 1): 2 -> 1/62 + 1/61 = 0.0325224748; 5 -> 1/61 = 0.0163934426;
  // 9 -> 1/62 = 0.0161290323; 7 -> 1/63 = 0.0158730159.
  const auto hits = search::hybrid_rank(&lexical, &semantic, 10);
  REQUIRE(hits.size() == 1);
  CHECK(items_of(hits[0]) == std::vector<index_t>{2, 5, 9, 7});
  const auto& top = hits[0][0];
  CHECK(top.bm25 == Approx(1.0 / 62).epsilon(1e-15));
  CHECK(top.semantic == Approx(1.0 / 61).epsilon(1e-15));
  CHECK(top.personal == 0.0);
  CHECK(top.score == top.bm25 + top.semantic + top.personal);
  CHECK(top.bm25_rank == 2);
  CHECK(top.semantic_rank == 1);
  CHECK(hits[0][2].bm25 == 0.0);  // item 9: semantic only
  CHECK(hits[0][2].bm25_rank == -1);
  CHECK(hits[0][2].semantic == Approx(1.0 / 62).epsilon(1e-15));
  // k truncates; a single signal works; weights scale the contributions.
  CHECK(items_of(search::hybrid_rank(&lexical, &semantic, 2)[0]) == std::vector<index_t>{2, 5});
  CHECK(items_of(search::hybrid_rank(&lexical, nullptr, 10)[0]) == std::vector<index_t>{5, 2, 7});
  search::hybrid_options o;
  o.semantic_weight = 3.0;
  o.k_rrf = 0;
  // 2 -> 1/2 + 3/1 = 3.5; 9 -> 3/2 = 1.5; 5 -> 1; 7 -> 1/3.
  const auto w = search::hybrid_rank(&lexical, &semantic, 10, o);
  CHECK(items_of(w[0]) == std::vector<index_t>{2, 9, 5, 7});
  CHECK(w[0][0].score == Approx(3.5).epsilon(1e-15));
}

TEST_CASE("search::hybrid_rank: min-max blend and ties", "[search][hybrid]") {
  // bm25 normalised: 5 -> 1, 2 -> 0.5, 7 -> 0; semantic: 2 -> 1, 9 -> 0.
  // 2 -> 1.5, 5 -> 1, 7 -> 0, 9 -> 0 (tie: the smaller item first).
  search::hybrid_options o;
  o.method = search::fusion_method::blend;
  const auto hits = search::hybrid_rank(&lexical, &semantic, 10, o);
  CHECK(items_of(hits[0]) == std::vector<index_t>{2, 5, 7, 9});
  CHECK(hits[0][0].bm25 == Approx(0.5).epsilon(1e-15));
  CHECK(hits[0][0].semantic == 1.0);
  CHECK(hits[0][0].score == 1.5);
  // One candidate per list: max == min gives 1.
  const auto single = one_row({4}, {0.25f});
  const auto s = search::hybrid_rank(&single, nullptr, 3, o);
  REQUIRE(s[0].size() == 1);
  CHECK(s[0][0].score == 1.0);
}

TEST_CASE("search::hybrid_rank: personal re-rank", "[search][hybrid]") {
  // personal over the candidates {2, 5, 7, 9}: scores 0, 1, 2, 4 -> 0, 0.25, 0.5, 1.
  const auto personal = search::dense_personal(vector_view<const float>(user.data(), 10));
  search::hybrid_options o;
  o.method = search::fusion_method::blend;
  o.personal_weight = 0.5;
  // blend + personal: 2 -> 1.5, 5 -> 1.125, 9 -> 0.5, 7 -> 0.25.
  const auto b = search::hybrid_rank(&lexical, &semantic, 10, o, personal);
  CHECK(items_of(b[0]) == std::vector<index_t>{2, 5, 9, 7});
  CHECK(b[0][1].personal == Approx(0.125).epsilon(1e-15));
  CHECK(b[0][1].score == Approx(1.125).epsilon(1e-15));
  // rrf + 0.02 personal: 9 -> 1/62 + 0.02 = 0.0361290; 2 -> 0.0325225;
  // 7 -> 1/63 + 0.01 = 0.0258730; 5 -> 1/61 + 0.005 = 0.0213934.
  o.method = search::fusion_method::rrf;
  o.personal_weight = 0.02;
  const auto r = search::hybrid_rank(&lexical, &semantic, 10, o, personal);
  CHECK(items_of(r[0]) == std::vector<index_t>{9, 2, 7, 5});
  for (const auto& h : r[0]) CHECK(h.score == Approx(h.bm25 + h.semantic + h.personal));
  // A callback sees (row, item); a constant personal score changes nothing (all 0).
  const auto flat =
      search::hybrid_rank(&lexical, &semantic, 10, o, [](index_t, index_t) { return 7.0; });
  CHECK(items_of(flat[0]) == std::vector<index_t>{2, 5, 9, 7});
  // Two rows of personal scores: row 1 uses its own.
  topk_result<float> two = lexical;
  two.rows = 2;
  two.indices.insert(two.indices.end(), lexical.indices.begin(), lexical.indices.end());
  two.values.insert(two.values.end(), lexical.values.begin(), lexical.values.end());
  std::vector<float> both(20, 0.0f);
  both[10 + 7] = 100.0f;  // row 1's user loves item 7
  o.personal_weight = 1.0;
  const auto rows2 = search::hybrid_rank<float>(
      &two, nullptr, 1, o, search::dense_personal(matrix_view<const float>(both.data(), 2, 10)));
  CHECK(rows2[0][0].item == 5);
  CHECK(rows2[1][0].item == 7);
}

TEST_CASE("search::hybrid_rank: errors", "[search][hybrid]") {
#define HYBRID_THROWS(expr, type, what) \
  CHECK_THROWS_MATCHES(expr, type,      \
                       test::what_is(Contains("recfuse::search::hybrid_rank") && Contains(what)))
  HYBRID_THROWS(search::hybrid_rank<float>(nullptr, nullptr, 3), value_error, "no signal");
  topk_result<float> two = lexical;
  two.rows = 2;
  HYBRID_THROWS(search::hybrid_rank(&two, &semantic, 3), shape_error,
                "bm25 has 2 rows but semantic has 1");
  HYBRID_THROWS(search::hybrid_rank(&lexical, &semantic, 0), value_error, "k is 0");
  search::hybrid_options o;
  o.k_rrf = -1;
  HYBRID_THROWS(search::hybrid_rank(&lexical, &semantic, 3, o), value_error, "options.k_rrf is -1");
  o = {};
  o.bm25_weight = std::numeric_limits<double>::quiet_NaN();
  HYBRID_THROWS(search::hybrid_rank(&lexical, &semantic, 3, o), value_error, "options.bm25_weight");
  o = {};
  o.personal_weight = 1;
  HYBRID_THROWS(search::hybrid_rank(&lexical, &semantic, 3, o), value_error,
                "no personal score callback");
  HYBRID_THROWS(search::hybrid_rank(&lexical, &semantic, 3, o,
                                    [](index_t, index_t i) {
                                      return i == 7 ? std::numeric_limits<double>::infinity() : 1.0;
                                    }),
                value_error, "row 0, item 7 is inf");
#undef HYBRID_THROWS
  const std::vector<float> short_user(4, 1.0f);
  CHECK_THROWS_MATCHES(
      search::hybrid_rank(&lexical, &semantic, 3, o,
                          search::dense_personal(vector_view<const float>(short_user.data(), 4))),
      index_error,
      test::what_is(Contains("recfuse::search::dense_personal") && Contains("item 5")));
}

TEST_CASE("search::semantic_topk: inner products through topk_inner_product",
          "[search][semantic]") {
  // items: e0 = (1, 0), e1 = (0, 1), e2 = (0.6, 0.8); query (0.8, 0.6):
  // scores 0.8, 0.6, 0.96 -> 2, 0, 1.
  const std::vector<double> items = {1, 0, 0, 1, 0.6, 0.8};
  const std::vector<double> query = {0.8, 0.6};
  const matrix_view<const double> x(items.data(), 3, 2), q(query.data(), 1, 2);
  const auto top = search::semantic_topk(ref, q, x, 3);
  CHECK(top.index(0, 0) == 2);
  CHECK(top.value(0, 0) == Approx(0.96).epsilon(1e-15));
  CHECK(top.index(0, 1) == 0);
  CHECK(top.index(0, 2) == 1);
  const std::vector<index_t> off = {0, 1};
  const std::vector<std::int32_t> ids = {2};
  const auto ex = search::semantic_topk(
      ref, q, x, 2, csr_pattern_view<std::int32_t>(1, 3, off.data(), ids.data()));
  CHECK(ex.index(0, 0) == 0);
  CHECK(ex.index(0, 1) == 1);
#define SEMANTIC_THROWS(expr, type, what) \
  CHECK_THROWS_MATCHES(                   \
      expr, type, test::what_is(Contains("recfuse::search::semantic_topk") && Contains(what)))
  SEMANTIC_THROWS(search::semantic_topk(ref, q, x, 4), value_error, "k is 4 but there are 3 items");
  SEMANTIC_THROWS(search::semantic_topk(ref, q, matrix_view<const double>(items.data(), 0, 2), 0),
                  value_error, "items has no rows");
#undef SEMANTIC_THROWS
  CHECK_THROWS_MATCHES(
      search::semantic_topk(ref, matrix_view<const double>(query.data(), 2, 1), x, 1), shape_error,
      test::what_is(Contains("recfuse::topk_inner_product")));
}
