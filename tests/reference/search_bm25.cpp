// search::bm25_index and bm25_topk on the reference backend against a 3-document corpus worked
// by hand, plus the vocabulary, query encoding, exclusion, padding, ties and every error.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "recfuse/search/bm25.hpp"
#include "test_support.hpp"

using namespace recfuse;
using Catch::Contains;
using docs_t = std::vector<std::vector<std::string>>;

namespace {

const reference_backend::policy ref;

// The corpus (k1 = 1.5, b = 0.75):
//   d0 = the cat sat        dl 3
//   d1 = the dog            dl 2
//   d2 = cat cat dog        dl 3
// N = 3, avgdl = 8 / 3. df: the 2, cat 2, dog 2, sat 1.
//   idf(df 2) = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln(1.6)   = 0.47000362924573563
//   idf(df 1) = ln(1 + (3 - 1 + 0.5) / (1 + 0.5)) = ln(8 / 3) = 0.9808292530117263
//   k1 (1 - b + b dl / avgdl): dl 3 -> 1.5 (0.25 + 0.75 * 9 / 8) = 1.640625
//                              dl 2 -> 1.5 (0.25 + 0.75 * 6 / 8) = 1.21875
//   w = idf * tf * 2.5 / (tf + that):
//     tf 1, dl 3, df 2: 0.47000362924573563 * 2.5 / 2.640625 = 0.4449738501734775
//     tf 1, dl 3, df 1: 0.9808292530117263 * 2.5 / 2.640625 = 0.9285957424963089
//     tf 1, dl 2, df 2: 0.47000362924573563 * 2.5 / 2.21875  = 0.5295815540797021
//     tf 2, dl 3, df 2: 0.47000362924573563 * 5 / 3.640625   = 0.6454985466035854
// Query "cat dog": d0 = w(cat, d0) = 0.4449738501734775, d1 = w(dog, d1) = 0.5295815540797021,
//   d2 = w(cat, d2) + w(dog, d2) = 0.6454985466035854 + 0.4449738501734775 = 1.0904723967770629.
// Query "sat sat the" (sat counted twice): d0 = 2 * 0.9285957424963089 + 0.4449738501734775
//   = 2.3021653351660953, d1 = 0.5295815540797021, d2 = 0.
const docs_t corpus = {{"the", "cat", "sat"}, {"the", "dog"}, {"cat", "cat", "dog"}};

}  // namespace

TEMPLATE_TEST_CASE("search::bm25_index: hand-computed weights", "[search][bm25]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  const search::bm25_index<T> index(corpus);
  REQUIRE(index.items() == 3);
  REQUIRE(index.terms() == 4);
  CHECK(index.nnz() == 7);  // d0: 3 terms, d1: 2, d2: 2 (cat, dog)
  CHECK(index.avgdl() == Approx(8.0 / 3.0).epsilon(1e-15));
  CHECK(index.vocabulary() == std::vector<std::string>{"cat", "dog", "sat", "the"});
  CHECK(index.term_id("cat") == 0);
  CHECK(index.term_id("the") == 3);
  CHECK(index.term_id("bird") == -1);
  CHECK(index.term_id("") == -1);
  CHECK(index.idf(0) == Approx(0.47000362924573563).epsilon(1e-15));
  CHECK(index.idf(2) == Approx(0.9808292530117263).epsilon(1e-15));
  CHECK(index.document_length(1) == 2);
  // Postings of "cat": d0 (tf 1), d2 (tf 2), in item order.
  const auto w = index.weights();
  REQUIRE(w.row_size(0) == 2);
  CHECK(w.indices()[w.offsets()[0]] == 0);
  CHECK(w.indices()[w.offsets()[0] + 1] == 2);
  CHECK(std::abs(w.values()[w.offsets()[0]] - 0.4449738501734775) <= tol);
  CHECK(std::abs(w.values()[w.offsets()[0] + 1] - 0.6454985466035854) <= tol);
  // "sat": d0 only.
  REQUIRE(w.row_size(2) == 1);
  CHECK(std::abs(w.values()[w.offsets()[2]] - 0.9285957424963089) <= tol);
  // "the" in d1 (dl 2).
  CHECK(std::abs(w.values()[w.offsets()[3] + 1] - 0.5295815540797021) <= tol);
}

