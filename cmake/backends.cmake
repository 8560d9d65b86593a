# recfuse::thrust and recfuse::kokkos, each optional.

if(RECFUSE_ENABLE_THRUST OR RECFUSE_ENABLE_CUDA)
  # TODO(thrust agent): CCCL lookup and recfuse_thrust target.
endif()

if(RECFUSE_ENABLE_KOKKOS)
  # TODO(kokkos agent): Kokkos lookup, include-path fix and recfuse_kokkos target.
endif()
