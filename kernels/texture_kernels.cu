// Texture layout <-> model tensor kernels for LSD Bridge (plain CUDA C, no includes).
//
// Built at run time by NVRTC (python_runtime/lsd_runtime/gpu/kernels.py) or offline by nvcc.
// Torch references: python_runtime/lsd_runtime/gpu/kernel_reference.py (same maths, same
// order of operations). See kernels/README.md for layouts and what was verified where.
//
// Texture side: one slot of `height` rows, row r of memory at byte r * pitch; pixels are
//   FMT_RGBA8 / FMT_BGRA8 (4 x uint8) or FMT_RGBA16F (4 x IEEE half). With bottom_up the
//   first memory row is the bottom image row. Colour COLOR_SRGB or COLOR_LINEAR.
// Tensor side: contiguous [3, H, W] (one image of an NCHW batch; pass the image's base
//   pointer), fp32 (DTYPE_F32) or fp16 (DTYPE_F16), sRGB values, range [0, 1] or [-1, 1].
//
// Resampling (both kernels) is torch's bilinear, align_corners=False, in the form torch
// uses for antialias=True: per axis scale = in / out, support = max(scale, 1), triangle
// weights over the taps within the support, normalised. When an axis is enlarged (or kept)
// this is exactly plain bilinear; when shrunk it is torch's antialiased bilinear, the
// filter the CPU path (pixel_formats.resize) uses whenever it shrinks.

#define FMT_RGBA8 0
#define FMT_BGRA8 1
#define FMT_RGBA16F 2
#define COLOR_SRGB 0
#define COLOR_LINEAR 1
#define DTYPE_F32 0
#define DTYPE_F16 1
#define RANGE_01 0
#define RANGE_PM1 1

typedef unsigned short lsd_half_bits;
struct alignas(4) lsd_u8x4 { unsigned char x, y, z, w; };  // uchar4 without vector_types.h

// --- half <-> float without cuda_fp16.h (NVRTC needs no include path) -------------------

