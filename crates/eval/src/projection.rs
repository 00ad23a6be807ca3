//! 2-D maps of embedding vectors for Figure III: [`pca`] (the two directions of largest
//! variance) and [`tsne`] (exact t-SNE: a neighbour-preserving map).
//!
//! Contracts: every input row has the same length (else [`Error::Usage`]); the output has one
//! point per row, in row order; both are deterministic (PCA starts its power iterations from a
//! fixed vector, t-SNE from a seeded layout). t-SNE is exact (O(n²) per iteration), meant
//! for up to a few thousand points.

use crate::error::{Error, Result};

fn check(rows: &[Vec<f32>]) -> Result<usize> {
    let d = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != d) {
        return Err(Error::Usage("rows of different lengths given to a 2-D projection".into()));
    }
    Ok(d)
}

/// Principal-component map: rows centred, projected on the two leading eigenvectors of their
/// covariance (power iteration with deflation). Returns the points and the share of the total
/// variance each axis explains.
pub fn pca(rows: &[Vec<f32>]) -> Result<(Vec<[f32; 2]>, [f64; 2])> {
    let d = check(rows)?;
    let n = rows.len();
    if n == 0 || d == 0 {
        return Ok((Vec::new(), [0.0; 2]));
    }
    let mut mean = vec![0f64; d];
    rows.iter().for_each(|r| r.iter().zip(&mut mean).for_each(|(x, m)| *m += *x as f64 / n as f64));
    let x: Vec<Vec<f64>> = rows.iter().map(|r| r.iter().zip(&mean).map(|(v, m)| *v as f64 - m).collect()).collect();
    let total: f64 = x.iter().flatten().map(|v| v * v).sum::<f64>() / n as f64;
    // C·v = Xᵀ(X v) / n without forming C.
    let cov = |v: &[f64]| -> Vec<f64> {
        let mut out = vec![0f64; d];
        for row in &x {
            let s: f64 = row.iter().zip(v).map(|(a, b)| a * b).sum();
            row.iter().zip(&mut out).for_each(|(a, o)| *o += s * a / n as f64);
        }
        out
    };
    let mut comps: Vec<Vec<f64>> = Vec::new();
    let mut vars = [0f64; 2];
    for (c, var) in vars.iter_mut().enumerate() {
        let mut v: Vec<f64> = (0..d).map(|i| 1.0 + ((i * 7 + c * 3) % 11) as f64 / 11.0).collect();
        let mut lambda = 0.0;
        for _ in 0..300 {
            let mut w = cov(&v);
            for p in &comps {
                let s: f64 = w.iter().zip(p).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(p).for_each(|(a, b)| *a -= s * b);
            }
            let norm = w.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm < 1e-30 {
                break;
            }
            w.iter_mut().for_each(|a| *a /= norm);
            let done = w.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum::<f64>() < 1e-10;
            v = w;
            lambda = norm;
            if done {
                break;
            }
        }
        *var = if total > 0.0 { lambda / total } else { 0.0 };
        comps.push(v);
    }
    let pts = x
        .iter()
        .map(|row| {
            let p = |c: &Vec<f64>| row.iter().zip(c).map(|(a, b)| a * b).sum::<f64>() as f32;
            [p(&comps[0]), p(&comps[1])]
        })
        .collect();
    Ok((pts, vars))
}

/// t-SNE settings.
#[derive(Debug, Clone, Copy)]
pub struct TsneOptions {
    /// Effective number of neighbours each point keeps (5–50 usual).
    pub perplexity: f64,
    /// Gradient steps.
    pub iterations: usize,
    /// Seed of the initial layout.
    pub seed: u64,
}

impl Default for TsneOptions {
    fn default() -> Self {
        Self { perplexity: 30.0, iterations: 600, seed: 7 }
    }
}

