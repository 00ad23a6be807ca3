//! Resample one frame of every real source in ../shared/data onto the canonical grid,
//! write an overlay image per source to docs/img/canonical/, and print coverage per region
//! (the table in docs/ingest.md).
//!
//! `cargo run --release -p skycase-ingest --example canonical [-- <shared/data> <out dir>]`

use std::path::{Path, PathBuf};
use std::time::Instant;

use skycase_ingest::canonical::{resample, GridSpec, MIN_REGION_COVERAGE};
use skycase_ingest::render::overlay_png;
use skycase_ingest::{batch, RegionMasks, Regions};
use skycase_vocab::REGIONS as REGION_NAMES;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| root.join("../shared/data"));
    let out = std::env::args().nth(2).map(PathBuf::from).unwrap_or_else(|| root.join("docs/img/canonical"));
    if !data.is_dir() {
        eprintln!("canonical: {} not found; nothing to render", data.display());
        return Ok(());
    }
    std::fs::create_dir_all(&out)?;
    let items: [(&str, PathBuf); 7] = [
        ("coms-hrit-fd", data.join("real/coms-xrit/hrit-fd")),
        ("coms-lrit-fd", data.join("real/coms-xrit/lrit-fd")),
        ("coms-lrit-enh", data.join("real/coms-xrit/lrit-enh")),
        ("kma-ea040ps", data.join("real/coms-ea-png/coms_mi_le1b_ir01_ea040ps_201212220100.png")),
        ("gk2a-ir105-crop", data.join("real/gk2a/gk2a_ami_le1b_ir105_fd020ge_202609281200.nc")),
        ("sim", data.join("sim-nov2017/frames/coms_mi_le1b_ir1_ea_201711081200.png")),
        ("digital-typhoon", data.join("real/digital-typhoon/2007101512-200718-MTS1-1.h5")),
    ];
    let canon = GridSpec::canonical();
    let masks = RegionMasks::rasterize(&Regions::bundled(), &canon.nav, canon.width, canon.height);
    let short: Vec<String> = REGION_NAMES.iter().map(|n| n.split([' ', '(']).next().unwrap_or(n).to_string()).collect();
    println!("| source | frame | grid | samples | coverage | s | {} |", short.join(" | "));
    println!("|---|---|---|---:|---:|---:|{}", "---:|".repeat(REGION_NAMES.len()));
    for (name, input) in items {
        let (jobs, _) = batch::plan(std::slice::from_ref(&input))?;
        let Some(job) = jobs.into_iter().find(|j| !matches!(j, batch::Job::Unknown(_))) else {
            println!("| {name} | (no readable file in {}) |", input.display());
            continue;
        };
        let frame = batch::read_job(&job, &mut Default::default())?;
        let t0 = Instant::now();
        match resample(&frame, &canon) {
            Ok(r) => {
                let secs = t0.elapsed().as_secs_f64();
                let cov = r.region_coverage(&masks);
                let cells: Vec<String> = cov
                    .iter()
                    .map(|c| if *c >= MIN_REGION_COVERAGE { format!("{:.0}", 100.0 * c) } else { format!("*{:.0}*", 100.0 * c) })
                    .collect();
                println!(
                    "| {name} | {} | {}×{} | {} | {:.1} % | {secs:.2} | {} |",
                    frame.meta.id,
                    frame.meta.width,
                    frame.meta.height,
                    if r.copied { "copy".to_string() } else { format!("{0}×{0}", r.supersample) },
                    100.0 * r.coverage(),
                    cells.join(" | ")
                );
                std::fs::write(out.join(format!("{name}.png")), overlay_png(&r.to_frame(&frame), 819)?)?;
            }
            Err(e) => println!("| {name} | {} | {}×{} | refused: {e} |", frame.meta.id, frame.meta.width, frame.meta.height),
        }
    }
    Ok(())
}
