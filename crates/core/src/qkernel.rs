//! Integer matrix products for the encoder's quantized linear layers.
//!
//! The bundle's encoder stores its linear layers in ggml blocks of 32 values with one scale
//! each (`q8_0` for attention, `q5_0` for the feed-forward layers): every weight is an
//! integer `w ∈ [−128, 127]` times its block's scale `s_w`. [`QMatrix`] keeps them as such
//! (1 byte a weight instead of 4), and [`linear`] multiplies them with activations that are
//! quantized the same way, per token row and block of 32:
//!
//! ```text
//! a = round_ties_even(x · 63 / amax) ∈ [−63, 63],  s_a = amax / 63,   amax = max |x| in the block
//! y[t, o] = b[o] + Σ_blocks f32(Σ_{i in block} w[o, i] · a[t, i]) · (s_w[o, block] · s_a[t, block])
//! ```
//!
//! The inner sums are exact integers (|Σ| ≤ 32 · 128 · 63 < 2²⁴, so also exact as f32);
//! the outer sum runs over the blocks in increasing order, one rounded multiply and one
//! rounded add at a time (never fused), starting from 0, and the bias comes last. That is the
//! contract: every implementation below gives the same bits, so the browser (wasm32
//! simd128, with or without relaxed SIMD) and the companion score identically.
//!
//! Why 63 (7 bits) rather than 127: relaxed SIMD's `i32x4.relaxed_dot_i8x16_i7x16_add`
//! multiplies 16 signed bytes by 16 bytes in [0, 127] and adds groups of four into i32 lanes
//! in one instruction — 16 multiply–adds, against 4 for f32 — and its result is the same on
//! every engine only while that second operand stays in [0, 127]. The relaxed build stores
//! `a + 64 ∈ [1, 127]` and subtracts `64 · Σ w` per block (kept in [`QMatrix`]), which gives
//! the exact same integer. The plain-SIMD build (Safari has no relaxed SIMD) widens both to
//! i16 and uses `i32x4.dot_i16x8_s` (8 multiply–adds an instruction). docs/encoder.md has
//! the parity this costs (the worst cosine to the f32 model) and the speed it buys.

use candle_core::quantized::GgmlDType;
use half::f16;

/// Values per block: ggml's `_0` formats and the activations alike.
pub const BLOCK: usize = 32;

/// Largest activation level: `a ∈ [−ACT_MAX, ACT_MAX]` (see the module docs for why 7 bits).
pub const ACT_MAX: i32 = 63;

/// The offset that makes activations unsigned for relaxed SIMD (`a + ACT_OFFSET ∈ [1, 127]`).
const ACT_OFFSET: i32 = 64;

/// A `(out, in)` weight matrix as integers with one scale per row and block of [`BLOCK`].
#[derive(Debug, Clone, PartialEq)]
pub struct QMatrix {
    out: usize,
    inp: usize,
    /// `out × in`, in the running build's layout ([`QMatrix::block`] reads any block back):
    /// row-major natively; in wasm, per group of four rows and block, eight runs of 16
    /// bytes, run `j` holding values `4j..4j + 4` of the four rows one after another, so
    /// one integer dot-product instruction gives the four rows' sums in its four lanes (the
    /// rows past the last whole group follow, row-major).
    q: Vec<i8>,
    /// `out × in / BLOCK`: the weight is `q · scale`.
    scale: Vec<f32>,
    /// The scales per group of four rows and block, the four rows' scales (one vector load).
    #[cfg(target_arch = "wasm32")]
    quad_scale: Vec<f32>,
    /// `ACT_OFFSET · Σ q` over each block, what the offset adds to a relaxed-SIMD dot
    /// product, in the same layout.
    #[cfg(target_arch = "wasm32")]
    quad_offset: Vec<i32>,
    /// The scales as the AVX2 kernel reads them: per group of eight rows and block, the
    /// eight rows' scales (one vector load); rows past the last whole group are not here.
    #[cfg(target_arch = "x86_64")]
    oct_scale: Vec<f32>,
    /// `ACT_OFFSET · Σ q` over each block in the same layout, for the AVX2 kernel.
    #[cfg(target_arch = "x86_64")]
    oct_offset: Vec<i32>,
}

