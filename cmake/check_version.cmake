# recfuse_check_version(NAME FOUND MIN MAX WHERE): stops the configure when a dependency's version
# FOUND lies outside [MIN, MAX), naming the version found, where it was found and the range.
# Used by the build (CMakeLists.txt, cmake/backends.cmake). The installed recfuseConfig.cmake
# checks the same range (the variables are substituted into it) but sets recfuse_FOUND to FALSE
# with a message instead of stopping the consumer's configure.
function(recfuse_check_version name found min max where)
  if(NOT found OR found VERSION_LESS min OR NOT found VERSION_LESS max)
    message(FATAL_ERROR "recfuse: ${name} ${found} found (${where}), but recfuse supports ${name} "
      ">= ${min} and < ${max}. Run scripts/install-deps.sh (it builds the pinned sources of "
      "../shared/deps into .cache/deps), or point CMAKE_PREFIX_PATH at a supported ${name}.")
  endif()
endfunction()
