//! Dense f32 kernels for the text encoder's forward pass over a few token rows.
//!
//! A query is 5–16 tokens, so every matrix product in the encoder is a thin one:
//! `y[m, out] = x[m, in] · Wᵀ + b` with `m` small and `W` (`out × in`, row-major, as the
//! checkpoint stores it) large. [`linear`] streams `W` once, a few rows at a time, and dots
//! each block of rows with every token row; a general GEMM would copy (pack) all of `W`
//! first, on every call, which costs more than the product itself at this size.
//!
//! The summation order is part of the contract, so the browser (wasm32 simd128) and the
//! companion (x86_64 SSE, or AVX where the CPU has it; plain arrays elsewhere) compute
//! bit-identical results: each dot
//! product keeps [`LANES`] partial sums, `s[i mod 8] += x[i] · w[i]` in increasing `i`
//! (the product rounded, then added: never a fused multiply–add), and then adds them as
//! `((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7))`, then the bias. The other kernels
//! ([`layer_norm`], [`gelu`], [`softmax`]) are elementwise or sequential sums with the same
//! operations on both sides; `exp` comes from the `libm` crate rather than the platform's
//! C library, which may round differently, and GELU's `erf` is a rational function.

/// Partial sums per dot product (see the module docs).
pub const LANES: usize = 8;

/// `y[t, o] = b[o] + Σᵢ x[t, i] · w[o, i]` for the `m = x.len() / in` rows of `x`, where
/// `w` is `out × in` row-major and `out = b.len()`.
///
/// # Panics
/// If the lengths do not fit together.
pub fn linear(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    let out = b.len();
    assert!(out > 0 && w.len().is_multiple_of(out), "weights of {} values do not make {out} rows", w.len());
    let inp = w.len() / out;
    assert!(inp > 0 && x.len().is_multiple_of(inp), "input of {} values is not rows of {inp}", x.len());
    let m = x.len() / inp;
    assert_eq!(y.len(), m * out, "output of {} values for {m} × {out}", y.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX.
        return unsafe { linear_avx(x, w, b, y) };
    }
    linear_with::<Lanes>(x, w, b, y);
}

/// [`linear`] with eight-lane AVX vectors: the same lanes and operations as SSE's pairs of
/// four, so the same bits, in half the instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn linear_avx(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    linear_with::<Avx>(x, w, b, y);
}

/// [`linear`] (lengths checked) on vectors of type `V`.
#[inline(always)]
fn linear_with<V: Vector8>(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    let out = b.len();
    let inp = w.len() / out;
    let m = x.len() / inp;
    // Two weight rows × two token rows per step: four accumulators, and every value loaded
    // is used twice. The weight rows stay in L1 while the token rows go by.
    let mut o = 0;
    while o < out {
        let rows = (out - o).min(2);
        let mut t = 0;
        while t < m {
            let toks = (m - t).min(2);
            let xr = |k: usize| &x[(t + k) * inp..(t + k + 1) * inp];
            let wr = |k: usize| &w[(o + k) * inp..(o + k + 1) * inp];
            match (rows, toks) {
                (2, 2) => store(y, out, t, o, b, dots::<V, 2, 2>([wr(0), wr(1)], [xr(0), xr(1)])),
                (2, 1) => store(y, out, t, o, b, dots::<V, 2, 1>([wr(0), wr(1)], [xr(0)])),
                (1, 2) => store(y, out, t, o, b, dots::<V, 1, 2>([wr(0)], [xr(0), xr(1)])),
                _ => store(y, out, t, o, b, dots::<V, 1, 1>([wr(0)], [xr(0)])),
            }
            t += toks;
        }
        o += rows;
    }
}

/// `Σᵢ a[i] · b[i]` in the module's summation order (as one output of [`linear`]).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot product of {} and {} values", a.len(), b.len());
    dots::<Lanes, 1, 1>([a], [b])[0][0]
}

