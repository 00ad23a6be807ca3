//! Fewer joint dimensions without retraining (issue 9: the English first load).
//!
//! Every vector skycase ranks with is the L2-normalised output of one affine layer: the
//! region head's `region.fc2` (the global head's `global.fc2`), the MiniLM projection
//! `text_proj` (= `projection.safetensors`) and a second encoder's projection
//! (multilingual-e5). A trained model uses few directions of its joint space: the demo model's
//! region vectors of its training frames keep 99.98 % of their energy, and its 65 caption
//! anchors 99.99 %, in 128 of the 256 dimensions (`docs/alignment.md`, "Sixth pass").
//!
//! With `P` (`k × D`, orthonormal rows) the leading eigenvectors of the second-moment matrix
//!
//! ```text
//! C = mean_v v vᵀ + mean_a a aᵀ      v: region vectors of training frames (unit length)
//!                                    a: the calibration's 65 anchors (unit length)
//! ```
//!
//! each such layer `(W, b)` becomes `(P W, P b)`, so an output `z` becomes `P z / |P z|`:
//! the cosine of two vectors inside the span of `P` is unchanged, and one outside loses only
//! the energy that falls outside (the report gives it per set). Shards, the projections and
//! the anchors shrink by `D / k`. The calibration's anchors become `P a / |P a|`; its logistic
//! (on cosine margins, which move by that lost energy only), `top` and `threshold` are kept —
//! `skycase calibrate` refits them.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde::Serialize;
use skycase_core::strength::Calibration;

use crate::calibration::CALIBRATION_FILE;
use crate::error::{Error, Result};
use crate::model::{write_atomic, ModelConfig, CONFIG_FILE, PROJECTION_FILE, WEIGHTS_FILE};

/// The layers whose outputs are joint-space vectors, as `(weight, bias)` tensor names.
pub const JOINT_LAYERS: [(&str, &str); 3] =
    [("region.fc2.weight", "region.fc2.bias"), ("global.fc2.weight", "global.fc2.bias"), ("text_proj.weight", "text_proj.bias")];

/// An orthonormal basis of the leading directions of a joint space.
#[derive(Debug, Clone)]
pub struct Basis {
    /// `k` rows of length `D`, orthonormal, by decreasing eigenvalue.
    pub rows: Vec<Vec<f32>>,
    /// All `D` eigenvalues of the second-moment matrix, decreasing.
    pub eigenvalues: Vec<f64>,
}

impl Basis {
    /// The reduced dimension `k`.
    pub fn dim(&self) -> usize {
        self.rows.len()
    }

    /// `P v` (not normalised).
    pub fn apply(&self, v: &[f32]) -> Vec<f32> {
        self.rows.iter().map(|r| r.iter().zip(v).map(|(a, b)| a * b).sum()).collect()
    }

    /// Mean share of each nonzero vector's squared length that lies in the span of the basis.
    pub fn retained(&self, vectors: &[Vec<f32>]) -> f64 {
        let (mut sum, mut n) = (0f64, 0usize);
        for v in vectors {
            let all: f64 = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
            if all > 0.0 {
                let kept: f64 = self.apply(v).iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
                sum += kept / all;
                n += 1;
            }
        }
        if n == 0 {
            0.0
        } else {
            sum / n as f64
        }
    }
}