/// Exact t-SNE (van der Maaten & Hinton 2008) on squared Euclidean distances: Gaussian
/// affinities calibrated per point to `perplexity` by bisection, symmetrised; Student-t
/// affinities in 2-D; gradient descent with momentum (0.5, then 0.8), early exaggeration × 12
/// for the first quarter of the steps, per-coordinate gains.
pub fn tsne(rows: &[Vec<f32>], opts: TsneOptions) -> Result<Vec<[f32; 2]>> {
    check(rows)?;
    let n = rows.len();
    if n < 3 {
        return Ok(rows.iter().enumerate().map(|(i, _)| [i as f32, 0.0]).collect());
    }
    let perp = opts.perplexity.min((n - 1) as f64 / 3.0).max(2.0);
    let mut dist = vec![0f64; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let d: f64 = rows[i].iter().zip(&rows[j]).map(|(a, b)| ((a - b) as f64).powi(2)).sum();
            dist[i * n + j] = d;
            dist[j * n + i] = d;
        }
    }
    // Conditional affinities, bisection on the precision β for entropy log(perp).
    let target = perp.ln();
    let mut p = vec![0f64; n * n];
    for i in 0..n {
        let (mut lo, mut hi, mut beta) = (0f64, f64::INFINITY, 1.0f64);
        let row = &dist[i * n..(i + 1) * n];
        let scale = row.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, d)| *d).fold(f64::INFINITY, f64::min);
        for _ in 0..64 {
            let mut sum = 0.0;
            let mut h = 0.0;
            for j in (0..n).filter(|&j| j != i) {
                let w = (-(row[j] - scale) * beta).exp();
                sum += w;
                h += w * (row[j] - scale);
            }
            let entropy = sum.ln() + beta * h / sum;
            if (entropy - target).abs() < 1e-5 {
                break;
            }
            if entropy > target {
                lo = beta;
                beta = if hi.is_finite() { (beta + hi) / 2.0 } else { beta * 2.0 };
            } else {
                hi = beta;
                beta = (beta + lo) / 2.0;
            }
        }
        let mut sum = 0.0;
        for j in (0..n).filter(|&j| j != i) {
            let w = (-(row[j] - scale) * beta).exp();
            p[i * n + j] = w;
            sum += w;
        }
        p[i * n..(i + 1) * n].iter_mut().for_each(|v| *v /= sum.max(1e-300));
    }
    let mut pj = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..n {
            pj[i * n + j] = ((p[i * n + j] + p[j * n + i]) / (2.0 * n as f64)).max(1e-12);
        }
    }
    drop(p);
    // Seeded small initial layout (xorshift → Box–Muller).
    let mut state = opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut y: Vec<[f64; 2]> = (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            let r = (-2.0 * u.ln()).sqrt() * 1e-2;
            [r * (std::f64::consts::TAU * v).cos(), r * (std::f64::consts::TAU * v).sin()]
        })
        .collect();
    let mut vel = vec![[0f64; 2]; n];
    let mut gains = vec![[1f64; 2]; n];
    let lr = (n as f64 / 12.0).max(50.0);
    let exaggerate_until = opts.iterations / 4;
    let mut q = vec![0f64; n * n];
    for it in 0..opts.iterations {
        let ex = if it < exaggerate_until { 12.0 } else { 1.0 };
        let mut qsum = 0.0;
        for i in 0..n {
            for j in i + 1..n {
                let d = (y[i][0] - y[j][0]).powi(2) + (y[i][1] - y[j][1]).powi(2);
                let w = 1.0 / (1.0 + d);
                q[i * n + j] = w;
                q[j * n + i] = w;
                qsum += 2.0 * w;
            }
        }
        let momentum = if it < exaggerate_until { 0.5 } else { 0.8 };
        for i in 0..n {
            let mut g = [0f64; 2];
            for j in (0..n).filter(|&j| j != i) {
                let w = q[i * n + j];
                let m = (ex * pj[i * n + j] - w / qsum) * w;
                g[0] += 4.0 * m * (y[i][0] - y[j][0]);
                g[1] += 4.0 * m * (y[i][1] - y[j][1]);
            }
            for c in 0..2 {
                gains[i][c] = if (g[c] > 0.0) != (vel[i][c] > 0.0) { gains[i][c] + 0.2 } else { (gains[i][c] * 0.8).max(0.01) };
                vel[i][c] = momentum * vel[i][c] - lr * gains[i][c] * g[c];
            }
        }
        for i in 0..n {
            y[i][0] += vel[i][0];
            y[i][1] += vel[i][1];
        }
        let (mx, my) = y.iter().fold((0.0, 0.0), |(a, b), p| (a + p[0] / n as f64, b + p[1] / n as f64));
        y.iter_mut().for_each(|p| {
            p[0] -= mx;
            p[1] -= my;
        });
    }
    Ok(y.into_iter().map(|p| [p[0] as f32, p[1] as f32]).collect())
}

