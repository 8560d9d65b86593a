// evaluate_ranking and auc on the GPU: recommendations, scores and CSR patterns in device memory
// under exec::thrust<thrust::cuda::tag>, against the reference on host copies of the same data.
// Users 0 (no user to evaluate: both throw), 1, an odd count and a large one; float and double
// scores with and without ties; NaN in a candidate score (value_error from the device total).
#include <algorithm>  // test_data.hpp uses std::max without including it
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "device_test.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/thrust/metrics/ranking.hpp"
#include "test_data.hpp"

namespace {

using recfuse::index_t;
using gpu_policy = recfuse::exec::thrust<thrust::cuda::tag>;
using recfuse::device_memory;
using recfuse::test::expect;
using recfuse::test::to_device;

struct pattern {
  index_t rows = 0, cols = 0;
  std::vector<index_t> offsets{0};
  std::vector<std::int32_t> indices;

  recfuse::csr_pattern_view<std::int32_t> host() const {
    return {rows, cols, offsets.data(), indices.data()};
  }
};

// Row sizes in [0, max_row] (about a fifth of the rows empty), ids with repeats.
pattern make_pattern(index_t rows, index_t cols, index_t max_row, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<index_t> size(1, std::max<index_t>(1, max_row));
  std::uniform_int_distribution<index_t> item(0, cols - 1);
  pattern p;
  p.rows = rows;
  p.cols = cols;
  for (index_t r = 0; r < rows; ++r) {
    const index_t n = rng() % 5 == 0 ? 0 : size(rng);
    for (index_t e = 0; e < n; ++e) p.indices.push_back(static_cast<std::int32_t>(item(rng)));
    p.offsets.push_back(static_cast<index_t>(p.indices.size()));
  }
  return p;
}

// A pattern's arrays in device memory and its device view.
struct device_pattern {
  thrust::device_vector<index_t> offsets;
  thrust::device_vector<std::int32_t> indices;
  index_t rows, cols;

