// edgerun's own vector kernels (AVX-512, or AVX2 with FMA), for steps where oneDNN 2.6 is slow
// on this project's machines, over plain float32.
//
// Swish, y = x * sigmoid(alpha * x) (SiLU at alpha 1): what a Conv, Gemm or MatMul whose chain
// ends in Swish runs after its primitive instead of oneDNN's swish post-op. That post-op adds
// about 0.28 ns per element on an AVX-512 core: a 1x1 convolution 16 -> 96 at 112x112 took
// 0.19 ms alone and 0.53 ms with it. Run right after the convolution, over its result while it
// is still in cache, this kernel makes that 0.34 ms (0.14 ns per element). ONNX Runtime also runs
// SiLU as a separate pass after the convolution.
//
// e^a comes from range reduction (n = round(a / ln 2), a two-part ln 2) and a degree-5
// polynomial (relative error 1.5e-7), with a clamped to [-87, 87] (normal floats throughout);
// then one true division: within a few ulp of the reference kernel for alpha * x in [-87, 87].
// Below -87 the result is the product's limit, a zero with x's sign (the reference gives the
// same for x = -inf, and values under 1.5e-36 in magnitude for finite x); above 87 it is x. NaN
// stays NaN.
//
// The product of one row by a constant matrix, y = alpha * x B + c (a classifier's head, a
// decoder's projections at one token): work bound by reading B, which a model run finds in
// memory or the last-level cache. oneDNN 2.6 runs it on its brgemm kernel over B packed in
// blocks of 16 x 64; reading B packed in panels of 64 columns, each panel's rows one after the
// other (one_row_product), streams it faster. In a probe on this project's AVX-512 machine, B
// evicted from the caches before each run: 1024 x 1000 86-150 us against oneDNN's 135-237,
// 2048 x 1000 436 against 760, 768 x 768 52 against 74; with B in the cache 44 against 48 (the
// results agree within fp32 rounding of sums in another order).
#pragma once

#include <cstddef>

namespace edgerun::onednn {

enum class VectorIsa { kNone, kAvx2, kAvx512 };

// The widest vector code this CPU runs (AVX2 needs FMA too). kNone: these kernels do not run
// here; lowering then keeps oneDNN's post-op.
VectorIsa best_vector_isa();

// data[0, count) = swish(data[0, count)) with `isa`'s code, which this CPU must run (tests
// compare the two paths), on the calling thread.
void swish_in_place(float* data, size_t count, float alpha, VectorIsa isa);

// The same with best_vector_isa(), shared with the calling thread's OpenMP threads when there
// is enough work for each (never inside a parallel region: a team's slice stays on its thread).
void swish_in_place(float* data, size_t count, float alpha);

// Columns per panel of one_row_product's B: a panel holds B's K rows of these many columns (of
// which the last panel's past N are zeros), row after row, 64-byte aligned.
constexpr size_t kProductPanel = 64;

// y[j] = alpha * sum_r x[r] * B[r][j] + c[j] (c may be null: 0) for the columns j < n of
// panels [first_panel, last_panel) of B packed as above (K = k rows), with `isa`'s code, which
// this CPU must run, on the calling thread.
void one_row_product(const float* x, size_t k, const float* panels, size_t first_panel,
                     size_t last_panel, size_t n, float alpha, const float* c, float* y,
                     VectorIsa isa);

// y[p * channels + c] = x[p * channels + c] * scale[c] for pixels [0, pixels) of channels-last
// data (y may be x), with `isa`'s code, which this CPU must run, on the calling thread: a
// squeeze-excitation's scaling. oneDNN 2.6's binary primitive runs it slowly over few channels
// (MobileNetV3-small's 16 at 56 x 56: 31 us for 50K values; EfficientNet-B0's 32 at 112 x 112:
// 131 us in the model, against ONNX Runtime's 11 and 62).
void scale_channels_last(const float* x, const float* scale, float* y, size_t pixels,
                         size_t channels, VectorIsa isa);

// sums[c] = the sum of x[p * channels + c] over pixels [0, pixels) of channels-last data, in
// pixel order, with `isa`'s code, which this CPU must run, on the calling thread: part of a
// squeeze-excitation's global average pooling (channel_mean.h).
void sum_channels_last(const float* x, size_t pixels, size_t channels, float* sums,
                       VectorIsa isa);

// Three-channel images from channels-first to channels-last, out[p * 3 + c] = in[c * pixels +
// p] for each of `images` images, where this CPU runs the AVX-512 code; false (nothing written)
// elsewhere. The channels-last convolutions of a CNN read the image so: oneDNN 2.6's reorder
// took 51-59 us for a 224 x 224 image on this project's AVX-512 machine (as long as a mobile
// CNN's first convolution), this 15. Each image's pixels are split over the calling thread's
// team or OpenMP threads (split_work.h) where there are 8K or more.
bool rgb_to_channels_last(const float* in, float* out, size_t images, size_t pixels);

}  // namespace edgerun::onednn
