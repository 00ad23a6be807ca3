//! Fits the "nothing close" calibration ([`skycase_core::strength`]) of a trained
//! region-aware model on the days held out of training (validation + test), and writes it
//! as `calibration.json` beside the checkpoint; `skycase embed` copies it into the index and
//! `skycase export` ships it, verified like every bundle file.
//!
//! The archives searched during the fit are the whole held-out period and each of its days
//! alone, so that cells range from no relevant frame to many.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::Tensor;
use skycase_core::strength::{fit, Calibration, LabelledFrame};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::{write_atomic, Granularity, ImageModel};
use crate::train::embed_indices;

/// File name of the calibration in a checkpoint or index folder.
pub const CALIBRATION_FILE: &str = "calibration.json";

/// Fits the calibration of `model` on frames `held_out` of `ds`; `bullets` are the
/// text-encoder embeddings of the 65 caption bullets `[65, text_dim]`, row `r·5 + p`.
pub fn calibrate(model: &ImageModel, ds: &Dataset, held_out: &[usize], bullets: &Tensor) -> Result<Calibration> {
    if model.config().granularity != Granularity::Region {
        return Err(Error::Usage("only a region-aware model can be calibrated (its hits carry a region)".into()));
    }
    let anchors = model.project_text(bullets)?.to_vec2::<f32>()?;
    let emb = embed_indices(model, ds, held_out)?;
    let frames: Vec<LabelledFrame> = emb
        .into_iter()
        .zip(held_out)
        .map(|(e, &i)| LabelledFrame { regions: e.regions, labels: ds.samples[i].labels.iter().map(|&l| l as usize).collect() })
        .collect();
    let mut days: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (k, &i) in held_out.iter().enumerate() {
        days.entry(ds.samples[i].day()).or_default().push(k);
    }
    let mut archives = vec![(0..frames.len()).collect::<Vec<_>>()];
    archives.extend(days.into_values());
    let mut cal = fit(&frames, anchors, &archives)?;
    if let serde_json::Value::Object(m) = &mut cal.fit {
        let first = held_out.first().map(|&i| ds.samples[i].time.clone()).unwrap_or_default();
        let last = held_out.last().map(|&i| ds.samples[i].time.clone()).unwrap_or_default();
        m.insert("held_out".into(), serde_json::json!([first, last]));
        m.insert("archive".into(), serde_json::json!(ds.root.display().to_string()));
    }
    Ok(cal)
}

/// Writes `calibration.json` into `dir` (atomically).
pub fn save(cal: &Calibration, dir: &Path) -> Result<()> {
    write_atomic(&dir.join(CALIBRATION_FILE), &cal.to_json())
}
