// Ranking metrics and AUC on the reference against hand-computed values, and their errors.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <vector>

#include "recfuse/metrics/ranking.hpp"

using namespace recfuse;

namespace {

// A CSR pattern over owned storage.
template <class Index = std::int32_t>
struct pattern {
  index_t cols;
  std::vector<index_t> offsets{0};
  std::vector<Index> indices;

  pattern(index_t items, std::initializer_list<std::vector<Index>> rows) : cols(items) {
    for (const auto& r : rows) {
      indices.insert(indices.end(), r.begin(), r.end());
      offsets.push_back(static_cast<index_t>(indices.size()));
    }
  }
  csr_pattern_view<Index> view() const {
    return {static_cast<index_t>(offsets.size()) - 1, cols, offsets.data(), indices.data()};
  }
};

// 5 users x 4 recommendations over 6 items.
const std::vector<index_t> recs_data = {
    0, 2, 4,  1,  // user 0
    1, 2, 3,  4,  // user 1 (no relevant item: skipped)
    3, 3, -1, 0,  // user 2: a repeated id and padding
    5, 4, 1,  2,  // user 3
    0, 1, 2,  3,  // user 4: no hit
};
const matrix_view<const index_t> recs(recs_data.data(), 5, 4);
// user 2 lists item 3 twice: it counts once, |R| = 1.
const pattern<> relevant(6, {{0, 1, 4}, {}, {3, 3}, {2, 1}, {5}});

}  // namespace

TEST_CASE("ranking metrics: hand-computed, k = 3", "[metrics][ranking][reference]") {
  // Per evaluated user (k = 3; D(i) = 1 / log2(i + 2): D0 = 1, D1 = 0.63092975357145743, D2 = 0.5):
  //   user 0: R = {0,1,4}, recs 0 2 4 -> hits at 0 and 2, H = 2
  //     precision 2/3, recall 2/3, DCG = D0 + D2 = 1.5, IDCG(3) = D0 + D1 + D2
  //     = 2.1309297535714578, ndcg = 0.70391808903413470, map = (1/3)(1/1 + 2/3) = 5/9, hit 1
  //   user 2: R = {3}, recs 3 3 -1 -> hit at 0 only (the repeat is a miss), H = 1
  //     precision 1/3, recall 1, ndcg = D0 / IDCG(1) = 1, map = (1/1)(1/1) = 1, hit 1
  //   user 3: R = {1,2}, recs 5 4 1 -> hit at 2, H = 1
  //     precision 1/3, recall 1/2, ndcg = D2 / (D0 + D1) = 0.5 / 1.6309297535714575 =
  //     0.30657359638272920, map = (1/2)(1/3) = 1/6, hit 1
  //   user 4: R = {5}, no hit: all 0
  // Means over 4 users: precision (2/3 + 1/3 + 1/3) / 4 = 1/3; recall (2/3 + 1 + 1/2) / 4 = 13/24;
  // ndcg (0.70391808903413470 + 1 + 0.30657359638272920) / 4 = 0.50262292135421590;
  // map (5/9 + 1 + 1/6) / 4 = 31/72; hit rate 3/4.
  const ranking_report r = evaluate_ranking(exec::reference{}, recs, relevant.view(), 3);
  CHECK(r.users == 4);
  CHECK(r.precision == Approx(1.0 / 3).epsilon(1e-14));
  CHECK(r.recall == Approx(13.0 / 24).epsilon(1e-14));
  CHECK(r.ndcg == Approx(0.50262292135421590).epsilon(1e-14));
  CHECK(r.map == Approx(31.0 / 72).epsilon(1e-14));
  CHECK(r.hit_rate == Approx(0.75).epsilon(1e-14));

  // The single-metric functions agree with the report.
  CHECK(precision_at_k(exec::reference{}, recs, relevant.view(), 3) == r.precision);
  CHECK(recall_at_k(exec::reference{}, recs, relevant.view(), 3) == r.recall);
  CHECK(ndcg_at_k(exec::reference{}, recs, relevant.view(), 3) == r.ndcg);
  CHECK(map_at_k(exec::reference{}, recs, relevant.view(), 3) == r.map);
  CHECK(hit_rate_at_k(exec::reference{}, recs, relevant.view(), 3) == r.hit_rate);
}

