// recfuse Kokkos backend: the kernels learned_fusion (recfuse/fuse/learned.hpp) runs on. The
// learned fusion is an MLP with its own standardisation (computed on the host in double), so it
// has no kernel of its own: it takes the Kokkos MLP (dense layers, gemm) and training (Adam)
// kernels, and whether its results depend on the thread count is theirs to say
// (recfuse/kokkos/nn/*.hpp). Its members take and return host objects (std::vector state), so
// it serves host data.
#pragma once

#include "recfuse/fuse/learned.hpp"
#include "recfuse/kokkos/nn/gemm.hpp"
#include "recfuse/kokkos/nn/mlp.hpp"
#include "recfuse/kokkos/nn/train.hpp"
