// recfuse bench, cross-backend table: the graph rows, mean aggregation forward and backward over
// a generated power-law graph (100,000 nodes, 1,000,000 edges, 64 float features; bench_graph's
// graph). Bandwidth-bound: the neighbour rows gathered (forward) or scattered to (backward),
// edges x 64 x 4 bytes, held to the streaming-read ceiling (random 256-byte rows: a gather
// reaches a fraction of it).
#include <memory>

#include "data.hpp"
#include "harness.hpp"
#include "recfuse/graph/aggregate.hpp"
#include "recfuse/xsimd/graph/aggregate.hpp"

#if defined(RECFUSE_BENCH_THRUST)
#include "recfuse/thrust/graph/aggregate.hpp"
#endif

namespace recfuse::bench::backends {
namespace {

constexpr index_t width = 64;

struct graph_data {
  csr_matrix<float> g;
  std::vector<float> x, out;
  graph_data(index_t nodes, index_t edges)
      : g(powerlaw_graph(nodes, edges, 2026)),
        x(random_floats(nodes * width, 7)),
        out(static_cast<std::size_t>(nodes * width)) {}
  matrix_view<const float> features() const { return {x.data(), g.cols, width}; }
};

}  // namespace

std::vector<row> graph_rows(const options& o) {
  const index_t nodes = o.quick ? 20'000 : 100'000, edges = o.quick ? 200'000 : 1'000'000;
  const int threads = o.threads;
  auto data = std::make_shared<std::shared_ptr<graph_data>>();
  auto get = [=] {
    if (!*data) *data = std::make_shared<graph_data>(nodes, edges);
    return *data;
  };
  std::vector<row> v;
  row fwd;
  fwd.family = "graph";
  fwd.component = "aggregate mean";
  fwd.size = o.quick ? "20K nodes, 200K edges, 64 features" : "100K nodes, 1M edges, 64 features";
  fwd.by = bound::read;
  fwd.kernels = {"aggregate_kernel"};
  fwd.note = "bytes = edges x 64 x 4 gathered";
  fwd.prepare = [=] {
    auto d = get();
    return std::function<void(column)>([=](column c) {
      with_column(c, threads, [&](const auto& p) {
        graph::aggregate(p, d->g.view(), d->features(),
                         matrix_view<float>(d->out.data(), d->g.rows, width),
                         {graph::aggregation::mean, false});
      });
    });
  };
  v.push_back(fwd);

  row bwd = fwd;
  bwd.component = "aggregate_backward mean";
  bwd.kernels = {"aggregate_backward_kernel"};
  bwd.note = "bytes = edges x 64 x 4 of gradient rows";
  bwd.prepare = [=] {
    auto d = get();
    return std::function<void(column)>([=](column c) {
      with_column(c, threads, [&](const auto& p) {
        graph::aggregate_backward(p, d->g.view(), d->features(), d->features(),
                                  matrix_view<float>(d->out.data(), d->g.cols, width),
                                  {graph::aggregation::mean, false});
      });
    });
  };
  v.push_back(bwd);
  // to_csr keeps repeated (row, column) pairs, so the CSR has exactly `edges` entries.
  for (auto& r : v) r.work = static_cast<double>(edges) * width * sizeof(float);
  return v;
}

}  // namespace recfuse::bench::backends
