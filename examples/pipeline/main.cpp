// recfuse-pipeline: the end-to-end fusion pipeline. Factorization, item- and user-based
// autoencoders, item graphs (co-occurrence, genres, title embeddings) and user/item features are
// fused by a learned MLP; the program reports rating error and ranking quality of the
// factorization alone and of the fusion, ranks cold-start items from content and graph signals
// alone, and explains the top recommendations of one user. The last line of standard output is
// one JSON object.
//
//   recfuse-pipeline [--train PATH --test PATH] [--items PATH] [--users PATH]
//                    [--embeddings PATH] [--seed N] [--threads N] [--generated | --generated-small]
//
// Without --train/--test it reads u1.base/u1.test of MovieLens 100K from ../shared/data beside
// the source tree, and generates data of the same shape where that is absent (or with
// --generated; --generated-small: 120 users and 250 items, for a quick end-to-end check).
//
// This file is the driver: main() runs the stages in order, each a function in the file of its
// job (docs/pipeline.md walks through them):
//   load          data.hpp        ratings and side information, or generated data
//   signals       signals.hpp     factorization -> autoencoders -> item graphs -> user profiles,
//                                 built on 85% of the training ratings (stage A), again on all of
//                                 them (stage B) and without the cold items (cold start)
//   fusion        fusion.hpp      the MLP ensemble fitted on stage A's other 15%
//   rank          ranking.hpp     the ranking weight chosen on stage A; test rmse and ndcg@10
//   cold start    cold_start.hpp  items removed from training, ranked by content and graphs
//   explain       explain.hpp     one user's top 3, split by signal group
//   report        main.cpp        the JSON line
// Exit status: 0; 2 for a bad command line or unusable data; 1 for other errors (a file that
// cannot be read), with the message on standard error.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cold_start.hpp"
#include "data.hpp"
#include "explain.hpp"
#include "fusion.hpp"
#include "options.hpp"
#include "ranking.hpp"
#include "recfuse/metrics/error.hpp"
#include "recfuse/xsimd/all.hpp"
#include "signals.hpp"

#ifndef RECFUSE_DEFAULT_DATA
#define RECFUSE_DEFAULT_DATA "../shared/data/ml-100k"
#endif