/// The `k` leading eigenvectors of `Σ_sets mean_{v ∈ set} v̂ v̂ᵀ` (each set weighted equally,
/// every vector normalised to unit length first; zero vectors, e.g. a region a frame does not
/// cover, are skipped).
pub fn principal_basis(sets: &[&[Vec<f32>]], k: usize) -> Result<Basis> {
    let d = sets.iter().flat_map(|s| s.iter()).map(Vec::len).next().ok_or_else(|| Error::Usage("no vectors to fit a basis on".into()))?;
    if k == 0 || k > d {
        return Err(Error::Usage(format!("--dim {k}: must be between 1 and the joint dimension {d}")));
    }
    let mut c = vec![0f64; d * d];
    for set in sets {
        let units: Vec<Vec<f64>> = set
            .iter()
            .map(|v| {
                if v.len() != d {
                    return Err(Error::shape("vector", d, v.len()));
                }
                let n = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
                Ok(if n > 0.0 { v.iter().map(|x| f64::from(*x) / n).collect() } else { Vec::new() })
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|u| !u.is_empty())
            .collect();
        if units.is_empty() {
            continue;
        }
        let w = 1.0 / units.len() as f64;
        for u in &units {
            for i in 0..d {
                let ui = u[i] * w;
                for j in i..d {
                    c[i * d + j] += ui * u[j];
                }
            }
        }
    }
    for i in 0..d {
        for j in 0..i {
            c[i * d + j] = c[j * d + i];
        }
    }
    let (values, vectors) = symmetric_eigen(c, d);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    let rows = order[..k]
        .iter()
        .map(|&col| {
            // A deterministic sign: the largest component positive.
            let v: Vec<f64> = (0..d).map(|i| vectors[i * d + col]).collect();
            let big = v.iter().copied().fold(0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            let s = if big < 0.0 { -1.0 } else { 1.0 };
            v.iter().map(|x| (x * s) as f32).collect()
        })
        .collect();
    Ok(Basis { rows, eigenvalues: order.iter().map(|&i| values[i]).collect() })
}

/// Eigen-decomposition of a symmetric `n × n` matrix (row-major) by cyclic Jacobi rotations:
/// `(eigenvalues, eigenvectors as the columns of a row-major n × n matrix)`.
fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i * n + j].powi(2)).sum();
        if off <= 1e-30 * total.max(1e-300) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                // Rotation angle that zeroes a[p][q] (Numerical Recipes, "jacobi").
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// `(P W, P b)` for a layer with `weight [D, in]` and `bias [D]`.
pub fn reduce_layer(weight: &Tensor, bias: &Tensor, basis: &Basis) -> Result<(Tensor, Tensor)> {
    let (d, _) = weight.dims2()?;
    if basis.rows.first().map(Vec::len) != Some(d) || bias.dims1()? != d {
        return Err(Error::shape("layer output", basis.rows.first().map_or(0, Vec::len), d));
    }
    let p = Tensor::from_vec(basis.rows.concat(), (basis.dim(), d), weight.device())?;
    let w = p.matmul(&weight.to_dtype(DType::F32)?)?;
    let b = p.matmul(&bias.to_dtype(DType::F32)?.unsqueeze(1)?)?.squeeze(1)?;
    Ok((w, b))
}

/// What [`reduce_checkpoint`] wrote, for `reduce.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ReduceReport {
    /// Joint dimension before.
    pub from_dim: usize,
    /// Joint dimension after.
    pub to_dim: usize,
    /// Per fit set: name, vectors, mean energy kept.
    pub retained: Vec<(String, usize, f64)>,
    /// Share of the second-moment matrix's trace in the kept directions.
    pub trace_kept: f64,
    /// Files written.
    pub files: Vec<String>,
}

fn load_tensors(path: &Path) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| match e {
        candle_core::Error::Io(io) => Error::io(path, io),
        other => Error::checkpoint(path, format!("not a readable safetensors file: {other}")),
    })
}

