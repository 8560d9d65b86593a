// recfuse Thrust backend: the kernels learned_fusion (recfuse/fuse/learned.hpp) runs on. The
// learned fusion is an MLP with its own standardisation (computed on the host in double), so it
// has no kernel of its own: it takes the Thrust MLP (dense layers, gemm) and training (Adam)
// kernels. Its members take and return host objects (std::vector state), so it serves host data.
#pragma once

#include "recfuse/fuse/learned.hpp"
#include "recfuse/thrust/nn/gemm.hpp"
#include "recfuse/thrust/nn/mlp.hpp"
#include "recfuse/thrust/nn/train.hpp"