impl QMatrix {
    /// Reads `out` rows of `inp` values in a ggml block format, exactly (the integers and
    /// scales as stored). `None` for formats that are not one signed integer times one scale
    /// per block of 32 (`q5_1`, `q4_1` carry a minimum; the k-quants sub-scales; f16/f32 are
    /// not quantized): those stay f32.
    pub fn from_ggml(dtype: GgmlDType, data: &[u8], out: usize, inp: usize) -> Option<Self> {
        let block_bytes = match dtype {
            GgmlDType::Q8_0 => 2 + BLOCK,
            GgmlDType::Q5_0 => 2 + 4 + BLOCK / 2,
            GgmlDType::Q4_0 => 2 + BLOCK / 2,
            _ => return None,
        };
        if inp == 0 || !inp.is_multiple_of(BLOCK) || data.len() != out.checked_mul(inp / BLOCK)?.checked_mul(block_bytes)? {
            return None;
        }
        let mut q = Vec::with_capacity(out * inp);
        let mut scale = Vec::with_capacity(out * inp / BLOCK);
        for block in data.chunks_exact(block_bytes) {
            scale.push(f16::from_le_bytes([block[0], block[1]]).to_f32());
            let mut v = [0i8; BLOCK];
            match dtype {
                GgmlDType::Q8_0 => v.iter_mut().zip(&block[2..]).for_each(|(v, b)| *v = *b as i8),
                GgmlDType::Q5_0 => {
                    // ggml's block_q5_0: d (f16), qh (the 5th bits, u32 LE), qs (low nibbles:
                    // value j in the low half of byte j, value j + 16 in the high half).
                    let qh = u32::from_le_bytes([block[2], block[3], block[4], block[5]]);
                    for (j, b) in block[6..].iter().enumerate() {
                        let hi0 = ((qh >> j) << 4) & 0x10;
                        let hi1 = (qh >> (j + 12)) & 0x10;
                        v[j] = ((u32::from(b & 0x0f) | hi0) as i32 - 16) as i8;
                        v[j + 16] = ((u32::from(b >> 4) | hi1) as i32 - 16) as i8;
                    }
                }
                _ => {
                    // block_q4_0: d (f16), qs (value j low nibble, value j + 16 high), offset 8.
                    for (j, b) in block[2..].iter().enumerate() {
                        v[j] = (i32::from(b & 0x0f) - 8) as i8;
                        v[j + 16] = (i32::from(b >> 4) - 8) as i8;
                    }
                }
            }
            q.extend_from_slice(&v);
        }
        Some(Self::new(out, inp, q, scale))
    }

    /// From row-major integers and their scales.
    fn new(out: usize, inp: usize, q: Vec<i8>, scale: Vec<f32>) -> Self {
        let offset_sum: Vec<i32> = q.chunks_exact(BLOCK).map(|b| ACT_OFFSET * b.iter().map(|&v| i32::from(v)).sum::<i32>()).collect();
        let blocks = inp / BLOCK;
        #[cfg(target_arch = "wasm32")]
        let (q, quad_scale, quad_offset) = {
            let (groups, whole) = (out / 4, out / 4 * 4 * inp);
            let mut quad = vec![0i8; q.len()];
            // Within a group, values 4w..4w + 4 of row r go to 16w + 4r.
            for (src, dst) in q[..whole].chunks_exact(4 * inp).zip(quad.chunks_exact_mut(4 * inp)) {
                for (r, row) in src.chunks_exact(inp).enumerate() {
                    for (w, v) in row.chunks_exact(4).enumerate() {
                        dst[16 * w + 4 * r..16 * w + 4 * r + 4].copy_from_slice(v);
                    }
                }
            }
            quad[whole..].copy_from_slice(&q[whole..]);
            let (mut quad_scale, mut quad_offset) = (Vec::with_capacity(groups * blocks * 4), Vec::with_capacity(groups * blocks * 4));
            for g in 0..groups {
                for k in 0..blocks {
                    let cell = |r: usize| (4 * g + r) * blocks + k;
                    quad_scale.extend_from_slice(&[scale[cell(0)], scale[cell(1)], scale[cell(2)], scale[cell(3)]]);
                    quad_offset.extend_from_slice(&[offset_sum[cell(0)], offset_sum[cell(1)], offset_sum[cell(2)], offset_sum[cell(3)]]);
                }
            }
            (quad, quad_scale, quad_offset)
        };
        #[cfg(target_arch = "x86_64")]
        let (oct_scale, oct_offset) = {
            let at = |g: usize, k: usize, j: usize| (8 * g + j) * blocks + k;
            let cells = || (0..out / 8).flat_map(|g| (0..blocks).flat_map(move |k| (0..8).map(move |j| at(g, k, j))));
            (cells().map(|i| scale[i]).collect(), cells().map(|i| offset_sum[i]).collect())
        };
        Self {
            out,
            inp,
            q,
            scale,
            #[cfg(target_arch = "wasm32")]
            quad_scale,
            #[cfg(target_arch = "wasm32")]
            quad_offset,
            #[cfg(target_arch = "x86_64")]
            oct_scale,
            #[cfg(target_arch = "x86_64")]
            oct_offset,
        }
    }

