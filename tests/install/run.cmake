# The install test (ctest: recfuse_install_consumer), in script mode:
#   cmake -DBUILD_DIR=... -DCONSUMER_DIR=... -DWORK_DIR=... -DGENERATOR=... -DCXX_COMPILER=...
#         -DINSTALLED_COMPONENTS=core,xsimd,... -P run.cmake
# 1. installs the build tree BUILD_DIR into WORK_DIR/prefix;
# 2. configures, builds and runs the consumer project CONSUMER_DIR against that prefix, using
#    every installed backend component (xsimd, thrust, kokkos);
# 3. checks that asking for a component the package lacks fails at configure time with
#    recfuse's own message.
cmake_minimum_required(VERSION 3.23)
foreach(var BUILD_DIR CONSUMER_DIR WORK_DIR GENERATOR CXX_COMPILER INSTALLED_COMPONENTS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: define ${var}")
  endif()
endforeach()
string(REPLACE "," ";" installed "${INSTALLED_COMPONENTS}")
set(prefix "${WORK_DIR}/prefix")
# The consumer finds recfuse's dependencies where this build found them (":"-separated, as the
# CMAKE_PREFIX_PATH environment variable takes them).
if(DEPENDENCY_PREFIXES)
  set(ENV{CMAKE_PREFIX_PATH} "${DEPENDENCY_PREFIXES}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")

# run(<name> <expect: pass|fail> COMMAND ...): output in run_output
function(run name expect)
  execute_process(${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  set(run_output "${out}" PARENT_SCOPE)
  if(expect STREQUAL "pass" AND NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${name} failed (${rc}):\n${out}")
  elseif(expect STREQUAL "fail" AND rc EQUAL 0)
    message(FATAL_ERROR "install test: ${name} succeeded but must fail:\n${out}")
  endif()
  message(STATUS "install test: ${name}: ok")
endfunction()

set(configure_args -G "${GENERATOR}" -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)

run("install into ${prefix}" pass COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")

set(use)
foreach(c IN ITEMS xsimd thrust kokkos)
  if(c IN_LIST installed)
    list(APPEND use ${c})
  endif()
endforeach()
if(use)
  string(REPLACE ";" "," use_csv "${use}")
  run("configure the consumer (components ${use_csv})" pass
      COMMAND ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer" ${configure_args}
              -DRECFUSE_CONSUMER_COMPONENTS=${use_csv})
  string(FIND "${run_output}" "from ${prefix}/" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "install test: the consumer did not find recfuse in ${prefix}:\n${run_output}")
  endif()
  run("build the consumer" pass COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/consumer")
  foreach(c IN LISTS use)
    set(program consumer_${c})
    if(c STREQUAL "thrust")
      set(program consumer_thrust_omp)
    endif()
    run("run ${program}" pass COMMAND "${WORK_DIR}/consumer/${program}")
    message(STATUS "${run_output}")
  endforeach()
endif()

# A component this package lacks: recfuse's config must refuse it, naming it.
foreach(c IN ITEMS xsimd thrust kokkos no_such_component)
  if(NOT c IN_LIST installed)
    run("find_package(recfuse COMPONENTS ${c}) fails" fail
        COMMAND ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/missing-${c}" ${configure_args}
                -DRECFUSE_CONSUMER_COMPONENTS=${c})
    string(FIND "${run_output}" "recfuse was installed without the component '${c}'" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "install test: asking for '${c}' failed without recfuse's message:\n${run_output}")
    endif()
  endif()
endforeach()
message(STATUS "install test: passed")
