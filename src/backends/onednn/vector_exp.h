// e^a and Swish on AVX-512 and AVX2 vectors, shared by edgerun's own kernels (vector_kernels.cpp,
// attention_kernel.cpp): range reduction (n = round(a / ln 2), a two-part ln 2) and a degree-5
// polynomial, relative error 1.5e-7, for a in [-kExpLimit, kExpLimit] (the callers clamp).
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

// GCC 12's AVX-512 intrinsics start some results from _mm512_undefined_ps() (the reductions
// from _mm512_undefined_pd()), which its flow analysis then reports as (maybe) uninitialised
// once inlined: a known false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#define EDGERUN_AVX512 __attribute__((target("avx512f")))
#define EDGERUN_AVX2 __attribute__((target("avx2,fma")))

namespace edgerun::onednn::vector_exp {

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 6.931471825e-01f;   // ln 2 rounded to float
constexpr float kLn2Lo = -1.904654323e-09f;  // ln 2 - kLn2Hi
// |a| up to here keeps e^a and 2^n normal floats (n in [-126, 126]).
constexpr float kExpLimit = 87.0f;
// e^r for r in [-ln2/2, ln2/2], lowest degree first: a least-squares fit of the relative error
// on Chebyshev nodes (ours, numpy), 1.5e-7 at most.
constexpr float kExp0 = 1.000000119e+00f, kExp1 = 9.999996424e-01f, kExp2 = 4.999890029e-01f,
                kExp3 = 1.666766256e-01f, kExp4 = 4.191502929e-02f, kExp5 = 8.291716687e-03f;

// e^a for a in [-kExpLimit, kExpLimit]; NaN stays NaN.
EDGERUN_AVX512 inline __m512 exp16(__m512 a) {
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(a, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), a);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kExp5), r, _mm512_set1_ps(kExp4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExp3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExp2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExp1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExp0));
  return _mm512_scalef_ps(p, n);  // e^r * 2^n
}

// e^a for a in [-kExpLimit, kExpLimit]; 2^n is built in the exponent field (n in [-126, 126],
// so the biased exponent is normal).
EDGERUN_AVX2 inline __m256 exp8(__m256 a) {
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(a, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), a);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kExp5), r, _mm256_set1_ps(kExp4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExp3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExp2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExp1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExp0));
  const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
  return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
}

// Lanes [0, n) set (all 16 for n >= 16), for AVX-512's masked loads and stores.
EDGERUN_AVX512 inline __mmask16 first_lanes16(int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1);
}

// Lanes [0, n) set (all 8 for n >= 8), for AVX2's masked loads and stores.
EDGERUN_AVX2 inline __m256i first_lanes8(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n < 8 ? n : 8)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// x * sigmoid(alpha * x): x / (1 + e^-(alpha x)) with the exponent clamped to
// [-kExpLimit, kExpLimit]; where alpha x < -kExpLimit the result is a zero with x's sign. NaN
// stays NaN.
EDGERUN_AVX512 inline __m512 swish16(__m512 x, __m512 alpha) {
  const __m512 z = _mm512_mul_ps(x, alpha);
  // a = -z clamped; max and min return their second operand for NaN, so a NaN z gives a
  // finite a and the NaN comes through x in the division.
  const __m512 a = _mm512_min_ps(
      _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), z), _mm512_set1_ps(-kExpLimit)),
      _mm512_set1_ps(kExpLimit));
  const __m512 y = _mm512_div_ps(x, _mm512_add_ps(exp16(a), _mm512_set1_ps(1.0f)));
  const __mmask16 vanishing = _mm512_cmp_ps_mask(z, _mm512_set1_ps(-kExpLimit), _CMP_LT_OQ);
  const __m512 signed_zero = _mm512_castsi512_ps(
      _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN)));
  return _mm512_mask_mov_ps(y, vanishing, signed_zero);
}

EDGERUN_AVX2 inline __m256 swish8(__m256 x, __m256 alpha) {
  const __m256 z = _mm256_mul_ps(x, alpha);
  const __m256 a = _mm256_min_ps(
      _mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), z), _mm256_set1_ps(-kExpLimit)),
      _mm256_set1_ps(kExpLimit));
  const __m256 y = _mm256_div_ps(x, _mm256_add_ps(exp8(a), _mm256_set1_ps(1.0f)));
  const __m256 vanishing = _mm256_cmp_ps(z, _mm256_set1_ps(-kExpLimit), _CMP_LT_OQ);
  const __m256 signed_zero = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  return _mm256_blendv_ps(y, signed_zero, vanishing);
}

}  // namespace edgerun::onednn::vector_exp

#endif  // __x86_64__
