// recfuse: the factorization family in one include: explicit biased MF (SGD, ALS), implicit ALS
// (conjugate gradient or Cholesky), fold-in and partial refits, model save / load, validated
// fits with early stopping and regularisation tuning.
// Add "recfuse/xsimd/all.hpp" (or another backend) for the fast kernels.
#pragma once

#include "recfuse/factorize/biased_mf.hpp"
#include "recfuse/factorize/implicit_als.hpp"
#include "recfuse/factorize/model.hpp"
#include "recfuse/factorize/persist.hpp"
#include "recfuse/factorize/tune.hpp"
#include "recfuse/factorize/validation.hpp"
