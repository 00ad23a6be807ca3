//! Contrastive losses between `N` image embeddings and `M` distinct text embeddings, with a
//! positive mask `P` (`P[i][j] = 1` when text `j` describes image `i`; each image has exactly
//! one positive text, a text may describe many images).
//!
//! - Triplet (the study; VSE++ hardest negatives): for each pair `(i, t(i))`,
//!   `relu(m − s(i,t(i)) + max_{j∉P(i)} s(i,j)) + relu(m − s(i,t(i)) + max_{k: t(k)≠t(i)} s(k,t(i)))`.
//! - Symmetric InfoNCE with learned temperature `τ`: image→text cross-entropy over the texts,
//!   and text→image `−log Σ_{i∈P(j)} softmax_i(s(·,j)/τ)` for every text that has a positive.

use candle_core::{Device, Tensor, D};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which loss to train with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Loss {
    /// The study's triplet loss with in-batch hardest negatives.
    Triplet {
        /// Margin `m`.
        margin: f32,
    },
    /// Symmetric InfoNCE with the model's learned temperature.
    InfoNce,
}

impl Loss {
    /// Parses `triplet` (margin 0.2) or `infonce`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "triplet" => Ok(Self::Triplet { margin: 0.2 }),
            "infonce" | "info-nce" | "nce" => Ok(Self::InfoNce),
            other => Err(Error::Usage(format!("loss '{other}' is not one of triplet, infonce"))),
        }
    }

    /// `triplet` or `infonce`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Triplet { .. } => "triplet",
            Self::InfoNce => "infonce",
        }
    }

    /// The loss for image embeddings `img [N, D]`, text embeddings `txt [M, D]` (both
    /// L2-normalised), `positive[i]` = index of image `i`'s text, and the inverse temperature
    /// `scale` (a scalar tensor; ignored by the triplet loss).
    pub fn compute(self, img: &Tensor, txt: &Tensor, positive: &[usize], scale: &Tensor) -> Result<Tensor> {
        let (n, _) = img.dims2()?;
        let (m, _) = txt.dims2()?;
        if positive.len() != n || positive.iter().any(|&p| p >= m) {
            return Err(Error::shape("positives", format!("{n} indices below {m}"), format!("{:?}", positive)));
        }
        let sims = img.matmul(&txt.t()?)?; // [N, M]
        let mask = positive_mask(n, m, positive, img.device())?;
        match self {
            Self::Triplet { margin } => triplet(&sims, &mask, margin),
            Self::InfoNce => info_nce(&sims, &mask, scale),
        }
    }
}

fn positive_mask(n: usize, m: usize, positive: &[usize], device: &Device) -> Result<Tensor> {
    let mut v = vec![0f32; n * m];
    for (i, &j) in positive.iter().enumerate() {
        v[i * m + j] = 1.0;
    }
    Ok(Tensor::from_vec(v, (n, m), device)?)
}

fn triplet(sims: &Tensor, mask: &Tensor, margin: f32) -> Result<Tensor> {
    // Positives pushed far below any negative so the max picks negatives only.
    let pos = (sims * mask)?.sum(1)?; // [N]
    let negs = (sims - (mask * 4.0)?)?;
    let hard_txt = negs.max(1)?; // hardest negative text per image, [N]
    let hard_img_per_txt = negs.max(0)?; // hardest negative image per text, [M]
    let hard_img = mask.matmul(&hard_img_per_txt.unsqueeze(1)?)?.squeeze(1)?; // for t(i), [N]
    // A text that describes every image in the batch has no negative image (-4 + s): relu → 0.
    let l1 = ((hard_txt - &pos)? + margin as f64)?.relu()?;
    let l2 = ((hard_img - &pos)? + margin as f64)?.relu()?;
    Ok(((l1.mean_all()? + l2.mean_all()?)? * 0.5)?)
}

fn info_nce(sims: &Tensor, mask: &Tensor, scale: &Tensor) -> Result<Tensor> {
    let logits = sims.broadcast_mul(scale)?;
    // image → text: one positive per row.
    let lsm_rows = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let i2t = (lsm_rows * mask)?.sum(1)?.neg()?.mean_all()?;
    // text → image: log of the softmax mass on the positives of each column that has any.
    let lsm_cols = candle_nn::ops::log_softmax(&logits, 0)?;
    let has = mask.sum(0)?; // [M]
    let masked = (lsm_cols + ((mask - 1.0)? * 1e4)?)?; // log-probs of non-positives → −1e4
    let mass = log_sum_exp0(&masked)?; // [M]
    let cols = has.gt(0f32)?.to_dtype(candle_core::DType::F32)?;
    let n_cols = cols.sum_all()?;
    let t2i = ((mass * &cols)?.sum_all()?.neg()? / n_cols)?;
    Ok(((i2t + t2i)? * 0.5)?)
}

