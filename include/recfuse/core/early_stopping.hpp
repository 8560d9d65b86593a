// recfuse: when an iterative fit stops on a validation metric. One definition for every
// validated fit: the factorization fits (recfuse/factorize/validation.hpp: evaluations after each
// epoch or sweep) and nn::train (recfuse/nn/train.hpp: after each epoch).
//
// The initial model is evaluated first (iteration 0). An evaluation improves when it beats the
// best so far by more than min_delta (in the metric's own units and direction); the best iterate
// moves only on an improvement. The fit stops after `patience` evaluations in a row without one
// (0: never stops early, runs every iteration) and returns the best iterate (restore_best) or
// the last one run.
#pragma once

namespace recfuse {

struct early_stopping {
  int patience = 5;          // >= 0; 0: never stop early
  double min_delta = 0.0;    // finite, >= 0, in the metric's units
  bool restore_best = true;  // return the best iterate (else the last one run)
};

}  // namespace recfuse
