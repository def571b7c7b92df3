#include "backends/onednn/attention_kernel.h"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>

#include "backends/onednn/tile_table.h"
#include "backends/onednn/vector_exp.h"
#include "backends/onednn/vector_kernels.h"

namespace edgerun::onednn {
namespace {

constexpr int64_t kTileRows = kTileTableRows;  // query rows per register tile
constexpr int64_t kMaxTileVectors = kTileTableVectors;
// Keys are padded to a multiple of 16 (one AVX-512 vector, two AVX2 ones) in the packed Kᵀ and
// the scores, so the scores tiles need no masks.
constexpr int64_t kKeyPadding = 16;

int64_t padded_keys(int64_t sk) { return (sk + kKeyPadding - 1) / kKeyPadding * kKeyPadding; }

using ScoresTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*);
using OutputTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, int64_t,
                            const float*, float*, int64_t);
using PackKeys = void (*)(const float*, int64_t, int64_t, int64_t, int64_t, float*);
using SoftmaxRow = float (*)(float*, int64_t, float, const float*, int64_t);

// One ISA's code: tiles of kTileRows rows by `tile_vectors` vectors of `vector` floats, indexed
// [rows - 1][vectors - 1].
struct Kernels {
  int64_t vector = 0;
  int64_t tile_vectors = 0;
  TileTable<ScoresTile> scores{};
  TileTable<OutputTile> output{};
  PackKeys pack_keys = nullptr;
  SoftmaxRow softmax_row = nullptr;
};

#if defined(__x86_64__)

using vector_exp::exp16;
using vector_exp::exp8;
using vector_exp::first_lanes16;
using vector_exp::first_lanes8;
using vector_exp::kExpLimit;

// ---- AVX-512: vectors of 16, tiles of 6 x 64 ---------------------------------------------------

