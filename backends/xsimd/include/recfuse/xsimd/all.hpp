// recfuse xsimd backend: every kernel of this backend, for programs that want them all.
// Libraries should include the component headers they use.
#pragma once

#include "recfuse/xsimd/factorize_biased.hpp"
#include "recfuse/xsimd/factorize_implicit.hpp"
#include "recfuse/xsimd/fuse.hpp"
#include "recfuse/xsimd/gemm.hpp"
#include "recfuse/xsimd/graph.hpp"
#include "recfuse/xsimd/metrics.hpp"
#include "recfuse/xsimd/nn.hpp"
#include "recfuse/xsimd/ranking.hpp"
#include "recfuse/xsimd/scale.hpp"
#include "recfuse/xsimd/select.hpp"
