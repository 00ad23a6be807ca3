//! GPTQ rounding into ggml's 32-value block formats (`q4_0`, `q4_1`, `q5_0`, `q5_1`, `q8_0`).
//!
//! A block format stores, per 32 consecutive weights of a row, a scale `d` (and for `_1`
//! formats a minimum `m`) in f16 and one small integer per weight: `ŵ = d·q` or `d·q + m`.
//! candle's quantizer rounds each weight to its nearest level (round-to-nearest, RTN). Any
//! other choice of `d`, `m` and `q` is an equally valid block that candle dequantizes the
//! same way in the browser and natively, so the runtime does not change.
//!
//! GPTQ (Frantar et al. 2022, <https://arxiv.org/abs/2210.17323>) picks them to keep the
//! layer's *output* close rather than each weight: with `H = E[x xᵀ]` the second moment of
//! the layer's input over a calibration set ([`crate::calibrate`]), it rounds one input
//! column at a time and spreads the rounding error over the columns not rounded yet, along
//! the rows of the upper Cholesky factor `U` of `H⁻¹`:
//!
//! ```text
//! for i in 0..in:   q_i = round(w_i);   e = (w_i − ŵ_i) / U_ii;   w_j −= e · U_ij  (j > i)
//! ```
//!
//! Each block's `d` (`m`) is chosen when its first column comes up, from the weights as
//! updated so far; for the symmetric formats a few shrunken scales are tried and the one
//! with the least `Σ H_jj (w_j − ŵ_j)²` over the block is kept (as llama.cpp's importance
//! matrix does).

use half::f16;
use skycase_core::format::Quantization;

use crate::calibrate::InputStats;
use crate::error::{Error, Result};

const BLOCK: usize = 32;

/// Whether [`quantize_matrix`] can write `format`.
pub fn supports(format: Quantization) -> bool {
    Grid::of(format).is_some()
}

/// The levels of one block format.
#[derive(Clone, Copy)]
struct Grid {
    /// Lowest and highest integer level.
    qmin: i32,
    qmax: i32,
    /// `_1` formats: `ŵ = d·q + m` with `q ≥ 0`; else `ŵ = d·q`.
    with_min: bool,
    format: Quantization,
}

impl Grid {
    fn of(format: Quantization) -> Option<Self> {
        let (qmin, qmax, with_min) = match format {
            Quantization::Q4_0 => (-8, 7, false),
            Quantization::Q5_0 => (-16, 15, false),
            Quantization::Q8_0 => (-127, 127, false),
            Quantization::Q4_1 => (0, 15, true),
            Quantization::Q5_1 => (0, 31, true),
            _ => return None,
        };
        Some(Self { qmin, qmax, with_min, format })
    }

    /// Scale and minimum (both as stored, f16-rounded) for a block.
    fn params(&self, w: &[f32], weight: &[f32]) -> (f32, f32) {
        let round16 = |v: f32| f16::from_f32(v).to_f32();
        if self.with_min {
            let lo = w.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = w.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            return (round16((hi - lo) / self.qmax as f32), round16(lo));
        }
        // The value of largest magnitude, with its sign, lands on the extreme level that has
        // the most room (−8 in q4_0), as ggml does; then smaller scales are tried.
        let signed_max = w.iter().copied().fold(0f32, |a, v| if v.abs() > a.abs() { v } else { a });
        let base = if self.qmin == -self.qmax { signed_max.abs() / self.qmax as f32 } else { signed_max / self.qmin as f32 };
        let mut best = (round16(base), f32::INFINITY);
        for step in 0..=10 {
            let d = round16(base * (1.0 - 0.02 * step as f32));
            let err: f32 = w.iter().zip(weight).map(|(&v, &h)| (v - d * self.level(v, d, 0.0) as f32).powi(2) * h).sum();
            if err < best.1 {
                best = (d, err);
            }
        }
        (best.0, 0.0)
    }

    /// Nearest level of `v`.
    fn level(&self, v: f32, d: f32, m: f32) -> i32 {
        if d == 0.0 {
            return 0;
        }
        (((v - m) / d).round() as i32).clamp(self.qmin, self.qmax)
    }

    /// ggml's bytes of one block.
    fn pack(&self, d: f32, m: f32, q: &[i32], out: &mut Vec<u8>) {
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        if self.with_min {
            out.extend_from_slice(&f16::from_f32(m).to_le_bytes());
        }
        match self.format {
            Quantization::Q8_0 => out.extend(q.iter().map(|&v| v as i8 as u8)),
            _ => {
                // Stored unsigned: level − qmin; the low nibbles of values j and j + 16 share
                // byte j; `_5` formats keep each value's fifth bit in a little-endian u32 `qh`.
                let u: Vec<u32> = q.iter().map(|&v| (v - self.qmin) as u32).collect();
                if matches!(self.format, Quantization::Q5_0 | Quantization::Q5_1) {
                    let qh = u.iter().enumerate().fold(0u32, |acc, (j, &v)| acc | ((v >> 4) & 1) << j);
                    out.extend_from_slice(&qh.to_le_bytes());
                }
                out.extend((0..BLOCK / 2).map(|j| ((u[j] & 0x0F) | (u[j + BLOCK / 2] & 0x0F) << 4) as u8));
            }
        }
    }
}