constexpr int64_t k16 = 16;

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
EDGERUN_AVX512 void pack_keys16(const float* k, int64_t row, int64_t sk, int64_t d, int64_t skp,
                                float* kt) {
  for (int64_t j = 0; j < skp; j += k16) {
    const int64_t keys = std::min<int64_t>(sk - j, k16);
    for (int64_t c = 0; c < d; c += k16) {
      const int64_t columns = std::min<int64_t>(d - c, k16);
      const __mmask16 lanes = first_lanes16(columns);
      __m512 block[16];
      for (int64_t i = 0; i < k16; ++i) {
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
struct ScoresTile16 {
  EDGERUN_AVX512 static void run(const float* q, int64_t q_row, const float* kt, int64_t skp,
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
      for (int c = 0; c < V; ++c) key[c] = _mm512_load_ps(kt + k16 * c);
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
      for (int c = 0; c < V; ++c) _mm512_store_ps(s + r * skp + k16 * c, acc[r][c]);
    }
  }
};

// y[r * y_row + c] = inv_sum[r] * sum over j < sk of p[r * skp + j] * v[j * v_row + c], for R
// rows and 16 V columns, of which `tail` in the last vector.
template <int R, int V>
struct OutputTile16 {
  EDGERUN_AVX512 static void run(const float* p, int64_t skp, const float* v, int64_t v_row,
                                 int64_t sk, int64_t tail, const float* inv_sum, float* y,
                                 int64_t y_row) {
    const __mmask16 last = first_lanes16(tail);
    __m512 acc[R][V];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
      for (int c = 0; c < V; ++c) acc[r][c] = _mm512_setzero_ps();
    }
    for (int64_t j = 0; j < sk; ++j, v += v_row) {
      __m512 value[V];
#pragma GCC unroll 8
      for (int c = 0; c + 1 < V; ++c) value[c] = _mm512_loadu_ps(v + k16 * c);
      value[V - 1] = _mm512_maskz_loadu_ps(last, v + k16 * (V - 1));
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
        _mm512_storeu_ps(y + r * y_row + k16 * c, _mm512_mul_ps(acc[r][c], scale));
      }
      _mm512_mask_storeu_ps(y + r * y_row + k16 * (V - 1), last,
                            _mm512_mul_ps(acc[r][V - 1], scale));
    }
  }
};

// One row of scores s[0, sk) becomes e^(x - max) for x = factor * s + mask (mask: the row's
// mask, `mask_step` floats per key, 0 for one value for all keys; or null); returns the sum.
EDGERUN_AVX512 float softmax_row16(float* s, int64_t sk, float factor, const float* mask,
                                   int64_t mask_step) {
  const __m512 scale = _mm512_set1_ps(factor);
  const __m512 shared_mask =
      mask != nullptr && mask_step == 0 ? _mm512_set1_ps(*mask) : _mm512_setzero_ps();
  __m512 max = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < sk; j += k16) {
    const __mmask16 lanes = first_lanes16(sk - j);
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
  for (int64_t j = 0; j < sk; j += k16) {
    const __mmask16 lanes = first_lanes16(sk - j);
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

const Kernels kAvx512 = {k16,
                         4,
                         tile_table<ScoresTile16, ScoresTile, 4>(),
                         tile_table<OutputTile16, OutputTile, 4>(),
                         &pack_keys16,
                         &softmax_row16};

// ---- AVX2: vectors of 8, tiles of 6 x 16 (12 accumulators of 16 registers) ---------------------

constexpr int64_t k8 = 8;

EDGERUN_AVX2 inline float reduce_max8(__m256 x) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

EDGERUN_AVX2 inline float reduce_add8(__m256 x) {
  __m128 m = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  m = _mm_add_ps(m, _mm_movehl_ps(m, m));
  m = _mm_add_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// r[0, 8) as the rows of an 8 x 8 block, transposed in place.
EDGERUN_AVX2 inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[4h + k]'s 128-bit lane L: rows 4h to 4h + 3 at column 4L + k.
  for (int h = 0; h < 8; h += 4) {
    u[h] = _mm256_shuffle_ps(t[h], t[h + 2], 0x44);
    u[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], 0xEE);
    u[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0x44);
    u[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
    r[4 + k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);
  }
}

EDGERUN_AVX2 void pack_keys8(const float* k, int64_t row, int64_t sk, int64_t d, int64_t skp,
                             float* kt) {
  for (int64_t j = 0; j < skp; j += k8) {
    const int64_t keys = std::min<int64_t>(sk - j, k8);
    for (int64_t c = 0; c < d; c += k8) {
      const int64_t columns = std::min<int64_t>(d - c, k8);
      const __m256i lanes = first_lanes8(columns);
      __m256 block[8];
      for (int64_t i = 0; i < k8; ++i) {
        block[i] =
            i < keys ? _mm256_maskload_ps(k + (j + i) * row + c, lanes) : _mm256_setzero_ps();
      }
      transpose8(block);
      for (int64_t i = 0; i < columns; ++i) _mm256_store_ps(kt + (c + i) * skp + j, block[i]);
    }
  }
}

template <int R, int V>
struct ScoresTile8 {
  EDGERUN_AVX2 static void run(const float* q, int64_t q_row, const float* kt, int64_t skp,
                               int64_t d, float* s) {
    __m256 acc[R][V];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
      for (int c = 0; c < V; ++c) acc[r][c] = _mm256_setzero_ps();
    }
    for (int64_t dd = 0; dd < d; ++dd, kt += skp) {
      __m256 key[V];
#pragma GCC unroll 8
      for (int c = 0; c < V; ++c) key[c] = _mm256_load_ps(kt + k8 * c);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256 qr = _mm256_broadcast_ss(q + r * q_row + dd);
#pragma GCC unroll 8
        for (int c = 0; c < V; ++c) acc[r][c] = _mm256_fmadd_ps(qr, key[c], acc[r][c]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
      for (int c = 0; c < V; ++c) _mm256_store_ps(s + r * skp + k8 * c, acc[r][c]);
    }
  }
};

template <int R, int V>
struct OutputTile8 {
  EDGERUN_AVX2 static void run(const float* p, int64_t skp, const float* v, int64_t v_row,
                               int64_t sk, int64_t tail, const float* inv_sum, float* y,
                               int64_t y_row) {
    const __m256i last = first_lanes8(tail);
    __m256 acc[R][V];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
      for (int c = 0; c < V; ++c) acc[r][c] = _mm256_setzero_ps();
    }
    for (int64_t j = 0; j < sk; ++j, v += v_row) {
      __m256 value[V];
#pragma GCC unroll 8
      for (int c = 0; c + 1 < V; ++c) value[c] = _mm256_loadu_ps(v + k8 * c);
      value[V - 1] = _mm256_maskload_ps(v + k8 * (V - 1), last);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256 pr = _mm256_broadcast_ss(p + r * skp + j);
#pragma GCC unroll 8
        for (int c = 0; c < V; ++c) acc[r][c] = _mm256_fmadd_ps(pr, value[c], acc[r][c]);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 scale = _mm256_set1_ps(inv_sum[r]);
#pragma GCC unroll 8
      for (int c = 0; c + 1 < V; ++c) {
        _mm256_storeu_ps(y + r * y_row + k8 * c, _mm256_mul_ps(acc[r][c], scale));
      }
      _mm256_maskstore_ps(y + r * y_row + k8 * (V - 1), last, _mm256_mul_ps(acc[r][V - 1], scale));
    }
  }
};

EDGERUN_AVX2 float softmax_row8(float* s, int64_t sk, float factor, const float* mask,
                                int64_t mask_step) {
  const __m256 scale = _mm256_set1_ps(factor);
  const __m256 shared_mask =
      mask != nullptr && mask_step == 0 ? _mm256_set1_ps(*mask) : _mm256_setzero_ps();
  const __m256 minus_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 max = minus_inf;
  for (int64_t j = 0; j < sk; j += k8) {
    const __m256i lanes = first_lanes8(sk - j);
    __m256 x = _mm256_mul_ps(_mm256_load_ps(s + j), scale);
    if (mask != nullptr) {
      x = _mm256_add_ps(x, mask_step == 0 ? shared_mask : _mm256_maskload_ps(mask + j, lanes));
    }
    _mm256_store_ps(s + j, x);
    // Lanes past sk count as -inf; max(x, max) keeps max where x is NaN.
    max = _mm256_max_ps(_mm256_blendv_ps(minus_inf, x, _mm256_castsi256_ps(lanes)), max);
  }
  const __m256 row_max = _mm256_set1_ps(reduce_max8(max));
  const __m256 floor = _mm256_set1_ps(-kExpLimit);
  __m256 sum = _mm256_setzero_ps();
  for (int64_t j = 0; j < sk; j += k8) {
    const __m256 lanes = _mm256_castsi256_ps(first_lanes8(sk - j));
    const __m256 a = _mm256_sub_ps(_mm256_load_ps(s + j), row_max);
    // max(floor, a) keeps a NaN a (the second operand); below the floor e^a is 0.
    const __m256 kept = _mm256_andnot_ps(_mm256_cmp_ps(a, floor, _CMP_LT_OQ), lanes);
    const __m256 e = _mm256_and_ps(kept, exp8(_mm256_max_ps(floor, a)));
    _mm256_store_ps(s + j, e);
    sum = _mm256_add_ps(sum, e);
  }
  return reduce_add8(sum);
}

const Kernels kAvx2 = {k8,
                       2,
                       tile_table<ScoresTile8, ScoresTile, 2>(),
                       tile_table<OutputTile8, OutputTile, 2>(),
                       &pack_keys8,
                       &softmax_row8};

// The tasks [first, last) with one ISA's code.
void run_tasks(const Kernels& isa, const AttentionGeometry& g, const AttentionTasks& tasks,
               int64_t first, int64_t last, const float* q, const float* k, const float* v,
               float* y, float* scratch) {
  const int64_t skp = padded_keys(g.sk);
  const int64_t tile_columns = isa.tile_vectors * isa.vector;
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
      isa.pack_keys(k + (b * g.sk * g.heads + h) * g.d, q_row, g.sk, g.d, skp, kt);
      packed = head;
    }
    const float* vh = v + (b * g.sk * g.heads + h) * g.dv;
    for (int64_t i = row_first; i < row_last; i += kTileRows) {
      const int64_t rows = std::min(kTileRows, row_last - i);
      const float* qi = q + ((b * g.s + i) * g.heads + h) * g.d;
      for (int64_t j = 0; j < skp; j += tile_columns) {
        const int64_t vectors = std::min(isa.tile_vectors, (skp - j) / isa.vector);
        isa.scores[rows - 1][vectors - 1](qi, q_row, kt + j, skp, g.d, scores + j);
      }
      float inv_sum[kTileRows];
      for (int64_t r = 0; r < rows; ++r) {
        const float* mask = nullptr;
        if (g.mask != nullptr) {
          mask =
              g.mask + b * g.mask_strides[0] + h * g.mask_strides[1] + (i + r) * g.mask_strides[2];
        }
        // No keys: Y is 0 (the sum over none), not 0 * (1 / 0).
        inv_sum[r] = g.sk == 0 ? 0.0f
                               : 1.0f / isa.softmax_row(scores + r * skp, g.sk, g.factor, mask,
                                                        g.mask_strides[3]);
      }
      float* yi = y + ((b * g.s + i) * g.heads + h) * g.dv;
      for (int64_t c = 0; c < g.dv; c += tile_columns) {
        const int64_t columns = std::min(tile_columns, g.dv - c);
        const int64_t vectors = (columns + isa.vector - 1) / isa.vector;
        isa.output[rows - 1][vectors - 1](scores, skp, vh + c, v_row, g.sk,
                                          columns - (vectors - 1) * isa.vector, inv_sum, yi + c,
                                          v_row);
      }
    }
  }
}

#endif  // __x86_64__

}  // namespace

bool attention_kernel_runs_here() { return best_vector_isa() != VectorIsa::kNone; }

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
                   float* scratch, VectorIsa isa) {
  if (isa == VectorIsa::kNone || static_cast<int>(isa) > static_cast<int>(best_vector_isa())) {
    throw std::logic_error("attention_run: this CPU does not run the code asked for");
  }
#if defined(__x86_64__)
  run_tasks(isa == VectorIsa::kAvx512 ? kAvx512 : kAvx2, g, tasks, first, last, q, k, v, y,
            scratch);
#else
  (void)g, (void)tasks, (void)first, (void)last, (void)q, (void)k, (void)v, (void)y, (void)scratch;
#endif
}

void attention_run(const AttentionGeometry& g, const AttentionTasks& tasks, int64_t first,
                   int64_t last, const float* q, const float* k, const float* v, float* y,
                   float* scratch) {
  attention_run(g, tasks, first, last, q, k, v, y, scratch, best_vector_isa());
}

}  // namespace edgerun::onednn
