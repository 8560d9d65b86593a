// recfuse Kokkos backend: the kernels sage_layer (recfuse/graph/sage.hpp) runs on. A GraphSAGE
// layer has no kernel of its own: it is neighbour aggregation, a dense layer and an activation,
// so it takes the Kokkos aggregation, GEMM and MLP kernels.
#pragma once

#include "recfuse/graph/sage.hpp"
#include "recfuse/kokkos/graph/aggregate.hpp"
#include "recfuse/kokkos/nn/gemm.hpp"
#include "recfuse/kokkos/nn/mlp.hpp"