TEST_CASE("ranking metrics: hand-computed, k = 1 and k = cols", "[metrics][ranking][reference]") {
  // k = 1: user 0 hits at 0 (precision 1, recall 1/3, ndcg 1, map (1/min(3,1)) * 1 = 1);
  // user 2 hits at 0 (all 1); users 3 and 4 miss. Means: precision 2/4, recall (1/3 + 1)/4 = 1/3,
  // ndcg 2/4, map 2/4, hit rate 2/4.
  const ranking_report one = evaluate_ranking(exec::reference{}, recs, relevant.view(), 1);
  CHECK(one.users == 4);
  CHECK(one.precision == Approx(0.5).epsilon(1e-14));
  CHECK(one.recall == Approx(1.0 / 3).epsilon(1e-14));
  CHECK(one.ndcg == Approx(0.5).epsilon(1e-14));
  CHECK(one.map == Approx(0.5).epsilon(1e-14));
  CHECK(one.hit_rate == Approx(0.5).epsilon(1e-14));

  // k = 4 (D3 = 1 / log2(5) = 0.43067655807339306):
  //   user 0: hits at 0, 2, 3: precision 3/4, recall 1, DCG = 1.5 + D3 = 1.9306765580733931,
  //     ndcg = DCG / IDCG(3) = 0.90602543553468230, map = (1/3)(1 + 2/3 + 3/4) = 29/36
  //   user 2: hit at 0 only (3, 3, -1, 0): precision 1/4, recall 1, ndcg 1, map 1
  //   user 3: hits at 2, 3: precision 2/4, recall 1, DCG = 0.5 + D3, IDCG(2) = 1.6309297535714575,
  //     ndcg = 0.57064171895532010, map = (1/2)(1/3 + 2/4) = 5/12
  //   user 4: 0
  // Means: precision 1.5/4 = 0.375, recall 3/4, ndcg 2.4766671544900020 / 4 = 0.61916678862250050,
  // map (29/36 + 1 + 5/12) / 4 = 5/9, hit rate 3/4.
  const ranking_report all = evaluate_ranking(exec::reference{}, recs, relevant.view(), 4);
  CHECK(all.precision == Approx(0.375).epsilon(1e-14));
  CHECK(all.recall == Approx(0.75).epsilon(1e-14));
  CHECK(all.ndcg == Approx(0.61916678862250050).epsilon(1e-14));
  CHECK(all.map == Approx(5.0 / 9).epsilon(1e-14));
  CHECK(all.hit_rate == Approx(0.75).epsilon(1e-14));
}

TEST_CASE("ranking metrics: containers, id and index types", "[metrics][ranking][reference]") {
  // int32 ids in a std::vector-backed view, int64 relevant ids, a csr_view with values.
  std::vector<std::int32_t> ids32(recs_data.begin(), recs_data.end());
  const matrix_view<std::int32_t> recs32(ids32.data(), 5, 4);
  const pattern<index_t> rel64(6, {{0, 1, 4}, {}, {3, 3}, {2, 1}, {5}});
  const ranking_report a = evaluate_ranking(exec::reference{}, recs, relevant.view(), 3);
  const ranking_report b = evaluate_ranking(exec::reference{}, recs32, rel64.view(), 3);
  CHECK(a.precision == b.precision);
  CHECK(a.ndcg == b.ndcg);
  CHECK(a.map == b.map);
  const std::vector<float> values(relevant.indices.size(), 1.0f);
  const csr_view<float> rel_values(5, 6, relevant.offsets.data(), relevant.indices.data(),
                                   values.data());
  CHECK(evaluate_ranking(exec::reference{}, recs32, rel_values, 3).recall == a.recall);

  // A padded row: precision keeps dividing by k.
  const std::vector<index_t> padded = {7, -1, -1, -1};
  const pattern<> rel(8, {{7, 2}});
  const ranking_report p = evaluate_ranking(
      exec::reference{}, matrix_view<const index_t>(padded.data(), 1, 4), rel.view(), 4);
  CHECK(p.precision == Approx(0.25).epsilon(1e-15));
  CHECK(p.recall == Approx(0.5).epsilon(1e-15));
  // ndcg: D0 / (D0 + D1) = 1 / 1.6309297535714575; map: (1/2)(1/1)
  CHECK(p.ndcg == Approx(0.61314719276545840).epsilon(1e-14));
  CHECK(p.map == Approx(0.5).epsilon(1e-15));
}

