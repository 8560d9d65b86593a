// recfuse xsimd backend: the kernels learned_fusion (recfuse/fuse/learned.hpp) runs on. The
// learned fusion is an MLP with its own standardisation, so it has no kernel of its own: it takes
// the xsimd MLP, training and scaler kernels.
#pragma once

#include "recfuse/fuse/learned.hpp"
#include "recfuse/xsimd/nn/mlp.hpp"
#include "recfuse/xsimd/nn/train.hpp"
#include "recfuse/xsimd/scale/standard_scaler.hpp"
