// recfuse-pipeline: the end-to-end fusion pipeline. Factorization, an item autoencoder, item
// graphs (co-occurrence, genres, title embeddings) and user/item features are fused by a learned
// MLP; the program reports rating error and ranking quality of the factorization alone and of the
// fusion, ranks cold-start items from content and graph signals alone, and explains the top
// recommendations of one user. The last line of standard output is one JSON object.
//
//   recfuse-pipeline [--train PATH --test PATH] [--items PATH] [--users PATH]
//                    [--embeddings PATH] [--seed N] [--threads N] [--generated]
//
// Without --train/--test it reads u1.base/u1.test of MovieLens 100K from ../shared/data beside
// the source tree, and generates data of the same shape where that is absent (or with
// --generated; --generated-small: 120 users and 250 items, for a quick end-to-end check).
// docs/pipeline.md walks through every stage.
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
#include "recfuse/fuse/blend.hpp"
#include "recfuse/fuse/explain.hpp"
#include "recfuse/fuse/learned.hpp"
#include "recfuse/metrics/error.hpp"
#include "recfuse/metrics/ranking.hpp"
#include "recfuse/select/topk.hpp"
#include "recfuse/xsimd/all.hpp"
#include "signals.hpp"

#ifndef RECFUSE_DEFAULT_DATA
#define RECFUSE_DEFAULT_DATA "../shared/data/ml-100k"
#endif

namespace {

using pipeline::dataset;
using pipeline::index_t;
using pipeline::signals;
using cpu_policy = recfuse::exec::xsimd;

constexpr const char* usage =
    "usage: recfuse-pipeline [--train PATH --test PATH] [--items PATH] [--users PATH]\n"
    "                        [--embeddings PATH] [--seed N] [--threads N] [--generated | "
    "--generated-small]\n";

struct arguments {
  std::string train, test, items, users, embeddings;
  std::uint64_t seed = 1;
  int threads = 0;
  bool generated = false, small = false;
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "recfuse-pipeline: %s\n%s", message.c_str(), usage);
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
    if (flag == "--generated" || flag == "--generated-small") {
      a.generated = true;
      a.small = flag == "--generated-small";
      continue;
    }
    if (i + 1 >= argc) fail("option " + std::string(flag) + " needs a value");
    const std::string_view value = argv[++i];
    if (flag == "--train")
      a.train = value;
    else if (flag == "--test")
      a.test = value;
    else if (flag == "--items")
      a.items = value;
    else if (flag == "--users")
      a.users = value;
    else if (flag == "--embeddings")
      a.embeddings = value;
    else if (flag == "--seed")
      a.seed =
          parse_number<std::uint64_t>(flag, value, 0, std::numeric_limits<std::uint64_t>::max());
    else if (flag == "--threads")
      a.threads = parse_number<int>(flag, value, 1, 1024);
    else
      fail("unknown option " + std::string(flag));
  }
  if (a.train.empty() != a.test.empty()) fail("--train and --test go together");
  if (a.generated && !a.train.empty()) fail("--generated and --train/--test exclude each other");
  return a;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

dataset load_data(const arguments& a) {
  if (!a.train.empty()) return pipeline::load(a.train, a.test, a.items, a.users, a.embeddings);
  if (a.generated) {
    std::printf("data: generated, %s (seed %llu)\n",
                a.small ? "120 users x 250 items" : "MovieLens 100K's shape",
                static_cast<unsigned long long>(a.seed));
    return a.small ? pipeline::generate(a.seed, 120, 250) : pipeline::generate(a.seed);
  }
  const std::filesystem::path dir = RECFUSE_DEFAULT_DATA;
  if (std::filesystem::exists(dir / "u1.base") && std::filesystem::exists(dir / "u1.test")) {
    std::printf("data: MovieLens 100K u1 split from %s\n", dir.string().c_str());
    auto d = pipeline::load(dir / "u1.base", dir / "u1.test", a.items, a.users, a.embeddings);
    d.source = "ml-100k";
    return d;
  }
  std::printf("MovieLens data not found at %s: using generated data of the same shape\n",
              dir.string().c_str());
  return pipeline::generate(a.seed);
}

