// recfuse bench, cross-backend table: the scale rows, on one rows x cols float matrix (10,000 x
// 1,024: 40 MB, past the last-level cache). Bandwidth-bound (docs/performance.md): a fit reads the
// matrix (read ceiling); a transform or normalize_rows out of place reads it and writes as much
// (counted like STREAM's copy, no write-allocate: copy ceiling).
#include <memory>

#include "data.hpp"
#include "harness.hpp"
#include "recfuse/scale/minmax_scaler.hpp"
#include "recfuse/scale/normalize.hpp"
#include "recfuse/scale/standard_scaler.hpp"
#include "recfuse/xsimd/scale/minmax_scaler.hpp"
#include "recfuse/xsimd/scale/normalize.hpp"
#include "recfuse/xsimd/scale/standard_scaler.hpp"

#if defined(RECFUSE_BENCH_THRUST)
#include "recfuse/thrust/scale/minmax_scaler.hpp"
#include "recfuse/thrust/scale/normalize.hpp"
#include "recfuse/thrust/scale/standard_scaler.hpp"
#endif

namespace recfuse::bench::backends {
namespace {

struct matrix_data {
  index_t rows, cols;
  std::vector<float> x, out;
  matrix_data(index_t r, index_t c, std::uint64_t seed)
      : rows(r), cols(c), x(random_floats(r * c, seed, -2.0f, 3.0f)), out(x.size()) {}
  matrix_view<const float> in() const { return {x.data(), rows, cols}; }
  matrix_view<float> to() { return {out.data(), rows, cols}; }
};

}  // namespace

std::vector<row> scale_rows(const options& o) {
  const index_t rows = o.quick ? 2'000 : 10'000, cols = 1'024;
  const double elements = static_cast<double>(rows * cols);
  const std::string size = o.quick ? "2,000 x 1,024 float" : "10,000 x 1,024 float";
  const int threads = o.threads;
  std::vector<row> v;

  row fit;
  fit.family = "scale";
  fit.component = "standard_scaler fit";
  fit.size = size;
  fit.by = bound::read;
  fit.work = elements * sizeof(float);
  fit.kernels = {"standard_scaler_fit_kernel"};
  fit.note = "bytes = rows x cols x 4 read";
  fit.prepare = [=] {
    auto d = std::make_shared<matrix_data>(rows, cols, 2);
    auto s = std::make_shared<standard_scaler<float>>();
    return std::function<void(column)>(
        [=](column c) { with_column(c, threads, [&](const auto& p) { s->fit(p, d->in()); }); });
  };
  v.push_back(fit);

  row transform = fit;
  transform.component = "standard_scaler transform";
  transform.by = bound::copy;
  transform.work = 2 * elements * sizeof(float);
  transform.kernels = {"scaler_transform_kernel"};
  transform.note = "bytes = rows x cols x 4 read + the same written";
  transform.prepare = [=] {
    auto d = std::make_shared<matrix_data>(rows, cols, 1);
    auto s = std::make_shared<standard_scaler<float>>();
    s->fit(exec::reference{}, d->in());
    return std::function<void(column)>([=](column c) {
      with_column(c, threads, [&](const auto& p) { s->transform(p, d->in(), d->to()); });
    });
  };
  v.push_back(transform);

  row minmax = fit;
  minmax.component = "minmax_scaler fit";
  minmax.kernels = {"minmax_scaler_fit_kernel"};
  minmax.prepare = [=] {
    auto d = std::make_shared<matrix_data>(rows, cols, 4);
    auto s = std::make_shared<minmax_scaler<float>>();
    return std::function<void(column)>(
        [=](column c) { with_column(c, threads, [&](const auto& p) { s->fit(p, d->in()); }); });
  };
  v.push_back(minmax);

  row normalize = transform;
  normalize.component = "normalize_rows";
  normalize.kernels = {"normalize_rows_kernel"};
  normalize.prepare = [=] {
    auto d = std::make_shared<matrix_data>(rows, cols, 5);
    return std::function<void(column)>([=](column c) {
      with_column(c, threads, [&](const auto& p) { normalize_rows(p, d->in(), d->to()); });
    });
  };
  v.push_back(normalize);
  return v;
}

}  // namespace recfuse::bench::backends
