//! `skycase embed`: embeds the demo frames with a trained image model into index shards.
//!
//! Reads a checkpoint folder (`config.json`, `model.safetensors`, `projection.safetensors`,
//! as written by `skycase train`), the frame list `frames.jsonl` (written by `skycase
//! sample`) and the archive the frames come from, and writes the image index:
//!
//! ```text
//! <out>/<period>.skyshard     one shard per month (YYYY-MM): a region model stores 13
//!                             vectors per frame (skycase_vocab::REGIONS order),
//!                             a global model one ("global"); int8 by default
//! <out>/projection.safetensors  the checkpoint's text projection (D × 384 + D)
//! <out>/calibration.json      the checkpoint's "nothing close" calibration, if it has one
//! <out>/index.json            {"vectors", "joint_dim", "checkpoint", "command", "model"}
//! ```
//! `skycase export --index <out>` ships these shards and the projection. Every file is
//! written to a temporary name and renamed into place; `index.json` is written last.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use skycase_core::shard::{FrameRecord, Shard, VectorKind};
use skycase_train::calibration::CALIBRATION_FILE;
use skycase_train::model::{CONFIG_FILE, PROJECTION_FILE, WEIGHTS_FILE};
use skycase_train::{Archive, Granularity, ImageModel, ModelConfig};
use skycase_vocab::REGIONS;

