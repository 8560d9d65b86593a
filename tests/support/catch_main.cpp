// Catch2's main. With -fsanitize=address and assertions on (the sanitizer preset), GCC 12 warns
// -Wmaybe-uninitialized inside libstdc++'s <regex> (a std::function moved out of a temporary NFA
// state), which Catch2's main instantiates: a false positive in the standard library's headers,
// silenced for Catch2's include in this one file.
#define CATCH_CONFIG_MAIN
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <catch2/catch.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
