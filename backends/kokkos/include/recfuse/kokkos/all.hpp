// recfuse Kokkos backend: the policy, the adapters and every kernel of this backend, for
// programs that want them all. Libraries should include the headers they use.
#pragma once

#include "recfuse/kokkos/adapt.hpp"
#include "recfuse/kokkos/factorize/biased_mf.hpp"
#include "recfuse/kokkos/factorize/implicit_als.hpp"
#include "recfuse/kokkos/fuse/blend.hpp"
#include "recfuse/kokkos/fuse/explain.hpp"
#include "recfuse/kokkos/fuse/learned.hpp"
#include "recfuse/kokkos/graph/aggregate.hpp"
#include "recfuse/kokkos/graph/builders.hpp"
#include "recfuse/kokkos/graph/sage.hpp"
#include "recfuse/kokkos/metrics/error.hpp"
#include "recfuse/kokkos/metrics/ranking.hpp"
#include "recfuse/kokkos/nn/gemm.hpp"
#include "recfuse/kokkos/nn/mlp.hpp"
#include "recfuse/kokkos/nn/train.hpp"
#include "recfuse/kokkos/policy.hpp"
#include "recfuse/kokkos/scale/minmax_scaler.hpp"
#include "recfuse/kokkos/scale/normalize.hpp"
#include "recfuse/kokkos/scale/standard_scaler.hpp"
#include "recfuse/kokkos/select/topk.hpp"
