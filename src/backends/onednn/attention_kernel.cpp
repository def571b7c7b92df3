#include "backends/onednn/attention_kernel.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "backends/onednn/vector_exp.h"
#include "backends/onednn/vector_kernels.h"

namespace edgerun::onednn {
namespace {

constexpr int64_t kTileRows = 6;     // query rows per register tile
constexpr int64_t kTileVectors = 4;  // 16-float vectors per tile row (64 columns)
constexpr int64_t kVector = 16;

int64_t padded_keys(int64_t sk) { return (sk + kVector - 1) / kVector * kVector; }

#if defined(__x86_64__)

using vector_exp::exp16;
using vector_exp::kExpLimit;

// r[0, 16) as the rows of a 16 x 16 block, transposed in place: pairs of rows interleaved, then
// pairs of pairs, then the 128-bit lanes gathered across the four groups.
EDGERUN_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // r[4g + k]'s lane L: rows 4g to 4g + 3 at column 4L + k.
  for (int g = 0; g < 16; g += 4) {
    const __m512d a = _mm512_castps_pd(t[g]), b = _mm512_castps_pd(t[g + 1]);
    const __m512d c = _mm512_castps_pd(t[g + 2]), d = _mm512_castps_pd(t[g + 3]);
    r[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  __m512 out[16];
  for (int k = 0; k < 4; ++k) {
    const __m512 x0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x44);  // lanes 0, 1 of each
    const __m512 x1 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xEE);  // lanes 2, 3
    const __m512 y0 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x44);
    const __m512 y1 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xEE);
    out[k] = _mm512_shuffle_f32x4(x0, y0, 0x88);  // lane 0 of all four groups
    out[4 + k] = _mm512_shuffle_f32x4(x0, y0, 0xDD);
    out[8 + k] = _mm512_shuffle_f32x4(x1, y1, 0x88);
    out[12 + k] = _mm512_shuffle_f32x4(x1, y1, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = out[i];
}

// kt[dd * skp + j] = K[j][dd] for the head's keys j < sk (rows `row` floats apart), 0 for j in
// [sk, skp): 16 x 16 blocks transposed in registers.
EDGERUN_AVX512 void pack_keys(const float* k, int64_t row, int64_t sk, int64_t d, int64_t skp,
                              float* kt) {
  for (int64_t j = 0; j < skp; j += kVector) {
    const int64_t keys = std::min<int64_t>(sk - j, kVector);
    for (int64_t c = 0; c < d; c += kVector) {
      const int64_t columns = std::min<int64_t>(d - c, kVector);
      const __mmask16 lanes =
          static_cast<__mmask16>(columns >= kVector ? 0xFFFF : (1u << columns) - 1);
      __m512 block[16];
      for (int64_t i = 0; i < kVector; ++i) {
        block[i] =
            i < keys ? _mm512_maskz_loadu_ps(lanes, k + (j + i) * row + c) : _mm512_setzero_ps();
      }
      transpose16(block);
      for (int64_t i = 0; i < columns; ++i) _mm512_store_ps(kt + (c + i) * skp + j, block[i]);
    }
  }
}

// s[r * skp + c] = sum over dd of q[r * q_row + dd] * kt[dd * skp + c], for R rows and 16 V
// columns: R x V accumulators in registers (R = 6, V = 4 leaves 4 for Kᵀ and 1 for Q).
template <int R, int V>
EDGERUN_AVX512 void scores_tile(const float* q, int64_t q_row, const float* kt, int64_t skp,
                                int64_t d, float* s) {
  __m512 acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < V; ++c) acc[r][c] = _mm512_setzero_ps();
  }
  for (int64_t dd = 0; dd < d; ++dd, kt += skp) {
    __m512 key[V];
#pragma GCC unroll 8
    for (int c = 0; c < V; ++c) key[c] = _mm512_load_ps(kt + kVector * c);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 qr = _mm512_set1_ps(q[r * q_row + dd]);
#pragma GCC unroll 8
      for (int c = 0; c < V; ++c) acc[r][c] = _mm512_fmadd_ps(qr, key[c], acc[r][c]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < V; ++c) _mm512_store_ps(s + r * skp + kVector * c, acc[r][c]);
  }
}