    /// The integers of row `o`'s block `k`, in order.
    #[inline(always)]
    fn block(&self, o: usize, k: usize) -> [i8; BLOCK] {
        #[cfg(target_arch = "wasm32")]
        if o < self.out / 4 * 4 {
            let (g, r) = (o / 4, o % 4);
            let at = (g * self.inp / BLOCK + k) * 4 * BLOCK + 4 * r;
            return core::array::from_fn(|i| self.q[at + i / 4 * 16 + i % 4]);
        }
        let at = o * self.inp + k * BLOCK;
        self.q[at..at + BLOCK].try_into().expect("a block")
    }

    /// The integers row-major.
    fn row_major(&self) -> Vec<i8> {
        #[cfg(target_arch = "wasm32")]
        {
            let (inp, whole) = (self.inp, self.out / 4 * 4 * self.inp);
            let mut q = vec![0i8; self.q.len()];
            // Run `n` of the interleaved part: group n / (in / 4), block and run within it.
            for (n, run) in self.q[..whole].chunks_exact(16).enumerate() {
                let (g, k, j) = (n / (inp / 4), n % (inp / 4) / 8, n % 8);
                for (r, values) in run.chunks_exact(4).enumerate() {
                    let at = (4 * g + r) * inp + k * BLOCK + 4 * j;
                    q[at..at + 4].copy_from_slice(values);
                }
            }
            q[whole..].copy_from_slice(&self.q[whole..]);
            q
        }
        #[cfg(not(target_arch = "wasm32"))]
        self.q.clone()
    }

    /// Matrices with the same input width, their rows one after another (`[q; k; v]`).
    pub fn concat(parts: &[QMatrix]) -> Option<QMatrix> {
        let inp = parts.first()?.inp;
        if parts.iter().any(|p| p.inp != inp) {
            return None;
        }
        let (out, scale) = (parts.iter().map(|p| p.out).sum(), parts.iter().flat_map(|p| p.scale.iter().copied()).collect());
        // In wasm the layout goes group by group: parts in whole groups of four stack as they are.
        #[cfg(target_arch = "wasm32")]
        if parts.iter().all(|p| p.out % 4 == 0) {
            return Some(Self {
                out,
                inp,
                q: parts.iter().flat_map(|p| p.q.iter().copied()).collect(),
                scale,
                quad_scale: parts.iter().flat_map(|p| p.quad_scale.iter().copied()).collect(),
                quad_offset: parts.iter().flat_map(|p| p.quad_offset.iter().copied()).collect(),
            });
        }
        Some(Self::new(out, inp, parts.iter().flat_map(|p| p.row_major()).collect(), scale))
    }

    /// Output rows.
    pub fn out(&self) -> usize {
        self.out
    }

    /// Input width.
    pub fn inp(&self) -> usize {
        self.inp
    }

    /// The weights as f32 (`q · scale`, what candle's dequantization gives).
    pub fn dequantize(&self) -> Vec<f32> {
        self.row_major().chunks_exact(BLOCK).zip(&self.scale).flat_map(|(b, &s)| b.iter().map(move |&v| f32::from(v) * s)).collect()
    }
}

/// Token rows quantized per block of [`BLOCK`] (module docs), in the layout the running
/// build's kernel reads.
struct Rows {
    m: usize,
    blocks: usize,
    /// `a` (plain builds) as i16, or `a + 64` (relaxed SIMD) as u8; `m × in`.
    #[cfg(not(feature = "relaxed-simd"))]
    a: Vec<i16>,
    #[cfg(feature = "relaxed-simd")]
    a: Vec<u8>,
    /// `s_a`, block-major: `scale[block · m + t]`, so two tokens' scales of one block are
    /// next to each other.
    scale: Vec<f32>,
}

