# Tests of the Thrust and Kokkos backends (the CUDA programs: tests/cuda/CMakeLists.txt), the
# compile-fail dispatch tests and the install consumer. Included from tests/CMakeLists.txt
# (recfuse_add_test and recfuse_catch_main are defined there).

# The shared backend test bodies (tests/backend/) whose kernels these backends implement, one body
# per line. Each (backend, body) pair is its own executable, so a body's build and run stand alone
# and two cores build the pairs in parallel.
set(recfuse_backend_test_bodies
  error_metrics
  ranking
  scale
  select
  factorize_biased
  factorize_implicit
  graph
  gemm
  nn
  fuse
)

# ---- Thrust on the CPU: the OMP, CPP (and TBB) systems, compiled by the C++ compiler -------------
# recfuse_tests_thrust_<system>_<body> per body, and recfuse_tests_thrust_<system> for the Thrust
# suite's own tests (tests/thrust/: adapters, native_kernels).
if(RECFUSE_ENABLE_THRUST)
  file(GLOB thrust_own_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/thrust/*.cpp)

  # Thrust 3.0 binds references to null system pointers for dispatch (NVIDIA/cccl issues 715
  # and 1645, fixed by cccl pull request 4226 for 3.1): UBSan's null check aborts in Thrust's own
  # reductions. Under RECFUSE_SANITIZE that one check is off for the Thrust tests; listed after
  # recfuse_build_flags' -fsanitize so it wins.
  add_library(recfuse_thrust_test_flags INTERFACE)
  if(RECFUSE_SANITIZE MATCHES "undefined|null")
    target_compile_options(recfuse_thrust_test_flags INTERFACE -fno-sanitize=null)
  endif()

  # system name -> extra libraries, THRUST_DEVICE_SYSTEM value, tag
  set(thrust_systems)
  find_package(OpenMP COMPONENTS CXX)
  if(OpenMP_CXX_FOUND)
    list(APPEND thrust_systems omp)
    set(thrust_omp_libs OpenMP::OpenMP_CXX)
  else()
    message(WARNING "recfuse: no OpenMP, so no Thrust OMP tests (the CPP-system tests still run)")
  endif()
  list(APPEND thrust_systems cpp)
  set(thrust_cpp_libs)
  # TBB where it is installed (Debian: libtbb-dev).
  find_package(TBB CONFIG QUIET)
  if(TARGET TBB::tbb)
    list(APPEND thrust_systems tbb)
    set(thrust_tbb_libs TBB::tbb)
  endif()

  foreach(system IN LISTS thrust_systems)
    string(TOUPPER ${system} upper)
    set(defs THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_${upper} RECFUSE_TEST_BACKEND_THRUST
             RECFUSE_TEST_THRUST_SYSTEM=thrust::system::${system}::tag)
    recfuse_add_test(recfuse_tests_thrust_${system} SOURCES ${thrust_own_sources}
      LIBS recfuse::thrust ${thrust_${system}_libs} recfuse_thrust_test_flags DEFS ${defs})
    foreach(body IN LISTS recfuse_backend_test_bodies)
      recfuse_add_test(recfuse_tests_thrust_${system}_${body}
        SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/backend/${body}.cpp
        LIBS recfuse::thrust ${thrust_${system}_libs} recfuse_thrust_test_flags DEFS ${defs})
    endforeach()
  endforeach()
  if(TARGET recfuse_tests_thrust_omp_factorize_biased)
    recfuse_add_ml100k_test(recfuse_tests_thrust_omp_factorize_biased_ml100k
                            recfuse_tests_thrust_omp_factorize_biased)
  endif()
  if(TARGET recfuse_tests_thrust_omp_factorize_implicit)
    recfuse_add_ml100k_test(recfuse_tests_thrust_omp_factorize_implicit_ml100k
                            recfuse_tests_thrust_omp_factorize_implicit)
  endif()
endif()

# ---- Kokkos: the Serial and OpenMP execution spaces -----------------------------------------------
# recfuse_tests_kokkos_<space>_<body> per body with RECFUSE_TEST_KOKKOS_SPACE = Kokkos::<Space>,
# and recfuse_tests_kokkos for the Kokkos suite's own tests (tests/kokkos/: adapters, dispatch).
# Kokkos is initialized once per program, before the first test and finalized after the last, by
# a Catch2 listener (tests/kokkos/session/kokkos_session.cpp), so every executable keeps the
# shared recfuse_catch_main. The OpenMP programs run with 2 threads, then a second time with 1
# (<test>_1thread): results that depend on the thread count are tested within a tolerance that
# says why (docs/backends.md, "Kokkos").
if(RECFUSE_ENABLE_KOKKOS)
  # compiled once, linked into every Kokkos test program
  add_library(recfuse_kokkos_session OBJECT
              ${CMAKE_CURRENT_SOURCE_DIR}/kokkos/session/kokkos_session.cpp)
  target_link_libraries(recfuse_kokkos_session PRIVATE Catch2::Catch2 Kokkos::kokkos)
  set(kokkos_session recfuse_kokkos_session)
  file(GLOB kokkos_own_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/kokkos/*.cpp)
  recfuse_add_test(recfuse_tests_kokkos SOURCES ${kokkos_own_sources}
    LIBS recfuse::kokkos ${kokkos_session} DEFS RECFUSE_TEST_BACKEND_KOKKOS
                              RECFUSE_TEST_KOKKOS_SPACE=Kokkos::DefaultHostExecutionSpace)
  # space (lower case) -> Kokkos execution space; only those this Kokkos was built with
  set(kokkos_spaces)
  if(Kokkos_DEVICES MATCHES "SERIAL")
    list(APPEND kokkos_spaces serial)
    set(kokkos_serial_space Kokkos::Serial)
  endif()
  if(Kokkos_DEVICES MATCHES "OPENMP")
    list(APPEND kokkos_spaces openmp)
    set(kokkos_openmp_space Kokkos::OpenMP)
  else()
    message(WARNING "recfuse: this Kokkos has no OpenMP space, so no Kokkos OpenMP tests")
  endif()
  # OMP_PROC_BIND=false: no binding, so two such tests run side by side under ctest -j2;
  # OMP_WAIT_POLICY=PASSIVE: idle threads sleep instead of spinning on the shared cores.
  set(kokkos_omp_env "OMP_PROC_BIND=false;OMP_WAIT_POLICY=PASSIVE")
  foreach(space IN LISTS kokkos_spaces)
    foreach(body IN LISTS recfuse_backend_test_bodies)
      set(test recfuse_tests_kokkos_${space}_${body})
      recfuse_add_test(${test}
        SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/backend/${body}.cpp
        LIBS recfuse::kokkos ${kokkos_session}
        DEFS RECFUSE_TEST_BACKEND_KOKKOS RECFUSE_TEST_KOKKOS_SPACE=${kokkos_${space}_space})
      if(space STREQUAL "openmp")
        set_tests_properties(${test} PROPERTIES
          ENVIRONMENT "OMP_NUM_THREADS=2;KOKKOS_NUM_THREADS=2;${kokkos_omp_env}")
        add_test(NAME ${test}_1thread COMMAND ${test} "~[ml100k]")
        set_tests_properties(${test}_1thread PROPERTIES
          ENVIRONMENT "OMP_NUM_THREADS=1;KOKKOS_NUM_THREADS=1;${kokkos_omp_env}")
      endif()
    endforeach()
  endforeach()
  foreach(body IN ITEMS factorize_biased factorize_implicit)
    if(TARGET recfuse_tests_kokkos_openmp_${body})
      recfuse_add_ml100k_test(recfuse_tests_kokkos_openmp_${body}_ml100k
                              recfuse_tests_kokkos_openmp_${body})
      set_tests_properties(recfuse_tests_kokkos_openmp_${body}_ml100k PROPERTIES
        ENVIRONMENT "OMP_NUM_THREADS=2;KOKKOS_NUM_THREADS=2;${kokkos_omp_env}")
    endif()
  endforeach()
endif()

# ---- Compile-fail: a call nothing serves stops at RECFUSE_NO_KERNEL -----------------------------
# compile_fail/no_kernel.cpp holds one case per RECFUSE_COMPILE_FAIL_CASE. Case 0 is the control
# (the same calls with policies that have kernels) and is built with everything else; the failing
# cases are excluded from the build and compiled by their test, which passes only when the
# compiler stops with RECFUSE_NO_KERNEL's message for that function.
set(compile_fail_src ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/no_kernel.cpp)
add_executable(recfuse_compile_fail_control ${compile_fail_src})
target_link_libraries(recfuse_compile_fail_control PRIVATE recfuse::core recfuse_build_flags)
target_compile_definitions(recfuse_compile_fail_control PRIVATE RECFUSE_COMPILE_FAIL_CASE=0)
add_test(NAME recfuse_compile_fail_control COMMAND recfuse_compile_fail_control)
# case number, name, the regular expression the compiler's message must match
set(compile_fail_cases "1,policy_without_parent,recfuse::rmse: no kernel serves this execution policy"
                       "2,device_views_reference,recfuse::rmse: no kernel serves this execution policy"
                       "3,device_views_host_policy,recfuse::mae: no kernel serves this execution policy"
                       "4,claimed_kernel_missing,recfuse: mae_kernel: this backend lists it in its policy's native_kernels"
                       "5,claimed_kernel_drifted,recfuse: rmse_kernel: this backend lists it in its policy's native_kernels")
foreach(entry IN LISTS compile_fail_cases)
  string(REPLACE "," ";" parts "${entry}")
  list(GET parts 0 number)
  list(GET parts 1 case)
  list(GET parts 2 expected)
  set(target recfuse_compile_fail_${case})
  add_executable(${target} EXCLUDE_FROM_ALL ${compile_fail_src})
  target_link_libraries(${target} PRIVATE recfuse::core recfuse_build_flags)
  target_compile_definitions(${target} PRIVATE RECFUSE_COMPILE_FAIL_CASE=${number})
  add_test(NAME ${target}
           COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target ${target} --config $<CONFIG>)
  set_tests_properties(${target} PROPERTIES
    PASS_REGULAR_EXPRESSION "${expected}"
    RESOURCE_LOCK recfuse_build_tree)
endforeach()

# ---- Install: a consumer project built against the installed package ---------------------------
# tests/install/run.cmake installs this build tree into a fresh prefix, configures, builds and
# runs tests/install against it (find_package(recfuse CONFIG REQUIRED COMPONENTS ...)), and checks
# that asking for a component this build did not install fails with recfuse's message.
string(REPLACE ";" "," recfuse_installed_components_csv "${recfuse_enabled_components}")
# where this build found its dependencies (the pinned prefix .cache/deps), for the consumer too
string(REPLACE ";" ":" recfuse_dependency_prefixes "${CMAKE_PREFIX_PATH}")
add_test(NAME recfuse_install_consumer
         COMMAND ${CMAKE_COMMAND}
                 -DBUILD_DIR=${PROJECT_BINARY_DIR}
                 -DCONSUMER_DIR=${CMAKE_CURRENT_SOURCE_DIR}/install
                 -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install-test
                 -DGENERATOR=${CMAKE_GENERATOR}
                 -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
                 "-DINSTALLED_COMPONENTS=${recfuse_installed_components_csv}"
                 "-DDEPENDENCY_PREFIXES=${recfuse_dependency_prefixes}"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/install/run.cmake)
set_tests_properties(recfuse_install_consumer PROPERTIES RESOURCE_LOCK recfuse_build_tree TIMEOUT 600)
