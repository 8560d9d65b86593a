#include <cstdio>
#include <vector>

#include <recfuse/graph/aggregate.hpp>
#include <recfuse/graph/builders.hpp>
#include <recfuse/graph/sage.hpp>
#include <recfuse/xsimd/graph/aggregate.hpp>
#include <recfuse/xsimd/graph/builders.hpp>
#include <recfuse/xsimd/graph/sage.hpp>

int main() {
  // 3 users x 4 items: user 0 has items 0, 1, 2; user 1 items 0, 1; user 2 items 1, 3.
  recfuse::interactions<float> data;
  data.users = 3;
  data.items = 4;
  data.user = {0, 0, 0, 1, 1, 2, 2};
  data.item = {0, 1, 2, 0, 1, 1, 3};
  data.value = {1, 1, 1, 1, 1, 1, 1};

  recfuse::exec::xsimd cpu;
  recfuse::graph::cooccurrence_options options;
  options.weight = recfuse::graph::edge_weight::count;
  const auto g = recfuse::graph::cooccurrence_graph(cpu, data.view(), options);
  // Row 1 (item 1): item 0 (2 common users), then items 2 and 3 (1 each).
  for (auto e = g.offsets[1]; e < g.offsets[2]; ++e) {
    std::printf("item 1 -> item %d: %.0f\n", g.indices[e], g.values[e]);
  }

  // Mean of the neighbours' 2-wide features, weighted by the co-occurrence counts.
  std::vector<float> x = {1, 0, 0, 1, 2, 2, 4, 0}, out(8);
  recfuse::graph::aggregate(cpu, g.view(), {x.data(), 4, 2}, {out.data(), 4, 2},
                            {recfuse::graph::aggregation::mean, /*weighted=*/true});
  std::printf("item 1: %.2f %.2f\n", out[2], out[3]);  // (2 * x0 + x2 + x3) / 4 = 2.00 0.50

  // A GraphSAGE layer, 2 -> 3 features, and one backward pass.
  recfuse::graph::sage_layer<float> layer(2, 3, {recfuse::graph::aggregation::gcn});
  std::vector<float> y(12), grad_y(12, 1.0f), grad_x(8);
  std::vector<float> grad_params(static_cast<std::size_t>(layer.parameter_count()));
  layer.forward(cpu, g.view(), {x.data(), 4, 2}, {y.data(), 4, 3});
  layer.backward(cpu, g.view(), {x.data(), 4, 2}, {grad_y.data(), 4, 3},
                 {grad_params.data(), layer.parameter_count()}, {grad_x.data(), 4, 2});
  return g.nnz() == 8 && out[2] == 2.0f && out[3] == 0.5f ? 0 : 1;
}
