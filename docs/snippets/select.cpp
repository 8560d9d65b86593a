#include <cstdint>
#include <cstdio>
#include <vector>

#include <recfuse/select/topk.hpp>
#include <recfuse/xsimd/select/topk.hpp>

int main() {
  using recfuse::index_t;
  // 2 users x 3 factors, 5 items x 3 factors, row-major.
  std::vector<float> users = {1, 0, 2,  //
                              0, 1, 1};
  std::vector<float> items = {1, 1, 0,  //
                              0, 0, 1,  //
                              2, 0, 1,  //
                              1, 1, 1,  //
                              0, 3, 0};
  recfuse::matrix_view<const float> u(users.data(), 2, 3), x(items.data(), 5, 3);

  // Items each user already has (CSR: user 0 has items 2 and 0, user 1 has none).
  std::vector<index_t> offsets = {0, 2, 2};
  std::vector<std::int32_t> seen = {2, 0};
  recfuse::csr_pattern_view<std::int32_t> exclude(2, 5, offsets.data(), seen.data());

  recfuse::exec::xsimd cpu;  // all OpenMP threads
  auto top = recfuse::topk_inner_product(cpu, u, x, 3, exclude);
  for (index_t r = 0; r < top.rows; ++r) {
    std::printf("user %lld:", static_cast<long long>(r));
    for (index_t j = 0; j < top.k; ++j) {
      std::printf(" item %lld (%.0f)", static_cast<long long>(top.index(r, j)), top.value(r, j));
    }
    std::printf("\n");
  }
  // user 0: item 3 (3) item 1 (2) item 4 (0)
  // user 1: item 4 (3) item 3 (2) item 0 (1)     items 0, 1, 2 tie: the smallest index wins
  return top.index(0, 0) == 3 && top.index(1, 2) == 0 ? 0 : 1;
}