// y[r * y_row + c] = inv_sum[r] * sum over j < sk of p[r * skp + j] * v[j * v_row + c], for R
// rows and 16 V columns, the last vector's lanes in `last`.
template <int R, int V>
EDGERUN_AVX512 void output_tile(const float* p, int64_t skp, const float* v, int64_t v_row,
                                int64_t sk, __mmask16 last, const float* inv_sum, float* y,
                                int64_t y_row) {
  __m512 acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < V; ++c) acc[r][c] = _mm512_setzero_ps();
  }
  for (int64_t j = 0; j < sk; ++j, v += v_row) {
    __m512 value[V];
#pragma GCC unroll 8
    for (int c = 0; c + 1 < V; ++c) value[c] = _mm512_loadu_ps(v + kVector * c);
    value[V - 1] = _mm512_maskz_loadu_ps(last, v + kVector * (V - 1));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 pr = _mm512_set1_ps(p[r * skp + j]);
#pragma GCC unroll 8
      for (int c = 0; c < V; ++c) acc[r][c] = _mm512_fmadd_ps(pr, value[c], acc[r][c]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m512 scale = _mm512_set1_ps(inv_sum[r]);
#pragma GCC unroll 8
    for (int c = 0; c + 1 < V; ++c) {
      _mm512_storeu_ps(y + r * y_row + kVector * c, _mm512_mul_ps(acc[r][c], scale));
    }
    _mm512_mask_storeu_ps(y + r * y_row + kVector * (V - 1), last,
                          _mm512_mul_ps(acc[r][V - 1], scale));
  }
}

using ScoresTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*);
using OutputTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, __mmask16,
                            const float*, float*, int64_t);

template <int R>
constexpr std::array<ScoresTile, kTileVectors> scores_tiles() {
  return {&scores_tile<R, 1>, &scores_tile<R, 2>, &scores_tile<R, 3>, &scores_tile<R, 4>};
}
template <int R>
constexpr std::array<OutputTile, kTileVectors> output_tiles() {
  return {&output_tile<R, 1>, &output_tile<R, 2>, &output_tile<R, 3>, &output_tile<R, 4>};
}
// Indexed [rows - 1][vectors - 1].
constexpr std::array<std::array<ScoresTile, kTileVectors>, kTileRows> kScoresTiles = {
    scores_tiles<1>(), scores_tiles<2>(), scores_tiles<3>(),
    scores_tiles<4>(), scores_tiles<5>(), scores_tiles<6>()};
constexpr std::array<std::array<OutputTile, kTileVectors>, kTileRows> kOutputTiles = {
    output_tiles<1>(), output_tiles<2>(), output_tiles<3>(),
    output_tiles<4>(), output_tiles<5>(), output_tiles<6>()};

// One row of scores s[0, sk) becomes e^(x - max) for x = factor * s + mask (mask: the row's
// mask, `mask_step` floats per key, 0 for one value for all keys; or null); returns the sum.
EDGERUN_AVX512 float softmax_row(float* s, int64_t sk, float factor, const float* mask,
                                 int64_t mask_step) {
  const __m512 scale = _mm512_set1_ps(factor);
  const __m512 shared_mask =
      mask != nullptr && mask_step == 0 ? _mm512_set1_ps(*mask) : _mm512_setzero_ps();
  __m512 max = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < sk; j += kVector) {
    const int64_t left = std::min<int64_t>(sk - j, kVector);
    const __mmask16 lanes = static_cast<__mmask16>(left >= kVector ? 0xFFFF : (1u << left) - 1);
    __m512 x = _mm512_mul_ps(_mm512_load_ps(s + j), scale);
    if (mask != nullptr) {
      x = _mm512_add_ps(x, mask_step == 0 ? shared_mask : _mm512_maskz_loadu_ps(lanes, mask + j));
    }
    _mm512_store_ps(s + j, x);
    max = _mm512_mask_max_ps(max, lanes, max, x);
  }
  // A NaN score makes the row NaN through the exponentials below; the maximum skips it.
  const __m512 row_max = _mm512_set1_ps(_mm512_reduce_max_ps(max));
  const __m512 floor = _mm512_set1_ps(-kExpLimit);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < sk; j += kVector) {
    const int64_t left = std::min<int64_t>(sk - j, kVector);
    const __mmask16 lanes = static_cast<__mmask16>(left >= kVector ? 0xFFFF : (1u << left) - 1);
    const __m512 a = _mm512_sub_ps(_mm512_load_ps(s + j), row_max);
    // max(floor, a) keeps a NaN a (the second operand); below the floor e^a is 0.
    const __mmask16 vanishing = _mm512_cmp_ps_mask(a, floor, _CMP_LT_OQ);
    const __m512 e = _mm512_maskz_mov_ps(static_cast<__mmask16>(lanes & ~vanishing),
                                         exp16(_mm512_max_ps(floor, a)));
    _mm512_store_ps(s + j, e);
    sum = _mm512_add_ps(sum, e);
  }
  return _mm512_reduce_add_ps(sum);
}

