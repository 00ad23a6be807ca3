//! Physical captioner vs a simulated archive's truth (what `skycase caption --truth`
//! does, without writing captions), through the same loop as the CLI
//! ([`skycase_caption::PhysicalRun`]):
//! `cargo run --release -p skycase-caption --example sim_eval -- <store> <labels.jsonl> <besttrack> [rules.json] [report.md]`.
//!
//! The report gives the whole period, then days 1–15 (the shipped rules were tuned on
//! sim-nov2017's 1–15 Nov) and days 16–end separately.

use std::path::PathBuf;

use chrono::Datelike;
use skycase_caption::eval::{read_truth, Evaluation};
use skycase_caption::store::CaptionerInfo;
use skycase_caption::{BestTrack, PhysicalCaptioner, PhysicalRun, Rules};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 3 {
        return Err("usage: sim_eval <store> <labels.jsonl> <besttrack> [rules.json] [report.md]".into());
    }
    let store = skycase_ingest::FrameStore::open(&a[0])?;
    let truth = read_truth(&PathBuf::from(&a[1]))?;
    let bt = BestTrack::open(&a[2])?;
    let rules = match a.get(3).filter(|s| !s.is_empty()) {
        Some(p) => Rules::open(&PathBuf::from(p))?,
        None => Rules::shipped()?,
    };
    let info = CaptionerInfo::Physical { rules_sha256: rules.fingerprint(), besttrack: Some(a[2].clone()) };
    let cap = PhysicalCaptioner::new(rules)?;
    let job = PhysicalRun { store: &store, captioner: &cap, besttrack: Some(&bt), info, composite_days: 3 };
    let metas = store.list()?;
    let (mut all, mut first, mut second) = (Evaluation::default(), Evaluation::default(), Evaluation::default());
    let mut failed = 0usize;
    job.run(&metas, |meta, outcome| {
        match outcome {
            Ok(rec) => {
                if let Some(t) = truth.get(&meta.time) {
                    all.add(t, &rec.labels);
                    if meta.time.day() <= 15 { first.add(t, &rec.labels) } else { second.add(t, &rec.labels) }
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("failed: {e}");
            }
        }
        Ok(())
    })?;
    let line = |name: &str, e: &Evaluation| {
        format!("{name}: {} frames, accuracy {:.3}, macro-F1 {:.3}", e.frames(), e.accuracy(), e.macro_f1())
    };
    let md = format!(
        "{}\n- {}\n- {}\n",
        all.to_markdown(),
        line("days 1–15", &first),
        line("days 16–end", &second)
    );
    match a.get(4) {
        Some(p) => std::fs::write(p, &md)?,
        None => println!("{md}"),
    }
    eprintln!("{}\n{}\n{}\n{failed} frames failed", line("all", &all), line("days 1–15", &first), line("days 16–end", &second));
    Ok(())
}