fn store<const R: usize, const T: usize>(y: &mut [f32], out: usize, t: usize, o: usize, b: &[f32], d: [[f32; T]; R]) {
    for (r, row) in d.iter().enumerate() {
        for (k, v) in row.iter().enumerate() {
            y[(t + k) * out + o + r] = v + b[o + r];
        }
    }
}

/// The `R × T` dot products of weight rows `w` with token rows `x` (all of one length), in
/// the module's summation order.
#[inline(always)]
fn dots<V: Vector8, const R: usize, const T: usize>(w: [&[f32]; R], x: [&[f32]; T]) -> [[f32; T]; R] {
    let len = x[0].len();
    assert!(w.iter().chain(&x).all(|row| row.len() == len), "rows of different lengths");
    let body = len / LANES * LANES;
    let mut acc = [[V::ZERO; T]; R];
    let mut i = 0;
    while i < body {
        // SAFETY (the loads): every row holds `len ≥ body ≥ i + LANES` values.
        let xs: [V; T] = std::array::from_fn(|k| unsafe { V::load(x[k], i) });
        for r in 0..R {
            let wv = unsafe { V::load(w[r], i) };
            for k in 0..T {
                acc[r][k] = acc[r][k].add(wv.mul(xs[k]));
            }
        }
        i += LANES;
    }
    std::array::from_fn(|r| {
        std::array::from_fn(|k| {
            let mut s = acc[r][k].to_array();
            for j in body..len {
                s[j % LANES] += w[r][j] * x[k][j];
            }
            reduce(s)
        })
    })
}

/// Adds the partial sums in the order the module docs give.
#[inline(always)]
fn reduce(s: [f32; LANES]) -> f32 {
    ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
}

/// Eight f32 lanes, `[s0, …, s7]`: what [`dots`] runs on.
trait Vector8: Copy {
    const ZERO: Self;
    /// `s[i..i + 8]`.
    ///
    /// # Safety
    /// `i + 8 <= s.len()`.
    unsafe fn load(s: &[f32], i: usize) -> Self;
    fn mul(self, o: Self) -> Self;
    fn add(self, o: Self) -> Self;
    fn to_array(self) -> [f32; LANES];
}

impl Vector8 for Lanes {
    const ZERO: Self = Lanes::ZERO;
    #[inline(always)]
    unsafe fn load(s: &[f32], i: usize) -> Self {
        Lanes::load(s, i)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Lanes::mul(self, o)
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Lanes::add(self, o)
    }
    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        Lanes::to_array(self)
    }
}

/// Eight f32 lanes in one AVX vector, for [`linear_avx`] only (runtime-detected).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx(std::arch::x86_64::__m256);