TEST_CASE("ranking metrics: bad input", "[metrics][ranking][reference][errors]") {
  const auto rel = relevant.view();
  SECTION("k out of range") {
    CHECK_THROWS_AS(evaluate_ranking(exec::reference{}, recs, rel, 0), value_error);
    CHECK_THROWS_WITH(evaluate_ranking(exec::reference{}, recs, rel, 0),
                      Catch::StartsWith("recfuse::evaluate_ranking") && Catch::Contains("k = 0") &&
                          Catch::Contains("4"));
    CHECK_THROWS_WITH(evaluate_ranking(exec::reference{}, recs, rel, 5),
                      Catch::Contains("k = 5") && Catch::Contains("recommendations.cols() = 4"));
    CHECK_THROWS_AS(precision_at_k(exec::reference{}, recs, rel, -1), value_error);
    CHECK_THROWS_WITH(precision_at_k(exec::reference{}, recs, rel, -1),
                      Catch::StartsWith("recfuse::precision_at_k") && Catch::Contains("k = -1"));
  }
  SECTION("rows disagree") {
    const pattern<> three(6, {{0}, {1}, {2}});
    CHECK_THROWS_AS(evaluate_ranking(exec::reference{}, recs, three.view(), 2), shape_error);
    CHECK_THROWS_WITH(
        recall_at_k(exec::reference{}, recs, three.view(), 2),
        Catch::StartsWith("recfuse::recall_at_k") && Catch::Contains("3") && Catch::Contains("5"));
  }
  SECTION("recommended id out of range") {
    std::vector<index_t> bad = recs_data;
    bad[2 * 4 + 1] = 6;  // row 2, position 1; items are [0, 6)
    const matrix_view<const index_t> m(bad.data(), 5, 4);
    CHECK_THROWS_AS(evaluate_ranking(exec::reference{}, m, rel, 3), index_error);
    CHECK_THROWS_WITH(ndcg_at_k(exec::reference{}, m, rel, 3),
                      Catch::StartsWith("recfuse::ndcg_at_k") && Catch::Contains("row 2") &&
                          Catch::Contains("position 1") && Catch::Contains("item id 6"));
    bad[2 * 4 + 1] = -2;
    CHECK_THROWS_WITH(map_at_k(exec::reference{}, m, rel, 3),
                      Catch::Contains("row 2") && Catch::Contains("item id -2"));
    // Columns at or past k are never read, so they are not checked.
    bad[2 * 4 + 1] = 3;
    bad[4 * 4 + 3] = 99;
    CHECK_NOTHROW(evaluate_ranking(exec::reference{}, m, rel, 3));
    CHECK_THROWS_AS(evaluate_ranking(exec::reference{}, m, rel, 4), index_error);
  }
  SECTION("invalid CSR") {
    pattern<> decreasing(6, {{0, 1}, {2}, {}, {}, {}});
    decreasing.offsets[2] = 1;  // offsets 0 2 1 ...
    CHECK_THROWS_AS(evaluate_ranking(exec::reference{}, recs, decreasing.view(), 2), index_error);
    CHECK_THROWS_WITH(evaluate_ranking(exec::reference{}, recs, decreasing.view(), 2),
                      Catch::StartsWith("recfuse::evaluate_ranking") &&
                          Catch::Contains("relevant") && Catch::Contains("decrease at row 1"));
    const pattern<> outside(6, {{0}, {6}, {}, {}, {}});
    CHECK_THROWS_WITH(
        hit_rate_at_k(exec::reference{}, recs, outside.view(), 2),
        Catch::StartsWith("recfuse::hit_rate_at_k") && Catch::Contains("column id 6"));
  }
  SECTION("no user to evaluate") {
    const pattern<> none(6, {{}, {}, {}, {}, {}});
    CHECK_THROWS_AS(evaluate_ranking(exec::reference{}, recs, none.view(), 2), value_error);
    CHECK_THROWS_WITH(evaluate_ranking(exec::reference{}, recs, none.view(), 2),
                      Catch::Contains("no user has a relevant item"));
  }
}

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double qnan = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST_CASE("auc: hand-computed with ties, infinities and exclusion", "[metrics][auc][reference]") {
  const std::vector<double> scores = {
      0.9, 0.5, 0.5, -inf, 0.7,  // user 0
      0.3, 0.1, 0.2, 0.4,  0.5,  // user 1: no relevant item, skipped
      0.2, 0.2, 0.2, 0.2,  0.2,  // user 2: all tied
  };
  const matrix_view<const double> s(scores.data(), 3, 5);
  const pattern<> rel(5, {{0, 2, 2}, {}, {1}});
  // user 0: positives 0.9 (item 0), 0.5 (item 2; listed twice, counts once);
  //   negatives 0.5, -inf, 0.7. Pairs won: 0.9 beats 3; 0.5 ties 0.5 (1/2), beats -inf (1),
  //   loses to 0.7 -> 4.5 of 2 * 3 = 0.75.
  // user 2: one positive tied with 4 negatives: 4 * 1/2 of 4 = 0.5.
  // Mean over users 0 and 2: 0.625.
  CHECK(auc(exec::reference{}, s, rel.view()) == Approx(0.625).epsilon(1e-15));

  // Excluding item 4 for user 0 and item 3 for user 2 (the excluded score may be NaN):
  //   user 0: negatives 0.5, -inf -> 0.9 wins 2, 0.5 ties 1 and wins 1: 3.5 of 4 = 0.875.
  //   user 2: 1 positive vs 3 tied negatives -> 0.5. Mean 0.6875.
  std::vector<double> with_nan = scores;
  with_nan[4] = qnan;
  const matrix_view<const double> sn(with_nan.data(), 3, 5);
  const pattern<> exclude(5, {{4, 4}, {0, 1}, {3}});
  CHECK(auc(exec::reference{}, sn, rel.view(), exclude.view()) == Approx(0.6875).epsilon(1e-15));

  // A relevant item that is also excluded is not a candidate: user 2 has no positive left, user 0
  // has every remaining candidate relevant (no negative): no user qualifies.
  const pattern<> drop(5, {{1, 3, 4}, {}, {1}});
  CHECK_THROWS_AS(auc(exec::reference{}, s, rel.view(), drop.view()), value_error);
  CHECK_THROWS_WITH(
      auc(exec::reference{}, s, rel.view(), drop.view()),
      Catch::StartsWith("recfuse::auc") &&
          Catch::Contains("no user has both a relevant and a non-relevant candidate"));

  // float scores and int64 pattern ids: perfect and inverted orderings.
  const std::vector<float> f = {3, 2, 1, 0, 0, 1, 2, 3};
  const pattern<index_t> top(4, {{0, 1}, {0, 1}});
  // user 0: positives 3, 2 beat negatives 1, 0: AUC 1; user 1: positives 0, 1 lose: AUC 0.
  CHECK(auc(exec::reference{}, matrix_view<const float>(f.data(), 2, 4), top.view()) ==
        Approx(0.5).epsilon(1e-15));
}

