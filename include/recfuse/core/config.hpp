// recfuse: version and the few build-wide types.
#pragma once

#include <cstdint>

#define RECFUSE_VERSION_MAJOR 0
#define RECFUSE_VERSION_MINOR 1
#define RECFUSE_VERSION_PATCH 0

namespace recfuse {

// Sizes, offsets and ids that can pass 2^31 (CSR offsets, users x items) are 64-bit.
using index_t = std::int64_t;

}  // namespace recfuse
