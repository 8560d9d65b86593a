// recfuse xsimd backend: the kernels explain_factorization (recfuse/fuse/explain.hpp) runs on.
// explain_factorization_kernel itself stays on the reference (one small solve per call); the
// implicit overload computes the item gramian first, whose xsimd kernel this header brings.
#pragma once

#include "recfuse/fuse/explain.hpp"
#include "recfuse/xsimd/factorize/implicit_als.hpp"