TEMPLATE_TEST_CASE("search::bm25_topk: hand-computed scores", "[search][bm25]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 2e-6 : 1e-14;
  const search::bm25_index<T> index(corpus);
  const auto q = index.encode({{"cat", "dog"}, {"sat", "sat", "the"}, {"bird"}, {}});
  REQUIRE(q.rows == 4);
  CHECK(q.nnz() == 4);
  CHECK(q.values[2] == T(2));  // "sat" twice (term 2 before "the", term 3)
  const auto top = search::bm25_topk(ref, index, q.view(), 3);
  REQUIRE(top.rows == 4);
  REQUIRE(top.k == 3);
  CHECK(top.index(0, 0) == 2);
  CHECK(std::abs(top.value(0, 0) - 1.0904723967770629) <= tol);
  CHECK(top.index(0, 1) == 1);
  CHECK(std::abs(top.value(0, 1) - 0.5295815540797021) <= tol);
  CHECK(top.index(0, 2) == 0);
  CHECK(std::abs(top.value(0, 2) - 0.4449738501734775) <= tol);
  CHECK(top.index(1, 0) == 0);
  CHECK(std::abs(top.value(1, 0) - 2.3021653351660953) <= 2 * tol);
  CHECK(top.index(1, 1) == 1);
  // d2 shares no term with "sat the": padding, not a zero score.
  CHECK(top.index(1, 2) == -1);
  CHECK(top.value(1, 2) == -std::numeric_limits<T>::infinity());
  // Unknown terms and empty queries score nothing.
  for (const index_t r : {2, 3}) {
    for (index_t j = 0; j < 3; ++j) CHECK(top.index(r, j) == -1);
  }
  // k = 0 is an empty result; k = 1 the best.
  CHECK(search::bm25_topk(ref, index, q.view(), 0).indices.empty());
  CHECK(search::bm25_topk(ref, index, q.view(), 1).index(0, 0) == 2);
}

TEST_CASE("search::bm25_topk: exclusion, ties, from_texts, into", "[search][bm25]") {
  const search::bm25_index<double> index(corpus);
  const auto q = index.encode({{"cat", "dog"}, {"the"}});
  // Exclude d2 from query 0 and d0 from query 1.
  const std::vector<index_t> off = {0, 1, 2};
  const std::vector<std::int32_t> ids = {2, 0};
  const csr_pattern_view<std::int32_t> ex(2, 3, off.data(), ids.data());
  const auto top = search::bm25_topk(ref, index, q.view(), 3, ex);
  CHECK(top.index(0, 0) == 1);
  CHECK(top.index(0, 1) == 0);
  CHECK(top.index(0, 2) == -1);
  CHECK(top.index(1, 0) == 1);
  CHECK(top.index(1, 1) == -1);
  // Ties go to the smaller item: two identical documents.
  const search::bm25_index<double> twins(docs_t{{"zz", "aa"}, {"aa", "zz"}, {"bb"}});
  const auto t = search::bm25_topk(ref, twins, twins.encode({{"aa"}}).view(), 2);
  CHECK(t.index(0, 0) == 0);
  CHECK(t.index(0, 1) == 1);
  CHECK(t.value(0, 0) == t.value(0, 1));
  // from_texts tokenises with the defaults (lower case, >= 2 characters) and keeps them.
  const auto texts =
      search::bm25_index<float>::from_texts({"The cat sat.", "THE DOG!", "cat, Cat - dog (a)"});
  CHECK(texts.vocabulary() == std::vector<std::string>{"cat", "dog", "sat", "the"});
  const auto qt = texts.encode_texts({"Cat DOG", "x"});
  const auto tt = search::bm25_topk(ref, texts, qt.view(), 3);
  CHECK(tt.index(0, 0) == 2);
  CHECK(std::abs(tt.value(0, 0) - 1.0904723967770629) <= 2e-6);
  // bm25_topk_into writes the same.
  std::vector<double> v(6);
  std::vector<index_t> i(6);
  search::bm25_topk_into(ref, index, q.view(), 3, matrix_view<double>(v.data(), 2, 3),
                         matrix_view<index_t>(i.data(), 2, 3));
  const auto plain = search::bm25_topk(ref, index, q.view(), 3);
  CHECK(v == plain.values);
  CHECK(i == plain.indices);
  // k1 = 0: w = idf (term frequency ignored); b = 0: no length normalisation.
  const search::bm25_index<double> flat(corpus, search::bm25_params{0.0, 0.0});
  const auto f = search::bm25_topk(ref, flat, flat.encode({{"cat"}}).view(), 2);
  CHECK(f.value(0, 0) == Approx(0.47000362924573563).epsilon(1e-14));
  CHECK(f.value(0, 1) == f.value(0, 0));
  CHECK(f.index(0, 0) == 0);
}

