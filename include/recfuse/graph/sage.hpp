// recfuse: a GraphSAGE-style layer, y = act(W [x_i || agg_j x_j] + b).
//
//   recfuse::graph::sage_layer<float> layer(64, 32, {recfuse::graph::aggregation::mean});
//   layer.forward(cpu, g.view(), x, y);                       // x: nodes x 64, y: nodes x 32
//   layer.backward(cpu, g.view(), x, grad_y, grad_params, grad_x);
//
// W is out x 2*in: columns 0..in-1 multiply the node's own features, columns in..2*in-1 its
// aggregated neighbours (recfuse/graph/aggregate.hpp, with the layer's aggregate_options; the
// graph must be nodes x nodes). Initialisation follows torch.nn.Linear: W and b uniform in
// [-1/sqrt(2 in), 1/sqrt(2 in)), drawn from std::mt19937_64(seed) with recfuse's own mapping of
// 53 random bits to [0, 1) (the same numbers on every platform). parameters() is W (row-major)
// then b.
//
// forward keeps the concatenated input [x || agg(x)] and the output inside the layer, for
// backward: backward must follow a forward on the same graph and x (a layer is therefore not
// shared between threads that train). backward overwrites grad_parameters (same layout as
// parameters()) and grad_x (nodes x in; an empty matrix_view<T>{} skips it): grad_x = the self
// block's gradient + aggregate_backward of the neighbour block's.
//
// Errors (messages start with "recfuse::graph::sage_layer::..."): feature counts < 1
// (value_error); x, out, grads shaped wrong, graph not nodes x nodes (shape_error); backward
// before forward or on another number of nodes (value_error); the graph's own errors as for
// aggregate.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "recfuse/core/errors.hpp"
#include "recfuse/core/views.hpp"
#include "recfuse/graph/aggregate.hpp"
#include "recfuse/nn/activation.hpp"
#include "recfuse/nn/gemm.hpp"

namespace recfuse::graph {

template <class T = float>
class sage_layer {
  static_assert(std::is_floating_point_v<T>,
                "recfuse::graph::sage_layer: T must be float or double");

 public:
  sage_layer(index_t in_features, index_t out_features, aggregate_options agg = {},
             nn::activation act = nn::activation::relu, std::uint64_t seed = 0)
      : in_(in_features), out_(out_features), agg_(agg), act_(act) {
    if (in_features < 1 || out_features < 1) {
      recfuse::detail::throw_error<value_error>(
          "recfuse::graph::sage_layer", "in_features = ", in_features,
          ", out_features = ", out_features, " (need both >= 1)");
    }
    params_.resize(static_cast<std::size_t>(out_ * 2 * in_ + out_));
    std::mt19937_64 rng(seed);
    const double bound = 1.0 / std::sqrt(static_cast<double>(2 * in_));
    for (auto& p : params_) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      p = static_cast<T>(-bound + 2.0 * bound * u);
    }
  }

  index_t in_features() const { return in_; }
  index_t out_features() const { return out_; }
  const aggregate_options& aggregation_options() const { return agg_; }
  nn::activation layer_activation() const { return act_; }

  matrix_view<T> weight() { return {params_.data(), out_, 2 * in_}; }
  matrix_view<const T> weight() const { return {params_.data(), out_, 2 * in_}; }
  vector_view<T> bias() { return {params_.data() + out_ * 2 * in_, out_}; }
  vector_view<const T> bias() const { return {params_.data() + out_ * 2 * in_, out_}; }
  vector_view<T> parameters() { return {params_.data(), parameter_count()}; }
  vector_view<const T> parameters() const { return {params_.data(), parameter_count()}; }
  index_t parameter_count() const { return static_cast<index_t>(params_.size()); }

  // out (nodes x out_features) = act(W [x || agg(x)] + b); x is nodes x in_features.
  template <class Policy>
  void forward(const Policy& policy, const csr_view<T>& graph, matrix_view<const T> x,
               matrix_view<T> out) {
    constexpr const char* fn = "recfuse::graph::sage_layer::forward";
    check_inputs(fn, graph, x);
    detail::check_shape(fn, "out", out, x.rows(), out_);
    const index_t n = x.rows();
    nodes_ = -1;
    concat_.resize(static_cast<std::size_t>(n * 2 * in_));
    output_.resize(static_cast<std::size_t>(n * out_));
    for (index_t i = 0; i < n; ++i)
      std::copy(x.row(i), x.row(i) + in_, concat_.data() + i * 2 * in_);
    // The neighbour half of each concatenated row (no pointer arithmetic on an empty buffer).
    const matrix_view<T> neigh{n > 0 ? concat_.data() + in_ : nullptr, n, in_, 2 * in_};
    aggregate(policy, graph, x, neigh, agg_);
    const matrix_view<T> y{output_.data(), n, out_};
    if (n > 0) {
      gemm(policy, op::none, op::transpose, T(1), matrix_view<const T>{concat_.data(), n, 2 * in_},
           matrix_view<const T>(weight()), T(0), y);
    }
    const T* b = params_.data() + out_ * 2 * in_;
    for (index_t i = 0; i < n; ++i) {
      for (index_t o = 0; o < out_; ++o) {
        y(i, o) = nn::activate(act_, y(i, o) + b[o]);
        out(i, o) = y(i, o);
      }
    }
    nodes_ = n;
  }