// Fusion input rows for a list of (user, item) pairs.
std::vector<float> features(const signals& s, const std::vector<std::int32_t>& users,
                            const std::vector<std::int32_t>& items) {
  const index_t w = s.width();
  std::vector<float> x(users.size() * static_cast<std::size_t>(w));
  pipeline::user_scratch scratch;
  for (std::size_t r = 0; r < users.size(); ++r)
    pipeline::feature_row(s, scratch, users[r], items[r], x.data() + r * w);
  return x;
}

// The fusion: `fusions` MLPs of different seeds fitted on the same held-out ratings, their
// predictions (and explanations: integrated gradients are linear in the network) averaged.
// The average errs less than any one: each fit lands in a different local optimum (u1, seed
// 1: one network 0.8949 with the item autoencoder alone, five 0.8889; ten with both 0.8874).
class fusion_ensemble {
 public:
  fusion_ensemble(const std::vector<std::pair<std::string, index_t>>& groups, std::uint64_t seed,
                  int fusions) {
    for (int j = 0; j < fusions; ++j)
      members_.emplace_back(groups, std::vector<index_t>{32, 16}, seed + 1000 * j);
  }
  // Fits every member (the seed of member j is options.seed + 1000 j); the last member's report.
  recfuse::nn::train_report fit(const cpu_policy& cpu, recfuse::matrix_view<const float> x,
                                recfuse::vector_view<const float> y,
                                const recfuse::nn::train_options& options) {
    recfuse::nn::train_report report;
    for (std::size_t j = 0; j < members_.size(); ++j) {
      auto o = options;
      o.seed = options.seed + 1000 * j;
      report = members_[j].fit(cpu, x, y, o);
    }
    return report;
  }
  void predict(const cpu_policy& cpu, recfuse::matrix_view<const float> x,
               recfuse::vector_view<float> out) const {
    std::vector<float> part(static_cast<std::size_t>(out.size()));
    for (index_t r = 0; r < out.size(); ++r) out[r] = 0.0f;
    for (const auto& m : members_) {
      m.predict(cpu, x, recfuse::vector_view<float>(part.data(), out.size()));
      for (index_t r = 0; r < out.size(); ++r) out[r] += part[r] / members_.size();
    }
  }
  void explain(const cpu_policy& cpu, recfuse::matrix_view<const float> x,
               recfuse::matrix_view<float> contributions, recfuse::vector_view<float> base) const {
    std::vector<float> c(static_cast<std::size_t>(contributions.rows() * contributions.cols())),
        b(static_cast<std::size_t>(base.size()));
    for (index_t r = 0; r < contributions.rows(); ++r)
      for (index_t g = 0; g < contributions.cols(); ++g) contributions(r, g) = 0.0f;
    for (index_t r = 0; r < base.size(); ++r) base[r] = 0.0f;
    const auto n = static_cast<float>(members_.size());
    for (const auto& m : members_) {
      m.explain(cpu, x,
                recfuse::matrix_view<float>(c.data(), contributions.rows(), contributions.cols()),
                recfuse::vector_view<float>(b.data(), base.size()));
      for (index_t r = 0; r < contributions.rows(); ++r)
        for (index_t g = 0; g < contributions.cols(); ++g)
          contributions(r, g) += c[static_cast<std::size_t>(r * contributions.cols() + g)] / n;
      for (index_t r = 0; r < base.size(); ++r) base[r] += b[r] / n;
    }
  }

 private:
  std::vector<recfuse::fuse::learned_fusion<float>> members_;
};

std::vector<float> fused_predictions(const cpu_policy& cpu, const signals& s,
                                     const fusion_ensemble& fusion,
                                     const std::vector<std::int32_t>& users,
                                     const std::vector<std::int32_t>& items, float lo, float hi) {
  const auto x = features(s, users, items);
  std::vector<float> out(users.size());
  const auto n = static_cast<index_t>(users.size());
  fusion.predict(cpu, recfuse::matrix_view<const float>(x.data(), n, s.width()),
                 recfuse::vector_view<float>(out.data(), n));
  for (auto& v : out) v = std::clamp(v, lo, hi);
  return out;
}

