//! `skycase embed`: embeds the demo frames with a trained image model into index shards.
//!
//! Reads a checkpoint folder (`config.json`, `model.safetensors`, `projection.safetensors`,
//! as written by `skycase train`), the frame list `frames.jsonl` (written by `skycase
//! sample`) and the archive the frames come from, and writes the image index:
//!
//! ```text
//! <out>/<period>.skyshard     one shard per month (YYYY-MM): a region model stores 13
//!                             vectors per frame (skycase_core::regions::REGIONS order),
//!                             a global model one ("global"); int8 by default
//! <out>/projection.safetensors  the checkpoint's text projection (D × 384 + D)
//! <out>/index.json            {"vectors", "joint_dim", "checkpoint", "command", "model"}
//! ```
//! `skycase export --index <out>` ships these shards and the projection. Every file is
//! written to a temporary name and renamed into place; `index.json` is written last.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use skycase_core::regions::REGIONS;
use skycase_core::shard::{FrameRecord, Shard, VectorKind};
use skycase_ingest::{FrameStore, Navigation, RegionMasks, Regions, Sidecar};
use skycase_train::model::{CONFIG_FILE, PROJECTION_FILE, WEIGHTS_FILE};
use skycase_train::{Granularity, ImageModel, ModelConfig};

use super::sample::DemoFrame;
use crate::util::{progress, read, write_atomic};

/// Arguments of `skycase embed`.
#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint folder written by `skycase train` (config.json, model.safetensors,
    /// projection.safetensors).
    #[arg(long, default_value = "data/demo/model")]
    checkpoint: PathBuf,
    /// The archive the frames come from: a simulated archive (meta.json + frames/*.png) or a
    /// frame store written by `skycase ingest`.
    #[arg(long, default_value = "../shared/data/sim-nov2017")]
    archive: PathBuf,
    /// Frames to embed, one JSON object per line ({id, time, caption, thumb, source}).
    #[arg(long, default_value = "data/demo/frames.jsonl")]
    frames: PathBuf,
    /// Index folder to write (shards, projection.safetensors, index.json).
    #[arg(long, default_value = "data/demo/index")]
    out: PathBuf,
    /// Vector storage in the shards: int8 (per-vector scale), f16 or f32.
    #[arg(long, default_value = "int8")]
    storage: String,
    /// Frames per forward pass.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// `index.json`: what the shards hold and how they were made.
#[derive(Debug, Serialize)]
struct IndexInfo {
    /// `image-region` (13 vectors per frame) or `image-global` (one).
    vectors: &'static str,
    joint_dim: usize,
    /// The checkpoint folder as given on the command line.
    checkpoint: String,
    /// The command line that wrote the index.
    command: String,
    /// The checkpoint's `config.json`.
    model: ModelConfig,
    storage: String,
    frames: usize,
    shards: Vec<ShardInfo>,
}

#[derive(Debug, Serialize)]
struct ShardInfo {
    period: String,
    file: String,
    frames: usize,
    bytes: usize,
}

