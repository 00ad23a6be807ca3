//! `skycase pack`: copies what a web bundle needs from a frame store's image index into a
//! self-contained folder (the repository's `data/demo`), so a clone without the archives
//! can still run `skycase export --frames <out>/frames.jsonl --index <out>/index`.
//!
//! ```text
//! <out>/frames.jsonl        one line per embedded frame: id, time, caption, thumb, source
//!                           (card label), origin (source-filter key), grid
//! <out>/grids.json          every grid a frame names (size + navigation), for the basemaps
//! <out>/thumbs/<id>.png     the store's thumbnails
//! <out>/medium/<id>.png     with --medium-width: each frame that wide, for the case view
//!                           (export copies them into the bundle)
//! <out>/index/              <period>.skyshard as embed wrote them, projection.safetensors,
//!                           calibration.json (if the index has it), index.json
//! ```
//!
//! Contract: the shards are copied byte for byte (their records already carry caption,
//! source and origin); thumbnails, medium images and shards no longer in the index (all medium
//! images without --medium-width) are removed from `<out>`
//! (nothing else there is touched: the model, PROVENANCE.md); every file is written
//! atomically and only when its bytes change, so a rerun on the same index writes nothing.
//! Every period must come from one checkpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use skycase_ingest::basemap::{Grid, GRIDS_FILE};
use skycase_ingest::FrameStore;
use skycase_train::calibration::CALIBRATION_FILE;
use skycase_train::model::PROJECTION_FILE;
use skycase_train::period_index::{check_period, read_period};

use crate::util::write_atomic;

/// One line of `frames.jsonl`: what the demo index shows about a frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoFrame {
    pub id: String,
    pub time: String,
    pub caption: String,
    /// Thumbnail, relative to the folder of frames.jsonl.
    pub thumb: String,
    pub source: String,
    /// The origin key the `source` filter reads (`simulated`, `kma`, …).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub origin: String,
    /// The frame's image grid: a key of `grids.json` beside frames.jsonl (size and
    /// navigation), from which export draws the thumbnail's basemap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
}

/// Arguments of `skycase pack`.
#[derive(clap::Args)]
pub struct Args {
    /// The frame store (`skycase ingest`), embedded by `skycase embed --store`.
    #[arg(long)]
    store: PathBuf,
    /// Its image index (default <store>/index).
    #[arg(long)]
    index: Option<PathBuf>,
    /// The periods (YYYY-MM) to pack; default every embedded period.
    #[arg(long, value_name = "YYYY-MM", num_args = 1..)]
    periods: Vec<String>,
    /// Output folder.
    #[arg(long, default_value = "data/demo")]
    out: PathBuf,
    /// Also render each frame this many pixels wide into `<out>/medium/` (the case view's
    /// large image; 512 is `skycase export --store`'s default); 0, the default, writes none:
    /// at about 78 kB a frame (the test fixtures' three frames at 512 px), the demo's 753
    /// frames would add some 55 MB, too much for the repository.
    #[arg(long, default_value_t = 0)]
    medium_width: usize,
}

/// Writes `bytes` to `path` unless it already holds them; true when it wrote.
fn put(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(false);
    }
    write_atomic(path, bytes)?;
    Ok(true)
}

