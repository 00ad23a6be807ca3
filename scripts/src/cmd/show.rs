//! `skycase show`: render a stored frame (or an archive file) as PNG with coastlines and
//! the 13 region outlines.

use std::path::PathBuf;

use anyhow::Context;
use skycase_ingest::batch;
use skycase_ingest::FrameStore;

/// Arguments of `skycase show`.
#[derive(clap::Args)]
pub struct Args {
    /// Frame id in the store (see `--list`), or a path to an archive file (xRIT segments of
    /// one image: give its folder or all segment files).
    pub frame: Vec<String>,
    /// Frame store folder.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Output PNG.
    #[arg(long, short, default_value = "frame.png")]
    pub out: PathBuf,
    /// Longest side of the output image in pixels.
    #[arg(long, default_value_t = 1200)]
    pub size: usize,
    /// Show only this lon/lat box: `lon_min,lat_min,lon_max,lat_max` (degrees).
    #[arg(long)]
    pub bbox: Option<String>,
    /// List the store's frames instead.
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.list {
        let store = FrameStore::open(&args.store)?;
        for m in store.list()? {
            println!(
                "{}\t{}\t{:?}\t{}x{}\t{}{}",
                m.id,
                m.time.format("%Y-%m-%dT%H:%MZ"),
                m.source,
                m.width,
                m.height,
                if m.calibration.is_calibrated() { "calibrated" } else { "uncalibrated" },
                if m.complete { "" } else { "\tincomplete" }
            );
        }
        for q in store.quarantined() {
            eprintln!("quarantined: {q}");
        }
        return Ok(());
    }
    let first = args.frame.first().context("give a frame id or a file path (or --list)")?;
    let frame = if args.frame.len() == 1 && !std::path::Path::new(first).exists() {
        FrameStore::open(&args.store)?.load(first)?
    } else {
        let paths: Vec<PathBuf> = args.frame.iter().map(PathBuf::from).collect();
        let (jobs, _) = batch::plan(&paths)?;
        anyhow::ensure!(jobs.len() == 1, "{} frames found in {paths:?}; give one", jobs.len());
        batch::read_job(&jobs[0], &mut Default::default())?
    };
    let bbox: Option<Vec<f64>> = match &args.bbox {
        Some(s) => {
            let v: Vec<f64> = s.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().with_context(|| format!("--bbox {s:?}"))?;
            anyhow::ensure!(v.len() == 4, "--bbox {s:?}: give lon_min,lat_min,lon_max,lat_max");
            Some(v)
        }
        None => None,
    };
    let frame = match &bbox {
        Some(b) => frame
            .crop_lonlat(b[0], b[1], b[2], b[3])
            .with_context(|| format!("box {b:?} is not on the grid of {}", frame.meta.id))?,
        None => frame,
    };
    let png = skycase_ingest::render::overlay_png(&frame, args.size)?;
    std::fs::write(&args.out, png).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("{} ({:?}, {}) → {}", frame.meta.id, frame.meta.source, frame.meta.time, args.out.display());
    Ok(())
}