pub fn run(args: Args) -> Result<()> {
    let kind = VectorKind::parse(&args.storage)?;
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let (model, projection) = open_checkpoint(&args.checkpoint)?;
    let cfg = model.config().clone();
    let frames = read_frames(&args.frames)?;
    let archive = Archive::open(&args.archive)?;

    // Every listed frame must be in the archive before any work is done.
    let mut located = Vec::with_capacity(frames.len());
    let mut missing = Vec::new();
    for (line, f) in &frames {
        match archive.locate(&f.id) {
            Some(loc) => located.push(loc),
            None => missing.push(format!("{} (line {line})", f.id)),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(5).map(String::as_str).collect();
        bail!(
            "{} of {} frames listed in {} are not in the archive {}: {}{}",
            missing.len(),
            frames.len(),
            args.frames.display(),
            args.archive.display(),
            shown.join(", "),
            if missing.len() > shown.len() { ", …" } else { "" }
        );
    }

    let (names, vectors): (Vec<String>, &str) = match cfg.granularity {
        Granularity::Region => (REGIONS.iter().map(|r| r.to_string()).collect(), "image-region"),
        Granularity::Global => (vec!["global".to_string()], "image-global"),
    };
    let bar = if args.quiet { indicatif::ProgressBar::hidden() } else { progress(frames.len() as u64, "embedding") };
    let mut rows: Vec<Vec<Vec<f32>>> = Vec::with_capacity(frames.len()); // per frame
    for (chunk_frames, chunk_locs) in frames.chunks(args.batch).zip(located.chunks(args.batch)) {
        let loaded = archive.load_many(chunk_locs, &cfg)?;
        // Consecutive frames on the same grid share one set of region masks.
        let mut i = 0;
        while i < loaded.len() {
            let grid = &loaded[i].grid;
            let j = loaded[i..].iter().position(|l| &l.grid != grid).map_or(loaded.len(), |p| i + p);
            let masks = archive.masks(&loaded[i])?;
            let bts: Vec<&[f32]> = loaded[i..j].iter().map(|l| l.bt.as_slice()).collect();
            let emb = model
                .embed_frames(&bts, &masks)
                .with_context(|| format!("embedding frames {} … {}", chunk_frames[i].1.id, chunk_frames[j - 1].1.id))?;
            for e in emb {
                let v = match cfg.granularity {
                    Granularity::Region => e.regions,
                    Granularity::Global => vec![e.global],
                };
                if let Some(bad) = v.iter().find(|r| r.len() != cfg.joint_dim) {
                    bail!("model produced {}-d vectors, its config.json says joint_dim {}", bad.len(), cfg.joint_dim);
                }
                rows.push(v);
            }
            i = j;
        }
        bar.inc(chunk_frames.len() as u64);
    }
    bar.finish_and_clear();

    // One shard per month, frames in frames.jsonl order within it.
    let mut periods: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, (line, f)) in frames.iter().enumerate() {
        let period = f
            .time
            .get(..7)
            .filter(|p| p.as_bytes().get(4) == Some(&b'-'))
            .with_context(|| format!("{} line {line}: frame {}: time {:?} is not ISO 8601", args.frames.display(), f.id, f.time))?;
        periods.entry(period.to_string()).or_default().push(i);
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create folder", args.out.display()))?;
    let mut shards = Vec::new();
    for (period, members) in &periods {
        let records: Vec<FrameRecord> = members
            .iter()
            .map(|&i| {
                let f = &frames[i].1;
                FrameRecord {
                    id: f.id.clone(),
                    time: f.time.clone(),
                    caption: f.caption.clone(),
                    thumb: format!("thumbs/{}.png", f.id),
                    source: f.source.clone(),
                }
            })
            .collect();
        let flat: Vec<Vec<f32>> = members.iter().flat_map(|&i| rows[i].iter().cloned()).collect();
        let shard = Shard::from_f32(period.clone(), names.clone(), records, cfg.joint_dim, &flat, kind)?;
        let bytes = shard.to_bytes();
        let file = format!("{period}.skyshard");
        write_atomic(&args.out.join(&file), &bytes)?;
        shards.push(ShardInfo { period: period.clone(), file, frames: members.len(), bytes: bytes.len() });
    }
    // Shards of periods this run did not write would be shipped by the exporter: remove them.
    let written: Vec<&str> = shards.iter().map(|s| s.file.as_str()).collect();
    for entry in std::fs::read_dir(&args.out).with_context(|| format!("{}: cannot list", args.out.display()))? {
        let p = entry?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if name.ends_with(".skyshard") && !written.contains(&name.as_str()) {
            std::fs::remove_file(&p).with_context(|| format!("{}: cannot remove stale shard", p.display()))?;
            eprintln!("removed stale shard {}", p.display());
        }
    }
    write_atomic(&args.out.join(PROJECTION_FILE), &projection)?;
    let info = IndexInfo {
        vectors,
        joint_dim: cfg.joint_dim,
        checkpoint: args.checkpoint.display().to_string(),
        command: command_line(),
        model: cfg.clone(),
        storage: args.storage.clone(),
        frames: frames.len(),
        shards,
    };
    let mut json = serde_json::to_vec_pretty(&info)?;
    json.push(b'\n');
    write_atomic(&args.out.join("index.json"), &json)?;
    let total: usize = info.shards.iter().map(|s| s.bytes).sum();
    eprintln!(
        "embedded {} frames ({} × {}-d {} per frame) into {} shard(s), {:.1} kB, in {}",
        frames.len(),
        names.len(),
        cfg.joint_dim,
        args.storage,
        info.shards.len(),
        total as f64 / 1e3,
        args.out.display()
    );
    Ok(())
}

/// Loads the model and the projection bytes, checking that they agree.
fn open_checkpoint(dir: &Path) -> Result<(ImageModel, Vec<u8>)> {
    if !dir.is_dir() {
        bail!("checkpoint folder {} does not exist; train one with `skycase train --out {}`", dir.display(), dir.display());
    }
    for f in [CONFIG_FILE, WEIGHTS_FILE, PROJECTION_FILE] {
        if !dir.join(f).is_file() {
            bail!("{} is not a checkpoint: {f} is missing (a `skycase train` output folder has {CONFIG_FILE}, {WEIGHTS_FILE} and {PROJECTION_FILE})", dir.display());
        }
    }
    let model = ImageModel::load(dir).with_context(|| format!("{}: cannot load the checkpoint", dir.display()))?;
    let proj_path = dir.join(PROJECTION_FILE);
    let projection = read(&proj_path)?;
    let p = skycase_core::Projection::from_safetensors(&projection, &proj_path.display().to_string())?;
    let cfg = model.config();
    if p.out_dim() != cfg.joint_dim || p.in_dim() != cfg.text_dim {
        bail!(
            "{}: dimension mismatch: the projection maps {} → {}, the model's {CONFIG_FILE} says text_dim {} → joint_dim {}",
            proj_path.display(),
            p.in_dim(),
            p.out_dim(),
            cfg.text_dim,
            cfg.joint_dim
        );
    }
    Ok((model, projection))
}

/// `frames.jsonl` lines with their line numbers.
fn read_frames(path: &Path) -> Result<Vec<(usize, DemoFrame)>> {
    let text = String::from_utf8(read(path)?).with_context(|| format!("{}: not UTF-8", path.display()))?;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let f: DemoFrame = serde_json::from_str(l).with_context(|| format!("{}: line {}: not a frame record", path.display(), i + 1))?;
        if let Some(prev) = seen.insert(f.id.clone(), i + 1) {
            bail!("{}: line {}: frame id {} already on line {prev}", path.display(), i + 1, f.id);
        }
        out.push((i + 1, f));
    }
    if out.is_empty() {
        bail!("{}: no frames", path.display());
    }
    Ok(out)
}