/// Quantizes the `(rows, cols)` row-major matrix `w` (used as `x · wᵀ`) into `format`'s
/// blocks, minimising the output error over the inputs described by `stats`. Returns ggml's
/// bytes, row after row.
pub fn quantize_matrix(w: &[f32], rows: usize, cols: usize, stats: &InputStats, format: Quantization) -> Result<Vec<u8>> {
    let grid = Grid::of(format)
        .ok_or_else(|| Error::Usage(format!("GPTQ writes q4_0, q4_1, q5_0, q5_1 and q8_0, not {}", format.name())))?;
    if stats.dim != cols || w.len() != rows * cols || !cols.is_multiple_of(BLOCK) {
        return Err(Error::Usage(format!(
            "GPTQ: a {rows} × {cols} matrix with input statistics of width {} (rows must be whole blocks of {BLOCK})",
            stats.dim
        )));
    }
    let mut h = stats.second_moment.clone();
    // Channels that never fire carry no information: their weights do not matter.
    let dead: Vec<bool> = (0..cols).map(|j| h[j * cols + j] <= 0.0).collect();
    for j in (0..cols).filter(|&j| dead[j]) {
        h[j * cols + j] = 1.0;
    }
    let hdiag: Vec<f32> = (0..cols).map(|j| h[j * cols + j] as f32).collect();
    let u = inverse_upper_cholesky(h, cols)?;

    let mut out = Vec::with_capacity(rows * format.row_bytes(cols)?);
    let mut row = vec![0f32; cols];
    let mut q = [0i32; BLOCK];
    for r in 0..rows {
        row.copy_from_slice(&w[r * cols..(r + 1) * cols]);
        for (j, v) in row.iter_mut().enumerate() {
            if dead[j] {
                *v = 0.0;
            }
        }
        for g in (0..cols).step_by(BLOCK) {
            let (d, m) = grid.params(&row[g..g + BLOCK], &hdiag[g..g + BLOCK]);
            for i in g..g + BLOCK {
                let level = grid.level(row[i], d, m);
                q[i - g] = level;
                let err = (row[i] - (d * level as f32 + m)) / u[i * cols + i];
                row[i + 1..].iter_mut().zip(&u[i * cols + i + 1..(i + 1) * cols]).for_each(|(v, uij)| *v -= err * uij);
            }
            grid.pack(d, m, &q, &mut out);
        }
    }
    Ok(out)
}

/// The upper Cholesky factor `U` of `H⁻¹` (`H⁻¹ = Uᵀ U`), as f32, with `H` symmetric
/// positive semi-definite: a small multiple of its mean diagonal is added first (GPTQ's
/// dampening, 1%), and raised until the factorisation succeeds.
fn inverse_upper_cholesky(h: Vec<f64>, n: usize) -> Result<Vec<f32>> {
    let mean_diag = (0..n).map(|j| h[j * n + j]).sum::<f64>() / n as f64;
    let mut damp = 0.01;
    loop {
        let mut a = h.clone();
        (0..n).for_each(|j| a[j * n + j] += damp * mean_diag);
        if let Some(u) = try_inverse_upper_cholesky(a, n) {
            return Ok(u);
        }
        damp *= 10.0;
        if damp > 10.0 {
            return Err(Error::Usage("GPTQ: the input statistics are not positive definite".into()));
        }
    }
}

fn try_inverse_upper_cholesky(mut a: Vec<f64>, n: usize) -> Option<Vec<f32>> {
    cholesky_in_place(&mut a, n)?;
    // L⁻¹ by forward substitution, row by row (lower triangular).
    let mut inv = vec![0f64; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0 / a[i * n + i];
        for j in 0..i {
            let s: f64 = (j..i).map(|k| a[i * n + k] * inv[k * n + j]).sum();
            inv[i * n + j] = -s / a[i * n + i];
        }
    }
    // H⁻¹ = L⁻ᵀ L⁻¹: H⁻¹_ij = Σ_k L⁻¹_ki L⁻¹_kj (lower half, then mirrored).
    let mut hinv = vec![0f64; n * n];
    for k in 0..n {
        let lrow = &inv[k * n..k * n + k + 1];
        for i in 0..=k {
            let li = lrow[i];
            hinv[i * n..i * n + i + 1].iter_mut().zip(&lrow[..=i]).for_each(|(s, lj)| *s += li * lj);
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            hinv[i * n + j] = hinv[j * n + i];
        }
    }
    cholesky_in_place(&mut hinv, n)?;
    // U = Lᵀ of H⁻¹'s lower factor.
    let mut u = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..=i {
            u[j * n + i] = hinv[i * n + j] as f32;
        }
    }
    Some(u)
}

