// recfuse xsimd backend: how the backend includes xsimd.
//
// GCC 12's AVX-512 intrinsic headers build "undefined" registers by self-initialisation
// (`__m512 __Y = __Y;` in _mm512_undefined_ps and friends, GCC bug 105593, fixed in GCC 13), and
// every xsimd AVX-512 operation inlined into a recfuse kernel that goes through one of them raises
// -Wmaybe-uninitialized / -Wuninitialized pointing into avx512fintrin.h. The register is
// undefined on purpose, so the compiler is wrong there. The warnings are silenced for the
// intrinsic headers that xsimd pulls in here and for nothing else: recfuse's own code keeps every
// warning. (When <xsimd/xsimd.hpp> or <immintrin.h> was included before this header, the
// suppression does not apply: the include guards have already run.)
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <xsimd/xsimd.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#if XSIMD_VERSION_MAJOR < 13
#error "recfuse::xsimd needs xsimd >= 13 (xsimd::reduce_add, xsimd::batch<T, A> of xsimd 13/14)"
#endif