EDGERUN_AVX512 void run_avx512(const AttentionGeometry& g, const AttentionTasks& tasks,
                               int64_t first, int64_t last, const float* q, const float* k,
                               const float* v, float* y, float* scratch) {
  const int64_t skp = padded_keys(g.sk);
  float* kt = scratch;             // [d, skp]
  float* scores = kt + g.d * skp;  // [kTileRows, skp]
  const int64_t q_row = g.heads * g.d, v_row = g.heads * g.dv;
  int64_t packed = -1;  // the (batch, head) whose Kᵀ is in kt
  for (int64_t t = first; t < last; ++t) {
    const int64_t head = t / tasks.chunks_per_head;  // b * heads + h
    const int64_t b = head / g.heads, h = head % g.heads;
    const int64_t row_first = (t % tasks.chunks_per_head) * tasks.rows_per_chunk;
    const int64_t row_last = std::min(g.s, row_first + tasks.rows_per_chunk);
    if (head != packed) {
      pack_keys(k + (b * g.sk * g.heads + h) * g.d, q_row, g.sk, g.d, skp, kt);
      packed = head;
    }
    const float* vh = v + (b * g.sk * g.heads + h) * g.dv;
    for (int64_t i = row_first; i < row_last; i += kTileRows) {
      const int64_t rows = std::min(kTileRows, row_last - i);
      const float* qi = q + ((b * g.s + i) * g.heads + h) * g.d;
      for (int64_t j = 0; j < skp; j += kTileVectors * kVector) {
        const int64_t vectors = std::min(kTileVectors, (skp - j) / kVector);
        kScoresTiles[rows - 1][vectors - 1](qi, q_row, kt + j, skp, g.d, scores + j);
      }
      float inv_sum[kTileRows];
      for (int64_t r = 0; r < rows; ++r) {
        const float* mask = nullptr;
        if (g.mask != nullptr) {
          mask =
              g.mask + b * g.mask_strides[0] + h * g.mask_strides[1] + (i + r) * g.mask_strides[2];
        }
        inv_sum[r] = 1.0f / softmax_row(scores + r * skp, g.sk, g.factor, mask, g.mask_strides[3]);
      }
      float* yi = y + ((b * g.s + i) * g.heads + h) * g.dv;
      for (int64_t c = 0; c < g.dv; c += kTileVectors * kVector) {
        const int64_t columns = std::min(kTileVectors * kVector, g.dv - c);
        const int64_t vectors = (columns + kVector - 1) / kVector;
        const int64_t tail = columns - (vectors - 1) * kVector;
        const __mmask16 lanes = static_cast<__mmask16>(tail >= kVector ? 0xFFFF : (1u << tail) - 1);
        kOutputTiles[rows - 1][vectors - 1](scores, skp, vh + c, v_row, g.sk, lanes, inv_sum,
                                            yi + c, v_row);
      }
    }
  }
}

#endif  // __x86_64__

}  // namespace

bool attention_kernel_runs_here() { return best_vector_isa() == VectorIsa::kAvx512; }

AttentionTasks attention_tasks(const AttentionGeometry& g, int parts) {
  AttentionTasks t;
  const int64_t heads = g.batch * g.heads;
  const int64_t wanted = 4 * static_cast<int64_t>(std::max(parts, 1));
  const int64_t most_chunks = std::max<int64_t>(1, (g.s + kTileRows - 1) / kTileRows);
  t.chunks_per_head = std::min(most_chunks, std::max<int64_t>(1, (wanted + heads - 1) / heads));
  const int64_t rows = (g.s + t.chunks_per_head - 1) / t.chunks_per_head;
  t.rows_per_chunk = std::max<int64_t>(kTileRows, (rows + kTileRows - 1) / kTileRows * kTileRows);
  t.chunks_per_head = std::max<int64_t>(1, (g.s + t.rows_per_chunk - 1) / t.rows_per_chunk);
  t.count = heads * t.chunks_per_head;
  return t;
}

size_t attention_scratch_bytes(const AttentionGeometry& g) {
  return static_cast<size_t>((g.d + kTileRows) * padded_keys(g.sk)) * sizeof(float);
}

void attention_run(const AttentionGeometry& g, const AttentionTasks& tasks, int64_t first,
                   int64_t last, const float* q, const float* k, const float* v, float* y,
                   float* scratch) {
#if defined(__x86_64__)
  if (attention_kernel_runs_here()) {
    run_avx512(g, tasks, first, last, q, k, v, y, scratch);
    return;
  }
#endif
  throw std::logic_error("attention_run: this CPU has no AVX-512");
}

}  // namespace edgerun::onednn