// Per-user z-scores over a row's candidates (NaN entries excluded and kept NaN).
void standardise_row(float* row, index_t n) {
  double sum = 0, sq = 0;
  index_t count = 0;
  for (index_t j = 0; j < n; ++j) {
    if (std::isnan(row[j])) continue;
    sum += row[j];
    sq += static_cast<double>(row[j]) * row[j];
    ++count;
  }
  if (count == 0) return;
  const double mean = sum / count, sd = std::sqrt(std::max(1e-12, sq / count - mean * mean));
  for (index_t j = 0; j < n; ++j)
    if (!std::isnan(row[j])) row[j] = static_cast<float>((row[j] - mean) / sd);
}

// Ranking of every training item for every user, the issue-3 protocol: a user's training items
// are never recommended; relevant = test items rated >= 4; users without one are skipped.
struct ranking_setup {
  recfuse::csr_matrix<float> seen, liked;
  index_t users = 0, items = 0;  // candidates: items with training ratings
};

ranking_setup make_ranking(const dataset& d, const recfuse::interactions<float>& train,
                           const recfuse::interactions<float>& test, index_t candidates) {
  ranking_setup r;
  r.users = d.users;
  r.items = candidates;
  recfuse::interactions<float> seen = train, liked;
  seen.users = liked.users = d.users;
  seen.items = liked.items = d.items;
  for (index_t e = 0; e < test.size(); ++e) {
    if (test.value[e] < 4.0f || test.item[e] >= candidates) continue;
    liked.user.push_back(test.user[e]);
    liked.item.push_back(test.item[e]);
    liked.value.push_back(1.0f);
  }
  r.seen = recfuse::to_csr(seen.view());
  r.liked = recfuse::to_csr(liked.view());
  r.liked.cols = candidates;
  return r;
}

// Scores every (user, candidate) pair block by block and keeps each user's top k, for
// `rankings` score functions at once: score_block(u0, n, scores) fills scores[r] (n x items) for
// each r, so the work they share (the fusion's inputs) is done once per block.
template <class Score>
std::vector<std::vector<index_t>> rank_all(const cpu_policy& cpu, const ranking_setup& r, index_t k,
                                           std::size_t rankings, Score&& score_block) {
  constexpr index_t block = 64;
  std::vector<std::vector<index_t>> recs(
      rankings, std::vector<index_t>(static_cast<std::size_t>(r.users * k), -1));
  std::vector<std::vector<float>> scores(rankings);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (index_t u0 = 0; u0 < r.users; u0 += block) {
    const index_t n = std::min(block, r.users - u0);
    for (auto& sc : scores) sc.assign(static_cast<std::size_t>(n * r.items), 0.0f);
    score_block(u0, n, scores);
    for (std::size_t q = 0; q < rankings; ++q) {
      for (index_t u = u0; u < u0 + n; ++u) {
        for (index_t e = r.seen.offsets[u]; e < r.seen.offsets[u + 1]; ++e)
          if (r.seen.indices[e] < r.items) scores[q][(u - u0) * r.items + r.seen.indices[e]] = nan;
      }
      const auto top =
          recfuse::topk(cpu, recfuse::matrix_view<const float>(scores[q].data(), n, r.items), k);
      std::copy(top.indices.begin(), top.indices.end(), recs[q].begin() + u0 * k);
    }
  }
  return recs;
}

void fused_ranking_block(const cpu_policy& cpu, const signals& s, const fusion_ensemble& fusion,
                         index_t u0, index_t n, index_t items, std::vector<float>& rating,
                         std::vector<float>& relevance);

// The fused rankings for each ranking weight a: blend(a, z(fused rating), z(relevance)).
std::vector<std::vector<index_t>> fused_rankings(const cpu_policy& cpu, const ranking_setup& r,
                                                 index_t k, const signals& s,
                                                 const fusion_ensemble& fusion,
                                                 const std::vector<double>& weights) {
  return rank_all(cpu, r, k, weights.size(),
                  [&](index_t u0, index_t n, std::vector<std::vector<float>>& out) {
                    std::vector<float> rating, relevance;
                    fused_ranking_block(cpu, s, fusion, u0, n, r.items, rating, relevance);
                    const index_t len = n * r.items;
                    for (std::size_t q = 0; q < weights.size(); ++q) {
                      recfuse::fuse::blend(cpu, weights[q],
                                           recfuse::vector_view<const float>(rating.data(), len),
                                           recfuse::vector_view<const float>(relevance.data(), len),
                                           recfuse::vector_view<float>(out[q].data(), len));
                    }
                  });
}

