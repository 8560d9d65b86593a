# recfuse::thrust and recfuse::kokkos, each optional, and the CUDA language for the .cu tests.
# include()d by the top-level CMakeLists.txt, so it runs in the top-level scope:
# recfuse_installed_targets and recfuse_enabled_components are appended to here.

# ---- recfuse::thrust ------------------------------------------------------------------------------
# Thrust, CUB and libcu++ come with the CUDA toolkit (CCCL); their CMake packages are in
# <cuda>/lib64/cmake. recfuse::thrust carries only the Thrust headers: the consumer picks the
# device system, either by compiling with nvcc (CUDA, the default) or by defining
# THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP (or _TBB, _CPP) and linking OpenMP (or TBB),
# e.g. through a target from Thrust's thrust_create_target(NAME DEVICE OMP).
# The CUDA tests are Thrust programs: RECFUSE_ENABLE_CUDA implies recfuse::thrust.
if(RECFUSE_ENABLE_CUDA AND NOT RECFUSE_ENABLE_THRUST)
  message(STATUS "recfuse: RECFUSE_ENABLE_CUDA=ON turns on RECFUSE_ENABLE_THRUST")
  set(RECFUSE_ENABLE_THRUST ON)
endif()
if(RECFUSE_ENABLE_THRUST)
  set(recfuse_cuda_hints)
  foreach(root IN ITEMS "$ENV{CUDA_PATH}" "$ENV{CUDA_HOME}" "${CUDAToolkit_ROOT}" /usr/local/cuda)
    if(root)
      list(APPEND recfuse_cuda_hints "${root}" "${root}/lib64/cmake")
    endif()
  endforeach()
  find_package(Thrust CONFIG REQUIRED HINTS ${recfuse_cuda_hints})
  message(STATUS "recfuse: Thrust ${Thrust_VERSION} from ${Thrust_DIR}")
  # recorded in recfuseConfig.cmake so a consumer finds the same Thrust
  set(RECFUSE_THRUST_DIR "${Thrust_DIR}")

  # Thrust::Thrust is an ALIAS of a non-imported target, which install(EXPORT) cannot name, so
  # recfuse::thrust links an IMPORTED stand-in; recfuseConfig recreates it after finding Thrust.
  if(NOT TARGET recfuse_deps::thrust)
    add_library(recfuse_deps::thrust INTERFACE IMPORTED)
    target_link_libraries(recfuse_deps::thrust INTERFACE Thrust::Thrust)
  endif()

  add_library(recfuse_thrust INTERFACE)
  add_library(recfuse::thrust ALIAS recfuse_thrust)
  set_target_properties(recfuse_thrust PROPERTIES EXPORT_NAME thrust)
  target_include_directories(recfuse_thrust INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/backends/thrust/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(recfuse_thrust INTERFACE recfuse_core recfuse_deps::thrust)
  list(APPEND recfuse_installed_targets recfuse_thrust)
  list(APPEND recfuse_enabled_components thrust)
endif()

# ---- CUDA ---------------------------------------------------------------------------------------
# Only the tests' .cu files use it. nvcc is looked up on PATH, then under the CUDA toolkit.
if(RECFUSE_ENABLE_CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
    find_program(recfuse_nvcc nvcc PATHS ${recfuse_cuda_hints} PATH_SUFFIXES bin)
    if(recfuse_nvcc)
      set(CMAKE_CUDA_COMPILER "${recfuse_nvcc}" CACHE FILEPATH "CUDA compiler")
    endif()
  endif()
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90 CACHE STRING "CUDA architectures (90: H100 / H200)")
  endif()
  enable_language(CUDA)
  message(STATUS "recfuse: CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}")
endif()

# ---- recfuse::kokkos ----------------------------------------------------------------------------
# Kokkos 4 (scripts/install-deps.sh builds 4.6.01 from ../shared/deps with the Serial and OpenMP
# spaces). Debian 12's Kokkos 3.4 (Trilinos) has the Serial space only and is not supported.
if(RECFUSE_ENABLE_KOKKOS)
  # Kokkos' config forces CMAKE_CXX_EXTENSIONS OFF (with a warning) unless it is already off.
  if(NOT DEFINED CMAKE_CXX_EXTENSIONS)
    set(CMAKE_CXX_EXTENSIONS OFF)
  endif()
  find_package(Kokkos REQUIRED CONFIG)
  recfuse_check_version(Kokkos "${Kokkos_VERSION}" ${RECFUSE_KOKKOS_MIN_VERSION} ${RECFUSE_KOKKOS_MAX_VERSION}
                        "${Kokkos_DIR}")
  message(STATUS "recfuse: Kokkos ${Kokkos_VERSION} (devices: ${Kokkos_DEVICES}) from ${Kokkos_DIR}")

  add_library(recfuse_kokkos INTERFACE)
  add_library(recfuse::kokkos ALIAS recfuse_kokkos)
  set_target_properties(recfuse_kokkos PROPERTIES EXPORT_NAME kokkos)
  target_include_directories(recfuse_kokkos INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/backends/kokkos/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(recfuse_kokkos INTERFACE recfuse_core Kokkos::kokkos)
  list(APPEND recfuse_installed_targets recfuse_kokkos)
  list(APPEND recfuse_enabled_components kokkos)
endif()