// SAFETY (the intrinsics): these run only inside `linear_avx`, on a CPU with AVX.
#[cfg(target_arch = "x86_64")]
impl Vector8 for Avx {
    const ZERO: Self = unsafe { std::mem::transmute::<[f32; LANES], Self>([0.0; LANES]) };
    #[inline(always)]
    unsafe fn load(s: &[f32], i: usize) -> Self {
        debug_assert!(i + LANES <= s.len());
        Self(std::arch::x86_64::_mm256_loadu_ps(s.as_ptr().add(i)))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Self(unsafe { std::arch::x86_64::_mm256_mul_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Self(unsafe { std::arch::x86_64::_mm256_add_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        unsafe { std::mem::transmute::<Self, [f32; LANES]>(self) }
    }
}

/// Eight f32 lanes: two simd128 vectors in wasm.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy)]
struct Lanes(core::arch::wasm32::v128, core::arch::wasm32::v128);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Lanes {
    const ZERO: Self = Self(core::arch::wasm32::f32x4(0.0, 0.0, 0.0, 0.0), core::arch::wasm32::f32x4(0.0, 0.0, 0.0, 0.0));

    /// `s[i..i + 8]`.
    ///
    /// # Safety
    /// `i + 8 <= s.len()`.
    #[inline(always)]
    unsafe fn load(s: &[f32], i: usize) -> Self {
        use core::arch::wasm32::v128_load;
        debug_assert!(i + LANES <= s.len());
        // v128_load has no alignment requirement.
        let p = s.as_ptr().add(i);
        Self(v128_load(p.cast()), v128_load(p.add(4).cast()))
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        use core::arch::wasm32::f32x4_mul;
        Self(f32x4_mul(self.0, o.0), f32x4_mul(self.1, o.1))
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        use core::arch::wasm32::f32x4_add;
        Self(f32x4_add(self.0, o.0), f32x4_add(self.1, o.1))
    }

    #[inline(always)]
    fn splat(v: f32) -> Self {
        let s = core::arch::wasm32::f32x4_splat(v);
        Self(s, s)
    }

    #[inline(always)]
    fn div(self, o: Self) -> Self {
        use core::arch::wasm32::f32x4_div;
        Self(f32x4_div(self.0, o.0), f32x4_div(self.1, o.1))
    }

    /// `o < self ? o : self`, lane by lane.
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        use core::arch::wasm32::f32x4_pmin;
        Self(f32x4_pmin(self.0, o.0), f32x4_pmin(self.1, o.1))
    }

    /// `self < o ? o : self`, lane by lane.
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        use core::arch::wasm32::f32x4_pmax;
        Self(f32x4_pmax(self.0, o.0), f32x4_pmax(self.1, o.1))
    }

    /// Writes `s[i..i + 8]`.
    ///
    /// # Safety
    /// `i + 8 <= s.len()`.
    #[inline(always)]
    unsafe fn store(self, s: &mut [f32], i: usize) {
        use core::arch::wasm32::v128_store;
        debug_assert!(i + LANES <= s.len());
        let p = s.as_mut_ptr().add(i);
        v128_store(p.cast(), self.0);
        v128_store(p.add(4).cast(), self.1);
    }

    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        use core::arch::wasm32::f32x4_extract_lane as lane;
        [
            lane::<0>(self.0), lane::<1>(self.0), lane::<2>(self.0), lane::<3>(self.0),
            lane::<0>(self.1), lane::<1>(self.1), lane::<2>(self.1), lane::<3>(self.1),
        ]
    }
}

/// Eight f32 lanes: two SSE vectors (SSE is part of every x86_64 CPU).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Lanes(std::arch::x86_64::__m128, std::arch::x86_64::__m128);

#[cfg(target_arch = "x86_64")]
impl Lanes {
    // SAFETY (the intrinsics below): SSE is enabled on every x86_64 target.
    const ZERO: Self = unsafe { std::mem::transmute::<[f32; LANES], Self>([0.0; LANES]) };

    /// `s[i..i + 8]`.
    ///
    /// # Safety
    /// `i + 8 <= s.len()`.
    #[inline(always)]
    unsafe fn load(s: &[f32], i: usize) -> Self {
        use std::arch::x86_64::_mm_loadu_ps;
        debug_assert!(i + LANES <= s.len());
        let p = s.as_ptr().add(i);
        Self(_mm_loadu_ps(p), _mm_loadu_ps(p.add(4)))
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        use std::arch::x86_64::_mm_mul_ps;
        unsafe { Self(_mm_mul_ps(self.0, o.0), _mm_mul_ps(self.1, o.1)) }
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        use std::arch::x86_64::_mm_add_ps;
        unsafe { Self(_mm_add_ps(self.0, o.0), _mm_add_ps(self.1, o.1)) }
    }

    #[inline(always)]
    fn splat(v: f32) -> Self {
        let s = unsafe { std::arch::x86_64::_mm_set1_ps(v) };
        Self(s, s)
    }