/// Where a listed frame is in the archive.
#[derive(Debug, Clone)]
enum Location {
    /// A PNG of a simulated / sidecar archive.
    Png(PathBuf),
    /// A frame id in a frame store.
    Stored(String),
}

/// A decoded frame and the key of its grid (frames on one grid share region masks).
struct Loaded {
    bt: Vec<f32>,
    width: usize,
    height: usize,
    grid: String,
    nav: Option<Navigation>,
}

enum Archive {
    /// `meta.json` + PNG frames (the simulated archive).
    Sidecar { sidecar: Sidecar, pngs: HashMap<String, PathBuf>, masks: Vec<Vec<bool>> },
    /// A `skycase ingest` frame store.
    Store(FrameStore),
}

/// The `YYYYMMDDhhmm` stamp of a frame id (`sim-201711010000`) or PNG stem
/// (`coms_mi_le1b_ir1_ea_201711010000`): the part after the last `-` or `_`.
fn stamp(s: &str) -> &str {
    s.rsplit(['-', '_']).next().unwrap_or(s)
}

impl Archive {
    fn open(root: &Path) -> Result<Self> {
        let meta_path = root.join("meta.json");
        if meta_path.is_file() {
            let sidecar = Sidecar::parse(&read(&meta_path)?, &meta_path)?;
            let mut pngs = HashMap::new();
            for dir in [root.join("frames"), root.to_path_buf()] {
                let Ok(entries) = std::fs::read_dir(&dir) else { continue };
                for e in entries {
                    let p = e.with_context(|| format!("{}: cannot list", dir.display()))?.path();
                    if p.extension().and_then(|x| x.to_str()) == Some("png") {
                        if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                            pngs.entry(stamp(stem).to_string()).or_insert(p.clone());
                        }
                    }
                }
            }
            // The same region masks as training (skycase_train::load_archive): the archive's
            // regions.geojson when present, else the bundled regions.
            let regions_path = root.join("regions.geojson");
            let regions = if regions_path.is_file() {
                let text = std::fs::read_to_string(&regions_path).with_context(|| format!("{}: cannot read", regions_path.display()))?;
                Regions::from_geojson_str(&text, &regions_path)?
            } else {
                Regions::bundled()
            };
            let nav = Navigation::Geos(sidecar.nav.clone());
            let rm = RegionMasks::rasterize(&regions, &nav, sidecar.width, sidecar.height);
            let masks = (0..REGIONS.len()).map(|k| rm.mask(k)).collect();
            return Ok(Self::Sidecar { sidecar, pngs, masks });
        }
        if root.join("frames").is_dir() {
            return Ok(Self::Store(FrameStore::open(root)?));
        }
        bail!(
            "{} is not an archive: no meta.json (simulated PNG archive) and no frames/ folder (frame store from `skycase ingest`)",
            root.display()
        )
    }

    fn locate(&self, id: &str) -> Option<Location> {
        match self {
            Self::Sidecar { pngs, .. } => pngs.get(stamp(id)).cloned().map(Location::Png),
            Self::Store(store) => {
                // Demo ids are `sim-<stamp>`; store ids `sim_<stamp>`.
                [id.to_string(), id.replacen('-', "_", 1)].into_iter().find(|c| store.contains(c)).map(Location::Stored)
            }
        }
    }

    /// Decodes `locs` on all cores, checking each frame's size against the model.
    fn load_many(&self, locs: &[Location], cfg: &ModelConfig) -> Result<Vec<Loaded>> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(locs.len().max(1));
        let mut slots: Vec<Option<Result<Loaded>>> = (0..locs.len()).map(|_| None).collect();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        (t..locs.len()).step_by(threads).map(|i| (i, self.load(&locs[i], cfg))).collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                match h.join() {
                    Ok(done) => done.into_iter().for_each(|(i, r)| slots[i] = Some(r)),
                    Err(_) => {
                        slots.iter_mut().filter(|x| x.is_none()).for_each(|x| *x = Some(Err(anyhow::anyhow!("a decoding thread panicked"))))
                    }
                }
            }
        });
        slots.into_iter().map(|s| s.unwrap_or_else(|| Err(anyhow::anyhow!("frame not decoded")))).collect()
    }

    fn load(&self, loc: &Location, cfg: &ModelConfig) -> Result<Loaded> {
        let (bt, w, h, grid, nav, what) = match (self, loc) {
            (Self::Sidecar { sidecar, .. }, Location::Png(p)) => {
                let (bt, w, h) = sidecar.decode_png(&read(p)?, p)?;
                (bt, w, h, "sidecar".to_string(), None, p.display().to_string())
            }
            (Self::Store(store), Location::Stored(id)) => {
                let f = store.load(id)?;
                let grid = skycase_ingest::frame::grid_id(f.meta.width, f.meta.height, &f.meta.nav);
                (f.bt, f.meta.width, f.meta.height, grid, Some(f.meta.nav), format!("{} frame {id}", store.root().display()))
            }
            _ => bail!("internal: frame location of another archive kind"),
        };
        if (w, h) != (cfg.frame_width, cfg.frame_height) {
            bail!(
                "{what}: dimension mismatch: the frame is {w}×{h} px, the model was trained on {}×{} px frames",
                cfg.frame_width,
                cfg.frame_height
            );
        }
        Ok(Loaded { bt, width: w, height: h, grid, nav })
    }

    /// Region masks of a loaded frame's grid (`masks[k]` = region k, row-major).
    fn masks(&self, l: &Loaded) -> Result<Vec<Vec<bool>>> {
        match self {
            Self::Sidecar { masks, .. } => Ok(masks.clone()),
            Self::Store(store) => {
                let nav = l.nav.as_ref().context("internal: stored frame without navigation")?;
                let rm = store.masks_for_grid(l.width, l.height, nav)?;
                Ok((0..REGIONS.len()).map(|k| rm.mask(k)).collect())
            }
        }
    }
}

/// The command line (program name `skycase`), shell-quoted where needed.
fn command_line() -> String {
    std::iter::once("skycase".to_string())
        .chain(std::env::args().skip(1))
        .map(|a| {
            if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c)) {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
