// The xsimd backend's thread helpers: an exception thrown by one piece of parallel work reaches
// the caller as itself (an exception escaping an OpenMP region would terminate the program).
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>

#include "recfuse/xsimd/detail/parallel.hpp"

using namespace recfuse;

TEST_CASE("xsimd parallel helpers rethrow the first exception on the caller", "[xsimd][parallel]") {
  const recfuse::exec::xsimd two{2};
  std::atomic<int> pieces{0};
  CHECK_THROWS_WITH(xsimd_backend::detail::for_chunks(2, 1000,
                                                      [&](int c, index_t, index_t) {
                                                        ++pieces;
                                                        if (c == 1)
                                                          throw std::runtime_error("chunk 1");
                                                      }),
                    "chunk 1");
  // Once a piece has failed, pieces not yet started are skipped, so 1 or 2 ran.
  CHECK((pieces == 1 || pieces == 2));
  CHECK_THROWS_AS(xsimd_backend::detail::for_each_index(two, 4096, 16,
                                                        [&](index_t i) {
                                                          if (i == 3000)
                                                            throw std::length_error("i");
                                                        }),
                  std::length_error);
  CHECK_THROWS_AS(xsimd_backend::detail::reduce_chunks(two, 1 << 20, 1024,
                                                       [&](index_t b, index_t) -> double {
                                                         if (b > 0) throw std::bad_alloc();
                                                         return 1.0;
                                                       }),
                  std::bad_alloc);
  // and no exception: every piece runs once
  std::atomic<index_t> sum{0};
  xsimd_backend::detail::for_each_index(two, 1000, 7, [&](index_t i) { sum += i; });
  CHECK(sum == 999 * 1000 / 2);
}