    #[inline(always)]
    fn div(self, o: Self) -> Self {
        use std::arch::x86_64::_mm_div_ps;
        unsafe { Self(_mm_div_ps(self.0, o.0), _mm_div_ps(self.1, o.1)) }
    }

    /// `o < self ? o : self` for numbers (SSE's `min(o, self)`), lane by lane.
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        use std::arch::x86_64::_mm_min_ps;
        unsafe { Self(_mm_min_ps(o.0, self.0), _mm_min_ps(o.1, self.1)) }
    }

    /// `self < o ? o : self` for numbers (SSE's `max(o, self)`), lane by lane.
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        use std::arch::x86_64::_mm_max_ps;
        unsafe { Self(_mm_max_ps(o.0, self.0), _mm_max_ps(o.1, self.1)) }
    }

    /// Writes `s[i..i + 8]`.
    ///
    /// # Safety
    /// `i + 8 <= s.len()`.
    #[inline(always)]
    unsafe fn store(self, s: &mut [f32], i: usize) {
        use std::arch::x86_64::_mm_storeu_ps;
        debug_assert!(i + LANES <= s.len());
        let p = s.as_mut_ptr().add(i);
        _mm_storeu_ps(p, self.0);
        _mm_storeu_ps(p.add(4), self.1);
    }

    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        // SAFETY: two __m128 are eight f32.
        unsafe { std::mem::transmute::<Self, [f32; LANES]>(self) }
    }
}

/// Eight f32 lanes elsewhere: a plain array, which the compiler may vectorize lane for lane.
#[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64")))]
#[derive(Clone, Copy)]
struct Lanes([f32; LANES]);

#[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64")))]
impl Lanes {
    const ZERO: Self = Self([0.0; LANES]);

    /// `s[i..i + 8]`.
    ///
    /// # Safety
    /// None needed here; the other targets' loads need `i + 8 <= s.len()`.
    #[inline(always)]
    unsafe fn load(s: &[f32], i: usize) -> Self {
        Self(s[i..i + LANES].try_into().expect("8 values"))
    }

    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Self(std::array::from_fn(|l| self.0[l] * o.0[l]))
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Self(std::array::from_fn(|l| self.0[l] + o.0[l]))
    }

    #[inline(always)]
    fn splat(v: f32) -> Self {
        Self([v; LANES])
    }

    #[inline(always)]
    fn div(self, o: Self) -> Self {
        Self(std::array::from_fn(|l| self.0[l] / o.0[l]))
    }

    #[inline(always)]
    fn min(self, o: Self) -> Self {
        Self(std::array::from_fn(|l| if o.0[l] < self.0[l] { o.0[l] } else { self.0[l] }))
    }

    #[inline(always)]
    fn max(self, o: Self) -> Self {
        Self(std::array::from_fn(|l| if self.0[l] < o.0[l] { o.0[l] } else { self.0[l] }))
    }

    /// Writes `s[i..i + 8]`.
    ///
    /// # Safety
    /// None needed here; the other targets' stores need `i + 8 <= s.len()`.
    #[inline(always)]
    unsafe fn store(self, s: &mut [f32], i: usize) {
        s[i..i + LANES].copy_from_slice(&self.0);
    }

    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        self.0
    }
}

