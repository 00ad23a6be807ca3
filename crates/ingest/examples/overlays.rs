//! Render the overlay images in docs/img/ingest from the real files in ../shared/data
//! (the same rendering as `skycase show`), and print the navigation checks.
//!
//! `cargo run --release -p skycase-ingest --example overlays [-- <shared/data> <out dir>]`

use std::path::{Path, PathBuf};

use skycase_ingest::batch;
use skycase_ingest::coast::{coastline_alignment, describe, Coastlines};
use skycase_ingest::render::overlay_png;

/// (output name, input, optional lon/lat box, longest side).
type Item = (&'static str, PathBuf, Option<(f64, f64, f64, f64)>, usize);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| root.join("../shared/data"));
    let out = std::env::args().nth(2).map(PathBuf::from).unwrap_or_else(|| root.join("docs/img/ingest"));
    if !data.is_dir() {
        eprintln!("overlays: {} not found; nothing to render", data.display());
        return Ok(());
    }
    std::fs::create_dir_all(&out)?;
    let east_asia = Some((115.0, 25.0, 150.0, 47.0));
    let items: [Item; 8] = [
        ("coms-hrit-fd-full.png", data.join("real/coms-xrit/hrit-fd"), None, 640),
        ("coms-hrit-fd-korea-japan.png", data.join("real/coms-xrit/hrit-fd"), east_asia, 860),
        ("coms-lrit-enh-korea-japan.png", data.join("real/coms-xrit/lrit-enh"), east_asia, 860),
        ("coms-lrit-fd-korea-japan.png", data.join("real/coms-xrit/lrit-fd"), east_asia, 860),
        ("gk2a-ir105-crop.png", data.join("real/gk2a/gk2a_ami_le1b_ir105_fd020ge_202609281200.nc"), None, 640),
        ("kma-ea040ps-201212220100.png", data.join("real/coms-ea-png/coms_mi_le1b_ir01_ea040ps_201212220100.png"), None, 860),
        ("sim-201711081200.png", data.join("sim-nov2017/frames/coms_mi_le1b_ir1_ea_201711081200.png"), None, 640),
        ("dt-200718-2007101512.png", data.join("real/digital-typhoon/2007101512-200718-MTS1-1.h5"), None, 384),
    ];
    let coast = Coastlines::bundled();
    for (name, input, bbox, size) in items {
        let (jobs, _) = batch::plan(std::slice::from_ref(&input))?;
        let jobs: Vec<_> = jobs.into_iter().filter(|j| !matches!(j, batch::Job::Unknown(_))).collect();
        let frame = batch::read_job(&jobs[0], &mut Default::default())?;
        if frame.meta.nav.is_mapped() {
            let a = coastline_alignment(&frame, &coast, 4, (100.0, 20.0, 150.0, 50.0));
            println!("{}", describe(&a, &input));
        }
        let frame = match bbox {
            Some((a, b, c, d)) => frame.crop_lonlat(a, b, c, d).ok_or("bbox off grid")?,
            None => frame,
        };
        std::fs::write(out.join(name), overlay_png(&frame, size)?)?;
        println!("wrote {}", out.join(name).display());
    }
    Ok(())
}
