//! Product quantization for a compact first pass over many leaves (issue 11): the codes
//! area of a `skypart-3` leaf ([`super::areas`]) holds residual codes of this quantizer.
//!
//! A vector of `dim` values is cut into `m` sub-vectors of `dim / m` values; each sub-vector
//! is replaced by the index (one byte) of its nearest of `k ≤ 256` codewords, trained by
//! k-means on a sample of that sub-space. A row then costs `m` bytes instead of `dim` int8
//! values and a scale. A query scores a code by asymmetric distance computation:
//!
//! ```text
//! table[j·k + c] = Σ_{i < dim/m} q[j·dim/m + i] · codeword[j][c][i]      (m·k products, once)
//! score(code)    = Σ_{j < m} table[j·k + code[j]]                          (m lookups a row)
//! ```
//!
//! with `q` the query as the exact ranking sees it (its i16 values times its scale), so the
//! approximate score estimates the exact int8 score of [`crate::rank`]. The sums run in
//! index order in f32, the same on every platform. A first pass ranks rows by this score and
//! keeps the best candidates; the answer is then the exact int8 score of those candidates
//! only ([`rerank`]), so it is exact arithmetic over an approximate candidate set.
//!
//! ```
//! use skycase_core::partition::pq::Pq;
//! let sample: Vec<Vec<f32>> = (0..64).map(|i| vec![(i % 8) as f32, (i / 8) as f32, 1.0, -1.0]).collect();
//! // 64 distinct sub-vectors, 64 codewords: every code is exact.
//! let pq = Pq::train(&sample, 2, 64, 10, 1).unwrap();
//! let code = pq.encode(&[3.0, 5.0, 1.0, -1.0]);
//! let table = pq.table(&[1.0, 0.0, 0.0, 0.0]);
//! assert!((pq.score(&table, &code) - 3.0).abs() < 1e-4);
//! ```

use crate::error::{Error, Result};
use crate::partition::build::Lcg;
use crate::rank::QueryVector;

/// A trained product quantizer: `m` codebooks of `k` codewords of `dim / m` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Pq {
    dim: usize,
    m: usize,
    k: usize,
    /// `m × k × (dim / m)` values, codebook by codebook, codeword by codeword.
    codewords: Vec<f32>,
}

fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(codewords: &[f32], sub: usize, v: &[f32]) -> usize {
    let mut best = (0, f32::INFINITY);
    for (c, w) in codewords.chunks_exact(sub).enumerate() {
        let d = dist2(w, v);
        if d < best.1 {
            best = (c, d);
        }
    }
    best.0
}

impl Pq {
    /// Trains `m` codebooks of up to `k` codewords (k-means, `iters` rounds, seeded starts)
    /// on `sample`. `m` must divide the dimension; `k` is at most 256 (one byte a code).
    pub fn train(sample: &[Vec<f32>], m: usize, k: usize, iters: usize, seed: u64) -> Result<Self> {
        let dim = sample.first().map(Vec::len).ok_or_else(|| Error::Usage("product quantization needs a sample of at least one vector".into()))?;
        if m == 0 || dim % m != 0 {
            return Err(Error::Usage(format!("{m} sub-spaces do not divide {dim} dimensions")));
        }
        if !(1..=256).contains(&k) {
            return Err(Error::Usage(format!("{k} codewords: a code is one byte, so 1 to 256")));
        }
        if let Some(bad) = sample.iter().position(|v| v.len() != dim) {
            return Err(Error::Usage(format!("sample vector {bad} has {} values, expected {dim}", sample[bad].len())));
        }
        let sub = dim / m;
        let k = k.min(sample.len());
        let mut rng = Lcg::new(seed);
        let mut codewords = Vec::with_capacity(m * k * sub);
        for j in 0..m {
            let part: Vec<&[f32]> = sample.iter().map(|v| &v[j * sub..(j + 1) * sub]).collect();
            let mut order: Vec<usize> = (0..part.len()).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            let mut book: Vec<f32> = order[..k].iter().flat_map(|&i| part[i].iter().copied()).collect();
            for _ in 0..iters {
                let mut sums = vec![0f64; k * sub];
                let mut counts = vec![0usize; k];
                for v in &part {
                    let c = nearest(&book, sub, v);
                    counts[c] += 1;
                    sums[c * sub..(c + 1) * sub].iter_mut().zip(v.iter()).for_each(|(s, &x)| *s += x as f64);
                }
                for c in 0..k {
                    if counts[c] > 0 {
                        for i in 0..sub {
                            book[c * sub + i] = (sums[c * sub + i] / counts[c] as f64) as f32;
                        }
                    }
                }
            }
            codewords.extend(book);
        }
        Ok(Self { dim, m, k, codewords })
    }

