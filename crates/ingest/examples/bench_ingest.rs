//! Frames per second for each reader on the real files in ../shared/data (and the
//! simulated archive): decode only, and decode + thumbnail + store write.
//!
//! `cargo run --release -p skycase-ingest --example bench_ingest [-- <shared/data>]`
//! Prints a Markdown table. Exits with a message when the data folder is absent.

use std::path::{Path, PathBuf};
use std::time::Instant;

use skycase_ingest::batch::{self, Job};
use skycase_ingest::FrameStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
    });
    if !data.is_dir() {
        eprintln!("bench_ingest: {} not found; nothing to measure", data.display());
        return Ok(());
    }
    let sets: [(&str, PathBuf, usize); 7] = [
        ("COMS HRIT full disk (10 segments, 2750²)", data.join("real/coms-xrit/hrit-fd"), usize::MAX),
        ("COMS LRIT full disk (10 segments, 2200²)", data.join("real/coms-xrit/lrit-fd"), usize::MAX),
        ("COMS LRIT ENH (4 segments, 1547×1234)", data.join("real/coms-xrit/lrit-enh"), usize::MAX),
        ("GK-2A AMI L1B netCDF (160×96 crop)", data.join("real/gk2a"), usize::MAX),
        ("KMA ea040ps PNG (1500×1300)", data.join("real/coms-ea-png"), usize::MAX),
        ("Digital Typhoon HDF5 (512²)", data.join("real/digital-typhoon"), usize::MAX),
        ("Simulated PNG + sidecar (819×471)", data.join("sim-nov2017"), 240),
    ];
    let tmp = std::env::temp_dir().join(format!("skycase-bench-{}", std::process::id()));
    println!("| format | frames | decode only (frames/s) | decode + thumbnail + store (frames/s) |");
    println!("|---|---:|---:|---:|");
    for (name, dir, limit) in sets {
        if !dir.is_dir() {
            println!("| {name} | – | absent | absent |");
            continue;
        }
        let (jobs, _) = batch::plan(&[dir])?;
        // Only jobs that read (the sim folder also holds contact_sheet.png, refused).
        let mut sidecars = Default::default();
        let jobs: Vec<Job> = jobs
            .into_iter()
            .filter(|j| !matches!(j, Job::Unknown(_)))
            .filter(|j| batch::read_job(j, &mut sidecars).is_ok())
            .take(limit)
            .collect();
        // Repeat small sets so each timing covers at least ~1 s of work.
        let t = Instant::now();
        let mut n = 0usize;
        while n == 0 || (t.elapsed().as_secs_f64() < 1.0 && n < 50 * jobs.len()) {
            for j in &jobs {
                let _ = batch::read_job(j, &mut sidecars)?;
                n += 1;
            }
        }
        let decode_fps = n as f64 / t.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&tmp);
        let store = FrameStore::open(&tmp)?;
        // Warm the mask cache first: masks are computed once per grid, not per frame.
        let first = batch::read_job(&jobs[0], &mut sidecars)?;
        let _ = store.masks(&first.meta);
        let t = Instant::now();
        let s = batch::run(&jobs, &store, |_, _| {})?;
        let full_fps = s.ingested.len() as f64 / t.elapsed().as_secs_f64();
        println!("| {name} | {} | {decode_fps:.1} | {full_fps:.1} |", jobs.len());
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