namespace {

using pipeline::dataset;
using pipeline::index_t;
using pipeline::signals;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Load: the files given, generated data, or MovieLens 100K u1 from RECFUSE_DEFAULT_DATA (generated
// data of its shape where that is absent).
dataset load_data(const pipeline::options& o) {
  if (!o.train.empty()) return pipeline::load(o.train, o.test, o.items, o.users, o.embeddings);
  if (o.generated || o.generated_small) {
    std::printf("data: generated, %s (seed %llu)\n",
                o.generated_small ? "120 users x 250 items" : "MovieLens 100K's shape",
                static_cast<unsigned long long>(o.seed));
    return o.generated_small ? pipeline::generate(o.seed, 120, 250) : pipeline::generate(o.seed);
  }
  const std::filesystem::path dir = RECFUSE_DEFAULT_DATA;
  if (std::filesystem::exists(dir / "u1.base") && std::filesystem::exists(dir / "u1.test")) {
    std::printf("data: MovieLens 100K u1 split from %s\n", dir.string().c_str());
    auto d = pipeline::load(dir / "u1.base", dir / "u1.test", o.items, o.users, o.embeddings);
    d.source = "ml-100k";
    return d;
  }
  std::printf("MovieLens data not found at %s: using generated data of the same shape\n",
              dir.string().c_str());
  return pipeline::generate(o.seed);
}

// Stage B's rating errors on the test file: factorization, each autoencoder, fusion.
struct rating_errors {
  double mf = 0, autoencoder = 0, user_autoencoder = 0, fused = 0;
};

template <class Policy>
rating_errors evaluate_ratings(const Policy& cpu, const dataset& d, const signals& s,
                               const pipeline::fusion_ensemble& fusion, float lo, float hi) {
  const auto n = static_cast<index_t>(d.test.size());
  std::vector<float> mf(d.test.size()), ae(d.test.size()), uae(d.test.size());
  for (index_t e = 0; e < n; ++e) {
    mf[e] = s.mf.predict(d.test.user[e], d.test.item[e]);
    ae[e] = s.item_autoencoder ? s.item_autoencoder->predict(d.test.user[e], d.test.item[e], mf[e])
                               : mf[e];
    uae[e] = s.user_autoencoder ? s.user_autoencoder->predict(d.test.user[e], d.test.item[e], mf[e])
                                : mf[e];
  }
  const auto fused = pipeline::fused_predictions(cpu, s, fusion, d.test.user, d.test.item, lo, hi);
  rating_errors r;
  r.mf = recfuse::rmse(cpu, mf, d.test.value);
  r.autoencoder = recfuse::rmse(cpu, ae, d.test.value);
  r.user_autoencoder = recfuse::rmse(cpu, uae, d.test.value);
  r.fused = recfuse::rmse(cpu, fused, d.test.value);
  std::printf(
      "rmse: factorization %.4f, item autoencoder %.4f, user autoencoder %.4f, fused %.4f\n", r.mf,
      r.autoencoder, r.user_autoencoder, r.fused);
  return r;
}

// Report: the last line of standard output, one JSON object.
void report(const dataset& d, const rating_errors& rmse, const pipeline::test_rankings& ranks,
            const pipeline::cold_start_result& cold, double ranking_weight, double seconds) {
  nlohmann::ordered_json j;
  j["data"] = d.source;
  j["rmse_mf"] = examples::figure(rmse.mf);
  j["rmse_fused"] = examples::figure(rmse.fused);
  j["rmse_autoencoder"] = examples::figure(rmse.autoencoder);
  j["rmse_user_autoencoder"] = examples::figure(rmse.user_autoencoder);
  j["ndcg@10_mf"] = examples::figure(ranks.ndcg_mf);
  j["ndcg@10_fused"] = examples::figure(ranks.ndcg_fused);
  j["cold_ndcg@10"] = examples::figure(cold.ndcg);
  j["cold_ndcg@10_random"] = examples::figure(cold.random);
  j["cold_items"] = cold.items;
  j["cold_users"] = cold.users;
  j["ranking_weight"] = examples::figure(ranking_weight, 2);
  j["seconds"] = examples::figure(seconds, 3);
  std::printf("%s\n", j.dump().c_str());
}

[[noreturn]] void unusable_data(const char* why) {
  std::fprintf(stderr, "recfuse-pipeline: %s\n", why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  const pipeline::options o = pipeline::parse_options(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines appear as they happen
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const recfuse::exec::xsimd cpu{o.threads};
    const index_t k = 10;

    // Load.
    const dataset d = load_data(o);
    std::printf("data: %s, %lld users, %lld items, %lld train and %lld test ratings\n",
                d.source.c_str(), static_cast<long long>(d.users), static_cast<long long>(d.items),
                static_cast<long long>(d.train.size()), static_cast<long long>(d.test.size()));
    if (d.train.size() == 0 || d.test.size() == 0)
      unusable_data("the train and test sets need ratings");
    if (d.train.size() < 2) unusable_data("the training file needs at least 2 ratings");
    const auto [lo, hi] = std::minmax_element(d.train.value.begin(), d.train.value.end());

    pipeline::signal_options so;
    so.mf.seed = o.seed;
    so.item_autoencoder.seed = o.seed;
    so.user_autoencoder.seed = o.seed ^ 0x75e4ULL;

    // Stage A: factorization, autoencoders and graphs on 85% of the training ratings; the fusion
    // fitted on the other 15%, and the ranking weight chosen there.
    const pipeline::fusion_split split = pipeline::split_for_fusion(d, o.seed);
    auto t_stage = std::chrono::steady_clock::now();
    const signals sa = pipeline::build_signals(cpu, d, split.fit, so);
    std::printf("stage A: signals on %lld ratings in %.2f s\n",
                static_cast<long long>(split.fit.size()), seconds_since(t_stage));
    const auto fusion = pipeline::fit_fusion(cpu, sa, split.blend, o.seed,
                                             pipeline::fusion_training(d.train.size(), o.seed));
    const double a = pipeline::choose_ranking_weight(cpu, d, split, sa, fusion, k);

    // Stage B: the signals on the whole training file; rating errors and rankings of the test file.
    t_stage = std::chrono::steady_clock::now();
    const signals sb = pipeline::build_signals(cpu, d, d.train, so);
    std::printf("stage B: signals on %lld ratings in %.2f s\n",
                static_cast<long long>(d.train.size()), seconds_since(t_stage));
    const rating_errors rmse = evaluate_ratings(cpu, d, sb, fusion, *lo, *hi);
    const pipeline::test_rankings ranks = pipeline::rank_test(cpu, d, sb, fusion, k, a);

    // Cold start, then one user's (index seed % 50) top 3 explained.
    const pipeline::cold_start_result cold = pipeline::cold_start(cpu, d, so, o.seed, k);
    const index_t user = std::min<index_t>(d.users - 1, static_cast<index_t>(o.seed % 50));
    pipeline::explain_top(cpu, d, sb, fusion, ranks.fused, k, user);

    report(d, rmse, ranks, cold, a, seconds_since(t0));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recfuse-pipeline: %s\n", e.what());
    return 1;
  }
  return 0;
}