/// Layer normalisation of each row of `x` (rows of `gamma.len()`), in place:
/// `(x − mean) / sqrt(var + eps) · gamma + beta`, with the biased variance.
pub fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let h = gamma.len();
    assert!(h > 0 && beta.len() == h && x.len().is_multiple_of(h), "layer norm of {} values with {h} weights", x.len());
    for row in x.chunks_exact_mut(h) {
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// GELU (the exact, erf form that BERT uses), in place: `x · (1 + erf(x / √2)) / 2`.
pub fn gelu(x: &mut [f32]) {
    let body = x.len() / LANES * LANES;
    let mut i = 0;
    while i < body {
        // SAFETY: i + LANES <= body <= x.len().
        unsafe { gelu_of(Lanes::load(x, i)).store(x, i) };
        i += LANES;
    }
    for v in &mut x[body..] {
        *v = gelu_of(*v);
    }
}

/// Arithmetic that [`gelu_of`] needs, on one value or on eight lanes: the same operations
/// in the same order either way, so the loop's tail rounds as its body does.
trait Arith: Copy {
    fn splat(v: f32) -> Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    /// `self` limited to [lo, hi] (not NaN-aware: none occur here).
    fn clamp(self, lo: f32, hi: f32) -> Self;
}

impl Arith for f32 {
    fn splat(v: f32) -> Self {
        v
    }
    fn add(self, o: Self) -> Self {
        self + o
    }
    fn mul(self, o: Self) -> Self {
        self * o
    }
    fn div(self, o: Self) -> Self {
        self / o
    }
    fn clamp(self, lo: f32, hi: f32) -> Self {
        f32::clamp(self, lo, hi)
    }
}

impl Arith for Lanes {
    fn splat(v: f32) -> Self {
        Lanes::splat(v)
    }
    fn add(self, o: Self) -> Self {
        Lanes::add(self, o)
    }
    fn mul(self, o: Self) -> Self {
        Lanes::mul(self, o)
    }
    fn div(self, o: Self) -> Self {
        Lanes::div(self, o)
    }
    fn clamp(self, lo: f32, hi: f32) -> Self {
        self.min(Lanes::splat(hi)).max(Lanes::splat(lo))
    }
}

#[inline(always)]
fn gelu_of<A: Arith>(x: A) -> A {
    let half = A::splat(0.5);
    x.mul(half).mul(A::splat(1.0).add(erf(x.mul(A::splat(std::f32::consts::FRAC_1_SQRT_2)))))
}

/// The error function to within a few f32 ulps: the rational approximation that Eigen
/// (and XLA, TVM) use, `x · P(x²) / Q(x²)` on `x` clamped to [−4, 4], where erf is ±1 in
/// f32. Only multiplications, additions and one division, so it runs on eight lanes at once
/// and gives the same bits on every target.
#[allow(clippy::excessive_precision)] // the coefficients as published
#[inline(always)]
fn erf<A: Arith>(x: A) -> A {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x.mul(x);
    let poly = |coefficients: &[f32]| {
        let mut acc = A::splat(coefficients[0]);
        for &c in &coefficients[1..] {
            acc = acc.mul(x2).add(A::splat(c));
        }
        acc
    };
    let p = poly(&[
        -2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
        -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02,
    ]);
    let q = poly(&[-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03, -1.42647390514189e-02]);
    x.mul(p).div(q)
}

/// Softmax of one row, in place (max subtracted first).
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = libm::expf(*v - max);
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The summation order of the module docs, one multiply–add at a time.
    fn linear_reference(x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let inp = w.len() / b.len();
        let mut y = Vec::new();
        for xr in x.chunks_exact(inp) {
            for (wr, bias) in w.chunks_exact(inp).zip(b) {
                let mut s = [0f32; LANES];
                for (i, (a, c)) in xr.iter().zip(wr).enumerate() {
                    s[i % LANES] += a * c;
                }
                y.push(((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])) + bias);
            }
        }
        y
    }

    /// Values in [−1, 1) of many magnitudes, so a change of summation order shows in the bits.
    pub(crate) fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32 * 2.0 - 1.0) * [1.0, 1e-3, 37.0][s as usize % 3]
            })
            .collect()
    }

    #[test]
    fn linear_small_case() {
        // x = [[1, 2], [3, 4]], W = [[1, 0], [0, 1], [1, 1]], b = [0, 0, 0.5]
        let mut y = vec![0.0; 6];
        linear(&[1., 2., 3., 4.], &[1., 0., 0., 1., 1., 1.], &[0., 0., 0.5], &mut y);
        assert_eq!(y, [1., 2., 3.5, 3., 4., 7.5]);
    }

    #[test]
    fn linear_is_bit_identical_to_the_reference_order() {
        // Odd token and output counts (the 2 × 2 blocks' remainders) and an input width that
        // is not a multiple of 8 (the tail).
        for (m, inp, out) in [(1, 384, 384), (5, 384, 1152), (7, 1536, 384), (16, 384, 1536), (3, 13, 5), (2, 8, 1)] {
            let (x, w, b) = (values(m * inp, 1), values(out * inp, 2), values(out, 3));
            let want = linear_reference(&x, &w, &b);
            // `linear` (AVX where the CPU has it) and the baseline vectors (SSE on x86_64).
            let mut y = vec![0.0; m * out];
            linear(&x, &w, &b, &mut y);
            let mut y_base = vec![0.0; m * out];
            linear_with::<Lanes>(&x, &w, &b, &mut y_base);
            for got in [&y, &y_base] {
                let same = got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{m} × {inp} → {out}: first difference at {:?}", got.iter().zip(&want).position(|(a, b)| a != b));
            }
        }
    }

    #[test]
    fn reference_order_differs_from_a_plain_sum() {
        // Guards the test above: with these values the order shows in the result bits.
        let (x, w) = (values(384, 1), values(384, 2));
        let plain: f32 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
        assert_ne!(linear_reference(&x, &w, &[0.0])[0].to_bits(), plain.to_bits());
    }

    #[test]
    fn erf_is_close_to_libm() {
        let worst = (-6000..=6000)
            .map(|i| i as f32 / 1000.0)
            .map(|x| (erf::<f32>(x) - libm::erff(x)).abs())
            .fold(0f32, f32::max);
        // 3 ulps of 1.0 (2⁻²³ ≈ 1.19e-7 each)
        assert!(worst <= 3.0 * f32::EPSILON, "worst |erf − libm::erff| = {worst}");
    }

    #[test]
    fn gelu_values() {
        // GELU(0) = 0; GELU(1) = Φ(1) = 0.841345; GELU(−1) = −(1 − Φ(1)) = −0.158655
        let mut x = [0.0, 1.0, -1.0];
        gelu(&mut x);
        for (a, b) in x.iter().zip([0.0, 0.841_345, -0.158_655]) {
            assert!((a - b).abs() < 1e-6, "{x:?}");
        }
    }

    #[test]
    fn gelu_lanes_round_as_one_value_at_a_time() {
        // 19 values: two 8-lane steps and a 3-value tail, across the clamp at ±4·√2.
        let x: Vec<f32> = values(19, 4).iter().map(|v| v * 0.3).collect();
        let mut lanes = x.clone();
        gelu(&mut lanes);
        for (v, got) in x.iter().zip(&lanes) {
            assert_eq!(got.to_bits(), gelu_of(*v).to_bits(), "gelu({v})");
        }
        assert!(x.iter().any(|v| v.abs() > 6.0) && x.iter().any(|v| v.abs() < 1.0), "{x:?}");
    }

    #[test]
    fn layer_norm_and_softmax() {
        // [1, 2, 3]: mean 2, variance 2/3 → [−1.224745, 0, 1.224745]; then · 2 + 1
        let mut x = [1.0, 2.0, 3.0];
        layer_norm(&mut x, &[2.0; 3], &[1.0; 3], 0.0);
        for (a, b) in x.iter().zip([-1.449_49, 1.0, 3.449_49]) {
            assert!((a - b).abs() < 1e-5, "{x:?}");
        }
        // e^0, e^1, e^2 over their sum 11.107338
        let mut p = [0.0, 1.0, 2.0];
        softmax(&mut p);
        for (a, b) in p.iter().zip([0.090_031, 0.244_728, 0.665_241]) {
            assert!((a - b).abs() < 1e-6, "{p:?}");
        }
    }
}
