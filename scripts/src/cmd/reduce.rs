//! `skycase reduce`: a trained checkpoint in fewer joint dimensions, without retraining
//! (`skycase_train::reduce`). The basis is fit on the region vectors of the training frames
//! (`--data`'s days before its validation and test days, every frame of `--extra-data`) and
//! the checkpoint's calibration anchors.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use skycase_train::calibration::CALIBRATION_FILE;
use skycase_train::reduce::{principal_basis, reduce_checkpoint, reduce_projection_file, ReduceReport};
use skycase_train::train::embed_indices;
use skycase_train::{load_archive, ImageModel};

use crate::util::{command_line, write_atomic};

/// Arguments of `skycase reduce`.
#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint folder to reduce (config.json, model.safetensors, projection.safetensors,
    /// calibration.json); it is not changed.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Folder to write the reduced checkpoint into (and `e5/projection.safetensors`).
    #[arg(long)]
    out: PathBuf,
    /// The joint dimension to keep.
    #[arg(long, default_value_t = 128)]
    dim: usize,
    /// The checkpoint's captioned archive: the frames before its validation and test days fit the basis.
    #[arg(long)]
    data: PathBuf,
    /// More training archives of the same grid (every frame fits the basis).
    #[arg(long = "extra-data", value_name = "DIR")]
    extra_data: Vec<PathBuf>,
    /// Validation days of --data (left out of the fit, as `skycase train` splits).
    #[arg(long, default_value_t = 2)]
    val_days: usize,
    /// Test days of --data (left out of the fit).
    #[arg(long, default_value_t = 5)]
    test_days: usize,
    /// A second encoder's projection into the checkpoint's space to reduce too (written to
    /// `<out>/e5/projection.safetensors`). Default: `<checkpoint>/e5/projection.safetensors`,
    /// or `data/demo/e5/projection.safetensors` for `data/demo/model`; "none" for none.
    #[arg(long)]
    e5_projection: Option<String>,
    /// Cache folder for preprocessed frames (as `skycase train --cache-dir`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let t0 = std::time::Instant::now();
    let model = ImageModel::load(&args.checkpoint)?;
    let cache = args
        .cache_dir
        .clone()
        .or_else(|| std::env::var_os("SKYCASE_CACHE").map(PathBuf::from))
        .unwrap_or_else(|| std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".cache/skycase/train"));
    let mut ds = load_archive(&args.data, model.config(), Some(&cache), &candle_core::Device::Cpu)?;
    for extra in &args.extra_data {
        ds.append_training(load_archive(extra, model.config(), Some(&cache), &candle_core::Device::Cpu)?)?;
    }
    let split = ds.split(args.val_days, args.test_days)?;
    let frames: Vec<Vec<f32>> = embed_indices(&model, &ds, &split.train)?.into_iter().flat_map(|e| e.regions).collect();
    let cal_path = args.checkpoint.join(CALIBRATION_FILE);
    let anchors: Vec<Vec<f32>> = if cal_path.exists() {
        let cal: skycase_core::strength::Calibration =
            serde_json::from_slice(&std::fs::read(&cal_path)?).with_context(|| format!("{}: not a calibration", cal_path.display()))?;
        cal.anchors
    } else {
        Vec::new()
    };
    let basis = principal_basis(&[&frames, &anchors], args.dim)?;
    let from_dim = model.config().joint_dim;
    let mut files = reduce_checkpoint(&args.checkpoint, &args.out, &basis)?;
    let e5 = match args.e5_projection.as_deref() {
        Some("none") => None,
        Some(p) => Some(PathBuf::from(p)),
        None => {
            let own = args.checkpoint.join("e5/projection.safetensors");
            let demo = PathBuf::from("data/demo/e5/projection.safetensors");
            if own.exists() {
                Some(own)
            } else if args.checkpoint == PathBuf::from("data/demo/model") && demo.exists() {
                Some(demo)
            } else {
                None
            }
        }
    };
    if let Some(e5) = &e5 {
        if !e5.exists() {
            bail!("--e5-projection {}: no such file", e5.display());
        }
        reduce_projection_file(e5, &args.out.join("e5/projection.safetensors"), &basis)?;
        files.push("e5/projection.safetensors".into());
    }
    let total: f64 = basis.eigenvalues.iter().sum();
    let report = ReduceReport {
        from_dim,
        to_dim: basis.dim(),
        retained: vec![
            ("training frames' region vectors".into(), frames.iter().filter(|v| v.iter().any(|x| *x != 0.0)).count(), basis.retained(&frames)),
            ("calibration anchors".into(), anchors.len(), basis.retained(&anchors)),
        ],
        trace_kept: basis.eigenvalues[..basis.dim()].iter().sum::<f64>() / total,
        files,
    };
    let mut json = serde_json::to_value(&report)?;
    json["command"] = command_line().into();
    json["checkpoint"] = args.checkpoint.display().to_string().into();
    json["e5_projection"] = e5.map(|p| p.display().to_string()).into();
    json["fit_frames"] = split.train.len().into();
    write_atomic(&args.out.join("reduce.json"), serde_json::to_string_pretty(&json)?.as_bytes())?;
    println!("{} → {} dimensions ({} fit frames, {:.0}s):", from_dim, basis.dim(), split.train.len(), t0.elapsed().as_secs_f32());
    for (what, n, kept) in &report.retained {
        println!("  {what}: {n}, {:.4} % of their energy kept", 100.0 * kept);
    }
    println!("wrote {} into {}", report.files.join(", "), args.out.display());
    Ok(())
}
