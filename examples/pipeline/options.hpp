// recfuse-pipeline: the command line (CLI11).
//
//   recfuse-pipeline [--train PATH --test PATH] [--items PATH] [--users PATH]
//                    [--embeddings PATH] [--seed N] [--threads N] [--generated | --generated-small]
//
// A malformed command line (an unknown option, a missing or malformed value, --train without
// --test, --generated with --train) prints a message naming the option and exits with status 2;
// --help prints the usage and exits with 0 (examples/common/cli.hpp).
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include "../common/cli.hpp"

namespace pipeline {

struct options {
  std::string train, test, items, users, embeddings;
  std::uint64_t seed = 1;
  int threads = 0;  // 0: every core
  bool generated = false, generated_small = false;
};

inline options parse_options(int argc, char** argv) {
  options o;
  CLI::App app{
      "recfuse-pipeline: factorization, autoencoders and item graphs fused by a learned MLP, on "
      "MovieLens 100K u1 (without --train/--test) or generated data. docs/pipeline.md walks "
      "through every stage.",
      "recfuse-pipeline"};
  auto* train = app.add_option("--train", o.train, "training ratings file");
  auto* test = app.add_option("--test", o.test, "test ratings file");
  train->needs(test);
  test->needs(train);
  app.add_option("--items", o.items, "u.item (default: beside the training file)");
  app.add_option("--users", o.users, "u.user (default: beside the training file)");
  app.add_option("--embeddings", o.embeddings,
                 "items x dims .npy of title embeddings (tools/embed_titles.py)");
  app.add_option("--seed", o.seed, "seed of every random choice")
      ->check(examples::integer_in<std::uint64_t>(0, std::numeric_limits<std::uint64_t>::max()))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "threads (default: every core)")
      ->check(examples::integer_in(1, 1024));
  auto* generated =
      app.add_flag("--generated", o.generated, "generated data of MovieLens 100K's shape");
  auto* small = app.add_flag("--generated-small", o.generated_small,
                             "generated data, 120 users x 250 items (a quick check)");
  for (auto* flag : {generated, small}) flag->excludes(train)->excludes(test);
  generated->excludes(small);
  examples::parse_or_exit(app, argc, argv);
  return o;
}

}  // namespace pipeline
