//! Labels of a simulated archive's frames from the physical captioner (`skycase-caption`),
//! so Table I can also be scored as the study scored it: against a captioner's captions
//! rather than the simulator's truth (the study used an MLLM; ours is the offline physical
//! captioner, the default of `skycase caption`).
//!
//! The frames are put into a frame store under the cache folder (as `skycase ingest` would),
//! captioned by [`PhysicalRun`] exactly as `skycase caption --captioner physical` does
//! (shipped rules, ± 3-day clear-sky composite, typhoons from the best track when one is
//! given), and the labels are cached per archive × rules × best track. Contract: one label
//! row per sample of the archive, in sample order; a frame the captioner refuses is an error
//! naming it.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use skycase_caption::store::CaptionerInfo;
use skycase_caption::{BestTrack, PhysicalCaptioner, PhysicalRun, Rules};
use skycase_core::bundle::sha256_hex;
use skycase_train::data::Sample;

use crate::error::{write_atomic, Error, Result};

/// The captioner's label (phenomenon index per region) of every sample, in sample order.
pub fn physical_labels(root: &Path, samples: &[Sample], besttrack: Option<&Path>, cache: &Path, progress: bool) -> Result<Vec<[u8; 13]>> {
    let rules = Rules::shipped().map_err(|e| Error::Usage(format!("physical captioner rules: {e}")))?;
    let mut h = Sha256::new();
    h.update(root.canonicalize().unwrap_or_else(|_| root.to_path_buf()).to_string_lossy().as_bytes());
    for s in samples {
        h.update(s.time.as_bytes());
        h.update(s.file.as_bytes());
    }
    h.update(rules.fingerprint().as_bytes());
    let track = match besttrack {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
            h.update(sha256_hex(&bytes).as_bytes());
            Some(BestTrack::parse(&String::from_utf8_lossy(&bytes), p).map_err(|e| Error::format(p, e.to_string()))?)
        }
        None => None,
    };
    let key = &hex::encode(h.finalize())[..16];
    let cached = cache.join(format!("physical-{key}.json"));
    if let Ok(bytes) = std::fs::read(&cached) {
        if let Ok(rows) = serde_json::from_slice::<Vec<[u8; 13]>>(&bytes) {
            if rows.len() == samples.len() {
                return Ok(rows);
            }
        }
    }
    let store_dir = cache.join(format!("store-{key}"));
    let store = skycase_ingest::FrameStore::open(&store_dir)?;
    let mut ids = HashMap::new();
    for s in samples {
        let frame = skycase_ingest::read_sim_frame(&root.join(&s.file))?;
        if !store.contains(&frame.meta.id) {
            store.put(&frame, None)?;
        }
        ids.insert(frame.meta.id.clone(), s.time.clone());
    }
    let captioner = PhysicalCaptioner::new(rules.clone()).map_err(|e| Error::Usage(e.to_string()))?;
    let info = CaptionerInfo::Physical { rules_sha256: rules.fingerprint(), besttrack: besttrack.map(|p| p.display().to_string()) };
    let job = PhysicalRun { store: &store, captioner: &captioner, besttrack: track.as_ref(), info, composite_days: 3 };
    let metas: Vec<_> = store.list()?.into_iter().filter(|m| ids.contains_key(&m.id)).collect();
    let bar = if progress { crate::index::bar(metas.len() as u64, "physical captions") } else { indicatif::ProgressBar::hidden() };
    let mut by_time: HashMap<String, [u8; 13]> = HashMap::new();
    job.run(&metas, |meta, outcome| {
        bar.inc(1);
        let rec = outcome?;
        let mut row = [0u8; 13];
        for (r, p) in rec.labels.labels().iter().enumerate() {
            row[r] = p.index() as u8;
        }
        by_time.insert(ids[&meta.id].clone(), row);
        Ok(())
    })
    .map_err(|e| Error::Usage(format!("{}: physical captioning: {e}", root.display())))?;
    bar.finish_and_clear();
    let rows = samples
        .iter()
        .map(|s| by_time.get(&s.time).copied().ok_or_else(|| Error::format(&root.join(&s.file), "the physical captioner gave no caption for this frame")))
        .collect::<Result<Vec<_>>>()?;
    write_atomic(&cached, &serde_json::to_vec(&rows).map_err(|e| Error::Usage(e.to_string()))?)?;
    std::fs::remove_dir_all(&store_dir).ok();
    Ok(rows)
}
