//! `skycase sample`: copies the simulated archive's truth captions and thumbnails of its
//! frames into the repository's demo data (`data/demo`), with the frames' image grids
//! (`grids.json`: size and navigation), so a fresh clone can build the demo bundle, basemap
//! included, without the archive itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use skycase_ingest::basemap::{Grid, GRIDS_FILE};

use crate::util::{progress, read, write_atomic};

/// Arguments of `skycase sample`.
#[derive(clap::Args)]
pub struct Args {
    /// The simulated archive (folder with labels.jsonl, meta.json and frames/).
    #[arg(long, default_value = "../shared/data/sim-nov2017")]
    archive: PathBuf,
    /// Output folder (frames.jsonl + thumbs/).
    #[arg(long, default_value = "data/demo")]
    out: PathBuf,
    /// Keep every n-th frame.
    #[arg(long, default_value_t = 1)]
    every: usize,
}

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

#[derive(Deserialize)]
struct Label {
    time: String,
    file: String,
    caption: String,
}

pub fn run(args: Args) -> Result<()> {
    let labels_path = args.archive.join("labels.jsonl");
    let text = String::from_utf8(read(&labels_path)?).with_context(|| format!("{}: not UTF-8", labels_path.display()))?;
    let labels: Vec<Label> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}: line {}", labels_path.display(), i + 1)))
        .collect::<Result<_>>()?;
    if labels.is_empty() {
        bail!("{}: no frames", labels_path.display());
    }
    let keep: Vec<&Label> = labels.iter().step_by(args.every.max(1)).collect();
    let bar = progress(keep.len() as u64, "thumbnails");
    let mut out = Vec::with_capacity(keep.len());
    let mut grids = BTreeMap::new();
    for label in keep {
        let png = args.archive.join(&label.file);
        let stem = png.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let id = format!("sim-{}", stem.rsplit('_').next().unwrap_or(stem));
        let frame = skycase_ingest::read_sim_frame(&png).with_context(|| format!("{}", png.display()))?;
        let thumb = format!("thumbs/{id}.png");
        write_atomic(&args.out.join(&thumb), &skycase_ingest::render::thumbnail_png(&frame))?;
        let grid = Grid { width: frame.meta.width, height: frame.meta.height, nav: frame.meta.nav.clone() };
        let grid_id = grid.id();
        grids.insert(grid_id.clone(), grid);
        out.push(DemoFrame {
            id,
            time: label.time.clone(),
            caption: label.caption.clone(),
            thumb,
            source: "wxsim simulated COMS-like IR1".into(),
            origin: skycase_core::source::SIMULATED.into(),
            grid: Some(grid_id),
        });
        bar.inc(1);
    }
    bar.finish();
    let mut jsonl = String::new();
    for f in &out {
        jsonl.push_str(&serde_json::to_string(f)?);
        jsonl.push('\n');
    }
    write_atomic(&args.out.join("frames.jsonl"), jsonl.as_bytes())?;
    write_atomic(&args.out.join(GRIDS_FILE), serde_json::to_string_pretty(&grids)?.as_bytes())?;
    eprintln!("wrote {} frames to {}", out.len(), args.out.display());
    Ok(())
}
