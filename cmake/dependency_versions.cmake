# The dependency versions recfuse supports: [MIN, MAX), MAX exclusive (the next major release is
# untested). The one place they are written: CMakeLists.txt and cmake/backends.cmake check them
# (cmake/check_version.cmake), recfuseConfig.cmake.in gets them substituted, and conanfile.py
# reads this file for its requirement ranges.
# xsimd 13 and 14 are what Conan Center, vcpkg and conda-forge ship; 13.0.0 and 14.3.0 were tested.
set(RECFUSE_XSIMD_MIN_VERSION 13.0)
set(RECFUSE_XSIMD_MAX_VERSION 15.0)
# Kokkos 4 (4.6.01 tested, Serial and OpenMP); Debian 12's Kokkos 3.4 is not supported.
set(RECFUSE_KOKKOS_MIN_VERSION 4.0)
set(RECFUSE_KOKKOS_MAX_VERSION 5.0)
