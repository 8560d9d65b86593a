# Conan 2 recipe for recfuse, a header-only library. The package is what the project's own CMake
# install puts in a prefix (the headers of core and of each enabled backend); its CMake config files
# come from Conan's CMakeDeps instead (file recfuse-config.cmake, targets recfuse::<component>), so
#   find_package(recfuse CONFIG REQUIRED COMPONENTS xsimd kokkos)
# works for a Conan consumer as it does for a plain CMake install. See docs/integration.md.
import os
import re

from conan import ConanFile
from conan.errors import ConanException
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir, save

required_conan_version = ">=2.0.15"


class RecfuseConan(ConanFile):
    name = "recfuse"
    description = "Header-only C++20 recommender algorithms with xsimd, Thrust and Kokkos backends"
    license = "see the repository"
    topics = ("recommender", "header-only", "simd", "xsimd", "kokkos", "thrust")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {
        "with_xsimd": [True, False],
        "with_thrust": [True, False],
        # Kokkos >= 4.0, < 5 (cmake/dependency_versions.cmake); 4.6.01 with Serial and OpenMP is
        # the version tested. Kokkos 3 (Debian 12's 3.4.1) is refused.
        "with_kokkos": [True, False],
    }
    default_options = {
        "with_xsimd": True,
        "with_thrust": False,
        "with_kokkos": False,
    }
    # What the CMake install reads; tests/, bench/ and examples/ are switched off in generate().
    exports = "cmake/dependency_versions.cmake"
    exports_sources = "CMakeLists.txt", "cmake/*", "include/*", "backends/*", "LICENSE*"
    no_copy_source = True

    def set_version(self):
        if self.version:
            return
        text = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        found = re.search(r"project\(\s*recfuse\s+VERSION\s+([0-9][0-9.]*)", text)
        if not found:
            raise ConanException("conanfile.py: no project(recfuse VERSION x.y.z) in CMakeLists.txt")
        self.version = found.group(1)

    def layout(self):
        cmake_layout(self, src_folder=".")

    def _range(self, dep):
        """(lowest, first excluded) version of dep, from cmake/dependency_versions.cmake, the file
        the CMake build checks too."""
        text = load(self, os.path.join(self.recipe_folder, "cmake", "dependency_versions.cmake"))
        name = dep.upper()
        low = re.search(rf"set\(RECFUSE_{name}_MIN_VERSION\s+([0-9.]+)\)", text)
        high = re.search(rf"set\(RECFUSE_{name}_MAX_VERSION\s+([0-9.]+)\)", text)
        if not low or not high:
            raise ConanException(f"conanfile.py: no RECFUSE_{name}_MIN/MAX_VERSION in cmake/dependency_versions.cmake")
        return low.group(1), high.group(1)

    def requirements(self):
        # The ranges the CMake build checks (cmake/dependency_versions.cmake).
        if self.options.with_xsimd:
            low, high = self._range("xsimd")
            self.requires(f"xsimd/[>={low} <{high}]")
        if self.options.with_kokkos:
            low, high = self._range("kokkos")
            self.requires(f"kokkos/[>={low} <{high}]")
        # Thrust is not a Conan requirement: it is the CCCL of the CUDA toolkit (/usr/local/cuda).

    def package_id(self):
        # Header-only: the same package for every compiler, architecture and build type, and for
        # every version of xsimd and Kokkos (header-library already ignores the dependencies).
        # The options stay: they decide which backend headers the package holds.
        self.info.settings.clear()
        self.info.requires.clear()

    def validate(self):
        # recfuse::core requires cxx_std_20: set compiler.cppstd=20 (or gnu20) in the profile.
        check_min_cppstd(self, 20)

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["RECFUSE_ENABLE_XSIMD"] = bool(self.options.with_xsimd)
        tc.cache_variables["RECFUSE_ENABLE_THRUST"] = bool(self.options.with_thrust)
        tc.cache_variables["RECFUSE_ENABLE_KOKKOS"] = bool(self.options.with_kokkos)
        tc.cache_variables["RECFUSE_ENABLE_CUDA"] = False
        tc.cache_variables["RECFUSE_BUILD_TESTS"] = False
        tc.cache_variables["RECFUSE_BUILD_BENCH"] = False
        tc.cache_variables["RECFUSE_BUILD_EXAMPLES"] = False
        tc.generate()
        CMakeDeps(self).generate()

    def build(self):
        # Configuring checks what the install needs (xsimd and Kokkos versions, Thrust); nothing
        # is compiled.
        cmake = CMake(self)
        cmake.configure()

    def package(self):
        copy(self, "LICENSE*", src=self.source_folder, dst=os.path.join(self.package_folder, "licenses"))
        cmake = CMake(self)
        cmake.install()
        # recfuseConfig.cmake of the CMake install looks its dependencies up outside Conan;
        # Conan consumers get recfuse-config.cmake from CMakeDeps (package_info below) instead.
        rmdir(self, os.path.join(self.package_folder, "lib"))
        save(self, os.path.join(self.package_folder, self._components_module), self._components_module_text)
        for dep, (package, target, component) in self._system_deps.items():
            low, high = self._range(dep)
            save(self, os.path.join(self.package_folder, self._system_module(dep)),
                 self._system_module_text(package, target, component, low, high))

    # CMakeDeps' recfuse-config.cmake declares the components' targets without checking the
    # COMPONENTS a consumer asks for: this module refuses a missing one with the message of the
    # plain CMake package's recfuseConfig.cmake.
    _components_module = os.path.join("lib", "cmake", "recfuse-conan", "recfuse-components.cmake")
    _components_module_text = """\
# Included by the recfuse-config.cmake that Conan's CMakeDeps writes: check the components asked
# for (find_package(recfuse COMPONENTS ...)) against those the package was created with.
set(_recfuse_available)
foreach(_c IN ITEMS core xsimd thrust kokkos)
  if(TARGET recfuse::${_c})
    list(APPEND _recfuse_available ${_c})
  endif()
endforeach()
foreach(_c IN LISTS recfuse_FIND_COMPONENTS)
  if(NOT _c IN_LIST _recfuse_available)
    set(recfuse_FOUND FALSE)
    set(recfuse_NOT_FOUND_MESSAGE "recfuse was installed without the component '${_c}' (installed: ${_recfuse_available})")
    return()
  endif()
  set(recfuse_${_c}_FOUND TRUE)
endforeach()
"""

    # A dependency that a profile's [platform_requires] takes from the system is no Conan package:
    # CMakeDeps writes no config for it, and refuses a component that requires it ("'xsimd' is not
    # a direct dependency", conan-io/docs#3908). For such a dependency the component drops the
    # requirement, and recfuse-config.cmake includes one of these modules, which finds the
    # dependency's own CMake config (through CMAKE_PREFIX_PATH), checks its version against the
    # recipe's range and links its target to the component's, as the plain CMake package does.
    # dependency: (CMake package, CMake target, recfuse component); the versions come from
    # cmake/dependency_versions.cmake (_range)
    _system_deps = {
        "xsimd": ("xsimd", "xsimd", "xsimd"),
        "kokkos": ("Kokkos", "Kokkos::kokkos", "kokkos"),
    }

    @staticmethod
    def _system_module(dep):
        return os.path.join("lib", "cmake", "recfuse-conan", f"recfuse-system-{dep}.cmake")

    @staticmethod
    def _system_module_text(package, target, component, low, high):
        return f"""\
# Included by the recfuse-config.cmake that Conan's CMakeDeps writes, only when the profile's
# [platform_requires] took {package} from the system: find its own CMake config and link it.
if(DEFINED recfuse_FOUND AND NOT recfuse_FOUND)
  return()  # a component asked for is missing (recfuse-components.cmake)
endif()
if(NOT TARGET {target})
  find_package({package} CONFIG REQUIRED)
endif()
if(NOT {package}_VERSION OR {package}_VERSION VERSION_LESS {low} OR NOT {package}_VERSION VERSION_LESS {high})
  set(recfuse_FOUND FALSE)
  set(recfuse_NOT_FOUND_MESSAGE "recfuse::{component} needs {package} >= {low} and < {high}; found ${{{package}_VERSION}} (${{{package}_DIR}})")
  return()
endif()
set_property(TARGET recfuse::{component} APPEND PROPERTY INTERFACE_LINK_LIBRARIES {target})
"""

    def _conan_dependency(self, dep):
        """True when dep is a Conan package, False when [platform_requires] made it a system one."""
        try:
            self.dependencies[dep]
            return True
        except KeyError:
            return False

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "recfuse")
        self.cpp_info.set_property("cmake_target_name", "recfuse::recfuse")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []

        # cmake_build_modules: included at the end of recfuse-config.cmake, see package()
        build_modules = [self._components_module]
        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "recfuse::core")
        core.includedirs = ["include"]
        core.bindirs = []
        core.libdirs = []

        if self.options.with_xsimd:
            xsimd = self.cpp_info.components["xsimd"]
            xsimd.set_property("cmake_target_name", "recfuse::xsimd")
            xsimd.requires = ["core"]
            if self._conan_dependency("xsimd"):
                xsimd.requires.append("xsimd::xsimd")
            else:
                build_modules.append(self._system_module("xsimd"))
            xsimd.bindirs = []
            xsimd.libdirs = []
            # The xsimd backend runs its loops on OpenMP threads when compiled with OpenMP (one
            # thread otherwise). GCC and Clang on Linux and FreeBSD get -fopenmp here; with another
            # compiler the consumer links OpenMP itself (find_package(OpenMP), OpenMP::OpenMP_CXX).
            if self.settings.os in ("Linux", "FreeBSD") and self.settings.compiler in ("gcc", "clang"):
                xsimd.cxxflags = ["-fopenmp"]
                xsimd.sharedlinkflags = ["-fopenmp"]
                xsimd.exelinkflags = ["-fopenmp"]

        if self.options.with_thrust:
            # Only recfuse's Thrust headers: Thrust, CUB and libcu++ come from the CUDA toolkit
            # (find_package(Thrust CONFIG) with <cuda>/lib64/cmake, or nvcc's own include path),
            # and the consumer picks Thrust's device system (nvcc for CUDA, or
            # THRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_OMP plus OpenMP, ...).
            thrust = self.cpp_info.components["thrust"]
            thrust.set_property("cmake_target_name", "recfuse::thrust")
            thrust.requires = ["core"]
            thrust.bindirs = []
            thrust.libdirs = []

        if self.options.with_kokkos:
            kokkos = self.cpp_info.components["kokkos"]
            kokkos.set_property("cmake_target_name", "recfuse::kokkos")
            kokkos.requires = ["core"]
            if self._conan_dependency("kokkos"):
                kokkos.requires.append("kokkos::kokkos")
            else:
                build_modules.append(self._system_module("kokkos"))
            kokkos.bindirs = []
            kokkos.libdirs = []

        self.cpp_info.set_property("cmake_build_modules", build_modules)