/// Frame-level ranking loss of the region-aware model, matching how a frame is ranked: a
/// frame scores a text by its best region, `f(b, j) = max_k s((b, k), j)`, over `img [B·R, D]`
/// (frame-major) and `txt [M, D]`; for every text `j` with at least one positive frame
/// (`positive[b][j]`), `−log Σ_{b∈P(j)} softmax_b(f(·, j)·scale)`, averaged over those texts.
/// It pushes down frames whose *other* regions match the text, which the per-region losses
/// do not see.
pub fn frame_rank(img: &Tensor, txt: &Tensor, regions: usize, positive: &[Vec<bool>], scale: &Tensor) -> Result<Tensor> {
    let (nr, d) = img.dims2()?;
    let (m, _) = txt.dims2()?;
    let b = positive.len();
    if regions == 0 || nr != b * regions || positive.iter().any(|p| p.len() != m) {
        return Err(Error::shape("frame positives", format!("{b} frames × {regions} regions, {m} texts"), format!("[{nr}, {d}] images")));
    }
    let sims = img.matmul(&txt.t()?)?.reshape((b, regions, m))?.max(1)?; // [B, M]
    let mask: Vec<f32> = positive.iter().flat_map(|p| p.iter().map(|&x| f32::from(u8::from(x)))).collect();
    let mask = Tensor::from_vec(mask, (b, m), img.device())?;
    let logits = sims.broadcast_mul(scale)?;
    let lsm = candle_nn::ops::log_softmax(&logits, 0)?;
    let masked = (lsm + ((&mask - 1.0)? * 1e4)?)?;
    let mass = log_sum_exp0(&masked)?; // [M]
    let cols = mask.sum(0)?.gt(0f32)?.to_dtype(candle_core::DType::F32)?;
    let n_cols = cols.sum_all()?;
    if n_cols.to_scalar::<f32>()? == 0.0 {
        return Ok(Tensor::new(0f32, img.device())?);
    }
    Ok(((mass * &cols)?.sum_all()?.neg()? / n_cols)?)
}

/// Region-grounding loss of the region-aware model: negatives are the *same phenomenon in
/// other regions*. Over `img [N, D]` (region vectors) and `txt [M, D]`, with `positive[i]` the
/// text of row `i` and `group[j]` the phenomenon of text `j`:
/// - row → text: softmax over the texts of row `i`'s own phenomenon only (its region's text
///   against the same phenomenon named for every other region);
/// - text → row: for every text with a positive row, softmax over the rows whose text has that
///   text's phenomenon (its region's vectors against the other regions' vectors that carry the
///   same phenomenon), multi-positive as in InfoNCE.
///
/// The mean of both directions, at the inverse temperature `scale`. Texts of other phenomena
/// never enter, so the term cannot be lowered by telling phenomena apart, only regions.
pub fn region_ground(img: &Tensor, txt: &Tensor, positive: &[usize], group: &[usize], scale: &Tensor) -> Result<Tensor> {
    let (n, _) = img.dims2()?;
    let (m, _) = txt.dims2()?;
    if positive.len() != n || group.len() != m || positive.iter().any(|&p| p >= m) {
        return Err(Error::shape("grounding positives", format!("{n} indices below {m}, {m} groups"), format!("{} indices, {} groups", positive.len(), group.len())));
    }
    let mut cand = vec![0f32; n * m];
    for (i, &p) in positive.iter().enumerate() {
        for (j, &g) in group.iter().enumerate() {
            if g == group[p] {
                cand[i * m + j] = 1.0;
            }
        }
    }
    let cand = Tensor::from_vec(cand, (n, m), img.device())?;
    let mask = positive_mask(n, m, positive, img.device())?;
    let logits = img.matmul(&txt.t()?)?.broadcast_mul(scale)?;
    let restricted = (logits + ((cand - 1.0)? * 1e4)?)?;
    let i2t = (candle_nn::ops::log_softmax(&restricted, D::Minus1)? * &mask)?.sum(1)?.neg()?.mean_all()?;
    let lsm_cols = candle_nn::ops::log_softmax(&restricted, 0)?;
    let masked = (lsm_cols + ((&mask - 1.0)? * 1e4)?)?;
    let mass = log_sum_exp0(&masked)?; // [M]
    let cols = mask.sum(0)?.gt(0f32)?.to_dtype(candle_core::DType::F32)?;
    let t2i = ((mass * &cols)?.sum_all()?.neg()? / cols.sum_all()?)?;
    Ok(((i2t + t2i)? * 0.5)?)
}