// NaN (printed as null) when no user has a relevant item to rank.
double ndcg(const cpu_policy& cpu, const ranking_setup& r, const std::vector<index_t>& recs,
            index_t k) {
  if (r.liked.nnz() == 0) return std::numeric_limits<double>::quiet_NaN();
  return recfuse::evaluate_ranking(cpu,
                                   recfuse::matrix_view<const index_t>(recs.data(), r.users, k),
                                   r.liked.pattern(), k)
      .ndcg;
}

// Fused ranking scores of users [u0, u0 + n) x candidates: z(fused rating) and z(log relevance).
void fused_ranking_block(const cpu_policy& cpu, const signals& s, const fusion_ensemble& fusion,
                         index_t u0, index_t n, index_t items, std::vector<float>& rating,
                         std::vector<float>& relevance) {
  const index_t w = s.width();
  std::vector<float> x(static_cast<std::size_t>(n * items * w));
  rating.assign(static_cast<std::size_t>(n * items), 0.0f);
  relevance.assign(rating.size(), 0.0f);
  pipeline::user_scratch scratch;
  for (index_t u = 0; u < n; ++u) {
    for (index_t i = 0; i < items; ++i) {
      float* row = x.data() + (u * items + i) * w;
      pipeline::feature_row(s, scratch, u0 + u, i, row);
    }
    // relevance: the co-occurrence support of the item, summed over the user's rated items
    scratch.load(s, u0 + u);
    for (index_t i = 0; i < items; ++i) {
      double support = 0;
      for (index_t e = s.cooccurrence.offsets[i]; e < s.cooccurrence.offsets[i + 1]; ++e)
        if (scratch.rated[s.cooccurrence.indices[e]]) support += s.cooccurrence.values[e];
      relevance[u * items + i] = static_cast<float>(std::log1p(support));
    }
  }
  fusion.predict(cpu, recfuse::matrix_view<const float>(x.data(), n * items, w),
                 recfuse::vector_view<float>(rating.data(), n * items));
  for (index_t u = 0; u < n; ++u) {
    standardise_row(rating.data() + u * items, items);
    standardise_row(relevance.data() + u * items, items);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const arguments a = parse(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines appear as they happen
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const cpu_policy cpu{a.threads};
    dataset d = load_data(a);
    std::printf("data: %s, %lld users, %lld items, %lld train and %lld test ratings\n",
                d.source.c_str(), static_cast<long long>(d.users), static_cast<long long>(d.items),
                static_cast<long long>(d.train.size()), static_cast<long long>(d.test.size()));
    if (d.train.size() == 0 || d.test.size() == 0) fail("the train and test sets need ratings");
    float lo = d.train.value[0], hi = lo;
    for (float v : d.train.value) lo = std::min(lo, v), hi = std::max(hi, v);

    pipeline::signal_options so;
    so.mf.seed = a.seed;
    so.item_autoencoder.seed = a.seed;
    so.user_autoencoder.seed = a.seed ^ 0x75e4ULL;
    // About 4,700 Adam steps of 128 rows: 50 epochs on u1's 12K held-out ratings, more epochs
    // on smaller data sets so that a small fusion is not left half trained.
    const index_t held_out = std::max<index_t>(1, d.train.size() * 15 / 100);
    const recfuse::nn::train_options fusion_train = [&] {
      recfuse::nn::train_options t;
      t.epochs = std::clamp<index_t>(600'000 / held_out, 50, 2000);
      t.batch_size = 128;
      t.adam.learning_rate = 1e-3;
      t.adam.weight_decay = 1e-3;
      t.seed = a.seed;
      return t;
    }();

    // ---- stage A: signals on 85% of the training ratings, fusion fitted on the other 15% ----
    std::mt19937_64 rng(a.seed);
    recfuse::interactions<float> fit, blend;
    fit.users = blend.users = d.users;
    fit.items = blend.items = d.items;
    for (index_t e = 0; e < d.train.size(); ++e) {
      auto& to = pipeline::unit(rng) < 0.85 ? fit : blend;
      to.user.push_back(d.train.user[e]);
      to.item.push_back(d.train.item[e]);
      to.value.push_back(d.train.value[e]);
    }
    // Both sides of the split need ratings (tiny files): move one over when a side is empty.
    if (d.train.size() < 2) fail("the training file needs at least 2 ratings");
    auto move_last = [](recfuse::interactions<float>& from, recfuse::interactions<float>& to) {
      to.user.push_back(from.user.back());
      to.item.push_back(from.item.back());
      to.value.push_back(from.value.back());
      from.user.pop_back();
      from.item.pop_back();
      from.value.pop_back();
    };
    if (blend.size() == 0) move_last(fit, blend);
    if (fit.size() == 0) move_last(blend, fit);
    auto t_stage = std::chrono::steady_clock::now();
    const signals sa = pipeline::build_signals(cpu, d, fit, so);
    std::printf("stage A: signals on %lld ratings in %.2f s\n", static_cast<long long>(fit.size()),
                seconds_since(t_stage));
    fusion_ensemble fusion(sa.groups, a.seed, 10);
    {
      const auto x = features(sa, blend.user, blend.item);
      const auto report = fusion.fit(
          cpu, recfuse::matrix_view<const float>(x.data(), blend.size(), sa.width()),
          recfuse::vector_view<const float>(blend.value.data(), blend.size()), fusion_train);
      if (const char* dump = std::getenv("RECFUSE_PIPELINE_DUMP")) {
        recfuse::io::save_npy(
            std::string(dump) + "_blend_x.npy",
            recfuse::matrix_view<const float>(x.data(), blend.size(), sa.width()));
        recfuse::io::save_npy(std::string(dump) + "_blend_y.npy",
                              recfuse::vector_view<const float>(blend.value.data(), blend.size()));
      }
      std::printf("fusion: %lld inputs in %zu groups, fitted on %lld held-out ratings, loss %.4f\n",
                  static_cast<long long>(sa.width()), sa.groups.size(),
                  static_cast<long long>(blend.size()), report.epoch_loss.back());
    }
    // The ranking blend weight a (fused rating vs co-occurrence relevance), chosen on stage A's
    // held-out ratings by the same protocol.
    const index_t k = 10;
    const std::vector<double> weights = {0.0, 0.25, 0.5, 0.75, 1.0};
    double best_a = 0.5;
    {
      const auto setup = make_ranking(d, fit, blend, d.train.items);
      double best = -1;
      const auto recs = fused_rankings(cpu, setup, k, sa, fusion, weights);
      for (std::size_t q = 0; q < weights.size(); ++q) {
        const double w = weights[q];
        const double v = ndcg(cpu, setup, recs[q], k);
        std::printf("  ranking weight a = %.2f: ndcg@10 %.4f on the held-out ratings\n", w, v);
        if (v > best) best = v, best_a = w;
      }
    }

    // ---- stage B: signals on the whole training file; the figures ----
    t_stage = std::chrono::steady_clock::now();
    const signals sb = pipeline::build_signals(cpu, d, d.train, so);
    std::printf("stage B: signals on %lld ratings in %.2f s\n",
                static_cast<long long>(d.train.size()), seconds_since(t_stage));
    const auto n_test = static_cast<index_t>(d.test.size());
    std::vector<float> mf_pred(d.test.size()), ae_pred(d.test.size()), uae_pred(d.test.size());
    for (index_t e = 0; e < n_test; ++e) {
      mf_pred[e] = sb.mf.predict(d.test.user[e], d.test.item[e]);
      ae_pred[e] = sb.item_autoencoder
                       ? sb.item_autoencoder->predict(d.test.user[e], d.test.item[e], mf_pred[e])
                       : mf_pred[e];
      uae_pred[e] = sb.user_autoencoder
                        ? sb.user_autoencoder->predict(d.test.user[e], d.test.item[e], mf_pred[e])
                        : mf_pred[e];
    }
    const auto fused = fused_predictions(cpu, sb, fusion, d.test.user, d.test.item, lo, hi);
    if (const char* dump = std::getenv("RECFUSE_PIPELINE_DUMP")) {
      const auto x = features(sb, d.test.user, d.test.item);
      recfuse::io::save_npy(std::string(dump) + "_test_x.npy",
                            recfuse::matrix_view<const float>(x.data(), n_test, sb.width()));
      recfuse::io::save_npy(std::string(dump) + "_test_y.npy",
                            recfuse::vector_view<const float>(d.test.value.data(), n_test));
      return 0;
    }
    const double rmse_mf = recfuse::rmse(cpu, mf_pred, d.test.value);
    const double rmse_ae = recfuse::rmse(cpu, ae_pred, d.test.value);
    const double rmse_uae = recfuse::rmse(cpu, uae_pred, d.test.value);
    const double rmse_fused = recfuse::rmse(cpu, fused, d.test.value);
    std::printf(
        "rmse: factorization %.4f, item autoencoder %.4f, user autoencoder %.4f, fused %.4f\n",
        rmse_mf, rmse_ae, rmse_uae, rmse_fused);

    const auto setup = make_ranking(d, d.train, d.test, d.train.items);
    const auto mf_recs = rank_all(cpu, setup, k, 1,
                                  [&](index_t u0, index_t n, std::vector<std::vector<float>>& out) {
                                    for (index_t u = 0; u < n; ++u)
                                      for (index_t i = 0; i < setup.items; ++i)
                                        out[0][u * setup.items + i] = sb.mf.predict(u0 + u, i);
                                  })[0];
    const double ndcg_mf = ndcg(cpu, setup, mf_recs, k);
    const auto fused_recs = fused_rankings(cpu, setup, k, sb, fusion, {best_a})[0];
    const double ndcg_fused = ndcg(cpu, setup, fused_recs, k);
    std::printf("ndcg@10: factorization %.4f, fused %.4f (ranking weight a = %.2f)\n", ndcg_mf,
                ndcg_fused, best_a);

    // ---- cold start: 10% of the items removed from training entirely ----
    double cold_ndcg = 0, cold_random = 0;
    index_t cold_count = 0, cold_users = 0;
    {
      std::mt19937_64 crng(a.seed ^ 0xc01dULL);
      std::vector<index_t> order(static_cast<std::size_t>(d.train.items));
      std::iota(order.begin(), order.end(), 0);
      for (index_t j = static_cast<index_t>(order.size()) - 1; j > 0; --j)
        std::swap(order[j], order[static_cast<index_t>(pipeline::unit(crng) * (j + 1))]);
      cold_count = d.train.items / 10;
      std::vector<char> cold(static_cast<std::size_t>(d.items), 0);
      std::vector<index_t> cold_items(order.begin(), order.begin() + cold_count);
      std::sort(cold_items.begin(), cold_items.end());
      for (index_t i : cold_items) cold[i] = 1;
      recfuse::interactions<float> warm;
      warm.users = d.users;
      warm.items = d.items;
      for (index_t e = 0; e < d.train.size(); ++e) {
        if (cold[d.train.item[e]]) continue;
        warm.user.push_back(d.train.user[e]);
        warm.item.push_back(d.train.item[e]);
        warm.value.push_back(d.train.value[e]);
      }
      pipeline::signal_options co = so;
      co.use_autoencoder = false;
      if (warm.size() == 0) cold_count = 0;  // every training rating is on a cold item
      const signals sc = warm.size() > 0 ? pipeline::build_signals(cpu, d, warm, co) : signals{};
      // Relevant: test ratings >= 4 on cold items; candidates: the cold items.
      std::vector<index_t> position(static_cast<std::size_t>(d.items), -1);
      for (index_t c = 0; c < cold_count; ++c) position[cold_items[c]] = c;
      recfuse::interactions<float> liked;
      liked.users = d.users;
      liked.items = cold_count;
      for (index_t e = 0; e < n_test; ++e) {
        const index_t c = position[d.test.item[e]];
        if (c < 0 || d.test.value[e] < 4.0f) continue;
        liked.user.push_back(d.test.user[e]);
        liked.item.push_back(static_cast<std::int32_t>(c));
        liked.value.push_back(1.0f);
      }
      const auto liked_csr = recfuse::to_csr(liked.view());
      const index_t ck = std::min<index_t>(k, cold_count);
      // Three content-and-graph signals per (user, cold item), each standardised per user:
      //   taste       the MF score of the item's embedding aggregated over its knowledge-graph
      //               (genres + release year) and title-embedding neighbours, plus the user's
      //               mean residual on the item's genres
      //   propensity  how much of the user's history falls in the item's genres (log share)
      //   popularity  the neighbours' mean log rating count (what audience such items find)
      std::vector<float> scores(static_cast<std::size_t>(d.users * cold_count));
      std::vector<float> taste(static_cast<std::size_t>(cold_count)), propensity(taste.size()),
          popularity(taste.size());
      const index_t g = d.genres.cols;
      for (index_t c = 0; c < cold_count; ++c) {
        const index_t i = cold_items[c];
        popularity[c] = sc.has_text() ? 0.5f * (sc.genre_popularity[i] + sc.text_popularity[i])
                                      : sc.genre_popularity[i];
      }
      standardise_row(popularity.data(), cold_count);
      for (index_t u = 0; u < d.users; ++u) {
        for (index_t c = 0; c < cold_count; ++c) {
          const index_t i = cold_items[c];
          double s = sc.smoothed_score(sc.genre_emb, u, i);
          if (sc.has_text()) s = 0.5 * (s + sc.smoothed_score(sc.text_emb, u, i));
          double aff = 0, share = 0;
          const index_t gb = d.genres.offsets[i], ge = d.genres.offsets[i + 1];
          for (index_t e = gb; e < ge; ++e) {
            aff += sc.genre_affinity[u * g + d.genres.indices[e]];
            share += sc.genre_share[u * g + d.genres.indices[e]];
          }
          const double ng = std::max<double>(1.0, static_cast<double>(ge - gb));
          taste[c] = static_cast<float>(s + aff / ng);
          propensity[c] = static_cast<float>(share / ng);
        }
        standardise_row(taste.data(), cold_count);
        standardise_row(propensity.data(), cold_count);
        for (index_t c = 0; c < cold_count; ++c)
          scores[u * cold_count + c] = taste[c] + propensity[c] + popularity[c];
      }
      if (liked_csr.nnz() == 0 || ck == 0) {
        cold_ndcg = cold_random = std::numeric_limits<double>::quiet_NaN();
        std::printf("cold start: no test rating >= 4 on the %lld removed items; not evaluated\n",
                    static_cast<long long>(cold_count));
      } else {
        const auto top = recfuse::topk(
            cpu, recfuse::matrix_view<const float>(scores.data(), d.users, cold_count), ck);
        const auto report =
            recfuse::evaluate_ranking(cpu, top.indices_view(), liked_csr.pattern(), ck);
        cold_ndcg = report.ndcg;
        cold_users = report.users;
        // A random ordering of the same items: the mean over 20 seeded shuffles.
        constexpr int draws = 20;
        std::vector<index_t> perm(static_cast<std::size_t>(cold_count)),
            recs(static_cast<std::size_t>(d.users * ck));
        for (int r = 0; r < draws; ++r) {
          for (index_t u = 0; u < d.users; ++u) {
            std::iota(perm.begin(), perm.end(), 0);
            for (index_t j = 0; j < ck; ++j) {
              const index_t pick =
                  j + static_cast<index_t>(pipeline::unit(crng) * (cold_count - j));
              std::swap(perm[j], perm[std::min(pick, cold_count - 1)]);
            }
            std::copy_n(perm.begin(), ck, recs.begin() + u * ck);
          }
          cold_random += recfuse::evaluate_ranking(
                             cpu, recfuse::matrix_view<const index_t>(recs.data(), d.users, ck),
                             liked_csr.pattern(), ck)
                             .ndcg /
                         draws;
        }
        std::printf(
            "cold start: %lld items removed from training; ndcg@10 over them for %lld users: "
            "content and graph %.4f, random order %.4f\n",
            static_cast<long long>(cold_count), static_cast<long long>(cold_users), cold_ndcg,
            cold_random);
      }
    }

    // ---- one user's top 3, explained ----
    {
      const index_t u = std::min<index_t>(d.users - 1, static_cast<index_t>(a.seed % 50));
      std::vector<std::int32_t> uu, ii;
      for (index_t j = 0; j < std::min<index_t>(3, k); ++j) {
        if (fused_recs[u * k + j] < 0) break;  // fewer candidates than 3
        uu.push_back(static_cast<std::int32_t>(u));
        ii.push_back(static_cast<std::int32_t>(fused_recs[u * k + j]));
      }
      const auto shown = static_cast<index_t>(ii.size());
      const auto x = features(sb, uu, ii);
      const auto groups = static_cast<index_t>(sb.groups.size());
      std::vector<float> contributions(static_cast<std::size_t>(shown * groups)), base(ii.size()),
          score(ii.size());
      fusion.explain(cpu, recfuse::matrix_view<const float>(x.data(), shown, sb.width()),
                     recfuse::matrix_view<float>(contributions.data(), shown, groups),
                     recfuse::vector_view<float>(base.data(), shown));
      fusion.predict(cpu, recfuse::matrix_view<const float>(x.data(), shown, sb.width()),
                     recfuse::vector_view<float>(score.data(), shown));
      const auto& rated = sb.by_user;
      std::vector<std::int32_t> rated_items(rated.indices.begin() + rated.offsets[u],
                                            rated.indices.begin() + rated.offsets[u + 1]);
      std::vector<float> rated_values;
      {
        // the user's own ratings (by_user holds residuals)
        std::vector<float> value_of(static_cast<std::size_t>(d.items), 0.0f);
        for (index_t e = 0; e < d.train.size(); ++e)
          if (d.train.user[e] == u) value_of[d.train.item[e]] = d.train.value[e];
        for (auto j : rated_items) rated_values.push_back(value_of[j]);
      }
      auto title = [&](index_t i) {
        if (!d.titles[i].empty()) return d.titles[i];
        return "item " +
               (i < static_cast<index_t>(d.item_keys.size()) ? d.item_keys[i] : std::to_string(i));
      };
      std::printf(
          "top %lld for user %lld (%zu training ratings), predicted rating = baseline + "
          "contributions:\n",
          static_cast<long long>(shown), static_cast<long long>(u), rated_items.size());
      for (index_t j = 0; j < shown; ++j) {
        std::printf("  %lld. %s: %.2f = %.2f", static_cast<long long>(j + 1), title(ii[j]).c_str(),
                    score[j], base[j]);
        for (index_t g = 0; g < groups; ++g)
          std::printf(" %+.2f %s", contributions[j * groups + g], sb.groups[g].first.c_str());
        std::printf("\n");
        if (!rated_items.empty()) {
          const auto why = recfuse::fuse::explain_factorization(
              cpu, sb.mf,
              recfuse::vector_view<const std::int32_t>(rated_items.data(),
                                                       static_cast<index_t>(rated_items.size())),
              recfuse::vector_view<const float>(rated_values.data(),
                                                static_cast<index_t>(rated_values.size())),
              ii[j], 2);
          std::string because;
          for (const auto& ev : why.evidence) {
            if (ev.contribution <= 0) continue;  // evidence against is not a reason
            char part[32];
            std::snprintf(part, sizeof part, " (%+.2f)", ev.contribution);
            because += (because.empty() ? " " : ", ") + title(ev.item) + part;
          }
          // explain_factorization splits the fold-in (ALS) estimate of the factorization score:
          // the user's factors re-solved from its ratings against the trained item factors.
          if (!because.empty())
            std::printf("     because you liked%s (factorization fold-in estimate %.2f)\n",
                        because.c_str(), why.score);
        }
      }
    }

    const double seconds = seconds_since(t0);
    auto number = [](double v) {
      if (!std::isfinite(v)) return std::string("null");
      char text[32];
      std::snprintf(text, sizeof text, "%.6f", v);
      return std::string(text);
    };
    std::printf(
        "{\"data\": \"%s\", \"rmse_mf\": %s, \"rmse_fused\": %s, \"rmse_autoencoder\": %s, "
        "\"rmse_user_autoencoder\": %s, "
        "\"ndcg@10_mf\": %s, \"ndcg@10_fused\": %s, \"cold_ndcg@10\": %s, "
        "\"cold_ndcg@10_random\": %s, \"cold_items\": %lld, \"cold_users\": %lld, "
        "\"ranking_weight\": %.2f, \"seconds\": %.3f}\n",
        d.source.c_str(), number(rmse_mf).c_str(), number(rmse_fused).c_str(),
        number(rmse_ae).c_str(), number(rmse_uae).c_str(), number(ndcg_mf).c_str(),
        number(ndcg_fused).c_str(), number(cold_ndcg).c_str(), number(cold_random).c_str(),
        static_cast<long long>(cold_count), static_cast<long long>(cold_users), best_a, seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recfuse-pipeline: %s\n", e.what());
    return 1;
  }
  return 0;
}
