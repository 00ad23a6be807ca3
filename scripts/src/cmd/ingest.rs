//! `skycase ingest`: satellite archive files → frames in a frame store.

use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use skycase_ingest::batch::{self, Outcome};
use skycase_ingest::FrameStore;

/// Arguments of `skycase ingest`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or folders (searched recursively): COMS .hrit/.lrit segments, GK-2A AMI L1B .nc,
    /// Digital Typhoon .h5 (track .tsv beside them), KMA coms_mi_le1b_ir01_ea040ps_*.png,
    /// PNG frames with a meta.json sidecar (the simulated archive).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Frame store folder (created if missing).
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// No progress bar (for logs and CI).
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = FrameStore::open(&args.store).with_context(|| format!("opening store {}", args.store.display()))?;
    let (jobs, aux) = batch::plan(&args.paths)?;
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(jobs.len() as u64) };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} frames {elapsed_precise} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let mut summary = batch::run(&jobs, &store, |p, outcome| {
        bar.set_position(p.done as u64);
        match outcome {
            Outcome::Ingested(id) => bar.set_message(id.clone()),
            Outcome::Unchanged(id) => bar.set_message(format!("{id} (unchanged)")),
            Outcome::Skipped(e) => bar.println(format!("skip: {e}")),
        }
    })?;
    bar.finish_and_clear();
    summary.auxiliary = aux;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "ingest: {} frames written, {} unchanged, {} skipped, {} auxiliary files ({} jobs in {secs:.1} s) → {}",
        summary.ingested.len(),
        summary.unchanged.len(),
        summary.skipped.len(),
        summary.auxiliary.len(),
        jobs.len(),
        store.root().display()
    );
    if !summary.incomplete.is_empty() {
        eprintln!("incomplete (missing parts are NaN): {}", summary.incomplete.join(", "));
    }
    if !summary.uncalibrated.is_empty() {
        eprintln!("uncalibrated (assumed grey → K mapping): {} frames", summary.uncalibrated.len());
    }
    if !summary.skipped.is_empty() {
        eprintln!("skipped:");
        for e in &summary.skipped {
            eprintln!("  {e}");
        }
    }
    let quarantined = store.quarantined();
    if !quarantined.is_empty() {
        eprintln!("quarantined (unreadable frame records, redone when their inputs are ingested again):");
        for q in &quarantined {
            eprintln!("  {q}");
        }
    }
    // A run that stored nothing usable is a failure, whatever the reasons.
    if summary.ingested.is_empty() && summary.unchanged.is_empty() {
        if jobs.is_empty() {
            anyhow::bail!("nothing to ingest: no files found under {}", args.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
        }
        anyhow::bail!("nothing usable was written to {}: all {} inputs were skipped (reasons above)", store.root().display(), jobs.len());
    }
    Ok(())
}