/// log Σ exp over axis 0, stable.
fn log_sum_exp0(x: &Tensor) -> Result<Tensor> {
    let mx = x.max_keepdim(0)?.detach();
    Ok((x.broadcast_sub(&mx)?.exp()?.sum_keepdim(0)?.log()? + mx)?.squeeze(0)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;

    fn t(v: &[f32], r: usize, c: usize) -> Tensor {
        Tensor::from_vec(v.to_vec(), (r, c), &Device::Cpu).unwrap()
    }

    fn scalar(v: f32) -> Tensor {
        Tensor::new(v, &Device::Cpu).unwrap()
    }

    #[test]
    fn triplet_by_hand() {
        // img = e1, e2; txt = e1, (e1+e2)/√2. positives 0→0, 1→1.
        // s = [[1, .7071], [0, .7071]]. Image 0: pos 1, hardest neg text .7071 → relu(.2 − .2929) = 0.
        // Image 1: pos .7071, neg text 0 → 0. Text anchors: t0 for img0: neg images of t0 = {1}: 0 → 0;
        // t1 for img1: neg images = {0}: .7071 → relu(.2 − .7071 + .7071) = .2. Mean: (0 + (0+.2)/2)/2 = .05
        let img = t(&[1., 0., 0., 1.], 2, 2);
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let txt = t(&[1., 0., s, s], 2, 2);
        let l = Loss::Triplet { margin: 0.2 }.compute(&img, &txt, &[0, 1], &scalar(1.0)).unwrap();
        assert!((l.to_scalar::<f32>().unwrap() - 0.05).abs() < 1e-5);
    }

    #[test]
    fn info_nce_by_hand() {
        // Two images sharing text 0, one text with no image. s = [[1, 0], [1, 0]], scale 1.
        // i2t: −log(e/(e+1)) per row = 0.31326. t2i: column 0 has all mass on positives → 0.
        // Column 1 has no positive and is skipped. Loss = (0.31326 + 0)/2.
        let img = t(&[1., 0., 1., 0.], 2, 2);
        let txt = t(&[1., 0., 0., 1.], 2, 2);
        let l = Loss::InfoNce.compute(&img, &txt, &[0, 0], &scalar(1.0)).unwrap();
        let want = (-(1f32.exp() / (1f32.exp() + 1.0)).ln()) / 2.0;
        assert!((l.to_scalar::<f32>().unwrap() - want).abs() < 1e-5);
    }

    #[test]
    fn losses_fall_when_aligned_and_have_gradients() {
        let img = Var::from_tensor(&t(&[1., 0.1, 0.1, 1., 0.5, 0.5], 3, 2)).unwrap();
        let txt = t(&[1., 0., 0., 1.], 2, 2);
        for loss in [Loss::Triplet { margin: 0.2 }, Loss::InfoNce] {
            let l = loss.compute(img.as_tensor(), &txt, &[0, 1, 0], &scalar(10.0)).unwrap();
            let g = l.backward().unwrap();
            assert!(g.get(img.as_tensor()).is_some(), "{}", loss.name());
            let good = t(&[1., 0., 0., 1., 1., 0.], 3, 2);
            let bad = t(&[0., 1., 1., 0., 0., 1.], 3, 2);
            let lg = loss.compute(&good, &txt, &[0, 1, 0], &scalar(10.0)).unwrap().to_scalar::<f32>().unwrap();
            let lb = loss.compute(&bad, &txt, &[0, 1, 0], &scalar(10.0)).unwrap().to_scalar::<f32>().unwrap();
            assert!(lg < lb, "{}: {lg} !< {lb}", loss.name());
        }
    }

    #[test]
    fn frame_rank_scores_frames_by_their_best_region() {
        // 2 frames × 2 regions, 1 text = e1. Frame 0 regions: e2, e1 (best 1); frame 1: e2, e2
        // (best 0). Frame 0 is positive: −log(e/(e+1)) at scale 1.
        let img = t(&[0., 1., 1., 0., 0., 1., 0., 1.], 4, 2);
        let txt = t(&[1., 0.], 1, 2);
        let l = frame_rank(&img, &txt, 2, &[vec![true], vec![false]], &scalar(1.0)).unwrap();
        let want = -(1f32.exp() / (1f32.exp() + 1.0)).ln();
        assert!((l.to_scalar::<f32>().unwrap() - want).abs() < 1e-5);
        // Gradients reach the images.
        let v = Var::from_tensor(&img).unwrap();
        let g = frame_rank(v.as_tensor(), &txt, 2, &[vec![false], vec![true]], &scalar(1.0)).unwrap().backward().unwrap();
        assert!(g.get(v.as_tensor()).is_some());
        assert!(frame_rank(&img, &txt, 3, &[vec![true], vec![false]], &scalar(1.0)).is_err());
    }

    #[test]
    fn region_ground_by_hand_and_blind_to_other_phenomena() {
        // Texts: (region 0, Rain) = e1, (region 1, Rain) = e2, (region 0, Snow) = e3; groups
        // [0, 0, 1]. Rows: region 0 with Rain (e1) → text 0, region 1 with Rain (e2) → text 1.
        // s = [[1, 0, 0], [0, 1, 0]], scale 1. Row → text over texts 0 and 1 only:
        // −log(e/(e+1)) per row; text → row, columns 0 and 1 over rows 0 and 1: the same.
        // Column 2 has no positive and is skipped. Loss = −log(e/(e+1)) = 0.31326.
        let img = t(&[1., 0., 0., 0., 1., 0.], 2, 3);
        let txt = t(&[1., 0., 0., 0., 1., 0., 0., 0., 1.], 3, 3);
        let want = -(1f32.exp() / (1f32.exp() + 1.0)).ln();
        let l = region_ground(&img, &txt, &[0, 1], &[0, 0, 1], &scalar(1.0)).unwrap().to_scalar::<f32>().unwrap();
        assert!((l - want).abs() < 1e-5, "{l} vs {want}");
        // InfoNCE over all three texts sees text 2 as a negative: a different number.
        let full = Loss::InfoNce.compute(&img, &txt, &[0, 1], &scalar(1.0)).unwrap().to_scalar::<f32>().unwrap();
        assert!((full - l).abs() > 1e-3);
        // Moving the other phenomenon's text onto row 0 changes nothing here, and InfoNCE a lot.
        let txt2 = t(&[1., 0., 0., 0., 1., 0., 1., 0., 0.], 3, 3);
        let l2 = region_ground(&img, &txt2, &[0, 1], &[0, 0, 1], &scalar(1.0)).unwrap().to_scalar::<f32>().unwrap();
        assert!((l2 - l).abs() < 1e-6);
        // Confusing the regions costs: rows swapped onto the other region's text.
        let swapped = t(&[0., 1., 0., 1., 0., 0.], 2, 3);
        let ls = region_ground(&swapped, &txt, &[0, 1], &[0, 0, 1], &scalar(1.0)).unwrap().to_scalar::<f32>().unwrap();
        assert!(ls > l + 0.5, "{ls} !> {l}");
        // Gradients reach the images; bad shapes are errors.
        let v = Var::from_tensor(&img).unwrap();
        let g = region_ground(v.as_tensor(), &txt, &[0, 1], &[0, 0, 1], &scalar(1.0)).unwrap().backward().unwrap();
        assert!(g.get(v.as_tensor()).is_some());
        assert!(region_ground(&img, &txt, &[0, 1], &[0, 0], &scalar(1.0)).is_err());
        assert!(region_ground(&img, &txt, &[0, 3], &[0, 0, 1], &scalar(1.0)).is_err());
    }

    #[test]
    fn bad_positives_are_errors() {
        let img = t(&[1., 0.], 1, 2);
        let txt = t(&[1., 0.], 1, 2);
        assert!(Loss::InfoNce.compute(&img, &txt, &[1], &scalar(1.0)).is_err());
        assert!(Loss::InfoNce.compute(&img, &txt, &[], &scalar(1.0)).is_err());
        assert!(Loss::parse("cosine").is_err());
    }
}
