// recfuse Thrust backend: the kernels sage_layer (recfuse/graph/sage.hpp) runs on. A GraphSAGE
// layer has no kernel of its own: it is neighbour aggregation, a dense layer and an activation,
// so it takes the Thrust aggregation, GEMM and MLP kernels.
#pragma once

#include "recfuse/graph/sage.hpp"
#include "recfuse/thrust/graph/aggregate.hpp"
#include "recfuse/thrust/nn/gemm.hpp"
#include "recfuse/thrust/nn/mlp.hpp"
