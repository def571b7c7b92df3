// edgerun's own scaled dot-product attention kernel (AVX-512 or AVX2 with FMA), for the fused
// Attention node.
//
// oneDNN 2.6 runs attention as three primitives over the whole scores tensor [B, H, S, Sk]:
// Q Kᵀ, softmax, P V. On this project's AVX-512 machine (ViT-B/16: 12 heads, S = 197, D = 64)
// they took 0.89 + 0.47 + 0.60-0.70 ms per layer on one thread, and the Q Kᵀ product and the
// softmax took as long on two threads (0.92 and 0.51 ms); ONNX Runtime's unfused nodes took
// 0.47 + 0.13 + 0.38 ms on two. Each primitive also writes the 1.8 MB of scores to memory and
// the next reads them back.
//
// This kernel works one head and a few query rows at a time: the head's Kᵀ packed once into the
// thread's scratch (keys padded to a multiple of 16), then for every 6 query rows their scores against all
// keys (a 6 x 64 register tile of FMAs), the softmax over those rows while they are in L1, and
// their share of P V (a 6 x 64 tile over V's rows, read where they lie). The scores never leave
// the cache, and (batch, head, row chunk) tasks share the work between threads. The AVX2 code
// does the same in 6 x 16 tiles (12 accumulators of its 16 registers). In a probe on that machine,
// ViT-B/16's layer took 1.4 ms on one thread and 0.7 on two (AVX2 code: 2.1 and 1.0).
//
// The softmax's exponentials come unnormalised (e^(x - max) with vector_exp.h's e^a, 1.5e-7
// relative error; scores more than 87 below their row's maximum give 0) and each output row is
// scaled by 1 / sum at the end. A row whose maximum is -inf or +inf (all keys masked out, or an
// infinite score) gives NaN, as the reference's softmax does.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "backends/onednn/vector_kernels.h"

namespace edgerun::onednn {

struct AttentionGeometry {
  int64_t batch = 1, heads = 1;
  int64_t s = 0, sk = 0;  // query and key positions
  int64_t d = 0, dv = 0;  // Q and K's head size, V's
  float factor = 1;       // scores = factor * Q Kᵀ (+ mask)
  // Added to the scores [B, H, S, Sk] when not null: element (b, h, i, j) at sum of index *
  // mask_strides over the four dims (stride 0 along a dim the mask broadcasts).
  const float* mask = nullptr;
  std::array<int64_t, 4> mask_strides{};
};

// Whether this CPU runs the kernel (AVX-512, or AVX2 with FMA).
bool attention_kernel_runs_here();

// The work in tasks of one (batch, head) and a chunk of its query rows: at least four tasks per
// part when the rows allow (threads claim them as they are free), rows per chunk a multiple of
// the 6-row tile. A task packs its head's Kᵀ, unless the one before it on that thread in the
// same attention_run call did.
struct AttentionTasks {
  int64_t chunks_per_head = 1;
  int64_t rows_per_chunk = 0;
  int64_t count = 0;
};
AttentionTasks attention_tasks(const AttentionGeometry& g, int parts);

// Bytes of scratch a thread needs for attention_run (64-byte aligned).
size_t attention_scratch_bytes(const AttentionGeometry& g);

// Tasks [first, last) of `tasks` on the calling thread: Y [B, S, H, Dv] = softmax(factor Q Kᵀ +
// mask) V per batch and head, for Q [B, S, H, D], K [B, Sk, H, D], V [B, Sk, H, Dv], all plain.
// `scratch` holds attention_scratch_bytes(g), 64-byte aligned. With `isa`'s code, which this CPU
// must run (std::logic_error otherwise; tests compare the two), or best_vector_isa()'s.
void attention_run(const AttentionGeometry& g, const AttentionTasks& tasks, int64_t first,
                   int64_t last, const float* q, const float* k, const float* v, float* y,
                   float* scratch, VectorIsa isa);
void attention_run(const AttentionGeometry& g, const AttentionTasks& tasks, int64_t first,
                   int64_t last, const float* q, const float* k, const float* v, float* y,
                   float* scratch);

}  // namespace edgerun::onednn