  explicit device_pattern(const pattern& p)
      : offsets(to_device(p.offsets)), indices(to_device(p.indices)), rows(p.rows), cols(p.cols) {}
  recfuse::csr_pattern_view<std::int32_t, device_memory> view() const {
    return {rows, cols, thrust::raw_pointer_cast(offsets.data()),
            thrust::raw_pointer_cast(indices.data())};
  }
};

bool close(double got, double want) { return recfuse::test::close(got, want, 1e-12); }

void ranking_checks(const gpu_policy& gpu) {
  constexpr index_t r = 12;
  const index_t items = 500;
  for (const index_t users : {index_t{0}, index_t{1}, index_t{7}, index_t{2501}}) {
    std::mt19937_64 rng(users + 5);
    std::uniform_int_distribution<index_t> item(0, items - 1);
    std::vector<std::int32_t> recs(static_cast<std::size_t>(users * r));
    for (index_t u = 0; u < users; ++u) {
      const index_t valid = rng() % 4 == 0 ? static_cast<index_t>(rng() % (r + 1)) : r;
      for (index_t i = 0; i < r; ++i) {
        recs[static_cast<std::size_t>(u * r + i)] =
            static_cast<std::int32_t>(i < valid ? item(rng) : -1);
      }
    }
    pattern rel = make_pattern(users, items, 30, users + 17);
    if (users > 0 && rel.offsets[1] == 0) {  // user 0 always has a relevant item
      rel.indices.insert(rel.indices.begin(), static_cast<std::int32_t>(recs[0] < 0 ? 3 : recs[0]));
      for (index_t u = 1; u <= users; ++u) ++rel.offsets[static_cast<std::size_t>(u)];
    }
    const auto d_recs = to_device(recs);
    const device_pattern d_rel(rel);
    const recfuse::matrix_view<const std::int32_t, device_memory> dm(
        thrust::raw_pointer_cast(d_recs.data()), users, r);
    // The reference on host copies of the device data.
    const std::vector<std::int32_t> h_recs = recfuse::test::to_host(d_recs);
    const recfuse::matrix_view<const std::int32_t> hm(h_recs.data(), users, r);
    for (const index_t k : {index_t{1}, index_t{5}, index_t{12}}) {
      if (users == 0) {
        expect(recfuse::test::throws_with_prefix<recfuse::value_error>(
                   [&] { (void)recfuse::evaluate_ranking(gpu, dm, d_rel.view(), k); },
                   "recfuse::evaluate_ranking: "),
               "evaluate_ranking no users -> value_error", "int32", users);
        continue;
      }
      const auto want = recfuse::evaluate_ranking(recfuse::exec::reference{}, hm, rel.host(), k);
      const auto got = recfuse::evaluate_ranking(gpu, dm, d_rel.view(), k);
      expect(got.users == want.users, "evaluate_ranking users", "int32", users,
             static_cast<double>(got.users), static_cast<double>(want.users));
      expect(close(got.precision, want.precision), "precision", "int32", users, got.precision,
             want.precision);
      expect(close(got.recall, want.recall), "recall", "int32", users, got.recall, want.recall);
      expect(close(got.ndcg, want.ndcg), "ndcg", "int32", users, got.ndcg, want.ndcg);
      expect(close(got.map, want.map), "map", "int32", users, got.map, want.map);
      expect(close(got.hit_rate, want.hit_rate), "hit_rate", "int32", users, got.hit_rate,
             want.hit_rate);
    }
  }
}

template <class T>
void auc_checks(const gpu_policy& gpu, const char* type) {
  for (const index_t users : {index_t{0}, index_t{1}, index_t{7}, index_t{301}}) {
    for (const index_t items : {index_t{2}, index_t{17}, index_t{1001}}) {
      for (int ties = 0; ties < 2; ++ties) {
        auto scores = recfuse::test::random_vector<T>(users * items, users * 31 + items, -1, 1);
        if (ties == 1) {
          for (auto& x : scores) x = std::round(x * T(4)) / T(4);
        }
        const pattern rel = make_pattern(users, items, items * 3 / 5, users + items + 1);
        const pattern ex = make_pattern(users, items, items / 4 + 1, users + items + 2);
        for (index_t u = 0; u < users; ++u) {  // NaN where excluded: never read
          for (index_t e = ex.offsets[u]; e < ex.offsets[u + 1]; e += 2) {
            scores[static_cast<std::size_t>(u * items + ex.indices[e])] =
                std::numeric_limits<T>::quiet_NaN();
          }
        }
        const auto d_scores = to_device(scores);
        const device_pattern d_rel(rel), d_ex(ex);
        const recfuse::matrix_view<const T, device_memory> ds(
            thrust::raw_pointer_cast(d_scores.data()), users, items);
        const std::vector<T> h_scores = recfuse::test::to_host(d_scores);
        const recfuse::matrix_view<const T> hs(h_scores.data(), users, items);
        double want = std::numeric_limits<double>::quiet_NaN();
        try {
          want = recfuse::auc(recfuse::exec::reference{}, hs, rel.host(), ex.host());
        } catch (const recfuse::value_error&) {  // no user qualifies
        }
        if (std::isnan(want)) {
          expect(recfuse::test::throws_with_prefix<recfuse::value_error>(
                     [&] { (void)recfuse::auc(gpu, ds, d_rel.view(), d_ex.view()); },
                     "recfuse::auc: "),
                 "auc no user -> value_error", type, users * items);
        } else {
          const double got = recfuse::auc(gpu, ds, d_rel.view(), d_ex.view());
          expect(close(got, want), "auc", type, users * items, got, want);
        }
      }
    }
  }
  // A NaN candidate score on device data: a value_error, found by the kernel.
  std::vector<T> scores = {T(0.1), T(0.7), T(0.3), T(0.4)};
  scores[1] = std::numeric_limits<T>::quiet_NaN();
  pattern rel;
  rel.rows = 2;
  rel.cols = 2;
  rel.offsets = {0, 1, 2};
  rel.indices = {0, 1};
  pattern none;
  none.rows = 2;
  none.cols = 2;
  none.offsets = {0, 0, 0};
  const auto d_scores = to_device(scores);
  const device_pattern d_rel(rel), d_none(none);
  const recfuse::matrix_view<const T, device_memory> ds(thrust::raw_pointer_cast(d_scores.data()),
                                                        2, 2);
  expect(recfuse::test::throws_with_prefix<recfuse::value_error>(
             [&] { (void)recfuse::auc(gpu, ds, d_rel.view(), d_none.view()); }, "recfuse::auc: "),
         "auc NaN -> value_error", type, 4);
}

}  // namespace

int main() {
  return recfuse::test::run_device_tests("recfuse_cuda_ranking", [] {
    cudaStream_t stream = nullptr;
    if (cudaStreamCreate(&stream) != cudaSuccess) {
      expect(false, "cudaStreamCreate", "-", 0);
      return;
    }
    const gpu_policy gpu{stream};
    ranking_checks(gpu);
    auc_checks<float>(gpu, "float");
    auc_checks<double>(gpu, "double");
    ranking_checks(gpu_policy{});  // the default stream
    cudaStreamDestroy(stream);
  });
}
