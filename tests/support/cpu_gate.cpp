// recfuse_cpu_gate: runs a test program only on a CPU that can execute it.
//
//   recfuse_cpu_gate FLAG[,FLAG...] -- PROGRAM [ARGS...]
//
// Checks each instruction-set extension with __builtin_cpu_supports. When one is missing it prints
//   recfuse_cpu_gate: skipped: this CPU lacks avx512bw (needed by recfuse_tests_xsimd_avx512)
// and exits 77, which ctest shows as skipped (SKIP_RETURN_CODE 77, tests/CMakeLists.txt);
// otherwise it replaces itself with PROGRAM (execv), so ctest sees PROGRAM's own exit status and
// output. A malformed command line or an unknown flag name exits 2, never 77: a typo must not
// turn a suite into a silent skip.
//
// Flag names: sse2 sse3 ssse3 sse4.1 sse4.2 popcnt avx avx2 fma bmi bmi2 avx512f avx512bw
// avx512cd avx512dq avx512vl, and with GCC 12 or newer the ISA levels x86-64-v2, x86-64-v3 and
// x86-64-v4 as a whole (elsewhere a level name is accepted and left to its listed parts).
//
// To see the skip path on a CPU that has everything, name flags to pretend missing:
//   RECFUSE_CPU_GATE_PRETEND_MISSING=avx512bw ctest -R xsimd_avx512     (reports "Skipped")
// (comma-separated; the message then says the flag was pretended missing).
//
// Built for the x86-64 baseline (-march=x86-64, tests/CMakeLists.txt) so that it runs, and
// decides, on every x86-64 CPU; it exists only in x86-64 builds.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct feature {
  const char* name;
  bool (*present)();
};

// __builtin_cpu_supports takes a string literal only, hence one lambda per name.
#define RECFUSE_GATE_FEATURE(f)                      \
  feature {                                          \
    f, [] { return __builtin_cpu_supports(f) != 0; } \
  }
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define RECFUSE_GATE_LEVEL(f) RECFUSE_GATE_FEATURE(f)
#else
#define RECFUSE_GATE_LEVEL(f) \
  feature {                   \
    f, [] { return true; }    \
  }
#endif

const feature features[] = {
    RECFUSE_GATE_FEATURE("sse2"),     RECFUSE_GATE_FEATURE("sse3"),
    RECFUSE_GATE_FEATURE("ssse3"),    RECFUSE_GATE_FEATURE("sse4.1"),
    RECFUSE_GATE_FEATURE("sse4.2"),   RECFUSE_GATE_FEATURE("popcnt"),
    RECFUSE_GATE_FEATURE("avx"),      RECFUSE_GATE_FEATURE("avx2"),
    RECFUSE_GATE_FEATURE("fma"),      RECFUSE_GATE_FEATURE("bmi"),
    RECFUSE_GATE_FEATURE("bmi2"),     RECFUSE_GATE_FEATURE("avx512f"),
    RECFUSE_GATE_FEATURE("avx512bw"), RECFUSE_GATE_FEATURE("avx512cd"),
    RECFUSE_GATE_FEATURE("avx512dq"), RECFUSE_GATE_FEATURE("avx512vl"),
    RECFUSE_GATE_LEVEL("x86-64-v2"),  RECFUSE_GATE_LEVEL("x86-64-v3"),
    RECFUSE_GATE_LEVEL("x86-64-v4"),
};

std::vector<std::string> split(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto item = list.substr(0, comma);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

int usage() {
  std::fprintf(stderr, "usage: recfuse_cpu_gate FLAG[,FLAG...] -- PROGRAM [ARGS...]\n");
  return 2;
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc < 4 || std::strcmp(argv[2], "--") != 0) return usage();
  __builtin_cpu_init();
  std::vector<std::string> pretend;
  if (const char* env = std::getenv("RECFUSE_CPU_GATE_PRETEND_MISSING")) pretend = split(env);
  std::string program = argv[3];
  if (const auto slash = program.rfind('/'); slash != std::string::npos)
    program.erase(0, slash + 1);

  const auto wanted = split(argv[1]);
  if (wanted.empty()) return usage();
  for (const auto& name : wanted) {
    const feature* f = nullptr;
    for (const auto& candidate : features)
      if (name == candidate.name) f = &candidate;
    if (f == nullptr) {
      std::fprintf(stderr, "recfuse_cpu_gate: unknown CPU flag '%s'\n", name.c_str());
      return 2;
    }
    bool pretended = false;
    for (const auto& p : pretend) pretended = pretended || p == name;
    if (pretended || !f->present()) {
      std::printf("recfuse_cpu_gate: skipped: this CPU lacks %s (needed by %s)%s\n", name.c_str(),
                  program.c_str(),
                  pretended ? " [pretended by RECFUSE_CPU_GATE_PRETEND_MISSING]" : "");
      std::fflush(stdout);
      return 77;
    }
  }
  std::fflush(stdout);
  execv(argv[3], argv + 3);
  std::fprintf(stderr, "recfuse_cpu_gate: cannot run %s: %s\n", argv[3], std::strerror(errno));
  return 127;
}