/// Quantizes `m` rows of `inp` values (module docs).
#[inline(always)]
fn quantize_rows(x: &[f32], inp: usize) -> Rows {
    let m = x.len() / inp;
    let blocks = inp / BLOCK;
    let mut a = vec![0; x.len()];
    let mut scale = vec![0f32; m * blocks];
    for (t, (row, a_row)) in x.chunks_exact(inp).zip(a.chunks_exact_mut(inp)).enumerate() {
        for (k, (block, a_block)) in row.chunks_exact(BLOCK).zip(a_row.chunks_exact_mut(BLOCK)).enumerate() {
            let block: &[f32; BLOCK] = block.try_into().expect("a block");
            let amax = block_amax(block);
            let (inv, s) = if amax > 0.0 { (ACT_MAX as f32 / amax, amax / ACT_MAX as f32) } else { (0.0, 0.0) };
            scale[k * m + t] = s;
            quantize_block(block, inv, a_block.try_into().expect("a block"));
        }
    }
    Rows { m, blocks, a, scale }
}

/// `max |x|` over one block (exact, so any order gives the same value).
#[inline(always)]
fn block_amax(x: &[f32; BLOCK]) -> f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        // SAFETY: eight loads of four values inside the block.
        let v: [v128; 8] = core::array::from_fn(|i| f32x4_abs(unsafe { v128_load(x.as_ptr().add(4 * i).cast()) }));
        let m = [f32x4_pmax(v[0], v[1]), f32x4_pmax(v[2], v[3]), f32x4_pmax(v[4], v[5]), f32x4_pmax(v[6], v[7])];
        let m = f32x4_pmax(f32x4_pmax(m[0], m[1]), f32x4_pmax(m[2], m[3]));
        let m = f32x4_pmax(m, i32x4_shuffle::<2, 3, 0, 1>(m, m));
        let m = f32x4_pmax(m, i32x4_shuffle::<1, 0, 3, 2>(m, m));
        f32x4_extract_lane::<0>(m)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    x.iter().fold(0f32, |m, v| m.max(v.abs()))
}

