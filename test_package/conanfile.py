# conan create runs this after packaging recfuse: a consumer project built with CMakeDeps and
# CMakeToolchain that finds recfuse with find_package(recfuse CONFIG REQUIRED COMPONENTS ...),
# naming every component the package was created with, and runs one program per component.
import os

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, CMakeToolchain, cmake_layout


class RecfuseTestPackageConan(ConanFile):
    settings = "os", "arch", "compiler", "build_type"
    generators = "CMakeDeps", "VirtualRunEnv"
    test_type = "explicit"

    def requirements(self):
        self.requires(self.tested_reference_str)

    def layout(self):
        cmake_layout(self)

    def _components(self):
        options = self.dependencies["recfuse"].options
        return ["core"] + [c for c in ("xsimd", "thrust", "kokkos") if options.get_safe(f"with_{c}")]

    def generate(self):
        tc = CMakeToolchain(self)
        tc.cache_variables["RECFUSE_TEST_COMPONENTS"] = ";".join(self._components())
        tc.user_presets_path = False  # no CMakeUserPresets.json in the repository
        tc.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def test(self):
        if not can_run(self):
            return
        for component in self._components():
            program = os.path.join(self.cpp.build.bindir, f"test_{component}")
            self.run(program, env="conanrun")
        self.output.success("recfuse components used: " + ",".join(self._components()))
