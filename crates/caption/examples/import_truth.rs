//! Import a simulated archive's truth labels into a frame store's `captions/truth/` (the
//! library call behind `skycase caption --import-truth`).
//!
//! `cargo run --release -p skycase-caption --example import_truth -- <store> <archive>/labels.jsonl`

use skycase_caption::{import_truth, CaptionSource, CaptionStore};
use skycase_ingest::FrameStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [store, labels] = a.as_slice() else {
        return Err("usage: import_truth <store> <labels.jsonl>".into());
    };
    let frames = FrameStore::open(store)?.list()?;
    let out = CaptionStore::open_source(store, CaptionSource::Truth)?;
    let r = import_truth(std::path::Path::new(labels), &frames, &out)?;
    println!("{} written, {} unchanged, {} labels without a stored frame", r.written, r.unchanged, r.not_in_store.len());
    Ok(())
}