TEST_CASE("search::bm25: errors name the function and the value", "[search][bm25]") {
#define BM25_THROWS(expr, type, what) \
  CHECK_THROWS_MATCHES(expr, type, test::what_is(Contains("recfuse::search::") && Contains(what)))
  BM25_THROWS(search::bm25_index<float>(docs_t{}), value_error, "documents is empty");
  BM25_THROWS(search::bm25_index<float>(corpus, search::bm25_params{-1.0, 0.75}), value_error,
              "params.k1 is -1");
  BM25_THROWS(search::bm25_index<float>(corpus, search::bm25_params{1.2, 1.5}), value_error,
              "params.b is 1.5");
  BM25_THROWS(search::bm25_index<float>::from_texts({"ok", "bad \xC3"}), value_error,
              "byte offset 4");
  const search::bm25_index<float> index(corpus);
  const auto q = index.encode({{"cat"}});
  BM25_THROWS(search::bm25_topk(ref, index, q.view(), 4), value_error,
              "k is 4 but the index has 3 items");
  BM25_THROWS(search::bm25_topk(ref, index, q.view(), -1), value_error, "k is -1");
  const search::bm25_index<float> empty;
  BM25_THROWS(search::bm25_topk(ref, empty, empty.encode({{"cat"}}).view(), 1), value_error,
              "the index is empty");
  // Queries of another vocabulary size.
  csr_matrix<float> wrong;
  wrong.rows = 1;
  wrong.cols = 5;
  wrong.offsets = {0, 0};
  BM25_THROWS(search::bm25_topk(ref, index, wrong.view(), 1), shape_error,
              "queries.cols() is 5 but the index's terms() is 4");
  csr_matrix<float> bad_id = q;
  bad_id.indices[0] = 7;
  BM25_THROWS(search::bm25_topk(ref, index, bad_id.view(), 1), index_error, "column id 7");
  csr_matrix<float> bad_w = q;
  bad_w.values[0] = -1.0f;
  BM25_THROWS(search::bm25_topk(ref, index, bad_w.view(), 1), value_error,
              "query 0 has weight -1 for term 0");
  bad_w.values[0] = std::numeric_limits<float>::quiet_NaN();
  BM25_THROWS(search::bm25_topk(ref, index, bad_w.view(), 1), value_error, "need finite weights");
  const std::vector<index_t> off = {0, 1};
  const std::vector<std::int32_t> ids = {3};
  BM25_THROWS(search::bm25_topk(ref, index, q.view(), 1,
                                csr_pattern_view<std::int32_t>(1, 3, off.data(), ids.data())),
              index_error, "column id 3");
  BM25_THROWS(search::bm25_topk(ref, index, q.view(), 1,
                                csr_pattern_view<std::int32_t>(2, 3, off.data(), ids.data())),
              shape_error, "exclude.rows()");
  std::vector<float> v(2);
  std::vector<index_t> i(2);
  BM25_THROWS(search::bm25_topk_into(ref, index, q.view(), 1, matrix_view<float>(v.data(), 1, 2),
                                     matrix_view<index_t>(i.data(), 1, 2)),
              shape_error, "out_values is 1 x 2");
#undef BM25_THROWS
}