/// One block's levels `round_ties_even(x · inv)` limited to ±[`ACT_MAX`], as the build's
/// kernel stores them (`+ 64` in the relaxed build).
#[inline(always)]
fn quantize_block<A: Level>(x: &[f32; BLOCK], inv: f32, a: &mut [A; BLOCK]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let (lo, hi, inv) = (f32x4_splat(-ACT_MAX as f32), f32x4_splat(ACT_MAX as f32), f32x4_splat(inv));
        // SAFETY: loads of four values inside the block; `A::store8` writes eight levels
        // inside `a` (8 · i + 8 ≤ BLOCK).
        for i in 0..BLOCK / 8 {
            let q: [v128; 2] = core::array::from_fn(|h| {
                let v = f32x4_mul(unsafe { v128_load(x.as_ptr().add(8 * i + 4 * h).cast()) }, inv);
                i32x4_trunc_sat_f32x4(f32x4_pmax(f32x4_pmin(f32x4_nearest(v), hi), lo))
            });
            unsafe { A::store8(i16x8_narrow_i32x4(q[0], q[1]), a.as_mut_ptr().add(8 * i)) };
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    for (a, v) in a.iter_mut().zip(x) {
        *a = A::from_level((v * inv).round_ties_even().clamp(-ACT_MAX as f32, ACT_MAX as f32) as i32);
    }
}

/// How the running build stores an activation level (module docs).
trait Level: Copy + Default {
    /// `q ∈ [−63, 63]` as stored.
    #[cfg_attr(all(target_arch = "wasm32", target_feature = "simd128"), allow(dead_code))]
    fn from_level(q: i32) -> Self;
    /// Eight levels (i16 lanes) as stored, to `p..p + 8`.
    ///
    /// # Safety
    /// `p..p + 8` is writable.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn store8(q: core::arch::wasm32::v128, p: *mut Self);
}

impl Level for i16 {
    fn from_level(q: i32) -> Self {
        q as i16
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn store8(q: core::arch::wasm32::v128, p: *mut Self) {
        core::arch::wasm32::v128_store(p.cast(), q);
    }
}

impl Level for u8 {
    fn from_level(q: i32) -> Self {
        (q + ACT_OFFSET) as u8
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn store8(q: core::arch::wasm32::v128, p: *mut Self) {
        use core::arch::wasm32::*;
        let q = i16x8_add(q, i16x8_splat(ACT_OFFSET as i16));
        v128_store64_lane::<0>(u8x16_narrow_i16x8(q, q), p.cast());
    }
}

/// `y[t, o] = b[o] + Σ … ` (module docs) for the `m = x.len() / in` rows of `x`.
///
/// # Panics
/// If the lengths do not fit together.
pub fn linear(x: &[f32], w: &QMatrix, b: &[f32], y: &mut [f32]) {
    assert_eq!(b.len(), w.out, "{} biases for {} rows", b.len(), w.out);
    assert!(x.len().is_multiple_of(w.inp), "input of {} values is not rows of {}", x.len(), w.inp);
    let m = x.len() / w.inp;
    assert_eq!(y.len(), m * w.out, "output of {} values for {m} × {}", y.len(), w.out);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2; lengths checked above.
        return unsafe { avx2::linear(&avx2::quantize_rows(x, w.inp), w, b, y) };
    }
    let rows = quantize_rows(x, w.inp);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        // SAFETY: lengths checked above; in the relaxed-SIMD build the worker is loaded only
        // where the engine validated a module with relaxed SIMD (src/worker_loader.js).
        unsafe { simd::linear(&rows, w, b, y) };
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    linear_reference(&rows, w, b, y, 0);
}

/// The contract, one output at a time, for output rows from `from` on (natively without
/// AVX2, where the compiler vectorizes each block's integer dot product).
fn linear_reference(rows: &Rows, w: &QMatrix, b: &[f32], y: &mut [f32], from: usize) {
    let (inp, blocks, m) = (w.inp, rows.blocks, rows.m);
    for (t, a_row) in rows.a.chunks_exact(inp).enumerate() {
        for o in from..w.out {
            let mut acc = 0f32;
            for (k, ab) in a_row.chunks_exact(BLOCK).enumerate() {
                acc += block_dot(&w.block(o, k), ab) as f32 * (w.scale[o * blocks + k] * rows.scale[k * m + t]);
            }
            y[t * w.out + o] = acc + b[o];
        }
    }
}

/// `Σ w[i] · a[i]` over one block, `a` as signed levels.
#[inline(always)]
fn block_dot<A: Copy + Into<i32>>(w: &[i8], a: &[A]) -> i32 {
    let (w, a): (&[i8; BLOCK], &[A; BLOCK]) = (w.try_into().expect("a block"), a.try_into().expect("a block"));
    #[cfg(feature = "relaxed-simd")]
    let offset = ACT_OFFSET;
    #[cfg(not(feature = "relaxed-simd"))]
    let offset = 0;
    w.iter().zip(a).map(|(&w, &a)| i32::from(w) * (a.into() - offset)).sum()
}

/// The native kernel (x86_64 with AVX2, detected at run time): eight weight rows per step, the
/// block's 32 products of a row in one `vpmaddubsw` (unsigned × signed bytes into pairs of
/// i16) and one `vpmaddwd` (pairs into i32), as relaxed SIMD does it: on `a + 64 ∈ [1, 127]`,
/// so a pair is at most 2 · 127 · 128 < 2¹⁵ in magnitude and never saturates, with
/// `64 · Σ w` taken off per block. The eight rows' integer sums are reduced into one vector,
/// and the scaling and accumulation run on the eight rows' lanes: per lane the contract's
/// float operations in its order (a multiply, then an add; no FMA), so the same bits.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{linear_reference, QMatrix, Rows, ACT_OFFSET, BLOCK};

    /// # Safety
    /// The CPU has AVX2; lengths as [`super::linear`] checks them.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn linear(rows: &Rows, w: &QMatrix, b: &[f32], y: &mut [f32]) {
        let (inp, out, m, blocks) = (w.inp, w.out, rows.m, rows.blocks);
        let a: Vec<u8> = rows.a.iter().map(|&v| (i32::from(v) + ACT_OFFSET) as u8).collect();
        let ones = _mm256_set1_epi16(1);
        let groups = out / 8;
        // Group-major: a group's eight weight rows (at most 12 kB) stay in L1 while the tokens go by.
        for g in 0..groups {
            let o = 8 * g;
            let bias = _mm256_loadu_ps(b.as_ptr().add(o));
            for t in 0..m {
                let a_row = a.as_ptr().add(t * inp);
                let mut acc = _mm256_setzero_ps();
                for k in 0..blocks {
                    let x = _mm256_loadu_si256(a_row.add(k * BLOCK).cast());
                    let dots: [__m256i; 8] = core::array::from_fn(|r| {
                        let wv = _mm256_loadu_si256(w.q.as_ptr().add((o + r) * inp + k * BLOCK).cast());
                        _mm256_madd_epi16(_mm256_maddubs_epi16(x, wv), ones)
                    });
                    let cell = (g * blocks + k) * 8;
                    let offset = _mm256_loadu_si256(w.oct_offset.as_ptr().add(cell).cast());
                    let d = _mm256_cvtepi32_ps(_mm256_sub_epi32(lane_sums(dots), offset));
                    // s_w(o + j) · s_a(t), then the product, then the sum: as linear_reference.
                    let s = _mm256_mul_ps(_mm256_loadu_ps(w.oct_scale.as_ptr().add(cell)), _mm256_set1_ps(*rows.scale.get_unchecked(k * m + t)));
                    acc = _mm256_add_ps(acc, _mm256_mul_ps(d, s));
                }
                _mm256_storeu_ps(y.as_mut_ptr().add(t * out + o), _mm256_add_ps(acc, bias));
            }
        }
        if out % 8 != 0 {
            linear_reference(rows, w, b, y, 8 * groups);
        }
    }

    /// [`super::quantize_rows`] compiled with AVX2 (so with SSE4.1's rounding instruction
    /// rather than a call to `rintf`; the same values: rounding and the rest are exact).
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn quantize_rows(x: &[f32], inp: usize) -> Rows {
        super::quantize_rows(x, inp)
    }

    /// `[Σ lanes of v[0], …, Σ lanes of v[7]]` (exact: integers).
    #[inline(always)]
    unsafe fn lane_sums(v: [__m256i; 8]) -> __m256i {
        // Within each 128-bit half: [v0: 0+1, 2+3, v1: 0+1, 2+3 | v0: 4+5, 6+7, v1: 4+5, 6+7] …
        let (h01, h23, h45, h67) = (_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]), _mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
        // … then [v0..v3: lanes 0–3 | v0..v3: lanes 4–7], and the same for v4..v7 …
        let (q0, q1) = (_mm256_hadd_epi32(h01, h23), _mm256_hadd_epi32(h45, h67));
        // … and the low halves of both plus their high halves.
        _mm256_add_epi32(_mm256_permute2x128_si256::<0x20>(q0, q1), _mm256_permute2x128_si256::<0x31>(q0, q1))
    }
}

