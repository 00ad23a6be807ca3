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
use skycase_train::calibration::CALIBRATION_FILE;
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
        Source::DigitalTyphoon => "Digital Typhoon MTSAT-1R, storm-centred (real)",
    }
}

/// The origin key the `source` filter reads (`skycase_core::source::ORIGINS`).
pub fn origin_key(meta: &FrameMeta) -> &'static str {
    match meta.source {
        Source::SimPng => skycase_core::source::SIMULATED,
        Source::SidecarPng => "png-sidecar",
        Source::ComsHrit | Source::ComsLrit => "coms",
        Source::Gk2aAmiL1b => "gk2a",
        Source::KmaPng => "kma",
        Source::DigitalTyphoon => "digital-typhoon",
    }
}

/// For a storm-centred frame: the storm it follows, from its own track. Such a crop covers
/// only a few of the 13 regions, so its caption (if any) names only those.
fn storm_note(meta: &FrameMeta) -> String {
    meta.storm
        .as_ref()
        .map(|s| {
            let grade = match s.grade {
                Some(2) => "tropical depression",
                Some(3) => "tropical storm",
                Some(4) => "severe tropical storm",
                Some(5) => "typhoon",
                Some(6) => "extratropical cyclone",
                _ => "storm",
            };
            format!(" · track: {grade} {} at {:.1}°N {:.1}°E", s.id, s.lat, s.lon)
        })
        .unwrap_or_default()
}

/// What a card says about who wrote a caption.
fn captioner_label(source: CaptionSource) -> &'static str {
    match source {
        CaptionSource::Physical => "caption by the physical captioner (IR statistics, best track)",
        CaptionSource::Mllm => "caption by a multimodal LLM",
        CaptionSource::Truth => "caption = the simulator's truth",
    }
}

/// Embeds `periods` (all of the store's when empty) of `store` with `checkpoint` into
/// `index`; captions come from the first of the comma-separated `captions` sources that
/// holds the frame, and the card label names the frame's source and that captioner.
pub fn run(store: &Path, index: &Path, checkpoint: &Path, periods: &[String], storage: &str, batch: usize, captions: &str, command: String) -> Result<()> {
    let kind = VectorKind::parse(storage)?;
    let sources: Vec<CaptionSource> = captions
        .split(',')
        .map(|s| CaptionSource::parse(s.trim()).with_context(|| format!("--captions {captions:?}")))
        .collect::<Result<_>>()?;
    if !store.join("frames").is_dir() {
        bail!("{}: not a frame store (no frames/ folder); run `skycase ingest` first", store.display());
    }
    let frames = FrameStore::open(store)?;
    let ckpt = open_checkpoint(checkpoint)?;
    let caps: Vec<(CaptionSource, CaptionStore)> =
        sources.iter().map(|&s| CaptionStore::open_source(store, s).map(|c| (s, c))).collect::<std::result::Result<_, _>>()?;
    if caps.iter().all(|(_, c)| c.ids().map_or(true, |ids| ids.is_empty())) {
        eprintln!(
            "warning: no captions in {}: the shard records carry none (the app shows no caption line); run `skycase caption --store {}` first",
            caps.iter().map(|(_, c)| c.dir().display().to_string()).collect::<Vec<_>>().join(", "),
            store.display()
        );
    }
    let periods: Vec<String> = if periods.is_empty() { store_periods(&frames)? } else { periods.to_vec() };
    if periods.is_empty() {
        bail!("{}: the store has no frames", store.display());
    }
    let record = |m: &FrameMeta| -> skycase_train::Result<FrameRecord> {
        let mut found = None;
        for (s, c) in &caps {
            if let Some(r) = c.get(&m.id).map_err(|e| skycase_train::Error::Usage(e.to_string()))? {
                found = Some((*s, r.caption));
                break;
            }
        }
        let (source, caption) = match found {
            Some((s, caption)) => (format!("{} · {}{}", source_label(m), captioner_label(s), storm_note(m)), caption),
            None if m.storm.is_some() => {
                (format!("{} · no caption (a storm-centred crop covers too few of the 13 regions for one){}", source_label(m), storm_note(m)), String::new())
            }
            None => (format!("{} · no caption", source_label(m)), String::new()),
        };
        Ok(FrameRecord {
            id: m.id.clone(),
            time: m.time.format("%Y-%m-%dT%H:%MZ").to_string(),
            caption,
            thumb: format!("thumbs/{}.png", m.id),
            source,
            origin: origin_key(m).to_string(),
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
    // The projection (and the "nothing close" calibration, when the checkpoint has one)
    // beside the shards: export ships them. Same bytes for the same checkpoint.
    for (name, required) in [(PROJECTION_FILE, true), (CALIBRATION_FILE, false)] {
        let src = checkpoint.join(name);
        let bytes = match std::fs::read(&src) {
            Ok(b) => b,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("{}", src.display())),
        };
        let dst = index.join(name);
        if std::fs::read(&dst).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::create_dir_all(index).with_context(|| format!("{}: cannot create", index.display()))?;
            crate::util::write_atomic(&dst, &bytes)?;
        }
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
