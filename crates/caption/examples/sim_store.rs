//! Fill a frame store with simulated-archive frames through `skycase-ingest`'s reader,
//! for captioner work before `skycase ingest` covers it:
//! `cargo run --release -p skycase-caption --example sim_store -- <sim dir> <store>`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(sim), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: sim_store <sim-nov2017 dir> <store dir>".into());
    };
    let store = skycase_ingest::FrameStore::open(&out)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(PathBuf::from(&sim).join("frames"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    let mut n = 0;
    for f in &files {
        let frame = skycase_ingest::read_sim_frame(f)?;
        if !store.contains(&frame.meta.id) {
            store.put(&frame, None)?;
            n += 1;
        }
    }
    eprintln!("{n} frames added to {out} ({} files)", files.len());
    Ok(())
}