use super::pack::DemoFrame;
use crate::util::{command_line, progress, read, write_atomic};

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
    /// Index folder to write (shards, projection.safetensors, index.json); default
    /// data/demo/index, or <store>/index with --store.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Embed a frame store (`skycase ingest`) period by period instead of a frame list: each
    /// period (month) is one atomic shard + description in the index; frames already embedded
    /// by the same checkpoint are not embedded again; other periods are never touched.
    #[arg(long, conflicts_with = "frames")]
    store: Option<PathBuf>,
    /// With --store: the periods (YYYY-MM) to embed; default every period of the store.
    #[arg(long = "period", value_name = "YYYY-MM", num_args = 1.., requires = "store")]
    periods: Vec<String>,
    /// With --store: print the store's periods, one per line, and exit (for `xargs -P`).
    #[arg(long, requires = "store")]
    list_periods: bool,
    /// With --store: the caption sources whose text the shard records carry, in order of
    /// preference (`truth,physical`: a frame's truth caption if it has one, else its
    /// physical one); each record names the source it got.
    #[arg(long, default_value = "physical", requires = "store")]
    captions: String,
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
    if let Some(store) = &args.store {
        if args.list_periods {
            return super::embed_store::list_periods(store);
        }
        let out = args.out.clone().unwrap_or_else(|| store.join("index"));
        return super::embed_store::run(store, &out, &args.checkpoint, &args.periods, &args.storage, args.batch, &args.captions, command_line());
    }
    let out_dir = args.out.clone().unwrap_or_else(|| PathBuf::from("data/demo/index"));
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
    std::fs::create_dir_all(&out_dir).with_context(|| format!("{}: cannot create folder", out_dir.display()))?;
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
                    origin: f.origin.clone(),
                }
            })
            .collect();
        let flat: Vec<Vec<f32>> = members.iter().flat_map(|&i| rows[i].iter().cloned()).collect();
        let shard = Shard::from_f32(period.clone(), names.clone(), records, cfg.joint_dim, &flat, kind)?;
        let bytes = shard.to_bytes();
        let file = format!("{period}.skyshard");
        write_atomic(&out_dir.join(&file), &bytes)?;
        shards.push(ShardInfo { period: period.clone(), file, frames: members.len(), bytes: bytes.len() });
    }
    // Shards of periods this run did not write would be shipped by the exporter: remove them.
    let written: Vec<&str> = shards.iter().map(|s| s.file.as_str()).collect();
    for entry in std::fs::read_dir(&out_dir).with_context(|| format!("{}: cannot list", out_dir.display()))? {
        let p = entry?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if name.ends_with(".skyshard") && !written.contains(&name.as_str()) {
            std::fs::remove_file(&p).with_context(|| format!("{}: cannot remove stale shard", p.display()))?;
            eprintln!("removed stale shard {}", p.display());
        }
    }
    write_atomic(&out_dir.join(PROJECTION_FILE), &projection)?;
    // The "nothing close" calibration travels with the vectors it was fit for; an index
    // without one (a global model, an older checkpoint) must not keep a stale copy.
    let cal_src = args.checkpoint.join(CALIBRATION_FILE);
    let cal_dst = out_dir.join(CALIBRATION_FILE);
    if cal_src.is_file() && cfg.granularity == Granularity::Region {
        let bytes = read(&cal_src)?;
        let cal = skycase_core::strength::Calibration::from_json(&bytes, &cal_src.display().to_string())?;
        if cal.joint_dim != cfg.joint_dim {
            bail!("{}: anchors have {} dimensions, the model's joint space {}", cal_src.display(), cal.joint_dim, cfg.joint_dim);
        }
        write_atomic(&cal_dst, &bytes)?;
    } else if cal_dst.is_file() {
        std::fs::remove_file(&cal_dst).with_context(|| format!("{}: cannot remove stale calibration", cal_dst.display()))?;
    }
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
    write_atomic(&out_dir.join("index.json"), &json)?;
    let total: usize = info.shards.iter().map(|s| s.bytes).sum();
    eprintln!(
        "embedded {} frames ({} × {}-d {} per frame) into {} shard(s), {:.1} kB, in {}",
        frames.len(),
        names.len(),
        cfg.joint_dim,
        args.storage,
        info.shards.len(),
        total as f64 / 1e3,
        out_dir.display()
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

#[cfg(test)]
mod tests {
    use super::*;
    use skycase_core::shard::Vectors;
    use skycase_ingest::{Navigation, RegionMasks, Regions, Sidecar};

    /// A 40 × 24 px crop of the simulated grid around Seoul (pixel 403, 137 of sim-nov2017).
    fn meta_json(width: usize, height: usize) -> String {
        serde_json::json!({
            "provenance": "simulated",
            "image": {"width": width, "height": height, "space_value": 0},
            "calibration": {"gray_to_bt": "BT = 330.0 - gray * 150.0 / 255   (gray 1..255)"},
            "navigation": {
                "projection": "CGMS normalized geostationary projection",
                "sub_lon": 128.2, "CFAC": 5106334, "LFAC": -5106334, "COFF": 687, "LOFF": 687,
                "first_column": 654, "first_line": 211, "width": width, "height": height,
                "earth_equatorial_radius_km": 6378.137, "earth_polar_radius_km": 6356.7523,
                "satellite_distance_from_earth_centre_km": 42164.0
            }
        })
        .to_string()
    }

    fn tiny_model(dir: &Path, width: usize) -> ImageModel {
        let m = ImageModel::new(ModelConfig::tiny(width, 24), 7, &candle_core::Device::Cpu).unwrap();
        m.save(dir).unwrap();
        m
    }

    fn frame_line(stamp: &str) -> String {
        let time = format!("{}-{}-{}T{}:{}Z", &stamp[..4], &stamp[4..6], &stamp[6..8], &stamp[8..10], &stamp[10..12]);
        let caption = REGIONS.iter().map(|r| format!("- {r} - Clear")).collect::<Vec<_>>().join("\n");
        serde_json::json!({"id": format!("sim-{stamp}"), "time": time, "caption": caption, "thumb": "x.png", "source": "test"}).to_string()
    }

    fn args(base: &Path, storage: &str) -> Args {
        Args {
            checkpoint: base.join("ckpt"),
            archive: base.join("archive"),
            frames: base.join("frames.jsonl"),
            out: Some(base.join("index")),
            store: None,
            periods: vec![],
            list_periods: false,
            captions: "physical".into(),
            storage: storage.into(),
            batch: 2,
            quiet: true,
        }
    }

    #[test]
    fn embeds_a_tiny_archive_end_to_end() {
        let base = std::env::temp_dir().join(format!("skycase-embed-{}", std::process::id()));
        std::fs::remove_dir_all(&base).ok();
        let model = tiny_model(&base.join("ckpt"), 40);
        let archive = base.join("archive");
        std::fs::create_dir_all(archive.join("frames")).unwrap();
        std::fs::write(archive.join("meta.json"), meta_json(40, 24)).unwrap();
        let stamps = ["201711300000", "201711300100", "201712010000"];
        for (k, s) in stamps.iter().enumerate() {
            let img = image::GrayImage::from_fn(40, 24, |x, y| image::Luma([(1 + (x * 5 + y * 3 + k as u32 * 40) % 250) as u8]));
            img.save(archive.join(format!("frames/coms_mi_le1b_ir1_ea_{s}.png"))).unwrap();
        }
        let lines: Vec<String> = stamps.iter().map(|s| frame_line(s)).collect();
        std::fs::write(base.join("frames.jsonl"), lines.join("\n")).unwrap();
        // A stale shard of another period is removed.
        std::fs::create_dir_all(base.join("index")).unwrap();
        std::fs::write(base.join("index/2017-10.skyshard"), b"old").unwrap();

        run(args(&base, "f32")).unwrap();
        let index = base.join("index");
        let mut files: Vec<String> = std::fs::read_dir(&index).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        files.sort();
        assert_eq!(files, ["2017-11.skyshard", "2017-12.skyshard", "index.json", "projection.safetensors"]);
        assert_eq!(std::fs::read(index.join(PROJECTION_FILE)).unwrap(), std::fs::read(base.join("ckpt").join(PROJECTION_FILE)).unwrap());
        let info: serde_json::Value = serde_json::from_slice(&std::fs::read(index.join("index.json")).unwrap()).unwrap();
        assert_eq!(info["vectors"], "image-region");
        assert_eq!(info["joint_dim"], 6);
        assert!(info["command"].as_str().unwrap().starts_with("skycase"));

        let nov = Shard::from_bytes(&std::fs::read(index.join("2017-11.skyshard")).unwrap(), "2017-11").unwrap();
        assert_eq!(nov.period(), "2017-11");
        assert_eq!((nov.len(), nov.dim(), nov.vectors_per_frame()), (2, 6, 13));
        assert_eq!(nov.vector_names()[6], "Honshu (Japan)");
        assert_eq!(nov.records()[1].id, "sim-201711300100");
        assert_eq!(nov.records()[1].thumb, "thumbs/sim-201711300100.png");
        // The stored vectors are the model's embeddings of the decoded frames, region by region.
        let side = Sidecar::parse(meta_json(40, 24).as_bytes(), Path::new("meta.json")).unwrap();
        let p = archive.join("frames/coms_mi_le1b_ir1_ea_201711300100.png");
        let (bt, _, _) = side.decode_png(&std::fs::read(&p).unwrap(), &p).unwrap();
        let rm = RegionMasks::rasterize(&Regions::bundled(), &Navigation::Geos(side.nav.clone()), 40, 24);
        assert!(rm.count(0) > 0, "the crop covers part of the Korean Peninsula");
        let masks: Vec<Vec<bool>> = (0..13).map(|k| rm.mask(k)).collect();
        let want = model.embed_frames(&[&bt], &masks).unwrap().remove(0);
        // (Batched matmuls differ from a batch of one in the last float bits.)
        for k in 0..13 {
            let d = nov.row_f32(13 + k).iter().zip(&want.regions[k]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(d < 1e-5, "region {k}: {d}");
        }
        let dec = Shard::from_bytes(&std::fs::read(index.join("2017-12.skyshard")).unwrap(), "2017-12").unwrap();
        assert_eq!(dec.len(), 1);

        // int8 (the default) stores the same vectors to within quantisation.
        run(args(&base, "int8")).unwrap();
        let q = Shard::from_bytes(&std::fs::read(index.join("2017-11.skyshard")).unwrap(), "2017-11").unwrap();
        assert!(matches!(q.vectors(), Vectors::Int8 { .. }));
        let err: f32 = q.row_f32(13).iter().zip(&want.regions[0]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 0.01, "{err}");

        // A frame listed but absent from the archive names the frame and the line.
        let mut bad = lines.clone();
        bad.push(frame_line("201711300200"));
        std::fs::write(base.join("frames.jsonl"), bad.join("\n")).unwrap();
        let e = format!("{:#}", run(args(&base, "int8")).unwrap_err());
        assert!(e.contains("sim-201711300200 (line 4)") && e.contains("not in the archive"), "{e}");
        std::fs::write(base.join("frames.jsonl"), lines.join("\n")).unwrap();

        // Frames of another size than the model's: dimension mismatch.
        tiny_model(&base.join("ckpt"), 48);
        let e = format!("{:#}", run(args(&base, "int8")).unwrap_err());
        assert!(e.contains("dimension mismatch") && e.contains("40×24"), "{e}");

        // A missing checkpoint or file is named.
        let mut a = args(&base, "int8");
        a.checkpoint = base.join("nope");
        let e = format!("{:#}", run(a).unwrap_err());
        assert!(e.contains("nope") && e.contains("does not exist"), "{e}");
        std::fs::remove_file(base.join("ckpt").join(PROJECTION_FILE)).unwrap();
        let e = format!("{:#}", run(args(&base, "int8")).unwrap_err());
        assert!(e.contains("projection.safetensors is missing"), "{e}");
        std::fs::remove_dir_all(&base).ok();
    }
}