  // Gradients of a loss L given grad_out = d L / d out of the last forward (same graph and x).
  template <class Policy>
  void backward(const Policy& policy, const csr_view<T>& graph, matrix_view<const T> x,
                matrix_view<const T> grad_out, vector_view<T> grad_parameters,
                matrix_view<T> grad_x) {
    constexpr const char* fn = "recfuse::graph::sage_layer::backward";
    check_inputs(fn, graph, x);
    if (nodes_ < 0 || nodes_ != x.rows()) {
      recfuse::detail::throw_error<value_error>(
          fn, "backward needs a forward on the same x first (last forward saw ",
          nodes_ < 0 ? index_t{0} : nodes_, " nodes, x has ", x.rows(), ")");
    }
    detail::check_shape(fn, "grad_out", grad_out, x.rows(), out_);
    recfuse::detail::check_vector(fn, "grad_parameters", grad_parameters);
    recfuse::detail::check_same(fn, "grad_parameters.size()", grad_parameters.size(),
                                "parameter_count()", parameter_count());
    const bool want_x = !(grad_x.data() == nullptr && grad_x.rows() == 0 && grad_x.cols() == 0);
    if (want_x) detail::check_shape(fn, "grad_x", grad_x, x.rows(), in_);
    const index_t n = x.rows();
    // dz = grad_out * act'(y)
    grad_z_.resize(static_cast<std::size_t>(n * out_));
    for (index_t i = 0; i < n; ++i) {
      for (index_t o = 0; o < out_; ++o) {
        grad_z_[i * out_ + o] =
            grad_out(i, o) * nn::activation_derivative(act_, output_[i * out_ + o]);
      }
    }
    const matrix_view<const T> dz{grad_z_.data(), n, out_};
    const matrix_view<T> dw{grad_parameters.data(), out_, 2 * in_};
    const matrix_view<const T> cat{concat_.data(), n, 2 * in_};
    // dW = dz^T [x || agg]; with no nodes, gemm's inner dimension 0 gives zeros.
    gemm(policy, op::transpose, op::none, T(1), dz, cat, T(0), dw);
    T* db = grad_parameters.data() + out_ * 2 * in_;
    for (index_t o = 0; o < out_; ++o) {
      double s = 0.0;
      for (index_t i = 0; i < n; ++i) s += static_cast<double>(grad_z_[i * out_ + o]);
      db[o] = static_cast<T>(s);
    }
    if (!want_x || n == 0) return;
    // d[x || agg] = dz W, then the neighbour half goes back through the aggregation.
    grad_cat_.resize(static_cast<std::size_t>(n * 2 * in_));
    const matrix_view<T> gc{grad_cat_.data(), n, 2 * in_};
    gemm(policy, op::none, op::none, T(1), dz, matrix_view<const T>(weight()), T(0), gc);
    aggregate_backward(policy, graph, x,
                       matrix_view<const T>{grad_cat_.data() + in_, n, in_, 2 * in_}, grad_x, agg_);
    for (index_t i = 0; i < n; ++i) {
      for (index_t c = 0; c < in_; ++c) grad_x(i, c) += gc(i, c);
    }
  }

 private:
  void check_inputs(const char* fn, const csr_view<T>& graph, matrix_view<const T> x) const {
    recfuse::detail::check_matrix(fn, "x", x);
    recfuse::detail::check_same(fn, "x.cols()", x.cols(), "in_features", in_);
    if (graph.rows() != x.rows() || graph.cols() != x.rows()) {
      recfuse::detail::throw_error<shape_error>(fn, "graph is ", graph.rows(), " x ", graph.cols(),
                                                " but x has ", x.rows(), " nodes");
    }
  }

  index_t in_ = 0, out_ = 0;
  aggregate_options agg_{};
  nn::activation act_ = nn::activation::relu;
  std::vector<T> params_;
  index_t nodes_ = -1;
  std::vector<T> concat_, output_, grad_z_, grad_cat_;
};

}  // namespace recfuse::graph