/// Lower Cholesky factor of a symmetric matrix, in the lower triangle of `a`; `None` if it
/// is not positive definite.
fn cholesky_in_place(a: &mut [f64], n: usize) -> Option<()> {
    for j in 0..n {
        let (head, tail) = a.split_at_mut(j * n);
        let rowj = &mut tail[..n];
        for i in 0..j {
            let rowi = &head[i * n..i * n + i];
            let s: f64 = rowi.iter().zip(&rowj[..i]).map(|(x, y)| x * y).sum();
            rowj[i] = (rowj[i] - s) / head[i * n + i];
        }
        let d = rowj[j] - rowj[..j].iter().map(|x| x * x).sum::<f64>();
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        rowj[j] = d.sqrt();
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::ggml_file::qtensor_from_ggml;
    use candle_core::quantized::QTensor;
    use candle_core::{Device, Tensor};

    /// A deterministic pseudo-random sequence in [-1, 1).
    fn noise(seed: u32, n: usize) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn identity_stats(n: usize) -> InputStats {
        let mut m = vec![0.0; n * n];
        (0..n).for_each(|j| m[j * n + j] = 1.0);
        InputStats { dim: n, tokens: 1, sequences: 1, second_moment: m }
    }

    fn dequantize(bytes: &[u8], format: Quantization, rows: usize, cols: usize) -> Vec<f32> {
        let q = qtensor_from_ggml(format.ggml(), bytes, vec![rows, cols], &Device::Cpu).unwrap();
        q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap()
    }

    /// With `H = I` there is nothing to spread the error along: each weight goes to its
    /// nearest level, as candle's quantizer does, and candle reads the blocks back.
    #[test]
    fn identity_statistics_round_to_nearest_in_candles_layout() {
        let (rows, cols) = (4, 64);
        let w = noise(7, rows * cols);
        for format in [Quantization::Q4_0, Quantization::Q4_1, Quantization::Q5_0, Quantization::Q5_1, Quantization::Q8_0] {
            let bytes = quantize_matrix(&w, rows, cols, &identity_stats(cols), format).unwrap();
            assert_eq!(bytes.len(), rows * format.row_bytes(cols).unwrap(), "{}", format.name());
            let ours = dequantize(&bytes, format, rows, cols);
            let t = Tensor::from_vec(w.clone(), (rows, cols), &Device::Cpu).unwrap();
            let theirs: Vec<f32> = QTensor::quantize(&t, format.ggml()).unwrap().dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let err = |d: &[f32]| w.iter().zip(d).map(|(a, b)| (a - b).powi(2)).sum::<f32>();
            // Same grid, and the scale search can only lower the error.
            assert!(err(&ours) <= err(&theirs) * 1.0001, "{}: {} vs candle {}", format.name(), err(&ours), err(&theirs));
            assert!(w.iter().zip(&ours).all(|(a, b)| (a - b).abs() <= 0.25), "{}", format.name());
        }
    }

    /// Correlated inputs: GPTQ's output error is well below round-to-nearest's.
    #[test]
    fn gptq_lowers_the_output_error_on_correlated_inputs() {
        let (rows, cols, tokens) = (8, 64, 512);
        let w = noise(3, rows * cols);
        // x = A z with a random mixing A: strongly correlated channels.
        let a = noise(5, cols * cols);
        let z = noise(11, tokens * cols);
        let x: Vec<f32> = (0..tokens)
            .flat_map(|t| {
                let (a, z) = (&a, &z);
                (0..cols).map(move |i| (0..cols).map(|k| a[i * cols + k] * z[t * cols + k]).sum::<f32>())
            })
            .collect();
        let mut m = vec![0f64; cols * cols];
        for t in 0..tokens {
            for i in 0..cols {
                for j in 0..cols {
                    m[i * cols + j] += (x[t * cols + i] * x[t * cols + j]) as f64 / tokens as f64;
                }
            }
        }
        let stats = InputStats { dim: cols, tokens, sequences: 1, second_moment: m };
        let out_err = |d: &[f32]| -> f32 {
            (0..tokens)
                .map(|t| {
                    (0..rows)
                        .map(|r| (0..cols).map(|j| (w[r * cols + j] - d[r * cols + j]) * x[t * cols + j]).sum::<f32>().powi(2))
                        .sum::<f32>()
                })
                .sum()
        };
        let gptq = dequantize(&quantize_matrix(&w, rows, cols, &stats, Quantization::Q4_0).unwrap(), Quantization::Q4_0, rows, cols);
        let rtn = dequantize(&quantize_matrix(&w, rows, cols, &identity_stats(cols), Quantization::Q4_0).unwrap(), Quantization::Q4_0, rows, cols);
        assert!(out_err(&gptq) < 0.7 * out_err(&rtn), "gptq {} vs rtn {}", out_err(&gptq), out_err(&rtn));
    }

    #[test]
    fn inverse_factor_reproduces_the_inverse() {
        // H = [[4, 2], [2, 3]]: H⁻¹ = [[3, −2], [−2, 4]] / 8.
        let u = try_inverse_upper_cholesky(vec![4.0, 2.0, 2.0, 3.0], 2).unwrap();
        let hinv = [u[0] * u[0], u[0] * u[1], u[1] * u[1] + u[3] * u[3]];
        let want = [3.0 / 8.0, -2.0 / 8.0, 4.0 / 8.0];
        assert!(hinv.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{hinv:?}");
        assert_eq!(u[2], 0.0);
    }
}