__device__ __forceinline__ float lsd_half_to_float(lsd_half_bits h) {
    float f;
    asm("{ cvt.f32.f16 %0, %1; }" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ lsd_half_bits lsd_float_to_half_rn(float f) {
    lsd_half_bits h;
    asm("{ cvt.rn.f16.f32 %0, %1; }" : "=h"(h) : "f"(f));
    return h;
}

// --- colour (the formulas of pixel_formats.srgb_to_linear / linear_to_srgb) ----------------

__device__ __forceinline__ float lsd_clamp01(float x) { return fminf(fmaxf(x, 0.0f), 1.0f); }

__device__ __forceinline__ float lsd_linear_to_srgb(float x) {
    x = lsd_clamp01(x);
    return x <= 0.0031308f ? x * 12.92f : __fsub_rn(__fmul_rn(1.055f, powf(fmaxf(x, 1e-12f), 1.0f / 2.4f)), 0.055f);
}

__device__ __forceinline__ float lsd_srgb_to_linear(float x) {
    return x <= 0.04045f ? x / 12.92f : powf(fmaxf(__fdiv_rn(__fadd_rn(x, 0.055f), 1.055f), 0.0f), 2.4f);
}

// --- separable antialiased bilinear taps (torch's _compute_indices_min_size_weights_aa) ----

struct LsdTaps {
    int first;     // first input index
    int count;     // number of taps
    float center;  // scale * (i + 0.5)
    float inv;     // 1 / support-scale (1 when enlarging)
};

__device__ __forceinline__ LsdTaps lsd_taps(int i, int in_size, int out_size) {
    LsdTaps t;
    float scale = (float)in_size / (float)out_size;
    float support = scale >= 1.0f ? scale : 1.0f;
    t.inv = scale >= 1.0f ? 1.0f / scale : 1.0f;
    t.center = scale * ((float)i + 0.5f);
    int lo = (int)(t.center - support + 0.5f);  // truncation, as in torch
    int hi = (int)(t.center + support + 0.5f);
    t.first = lo > 0 ? lo : 0;
    t.count = (hi < in_size ? hi : in_size) - t.first;
    return t;
}

__device__ __forceinline__ float lsd_tap_weight(const LsdTaps& t, int j) {
    float w = fabsf(((float)(t.first + j) - t.center + 0.5f) * t.inv);
    return w < 1.0f ? 1.0f - w : 0.0f;
}

// --- texture pixel decode: image (x, y) -> sRGB rgb in [0, 1] -----------------------------

__device__ __forceinline__ void lsd_load_pixel(const unsigned char* __restrict__ src, long long pitch,
                                               int height, int format, int bottom_up, int color,
                                               int x, int y, float* rgb) {
    int row = bottom_up ? height - 1 - y : y;
    const unsigned char* p = src + (long long)row * pitch;
    if (format == FMT_RGBA16F) {
        const lsd_half_bits* h = (const lsd_half_bits*)p + 4 * x;
        rgb[0] = lsd_half_to_float(h[0]);
        rgb[1] = lsd_half_to_float(h[1]);
        rgb[2] = lsd_half_to_float(h[2]);
    } else {
        lsd_u8x4 v = ((const lsd_u8x4*)p)[x];
        float r = (float)v.x / 255.0f, g = (float)v.y / 255.0f, b = (float)v.z / 255.0f;
        rgb[0] = format == FMT_BGRA8 ? b : r;
        rgb[1] = g;
        rgb[2] = format == FMT_BGRA8 ? r : b;
    }
    for (int c = 0; c < 3; ++c) rgb[c] = color == COLOR_LINEAR ? lsd_linear_to_srgb(rgb[c]) : lsd_clamp01(rgb[c]);
}

// texture (src_w x src_h, any pitch/format/row order/colour) -> [3, dst_h, dst_w] tensor.
// One thread per output pixel; grid: (ceil(dst_w / blockDim.x), ceil(dst_h / blockDim.y)).
extern "C" __global__ void lsd_texture_to_tensor(
    const unsigned char* __restrict__ src, int src_w, int src_h, long long src_pitch,
    int src_format, int bottom_up, int src_color,
    void* __restrict__ dst, int dst_w, int dst_h, int dst_dtype, int value_range) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dst_w || y >= dst_h) return;
    float acc[3] = {0.0f, 0.0f, 0.0f};
    float rgb[3];
    if (src_w == dst_w && src_h == dst_h) {  // no resampling: one tap
        lsd_load_pixel(src, src_pitch, src_h, src_format, bottom_up, src_color, x, y, acc);
    } else {
        LsdTaps tx = lsd_taps(x, src_w, dst_w);
        LsdTaps ty = lsd_taps(y, src_h, dst_h);
        float wx_sum = 0.0f, wy_sum = 0.0f;
        for (int i = 0; i < tx.count; ++i) wx_sum += lsd_tap_weight(tx, i);
        for (int j = 0; j < ty.count; ++j) {
            float wy = lsd_tap_weight(ty, j);
            wy_sum += wy;
            if (wy == 0.0f) continue;
            float row[3] = {0.0f, 0.0f, 0.0f};
            for (int i = 0; i < tx.count; ++i) {
                float wx = lsd_tap_weight(tx, i);
                if (wx == 0.0f) continue;
                lsd_load_pixel(src, src_pitch, src_h, src_format, bottom_up, src_color, tx.first + i,
                               ty.first + j, rgb);
                for (int c = 0; c < 3; ++c) row[c] += wx * rgb[c];
            }
            for (int c = 0; c < 3; ++c) acc[c] += wy * row[c];
        }
        float norm = 1.0f / (wx_sum * wy_sum);
        for (int c = 0; c < 3; ++c) acc[c] *= norm;
    }
    long long plane = (long long)dst_w * dst_h;
    long long o = (long long)y * dst_w + x;
    for (int c = 0; c < 3; ++c) {
        float v = value_range == RANGE_PM1 ? __fsub_rn(__fmul_rn(acc[c], 2.0f), 1.0f) : acc[c];
        if (dst_dtype == DTYPE_F16) {
            ((lsd_half_bits*)dst)[c * plane + o] = lsd_float_to_half_rn(v);
        } else {
            ((float*)dst)[c * plane + o] = v;
        }
    }
}

