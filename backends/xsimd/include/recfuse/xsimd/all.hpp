// recfuse xsimd backend: every kernel of this backend, for programs that want them all.
// Libraries should include the component headers they use.
#pragma once

#include "recfuse/xsimd/factorize/biased_mf.hpp"
#include "recfuse/xsimd/factorize/implicit_als.hpp"
#include "recfuse/xsimd/fuse/blend.hpp"
#include "recfuse/xsimd/fuse/explain.hpp"
#include "recfuse/xsimd/fuse/learned.hpp"
#include "recfuse/xsimd/graph/aggregate.hpp"
#include "recfuse/xsimd/graph/builders.hpp"
#include "recfuse/xsimd/graph/sage.hpp"
#include "recfuse/xsimd/metrics/error.hpp"
#include "recfuse/xsimd/metrics/ranking.hpp"
#include "recfuse/xsimd/nn/gemm.hpp"
#include "recfuse/xsimd/nn/mlp.hpp"
#include "recfuse/xsimd/nn/train.hpp"
#include "recfuse/xsimd/scale/minmax_scaler.hpp"
#include "recfuse/xsimd/scale/normalize.hpp"
#include "recfuse/xsimd/scale/standard_scaler.hpp"
#include "recfuse/xsimd/search/bm25.hpp"
#include "recfuse/xsimd/search/hybrid.hpp"
#include "recfuse/xsimd/search/semantic.hpp"
#include "recfuse/xsimd/select/topk.hpp"
