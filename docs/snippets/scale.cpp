// Standardise features streamed in two batches, min-max scale them, and L2-normalise rows.
#include <cmath>
#include <cstdio>
#include <vector>

#include "recfuse/xsimd/scale/minmax_scaler.hpp"
#include "recfuse/xsimd/scale/normalize.hpp"
#include "recfuse/xsimd/scale/standard_scaler.hpp"

int main() {
  const recfuse::exec::xsimd cpu{2};
  // 4 samples x 3 features, row-major; the last feature is constant.
  std::vector<float> x{1, 2, 7, 3, 2, 7, 5, 6, 7, 7, 6, 7};
  const recfuse::matrix_view<const float> first(x.data(), 2, 3), second(x.data() + 6, 2, 3);

  recfuse::standard_scaler<float> scaler;
  scaler.partial_fit(cpu, first).partial_fit(cpu, second);  // same as fit on all 4 rows
  std::printf("mean %g %g %g, variance %g %g %g\n", scaler.mean()[0], scaler.mean()[1],
              scaler.mean()[2], scaler.variance()[0], scaler.variance()[1], scaler.variance()[2]);

  std::vector<float> z(x.size());
  scaler.transform(cpu, recfuse::matrix_view<const float>(x.data(), 4, 3),
                   recfuse::matrix_view<float>(z.data(), 4, 3));
  std::printf("standardised row 0: %.4f %.4f %.4f\n", z[0], z[1], z[2]);  // constant -> 0

  recfuse::minmax_scaler<float> minmax(-1.0, 1.0);
  const recfuse::matrix_view<float> xv(x.data(), 4, 3);
  minmax.fit(cpu, xv);
  std::vector<float> m(x.size());
  minmax.transform(cpu, xv, recfuse::matrix_view<float>(m.data(), 4, 3));
  std::printf("min-max row 3: %g %g %g\n", m[9], m[10], m[11]);  // constant -> lo

  recfuse::normalize_rows(cpu, xv, xv);  // in place: every row now has unit L2 norm
  const double norm = std::sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
  std::printf("row 0 norm after normalize_rows: %.6f\n", norm);
  return std::abs(norm - 1.0) < 1e-6 && std::abs(z[2]) == 0.0f ? 0 : 1;
}