__device__ __forceinline__ float lsd_load_tensor(const void* __restrict__ src, int dtype, long long i) {
    return dtype == DTYPE_F16 ? lsd_half_to_float(((const lsd_half_bits*)src)[i]) : ((const float*)src)[i];
}

// [3, src_h, src_w] tensor -> texture (dst_w x dst_h, any pitch/format/row order/colour),
// alpha opaque, 8-bit values rounded half-to-even (torch.round). Padding bytes untouched.
// One thread per output pixel; grid: (ceil(dst_w / blockDim.x), ceil(dst_h / blockDim.y)).
extern "C" __global__ void lsd_tensor_to_texture(
    const void* __restrict__ src, int src_w, int src_h, int src_dtype, int value_range,
    unsigned char* __restrict__ dst, int dst_w, int dst_h, long long dst_pitch,
    int dst_format, int bottom_up, int dst_color) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dst_w || y >= dst_h) return;
    long long plane = (long long)src_w * src_h;
    float rgb[3] = {0.0f, 0.0f, 0.0f};
    if (src_w == dst_w && src_h == dst_h) {
        long long o = (long long)y * src_w + x;
        for (int c = 0; c < 3; ++c) rgb[c] = lsd_load_tensor(src, src_dtype, c * plane + o);
    } else {
        LsdTaps tx = lsd_taps(x, src_w, dst_w);
        LsdTaps ty = lsd_taps(y, src_h, dst_h);
        float wx_sum = 0.0f, wy_sum = 0.0f;
        for (int i = 0; i < tx.count; ++i) wx_sum += lsd_tap_weight(tx, i);
        for (int j = 0; j < ty.count; ++j) {
            float wy = lsd_tap_weight(ty, j);
            wy_sum += wy;
            if (wy == 0.0f) continue;
            float row[3] = {0.0f, 0.0f, 0.0f};
            long long base = (long long)(ty.first + j) * src_w + tx.first;
            for (int i = 0; i < tx.count; ++i) {
                float wx = lsd_tap_weight(tx, i);
                if (wx == 0.0f) continue;
                for (int c = 0; c < 3; ++c) row[c] += wx * lsd_load_tensor(src, src_dtype, c * plane + base + i);
            }
            for (int c = 0; c < 3; ++c) rgb[c] += wy * row[c];
        }
        float norm = 1.0f / (wx_sum * wy_sum);
        for (int c = 0; c < 3; ++c) rgb[c] *= norm;
    }
    for (int c = 0; c < 3; ++c) {
        float v = value_range == RANGE_PM1 ? __fmul_rn(__fadd_rn(rgb[c], 1.0f), 0.5f) : rgb[c];
        v = lsd_clamp01(v);
        rgb[c] = dst_color == COLOR_LINEAR ? lsd_srgb_to_linear(v) : v;
    }
    int row = bottom_up ? dst_h - 1 - y : y;
    unsigned char* p = dst + (long long)row * dst_pitch;
    if (dst_format == FMT_RGBA16F) {
        lsd_half_bits* h = (lsd_half_bits*)p + 4 * x;
        h[0] = lsd_float_to_half_rn(rgb[0]);
        h[1] = lsd_float_to_half_rn(rgb[1]);
        h[2] = lsd_float_to_half_rn(rgb[2]);
        h[3] = 0x3C00;  // 1.0
    } else {
        // __fmul_rn keeps x * 255 a separate float multiply (no contraction), rintf rounds
        // half to even: together the same value torch.round(x * 255.0) gives on float32
        unsigned int q[3];
        for (int c = 0; c < 3; ++c) q[c] = (unsigned int)rintf(__fmul_rn(rgb[c], 255.0f));
        lsd_u8x4 v;
        v.x = (unsigned char)(dst_format == FMT_BGRA8 ? q[2] : q[0]);
        v.y = (unsigned char)q[1];
        v.z = (unsigned char)(dst_format == FMT_BGRA8 ? q[0] : q[2]);
        v.w = 255;
        ((lsd_u8x4*)p)[x] = v;
    }
}
