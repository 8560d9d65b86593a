// recfuse Thrust backend: the policy, the adapters and every kernel of this backend, for
// programs that want them all. Libraries should include the headers they use.
#pragma once

#include "recfuse/thrust/adapt.hpp"
#include "recfuse/thrust/factorize/biased_mf.hpp"
#include "recfuse/thrust/factorize/implicit_als.hpp"
#include "recfuse/thrust/fuse/blend.hpp"
#include "recfuse/thrust/fuse/explain.hpp"
#include "recfuse/thrust/fuse/learned.hpp"
#include "recfuse/thrust/graph/aggregate.hpp"
#include "recfuse/thrust/graph/builders.hpp"
#include "recfuse/thrust/graph/sage.hpp"
#include "recfuse/thrust/metrics/error.hpp"
#include "recfuse/thrust/metrics/ranking.hpp"
#include "recfuse/thrust/nn/gemm.hpp"
#include "recfuse/thrust/nn/mlp.hpp"
#include "recfuse/thrust/nn/train.hpp"
#include "recfuse/thrust/policy.hpp"
#include "recfuse/thrust/scale/minmax_scaler.hpp"
#include "recfuse/thrust/scale/normalize.hpp"
#include "recfuse/thrust/scale/standard_scaler.hpp"
#include "recfuse/thrust/select/topk.hpp"