    /// A quantizer from its codewords (`m × k × dim / m` values, codebook by codebook).
    pub fn from_codewords(dim: usize, m: usize, k: usize, codewords: Vec<f32>) -> Result<Self> {
        if m == 0 || dim % m != 0 || !(1..=256).contains(&k) || codewords.len() != k * dim {
            return Err(Error::Usage(format!("{} codeword values do not make {m} codebooks of {k} codewords of {dim} / {m} values", codewords.len())));
        }
        Ok(Self { dim, m, k, codewords })
    }

    /// The codewords, codebook by codebook, codeword by codeword.
    pub fn codewords(&self) -> &[f32] {
        &self.codewords
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Sub-spaces: the bytes of one code.
    pub fn m(&self) -> usize {
        self.m
    }
    /// Codewords per sub-space.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The code of `v` (`m` bytes): its nearest codeword in each sub-space.
    pub fn encode(&self, v: &[f32]) -> Vec<u8> {
        let sub = self.dim / self.m;
        (0..self.m).map(|j| nearest(&self.codewords[j * self.k * sub..(j + 1) * self.k * sub], sub, &v[j * sub..(j + 1) * sub]) as u8).collect()
    }

    /// The vector a code stands for.
    pub fn decode(&self, code: &[u8]) -> Vec<f32> {
        let sub = self.dim / self.m;
        code.iter().enumerate().flat_map(|(j, &c)| self.codewords[(j * self.k + c as usize) * sub..][..sub].iter().copied()).collect()
    }

    /// The lookup table of query `q` (`m × k` inner products, see the module header).
    pub fn table(&self, q: &[f32]) -> Vec<f32> {
        let sub = self.dim / self.m;
        let mut out = Vec::with_capacity(self.m * self.k);
        for j in 0..self.m {
            let qj = &q[j * sub..(j + 1) * sub];
            for w in self.codewords[j * self.k * sub..(j + 1) * self.k * sub].chunks_exact(sub) {
                out.push(qj.iter().zip(w).map(|(a, b)| a * b).sum());
            }
        }
        out
    }

    /// The table of a quantized query, from the values the exact ranking multiplies
    /// (its i16 values times its scale).
    pub fn query_table(&self, q: &QueryVector) -> Vec<f32> {
        let v: Vec<f32> = q.quantized().iter().map(|&x| x as f32 * q.scale()).collect();
        self.table(&v)
    }

    /// The approximate score of `code` for the query of `table`.
    pub fn score(&self, table: &[f32], code: &[u8]) -> f32 {
        code.iter().enumerate().map(|(j, &c)| table[j * self.k + c as usize]).sum()
    }
}

/// The exact re-rank of a first pass: of `approx` (candidate, approximate score), the
/// `keep` best (ties to the lower candidate), each scored exactly by `exact`, best first
/// (ties to the lower candidate); candidates `exact` cannot score (`None`: a zero row) are
/// dropped.
pub fn rerank<T: Copy + Ord>(mut approx: Vec<(T, f32)>, keep: usize, mut exact: impl FnMut(T) -> Option<f32>) -> Vec<(T, f32)> {
    approx.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    approx.truncate(keep);
    let mut out: Vec<(T, f32)> = approx.into_iter().filter_map(|(c, _)| exact(c).map(|s| (c, s))).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}