TEST_CASE("auc: bad input", "[metrics][auc][reference][errors]") {
  std::vector<double> scores(2 * 3, 0.5);
  scores[1 * 3 + 2] = qnan;
  const matrix_view<const double> s(scores.data(), 2, 3);
  const pattern<> rel(3, {{0}, {1}});
  CHECK_THROWS_AS(auc(exec::reference{}, s, rel.view()), value_error);
  CHECK_THROWS_WITH(auc(exec::reference{}, s, rel.view()),
                    Catch::StartsWith("recfuse::auc") && Catch::Contains("scores(1, 2) is NaN"));
  const pattern<> excl(3, {{}, {2}});
  CHECK_NOTHROW(auc(exec::reference{}, s, rel.view(), excl.view()));

  const pattern<> wide(4, {{0}, {1}});
  CHECK_THROWS_AS(auc(exec::reference{}, s, wide.view()), shape_error);
  CHECK_THROWS_WITH(
      auc(exec::reference{}, s, wide.view()),
      Catch::Contains("relevant.cols() is 4") && Catch::Contains("scores.cols() is 3"));
  const pattern<> tall(3, {{0}, {1}, {2}});
  CHECK_THROWS_WITH(
      auc(exec::reference{}, s, tall.view()),
      Catch::Contains("relevant.rows() is 3") && Catch::Contains("scores.rows() is 2"));
  const pattern<> excl_short(3, {{}});
  CHECK_THROWS_AS(auc(exec::reference{}, s, rel.view(), excl_short.view()), shape_error);
  const pattern<> excl_bad(3, {{3}, {}});
  CHECK_THROWS_AS(auc(exec::reference{}, s, rel.view(), excl_bad.view()), index_error);
  CHECK_THROWS_WITH(auc(exec::reference{}, s, rel.view(), excl_bad.view()),
                    Catch::Contains("exclude") && Catch::Contains("column id 3"));
  const pattern<> everything(3, {{0, 1, 2}, {}});
  std::vector<double> finite(6, 0.5);
  CHECK_THROWS_WITH(
      auc(exec::reference{}, matrix_view<const double>(finite.data(), 2, 3), everything.view()),
      Catch::Contains("no user has both"));
}