fn save_tensors(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    let tmp = path.with_extension("safetensors.tmp");
    candle_core::safetensors::save(tensors, &tmp).map_err(|e| Error::format(&tmp, format!("cannot write: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Reduces a projection file (`weight`, `bias`) into `out`.
pub fn reduce_projection_file(input: &Path, out: &Path, basis: &Basis) -> Result<()> {
    let mut t = load_tensors(input)?;
    let w = t.remove("weight").ok_or_else(|| Error::checkpoint(input, "tensor 'weight' is missing"))?;
    let b = t.remove("bias").ok_or_else(|| Error::checkpoint(input, "tensor 'bias' is missing"))?;
    let (w, b) = reduce_layer(&w, &b, basis)?;
    let mut o = HashMap::new();
    o.insert("weight".to_string(), w);
    o.insert("bias".to_string(), b);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    save_tensors(&o, out)
}

/// The calibration with its anchors mapped to `P a / |P a|` (the other numbers kept; `fit`
/// records the reduction).
pub fn reduce_calibration(cal: &Calibration, basis: &Basis) -> Calibration {
    let anchors = cal
        .anchors
        .iter()
        .map(|a| {
            let p = basis.apply(a);
            let n = p.iter().map(|x| x * x).sum::<f32>().sqrt();
            // Four decimals, as `skycase_core::strength::fit` writes anchors.
            p.iter().map(|x| if n > 0.0 { (x / n * 1e4).round() / 1e4 } else { 0.0 }).collect()
        })
        .collect();
    let mut fit = cal.fit.clone();
    if let serde_json::Value::Object(m) = &mut fit {
        m.insert("reduced".into(), serde_json::json!({ "from_dim": cal.joint_dim, "to_dim": basis.dim(), "anchors": "P a / |P a|; logistic, top and threshold as fit before" }));
    }
    // Learnt directions (version 3) act as `w·v`; `P w` keeps that for `v` in the span.
    let directions = cal.directions.iter().map(|d| basis.apply(d).iter().map(|x| (x * 1e4).round() / 1e4).collect()).collect();
    Calibration { joint_dim: basis.dim(), anchors, directions, fit, ..cal.clone() }
}

/// Writes the reduced checkpoint of `input` into `out`: `config.json` (joint_dim = k),
/// `model.safetensors` (the [`JOINT_LAYERS`] reduced, every other tensor as it was),
/// `projection.safetensors` and, if the input has one, `calibration.json`.
pub fn reduce_checkpoint(input: &Path, out: &Path, basis: &Basis) -> Result<Vec<String>> {
    let cfg_path = input.join(CONFIG_FILE);
    let bytes = std::fs::read(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?;
    let mut cfg: ModelConfig = serde_json::from_slice(&bytes).map_err(|e| Error::checkpoint(&cfg_path, format!("not a model config: {e}")))?;
    let d = basis.rows.first().map_or(0, Vec::len);
    if cfg.joint_dim != d {
        return Err(Error::checkpoint(&cfg_path, format!("joint_dim {} but the basis is {d}-d", cfg.joint_dim)));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let weights = input.join(WEIGHTS_FILE);
    let mut t = load_tensors(&weights)?;
    for (wn, bn) in JOINT_LAYERS {
        let w = t.get(wn).ok_or_else(|| Error::checkpoint(&weights, format!("tensor '{wn}' is missing")))?;
        let b = t.get(bn).ok_or_else(|| Error::checkpoint(&weights, format!("tensor '{bn}' is missing")))?;
        let (w, b) = reduce_layer(w, b, basis)?;
        t.insert(wn.to_string(), w);
        t.insert(bn.to_string(), b);
    }
    save_tensors(&t, &out.join(WEIGHTS_FILE))?;
    let mut proj = HashMap::new();
    proj.insert("weight".to_string(), t["text_proj.weight"].clone());
    proj.insert("bias".to_string(), t["text_proj.bias"].clone());
    save_tensors(&proj, &out.join(PROJECTION_FILE))?;
    cfg.joint_dim = basis.dim();
    let json = serde_json::to_vec_pretty(&cfg).map_err(|e| Error::format(out.join(CONFIG_FILE), e.to_string()))?;
    write_atomic(&out.join(CONFIG_FILE), &json)?;
    let mut files = vec![CONFIG_FILE.to_string(), WEIGHTS_FILE.to_string(), PROJECTION_FILE.to_string()];
    let cal_path = input.join(CALIBRATION_FILE);
    if cal_path.exists() {
        let bytes = std::fs::read(&cal_path).map_err(|e| Error::io(&cal_path, e))?;
        let cal: Calibration = serde_json::from_slice(&bytes).map_err(|e| Error::format(&cal_path, format!("not a calibration: {e}")))?;
        let reduced = reduce_calibration(&cal, basis);
        write_atomic(&out.join(CALIBRATION_FILE), &reduced.to_json())?;
        files.push(CALIBRATION_FILE.to_string());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ImageModel, N_REGIONS};
    use crate::rng::Rng;

    #[test]
    fn jacobi_finds_the_eigenpairs_of_a_small_matrix() {
        // [[2, 1], [1, 2]]: eigenvalues 3 (along (1, 1)/√2) and 1.
        let b = principal_basis(&[&[vec![1.0, 1.0], vec![1.0, 1.0], vec![1.0, -1.0]]], 1).unwrap();
        // mean of v̂v̂ᵀ: (2·[[.5,.5],[.5,.5]] + [[.5,-.5],[-.5,.5]]) / 3 = [[.5, 1/6], [1/6, .5]]
        assert!((b.eigenvalues[0] - (0.5 + 1.0 / 6.0)).abs() < 1e-12, "{:?}", b.eigenvalues);
        assert!((b.eigenvalues[1] - (0.5 - 1.0 / 6.0)).abs() < 1e-12, "{:?}", b.eigenvalues);
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!((b.rows[0][0] - s).abs() < 1e-6 && (b.rows[0][1] - s).abs() < 1e-6, "{:?}", b.rows);
    }

    fn random_in_subspace(rng: &mut Rng, span: &[Vec<f32>], n: usize) -> Vec<Vec<f32>> {
        (0..n).map(|_| {
            let c: Vec<f32> = span.iter().map(|_| 2.0 * rng.uniform() - 1.0).collect();
            (0..span[0].len()).map(|i| span.iter().zip(&c).map(|(s, c)| s[i] * c).sum()).collect()
        }).collect()
    }

    /// Cosine; 0 for a zero vector (a region no mask pixel falls in).
    fn cos(a: &[f32], b: &[f32]) -> f32 {
        let d: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let n = a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt();
        if n > 0.0 {
            d / n
        } else {
            0.0
        }
    }

    #[test]
    fn a_basis_of_the_span_keeps_every_cosine() {
        let mut rng = Rng::new(7, 1);
        let d = 12;
        let span: Vec<Vec<f32>> = (0..4).map(|_| (0..d).map(|_| 2.0 * rng.uniform() - 1.0).collect()).collect();
        let a = random_in_subspace(&mut rng, &span, 50);
        let b = random_in_subspace(&mut rng, &span, 20);
        let basis = principal_basis(&[&a, &b], 4).unwrap();
        assert!(basis.retained(&a) > 0.99999 && basis.retained(&b) > 0.99999);
        for x in &a {
            for y in &b {
                assert!((cos(x, y) - cos(&basis.apply(x), &basis.apply(y))).abs() < 1e-4);
            }
        }
        // Three directions cannot hold a 4-d span: something is lost.
        let three = principal_basis(&[&a, &b], 3).unwrap();
        assert!(three.retained(&a) < 0.999, "{}", three.retained(&a));
    }

    #[test]
    fn a_reduced_checkpoint_loads_and_keeps_its_scores() {
        let c = ModelConfig::tiny(40, 24);
        let dir = std::env::temp_dir().join(format!("skycase-train-reduce-{}", std::process::id()));
        let (a, b) = (dir.join("a"), dir.join("b"));
        let model = ImageModel::new(c.clone(), 3, &Device::Cpu).unwrap();
        model.save(&a).unwrap();
        let mut rng = Rng::new(11, 2);
        let frames: Vec<Vec<f32>> = (0..4).map(|_| (0..40 * 24).map(|_| 200.0 + 90.0 * rng.uniform()).collect()).collect();
        let masks: Vec<Vec<bool>> = (0..N_REGIONS).map(|k| (0..40 * 24).map(|i| (i % 40) / 3 == k).collect()).collect();
        let refs: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
        let texts = Tensor::from_vec((0..3 * 5).map(|_| rng.uniform() - 0.5).collect::<Vec<f32>>(), (3, 5), &Device::Cpu).unwrap();
        let score = |m: &ImageModel| -> Vec<f32> {
            let t = m.project_text(&texts).unwrap().to_vec2::<f32>().unwrap();
            let e = m.embed_frames(&refs, &masks).unwrap();
            e.iter().flat_map(|f| f.regions.iter().chain(std::iter::once(&f.global))).flat_map(|v| t.iter().map(move |q| cos(v, q))).collect()
        };
        let before = score(&model);
        assert!(before.iter().filter(|s| s.abs() > 0.05).count() > before.len() / 2, "{before:?}");
        let vectors: Vec<Vec<f32>> = model.embed_frames(&refs, &masks).unwrap().into_iter().flat_map(|f| f.regions).collect();
        let cal = Calibration {
            version: 1,
            joint_dim: 6,
            anchors: vectors.iter().filter(|v| v.iter().any(|x| *x != 0.0)).take(3).cloned().collect(),
            slope: 9.0,
            intercept: -1.5,
            top: 2,
            threshold: 0.3,
            cell_bias: vec![0.5; 3],
            notice_offsets: Vec::new(),
            directions: Vec::new(),
            fit: serde_json::json!({ "frames": 4 }),
        };
        write_atomic(&a.join(CALIBRATION_FILE), &cal.to_json()).unwrap();
        // A full-rank basis is a rotation: every score stays.
        let full = principal_basis(&[&vectors], 6).unwrap();
        reduce_checkpoint(&a, &b, &full).unwrap();
        let rotated = ImageModel::load(&b).unwrap();
        for (x, y) in before.iter().zip(score(&rotated)) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
        // k < D: the checkpoint says so and loads; its vectors are k-d.
        let small = principal_basis(&[&vectors], 4).unwrap();
        reduce_checkpoint(&a, &b, &small).unwrap();
        let reduced = ImageModel::load(&b).unwrap();
        assert_eq!(reduced.config().joint_dim, 4);
        assert_eq!(reduced.embed_frames(&refs, &masks).unwrap()[0].regions[0].len(), 4);
        let p = load_tensors(&b.join(PROJECTION_FILE)).unwrap();
        assert_eq!(p["weight"].dims(), &[4, 5]);
        // The calibration: anchors k-d and unit length (to four decimals), the rest as it was.
        let got: Calibration = serde_json::from_slice(&std::fs::read(b.join(CALIBRATION_FILE)).unwrap()).unwrap();
        assert_eq!((got.joint_dim, got.anchors.len(), got.top, got.threshold, got.slope, got.intercept), (4, 3, 2, 0.3, 9.0, -1.5));
        assert_eq!(got.cell_bias, cal.cell_bias);
        for a in &got.anchors {
            assert_eq!(a.len(), 4);
            assert!((a.iter().map(|x| x * x).sum::<f32>().sqrt() - 1.0).abs() < 1e-3, "{a:?}");
        }
        assert_eq!(got.fit["reduced"]["from_dim"], 6);
        std::fs::remove_dir_all(&dir).ok();
    }
}