/// Deletes the files of `dir` with extension `ext` that are not in `keep`.
fn prune(dir: &Path, ext: &str, keep: &BTreeSet<String>) -> Result<usize> {
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(0) };
    for e in entries {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(ext) && !keep.contains(&name) {
            std::fs::remove_file(e.path()).with_context(|| format!("{}: cannot remove", e.path().display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

pub fn run(args: Args) -> Result<()> {
    let index = args.index.clone().unwrap_or_else(|| args.store.join("index"));
    let frames = FrameStore::open(&args.store).with_context(|| format!("{}: not a frame store", args.store.display()))?;
    let mut periods = args.periods.clone();
    if periods.is_empty() {
        for e in std::fs::read_dir(&index).with_context(|| format!("{}: cannot list (run skycase embed --store {})", index.display(), args.store.display()))? {
            let name = e?.file_name().to_string_lossy().into_owned();
            if let Some(p) = name.strip_suffix(".json").filter(|p| check_period(p).is_ok()) {
                periods.push(p.to_string());
            }
        }
        periods.sort();
    }
    if periods.is_empty() {
        bail!("{}: no embedded period (run skycase embed --store {})", index.display(), args.store.display());
    }
    let out_index = args.out.join("index");
    let out_thumbs = args.out.join("thumbs");
    let out_medium = args.out.join(skycase_core::bundle::MEDIUM_DIR);
    let (mut lines, mut grids, mut shard_names, mut thumbs, mut mediums) = (String::new(), BTreeMap::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut shards_json = Vec::new();
    let (mut first, mut written, mut n_frames) = (None::<skycase_train::period_index::PeriodInfo>, 0usize, 0usize);
    for p in &periods {
        check_period(p)?;
        let Some((info, shard)) = read_period(&index, p)? else {
            bail!("period {p} is not embedded in {} (no {p}.json, or its shard is missing or changed): run skycase embed --store {} --period {p}", index.display(), args.store.display());
        };
        if let Some(f) = &first {
            if (f.checkpoint_sha256.as_str(), f.vectors.as_str(), f.joint_dim) != (info.checkpoint_sha256.as_str(), info.vectors.as_str(), info.joint_dim) {
                bail!("{}: period {p} was embedded by checkpoint {}, period {} by {}; re-embed with one checkpoint", index.display(), info.checkpoint, f.period, f.checkpoint);
            }
        }
        for rec in shard.records() {
            let meta = frames.meta(&rec.id).with_context(|| format!("period {p}: frame {} of the shard is not in the store {}", rec.id, args.store.display()))?;
            let grid = Grid { width: meta.width, height: meta.height, nav: meta.nav };
            let grid_id = grid.id();
            grids.insert(grid_id.clone(), grid);
            let name = Path::new(&rec.thumb).file_name().and_then(|n| n.to_str()).with_context(|| format!("frame {}: thumbnail path {:?}", rec.id, rec.thumb))?.to_string();
            let src = args.store.join(&rec.thumb);
            let bytes = std::fs::read(&src).with_context(|| format!("frame {}: thumbnail {}", rec.id, src.display()))?;
            written += usize::from(put(&out_thumbs.join(&name), &bytes)?);
            thumbs.insert(name.clone());
            if args.medium_width > 0 {
                let frame = frames.load(&rec.id).with_context(|| format!("period {p}: frame {} (its medium image)", rec.id))?;
                written += usize::from(put(&out_medium.join(&name), &skycase_ingest::render::medium_png(&frame, args.medium_width))?);
                mediums.insert(name.clone());
            }
            let line = DemoFrame {
                id: rec.id.clone(),
                time: rec.time.clone(),
                caption: rec.caption.clone(),
                thumb: format!("thumbs/{name}"),
                source: rec.source.clone(),
                origin: rec.origin.clone(),
                grid: Some(grid_id),
            };
            lines.push_str(&serde_json::to_string(&line)?);
            lines.push('\n');
        }
        let src = index.join(&info.shard);
        let bytes = std::fs::read(&src).with_context(|| format!("{}", src.display()))?;
        let name = format!("{p}.skyshard");
        written += usize::from(put(&out_index.join(&name), &bytes)?);
        shard_names.insert(name.clone());
        n_frames += shard.records().len();
        shards_json.push(serde_json::json!({ "period": p, "file": name, "frames": shard.records().len(), "bytes": bytes.len(), "left_out": info.skipped }));
        first.get_or_insert(info);
    }
    let info = first.context("no period")?;
    for name in [PROJECTION_FILE, CALIBRATION_FILE] {
        match std::fs::read(index.join(name)) {
            Ok(bytes) => written += usize::from(put(&out_index.join(name), &bytes)?),
            Err(e) if name == CALIBRATION_FILE && e.kind() == std::io::ErrorKind::NotFound => {
                // A checkpoint without calibration: do not ship another checkpoint's.
                let stale = out_index.join(name);
                if stale.exists() {
                    std::fs::remove_file(&stale).with_context(|| format!("{}: cannot remove", stale.display()))?;
                }
            }
            Err(e) => return Err(e).with_context(|| format!("{}", index.join(name).display())),
        }
    }
    let description = serde_json::json!({
        "vectors": info.vectors,
        "joint_dim": info.joint_dim,
        "storage": info.storage,
        "checkpoint": info.checkpoint,
        "checkpoint_sha256": info.checkpoint_sha256,
        "command": info.command,
        "packed_by": crate::util::command_line(),
        "frames": n_frames,
        "shards": shards_json,
    });
    written += usize::from(put(&out_index.join("index.json"), format!("{}\n", serde_json::to_string_pretty(&description)?).as_bytes())?);
    written += usize::from(put(&args.out.join(GRIDS_FILE), format!("{}\n", serde_json::to_string_pretty(&grids)?).as_bytes())?);
    written += usize::from(put(&args.out.join("frames.jsonl"), lines.as_bytes())?);
    let removed = prune(&out_thumbs, ".png", &thumbs)? + prune(&out_medium, ".png", &mediums)? + prune(&out_index, ".skyshard", &shard_names)?;
    eprintln!(
        "{}: {n_frames} frames of {} period(s), {} grid(s); {written} file(s) written, {removed} removed",
        args.out.display(),
        periods.len(),
        grids.len()
    );
    Ok(())
}