/// Share of each point's `k` nearest neighbours (Euclidean, in `high`) that are also among its
/// `k` nearest in `low`: how well a 2-D map keeps neighbourhoods (1 = all kept).
pub fn neighbour_overlap(high: &[Vec<f32>], low: &[[f32; 2]], k: usize) -> f64 {
    let n = high.len().min(low.len());
    if n <= k || k == 0 {
        return f64::NAN;
    }
    let knn = |d: &dyn Fn(usize, usize) -> f64, i: usize| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        idx.sort_by(|&a, &b| d(i, a).total_cmp(&d(i, b)));
        idx.truncate(k);
        idx
    };
    let dh = |i: usize, j: usize| high[i].iter().zip(&high[j]).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>();
    let dl = |i: usize, j: usize| ((low[i][0] - low[j][0]) as f64).powi(2) + ((low[i][1] - low[j][1]) as f64).powi(2);
    let kept: usize = (0..n)
        .map(|i| {
            let a = knn(&dh, i);
            let b = knn(&dl, i);
            a.iter().filter(|x| b.contains(x)).count()
        })
        .sum();
    kept as f64 / (n * k) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight clusters in 20-D, far apart, 15 points each.
    fn clusters() -> Vec<Vec<f32>> {
        (0..45)
            .map(|i| {
                let c = i / 15;
                (0..20).map(|d| if d == c * 5 { 10.0 } else { 0.0 } + ((i * 31 + d * 17) % 13) as f32 * 0.02).collect()
            })
            .collect()
    }

    #[test]
    fn pca_finds_the_line_the_points_lie_on() {
        // Points on the line t·(1, 2, 2)/3 plus tiny noise along (2, -1, 0)/√5.
        let rows: Vec<Vec<f32>> = (0..30)
            .map(|i| {
                let t = i as f32 - 15.0;
                let e = if i % 2 == 0 { 0.01 } else { -0.01 };
                vec![t / 3.0 + 2.0 * e, 2.0 * t / 3.0 - e, 2.0 * t / 3.0]
            })
            .collect();
        let (pts, var) = pca(&rows).unwrap();
        assert!(var[0] > 0.999, "{var:?}");
        // The first axis is t (up to sign), the second is tiny.
        let sign = pts[29][0].signum();
        for (i, p) in pts.iter().enumerate() {
            assert!((p[0] * sign - (i as f32 - 15.0 + 0.5)).abs() < 0.6, "{i}: {p:?}");
            assert!(p[1].abs() < 0.05);
        }
    }

    #[test]
    fn tsne_keeps_clusters_apart_and_neighbours_together() {
        let rows = clusters();
        let y = tsne(&rows, TsneOptions { perplexity: 8.0, iterations: 400, seed: 3 }).unwrap();
        let centre = |c: usize| {
            let pts = &y[c * 15..(c + 1) * 15];
            [pts.iter().map(|p| p[0]).sum::<f32>() / 15.0, pts.iter().map(|p| p[1]).sum::<f32>() / 15.0]
        };
        let spread = |c: usize| {
            let m = centre(c);
            y[c * 15..(c + 1) * 15].iter().map(|p| ((p[0] - m[0]).powi(2) + (p[1] - m[1]).powi(2)).sqrt()).fold(0f32, f32::max)
        };
        for a in 0..3 {
            for b in a + 1..3 {
                let (ca, cb) = (centre(a), centre(b));
                let gap = ((ca[0] - cb[0]).powi(2) + (ca[1] - cb[1]).powi(2)).sqrt();
                assert!(gap > 2.0 * spread(a).max(spread(b)), "clusters {a}, {b}: gap {gap}, spreads {} {}", spread(a), spread(b));
            }
        }
        // Every point's 5 nearest neighbours are in its own cluster, in 20-D and in the map.
        assert!(neighbour_overlap(&rows, &y, 5) > 0.3);
        let same = (0..45).all(|i| {
            let mut idx: Vec<usize> = (0..45).filter(|&j| j != i).collect();
            idx.sort_by(|&a, &b| {
                let d = |j: usize| (y[i][0] - y[j][0]).powi(2) + (y[i][1] - y[j][1]).powi(2);
                d(a).total_cmp(&d(b))
            });
            idx[..5].iter().all(|&j| j / 15 == i / 15)
        });
        assert!(same);
        // Deterministic.
        assert_eq!(y, tsne(&rows, TsneOptions { perplexity: 8.0, iterations: 400, seed: 3 }).unwrap());
    }

    #[test]
    fn ragged_rows_are_refused() {
        assert!(pca(&[vec![1.0, 2.0], vec![1.0]]).is_err());
        assert!(tsne(&[vec![1.0, 2.0], vec![1.0]], TsneOptions::default()).is_err());
    }
}
