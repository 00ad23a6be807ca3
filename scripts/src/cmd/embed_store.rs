//! `skycase embed --store S [--period YYYY-MM …]`: a frame store's image index, one period
//! (month) per job, in `<store>/index/` (or `--out`).
//!
//! Each period is `skycase_train::period_index::embed_period`: frames resampled onto the
//! canonical grid, embedded only when the same checkpoint has not embedded them yet, the
//! shard and its description written atomically, other periods never touched. So a decade
//! runs as independent jobs: `skycase embed --store S --list-periods | xargs -P 4 -I{}
//! skycase embed --store S --period {}` (docs/pipeline.md).

use std::path::Path;

use anyhow::{bail, Context, Result};
use skycase_caption::{CaptionSource, CaptionStore};
use skycase_core::shard::{FrameRecord, VectorKind};
use skycase_ingest::{FrameMeta, FrameStore, Source};
use skycase_train::model::PROJECTION_FILE;
use skycase_train::period_index::{embed_period, store_periods, Checkpoint, EmbedOptions};

/// What a card says about where a frame comes from.
pub fn source_label(meta: &FrameMeta) -> &'static str {
    match meta.source {
        Source::SimPng => "simulated (wxsim, COMS-like IR1)",
        Source::SidecarPng => "PNG archive with navigation sidecar",
        Source::ComsHrit => "COMS MI HRIT (real)",
        Source::ComsLrit => "COMS MI LRIT (real)",
        Source::Gk2aAmiL1b => "GK-2A AMI IR105 (real)",
        Source::KmaPng => "KMA COMS ea040ps PNG (real, uncalibrated)",
        Source::DigitalTyphoon => "Digital Typhoon MTSAT (real)",
    }
}

/// Embeds `periods` (all of the store's when empty) of `store` with `checkpoint` into
/// `index`; captions and card labels come from the `captions` source.
pub fn run(store: &Path, index: &Path, checkpoint: &Path, periods: &[String], storage: &str, batch: usize, captions: &str, command: String) -> Result<()> {
    let kind = VectorKind::parse(storage)?;
    let source = CaptionSource::parse(captions)?;
    if !store.join("frames").is_dir() {
        bail!("{}: not a frame store (no frames/ folder); run `skycase ingest` first", store.display());
    }
    let frames = FrameStore::open(store)?;
    let ckpt = open_checkpoint(checkpoint)?;
    let caps = CaptionStore::open_source(store, source)?;
    let periods: Vec<String> = if periods.is_empty() { store_periods(&frames)? } else { periods.to_vec() };
    if periods.is_empty() {
        bail!("{}: the store has no frames", store.display());
    }
    let record = |m: &FrameMeta| -> skycase_train::Result<FrameRecord> {
        let caption = caps
            .get(&m.id)
            .map_err(|e| skycase_train::Error::Usage(e.to_string()))?
            .map(|r| r.caption)
            .unwrap_or_default();
        Ok(FrameRecord {
            id: m.id.clone(),
            time: m.time.format("%Y-%m-%dT%H:%MZ").to_string(),
            caption,
            thumb: format!("thumbs/{}.png", m.id),
            source: format!("{} · {} captions", source_label(m), source.name()),
        })
    };
    let opts = EmbedOptions { kind, batch, command };
    let mut failed = Vec::new();
    for p in &periods {
        let t0 = std::time::Instant::now();
        let s = match embed_period(&frames, index, p, &ckpt, &opts, &record) {
            Ok(s) => s,
            Err(e) => {
                // Other periods go on; the run fails at the end.
                eprintln!("{p}: error: {e}");
                failed.push(p.clone());
                continue;
            }
        };
        eprintln!(
            "{p}: {} frames, {} embedded, {} kept, {} left out{} — {} in {:.1}s",
            s.frames,
            s.embedded,
            s.reused,
            s.skipped.len(),
            s.skipped.first().map(|(id, why)| format!(" (e.g. {id}: {why})")).unwrap_or_default(),
            if s.written { "written" } else { "up to date, nothing written" },
            t0.elapsed().as_secs_f32()
        );
    }
    // The projection beside the shards (export ships it). Same bytes for the same checkpoint.
    let proj = std::fs::read(checkpoint.join(PROJECTION_FILE)).with_context(|| format!("{}", checkpoint.join(PROJECTION_FILE).display()))?;
    let dst = index.join(PROJECTION_FILE);
    if std::fs::read(&dst).ok().as_deref() != Some(proj.as_slice()) {
        std::fs::create_dir_all(index).with_context(|| format!("{}: cannot create", index.display()))?;
        crate::util::write_atomic(&dst, &proj)?;
    }
    if !failed.is_empty() {
        bail!("{} of {} periods not embedded: {} (reasons above)", failed.len(), periods.len(), failed.join(", "));
    }
    Ok(())
}

/// Prints the store's periods, one per line (for `xargs -P`).
pub fn list_periods(store: &Path) -> Result<()> {
    for p in store_periods(&FrameStore::open(store)?)? {
        println!("{p}");
    }
    Ok(())
}

fn open_checkpoint(dir: &Path) -> Result<Checkpoint> {
    if !dir.is_dir() {
        bail!("checkpoint folder {} does not exist; train one with `skycase train --out {}`", dir.display(), dir.display());
    }
    let ckpt = Checkpoint::open(dir).with_context(|| format!("{}: cannot load the checkpoint", dir.display()))?;
    let proj_path = dir.join(PROJECTION_FILE);
    let p = skycase_core::Projection::from_safetensors(&std::fs::read(&proj_path)?, &proj_path.display().to_string())?;
    let cfg = ckpt.model.config();
    if p.out_dim() != cfg.joint_dim || p.in_dim() != cfg.text_dim {
        bail!(
            "{}: dimension mismatch: the projection maps {} → {}, the model's config says text_dim {} → joint_dim {}",
            proj_path.display(),
            p.in_dim(),
            p.out_dim(),
            cfg.text_dim,
            cfg.joint_dim
        );
    }
    Ok(ckpt)
}