/// The wasm kernels: four weight rows per step, interleaved at load ([`QMatrix`]'s `q`) so
/// that one integer dot-product instruction gives four rows' partial sums in its four lanes,
/// against one token's four activations splat into every lane: no sum across lanes, and the
/// scaling and accumulation run on the four rows' lanes (per lane the contract's operations
/// in its order). Each group's weights are loaded once per block for a tile of tokens.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    use super::{linear_reference, QMatrix, Rows, BLOCK};

    /// Tokens per tile.
    const TILE: usize = 4;

    /// # Safety
    /// Lengths as [`super::linear`] checks them; with the `relaxed-simd` feature, an engine
    /// with relaxed SIMD.
    #[cfg_attr(feature = "relaxed-simd", target_feature(enable = "relaxed-simd"))]
    pub(super) unsafe fn linear(rows: &Rows, w: &QMatrix, b: &[f32], y: &mut [f32]) {
        let (out, m) = (w.out, rows.m);
        let groups = out / 4;
        for g in 0..groups {
            let mut t = 0;
            while t + TILE <= m {
                tile::<TILE>(rows, w, b, y, g, t);
                t += TILE;
            }
            match m - t {
                3 => tile::<3>(rows, w, b, y, g, t),
                2 => tile::<2>(rows, w, b, y, g, t),
                1 => tile::<1>(rows, w, b, y, g, t),
                _ => {}
            }
        }
        if out % 4 != 0 {
            linear_reference(rows, w, b, y, 4 * groups);
        }
    }

    /// Rows `4g..4g + 4` × tokens `t0..t0 + T`.
    #[inline(always)]
    unsafe fn tile<const T: usize>(rows: &Rows, w: &QMatrix, b: &[f32], y: &mut [f32], g: usize, t0: usize) {
        let (inp, out, m, blocks) = (w.inp, w.out, rows.m, rows.blocks);
        let mut acc = [f32x4_splat(0.0); T];
        let wg = w.q.as_ptr().add(4 * g * inp);
        for k in 0..blocks {
            let d = block_dots::<T>(wg.add(4 * k * BLOCK), core::array::from_fn(|t| rows.a.as_ptr().add((t0 + t) * inp + k * BLOCK)));
            let cell = (g * blocks + k) * 4;
            let ws = v128_load(w.quad_scale.as_ptr().add(cell).cast());
            #[cfg(feature = "relaxed-simd")]
            let offset = v128_load(w.quad_offset.as_ptr().add(cell).cast());
            for t in 0..T {
                #[cfg(feature = "relaxed-simd")]
                let d = i32x4_sub(d[t], offset);
                #[cfg(not(feature = "relaxed-simd"))]
                let d = d[t];
                // s_w(row) · s_a(t), then the product, then the sum: as linear_reference.
                let s = f32x4_mul(ws, f32x4_splat(*rows.scale.get_unchecked(k * m + t0 + t)));
                acc[t] = f32x4_add(acc[t], f32x4_mul(f32x4_convert_i32x4(d), s));
            }
        }
        let bias = v128_load(b.as_ptr().add(4 * g).cast());
        for (t, acc) in acc.iter().enumerate() {
            v128_store(y.as_mut_ptr().add((t0 + t) * out + 4 * g).cast(), f32x4_add(*acc, bias));
        }
    }

    /// Per token `t`: the four rows' integer sums over one block (`w`: the group's 128
    /// interleaved bytes of the block; `a[t]`: the token's 32 activations), on `a + 64`
    /// (the offset is taken off by the caller).
    #[cfg(feature = "relaxed-simd")]
    #[inline(always)]
    unsafe fn block_dots<const T: usize>(w: *const i8, a: [*const u8; T]) -> [v128; T] {
        // Two sums per token (even and odd runs), so the dependency chains are half as long.
        let mut even = [i32x4_splat(0); T];
        let mut odd = [i32x4_splat(0); T];
        for j in 0..BLOCK / 8 {
            let (w0, w1) = (v128_load(w.add(32 * j).cast()), v128_load(w.add(32 * j + 16).cast()));
            for t in 0..T {
                even[t] = i32x4_relaxed_dot_i8x16_i7x16_add(w0, v128_load32_splat(a[t].add(8 * j).cast()), even[t]);
                odd[t] = i32x4_relaxed_dot_i8x16_i7x16_add(w1, v128_load32_splat(a[t].add(8 * j + 4).cast()), odd[t]);
            }
        }
        core::array::from_fn(|t| i32x4_add(even[t], odd[t]))
    }

    /// As the relaxed build's, on signed levels widened to i16: each run of 16 bytes as two
    /// halves (rows 0–1, rows 2–3) of eight i16, against the token's four values twice; the
    /// pairs of lanes of one row are added at the end of the block.
    #[cfg(not(feature = "relaxed-simd"))]
    #[inline(always)]
    unsafe fn block_dots<const T: usize>(w: *const i8, a: [*const i16; T]) -> [v128; T] {
        let mut lo = [i32x4_splat(0); T];
        let mut hi = [i32x4_splat(0); T];
        for j in 0..BLOCK / 4 {
            let (w01, w23) = (i16x8_load_extend_i8x8(w.add(16 * j)), i16x8_load_extend_i8x8(w.add(16 * j + 8)));
            for t in 0..T {
                let x = v128_load64_splat(a[t].add(4 * j).cast());
                lo[t] = i32x4_add(lo[t], i32x4_dot_i16x8(w01, x));
                hi[t] = i32x4_add(hi[t], i32x4_dot_i16x8(w23, x));
            }
        }
        // lo: [r0 (0,1), r0 (2,3), r1 (0,1), r1 (2,3)] summed over the runs; hi for r2, r3.
        core::array::from_fn(|t| {
            i32x4_add(i32x4_shuffle::<0, 2, 4, 6>(lo[t], hi[t]), i32x4_shuffle::<1, 3, 5, 7>(lo[t], hi[t]))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tests::values;

    /// A q8_0 matrix with integers in [−127, 127] and varied scales.
    fn q8_matrix(out: usize, inp: usize, seed: u32) -> QMatrix {
        let v = values(out * inp + out * inp / BLOCK, seed);
        let q = v[..out * inp].iter().map(|x| ((x * 1e4) as i32 % 128) as i8).collect();
        let scale = v[out * inp..].iter().map(|x| f16::from_f32(x.abs() * 0.01 + 1e-4).to_f32()).collect();
        QMatrix::new(out, inp, q, scale)
    }

    #[test]
    fn small_case_by_hand() {
        // One block: x = [1, −0.5, 0, …] → amax 1, a = [63, −32 (−31.5 to even), 0, …], s_a = 1/63.
        // W row 0 = [2, 4, 0, …] · 0.5, row 1 = [−1, 0, …] · 0.25; b = [0.25, 0].
        let mut q = vec![0i8; 2 * BLOCK];
        q[0] = 2;
        q[1] = 4;
        q[BLOCK] = -1;
        let w = QMatrix::new(2, BLOCK, q, vec![0.5, 0.25]);
        let mut x = vec![0f32; BLOCK];
        x[0] = 1.0;
        x[1] = -0.5;
        let mut y = vec![0f32; 2];
        linear(&x, &w, &[0.25, 0.0], &mut y);
        // row 0: (2·63 + 4·(−32)) · 0.5/63 + 0.25 = −2 · 0.5/63 + 0.25; row 1: −63 · 0.25/63
        assert!((y[0] - (0.25 - 1.0 / 63.0)).abs() < 1e-6, "{y:?}");
        assert!((y[1] + 0.25).abs() < 1e-6, "{y:?}");
    }

    #[test]
    fn close_to_the_f32_product_of_the_same_weights() {
        for (m, inp, out) in [(1, 384, 384), (5, 384, 1152), (7, 1536, 384), (3, 64, 5)] {
            let w = q8_matrix(out, inp, 7);
            let x: Vec<f32> = values(m * inp, 9).iter().map(|v| v.clamp(-3.0, 3.0)).collect();
            let b = values(out, 11);
            let mut got = vec![0f32; m * out];
            linear(&x, &w, &b, &mut got);
            let mut want = vec![0f32; m * out];
            crate::kernel::linear(&x, &w.dequantize(), &b, &mut want);
            let (num, den) = got.iter().zip(&want).fold((0f64, 0f64), |(n, d), (g, w)| (n + f64::from(g - w).powi(2), d + f64::from(*w).powi(2)));
            // 7-bit activations: relative error ≈ 1/(2·63·√3) per value, far less summed.
            assert!((num / den).sqrt() < 0.02, "{m} × {inp} → {out}: relative error {}", (num / den).sqrt());
        }
    }

    /// The AVX2 kernel against the reference loop, bit for bit: widths of one and several
    /// blocks, output rows in whole groups of eight and not, one to nine tokens; activations
    /// at ±63 and a block of zeros; weights at −128 and 127 (the pair sums' extremes).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_equals_the_reference_bit_for_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: the reference loop runs, nothing to compare");
            return;
        }
        for (m, inp, out, seed) in [(1, 32, 8, 1), (2, 64, 13, 2), (5, 384, 1152, 3), (9, 1536, 384, 4), (3, 384, 7, 5)] {
            let mut w = q8_matrix(out, inp, seed);
            w.q[0] = -128;
            w.q[1] = 127;
            let w = QMatrix::new(out, inp, w.q, w.scale);
            let mut x: Vec<f32> = values(m * inp, seed + 10);
            x[..BLOCK].fill(0.0);
            if x.len() > 2 * BLOCK {
                x[BLOCK] = 1e3;
                x[BLOCK + 1] = -1e3;
            }
            let b = values(out, seed + 20);
            let rows = quantize_rows(&x, inp);
            let mut want = vec![0f32; m * out];
            linear_reference(&rows, &w, &b, &mut want, 0);
            let mut got = vec![f32::NAN; m * out];
            // SAFETY: AVX2 detected above; lengths fit.
            unsafe { avx2::linear(&rows, &w, &b, &mut got) };
            let diff = got.iter().zip(&want).position(|(g, w)| g.to_bits() != w.to_bits());
            assert_eq!(diff, None, "{m} × {inp} → {out}: first differing output {diff:?}");
            // And `linear` dispatches to it.
            let mut via = vec![0f32; m * out];
            linear(&x, &w, &b, &mut via);
            assert!(via.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()));
        }
    }

    #[test]
    fn ggml_blocks_read_exactly() {
        // Each format through candle's own quantize/dequantize: the integers × scales equal
        // candle's dequantized values bit for bit.
        use candle_core::quantized::QTensor;
        use candle_core::{Device, Tensor};
        let (out, inp) = (6, 64);
        let t = Tensor::from_vec(values(out * inp, 3), (out, inp), &Device::Cpu).unwrap();
        for dtype in [GgmlDType::Q8_0, GgmlDType::Q5_0, GgmlDType::Q4_0] {
            let qt = QTensor::quantize(&t, dtype).unwrap();
            let want = qt.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let bytes = qt.data().unwrap();
            let m = QMatrix::from_ggml(dtype, &bytes, out, inp).unwrap();
            let got = m.dequantize();
            assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "{dtype:?}");
        }
        assert!(QMatrix::from_ggml(GgmlDType::Q4_1, &[0; 20 * 2], 1, 64).is_none());
    }

    #[test]
    fn concat_stacks_rows() {
        let (a, b) = (q8_matrix(2, 64, 1), q8_matrix(3, 64, 2));
        let c = QMatrix::concat(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(c.out(), 5);
        assert_eq!(c.dequantize(), [a.dequantize(), b.dequantize()].concat());
    }
}
