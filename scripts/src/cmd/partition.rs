//! `skycase partition`: turns a bundle's shards into the partitioned index (issue 11), in
//! place, so the browser fetches only the manifest at start and then, per query, the
//! partitions its plan names (see `skycase_core::partition`).
//!
//! Order of writes, so an interrupted run never leaves a bundle the app cannot read: the
//! partition and list files first (new, content-hashed names), then `manifest.json`
//! atomically, then the shard files are deleted.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use skycase_core::partition::build::{IndexWriter, PlanDefaults, Quantizer};
use skycase_core::partition::{Budget, PartitionIndex};
use skycase_core::shard::{Shard, Vectors};
use skycase_core::Manifest;

use crate::util::{read, write_atomic};

/// How the index is partitioned; shared by `skycase partition` and `skycase decade`.
#[derive(clap::Args, Clone)]
pub struct Layout {
    /// First-level lists (k-means centroids over the region vectors); 0 picks from the size.
    #[arg(long, default_value_t = 0)]
    pub lists: usize,
    /// Sub-centroids per list; 0 picks from the size.
    #[arg(long, default_value_t = 0)]
    pub subs: usize,
    /// Leaves a query probes by default (more when filters thin them out).
    #[arg(long, default_value_t = 8)]
    pub nprobe: usize,
    /// Lists a query probes by default.
    #[arg(long, default_value_t = 4)]
    pub list_probe: usize,
    /// Fetch every allowed partition (exact answers) when they add up to at most this many
    /// bytes.
    #[arg(long, default_value_t = 8_000_000)]
    pub exact_below: u64,
    /// Adaptive nprobe by probe scores: also probe every leaf (and list) whose centroid
    /// scores within this margin of the best one, up to --probe-max leaves; 0 keeps nprobe
    /// fixed.
    #[arg(long, default_value_t = 0.0)]
    pub probe_margin: f32,
    /// The most leaves an adaptive plan probes (0: nprobe).
    #[arg(long, default_value_t = 0)]
    pub probe_max: usize,
    /// Vectors the quantizer is trained on (an even sample); 0 picks from the leaves:
    /// 250 per sub-centroid, at least 100,000 (a quantizer trained on ~12 vectors per
    /// sub-centroid probed much worse: docs/benchmarks.md, issue 11, decades A–C).
    #[arg(long, default_value_t = 0)]
    pub sample: usize,
    /// k-means passes.
    #[arg(long, default_value_t = 10)]
    pub iters: usize,
    /// The file layout: `skypart-3` (each leaf in int8 rows, residual-code and records
    /// areas, read in rounds: `skycase_core::partition::areas`), what the app, `skycase
    /// search`, `recall` and offline periods use. `skypart-2` (a leaf's months, each int8 rows
    /// and records) is the earlier layout: bundles written in it still read everywhere.
    #[arg(long, default_value = "skypart-3")]
    pub format: String,
    /// skypart-3: bytes of a residual code (PQ sub-spaces; must divide the dimension).
    #[arg(long, default_value_t = 32)]
    pub code_bytes: usize,
    /// skypart-3: leaves a query reads as int8 rows (its best); the others as codes.
    #[arg(long, default_value_t = 6)]
    pub int8_leaves: usize,
    /// skypart-3: code candidates re-ranked with their int8 rows.
    #[arg(long, default_value_t = 20)]
    pub rerank: usize,
    /// A lean query's byte budget: the most bytes of leaf areas it reads
    /// (`skycase_core::partition::Budget`); 0: none (every planned leaf, however big). The
    /// default keeps decade F's heaviest cold query under 2 MB as served at recall@20 0.954
    /// (0.966 bound to the regions a query names, as the app ranks; docs/benchmarks.md,
    /// issue 11, "a cold query's worst case").
    #[arg(long, default_value_t = 1_000_000)]
    pub budget: u64,
    /// Leaves a budgeted query takes, best first, whatever they cost (decade F: 8 let the
    /// heaviest region-bound query read 1.3 MB of leaf areas, 6 kept it within the budget at
    /// the same recall).
    #[arg(long, default_value_t = 6)]
    pub budget_min_leaves: usize,
    /// The most a date or month filter widens the plan (lists and leaves probed times the
    /// inverse of the share of frames it leaves, up to this); 0: none written, so the
    /// reader's 8. The default: decade F's one-month queries read 40 leaves instead of ~93 at
    /// recall@20 0.997 (docs/benchmarks.md, issue 11, "one-month query").
    #[arg(long, default_value_t = 2)]
    pub widen_max: usize,
}

impl Layout {
    /// `(lists, subs)`: as given, or about 600 rows per leaf (4 to 4096 leaves), split
    /// evenly between the two levels.
    pub fn sizes(&self, rows: u64) -> (usize, usize) {
        let leaves = ((rows / 600) as usize).clamp(4, 4096);
        let lists = if self.lists > 0 { self.lists } else { (leaves as f64).sqrt().ceil() as usize };
        let subs = if self.subs > 0 { self.subs } else { leaves.div_ceil(lists) };
        (lists, subs)
    }

    /// Vectors to train a quantizer of `leaves` leaves on: `--sample`, or 250 per leaf and at
    /// least 100,000.
    pub fn sample_for(&self, leaves: usize) -> usize {
        if self.sample > 0 {
            self.sample
        } else {
            leaves.saturating_mul(250).max(100_000)
        }
    }

    /// A writer of the chosen format, its quantizer trained on `sample`; skypart-3 codes
    /// are trained on at most 100,000 of the sample's vectors (an even stride).
    pub fn writer<'a>(&self, sample: &[Vec<f32>], lists: usize, subs: usize, seed: u64, names: Vec<String>, store: &'a mut dyn skycase_core::partition::build::Store) -> Result<IndexWriter<'a>> {
        let quantizer = Quantizer::train(sample, lists, subs, self.iters, seed)?;
        match self.format.as_str() {
            "skypart-2" => Ok(IndexWriter::new(quantizer, names, store)?),
            "skypart-3" => {
                let step = sample.len().div_ceil(100_000).max(1);
                let few: Vec<Vec<f32>> = sample.iter().step_by(step).cloned().collect();
                let t = std::time::Instant::now();
                let pq = quantizer.train_codes(&few, self.code_bytes, self.iters, seed).with_context(|| format!("--code-bytes {}", self.code_bytes))?;
                eprintln!("residual codes: {} bytes a row, trained on {} vectors in {:.1} s", self.code_bytes, few.len(), t.elapsed().as_secs_f64());
                Ok(IndexWriter::with_codes(quantizer, names, store, &pq, self.int8_leaves, self.rerank)?)
            }
            other => bail!("--format {other:?}: not skypart-2 or skypart-3"),
        }
    }

    /// The plan settings written into the manifest.
    pub fn plan(&self) -> PlanDefaults {
        let nprobe = self.nprobe.max(1);
        PlanDefaults { nprobe, list_probe: self.list_probe.max(1), exact_below: self.exact_below, probe_margin: self.probe_margin.max(0.0), probe_max: self.probe_max.max(nprobe), budget: (self.budget > 0).then_some(Budget { bytes: self.budget, min_leaves: self.budget_min_leaves }), widen_max: (self.widen_max > 0).then_some(self.widen_max) }
    }
}

/// Arguments of `skycase partition`.
#[derive(clap::Args)]
pub struct Args {
    /// The bundle folder (as written by `skycase export`).
    #[arg(long, default_value = "www/bundle")]
    bundle: PathBuf,
    #[command(flatten)]
    layout: Layout,
}

pub fn run(args: Args) -> Result<()> {
    let dir = &args.bundle;
    let manifest_path = dir.join("manifest.json");
    let mut manifest = Manifest::from_json(&read(&manifest_path)?).with_context(|| format!("bundle {}", dir.display()))?;
    if manifest.partitions.is_some() {
        bail!("bundle {}: already partitioned (re-export it to partition it differently)", dir.display());
    }
    if manifest.shards.is_empty() {
        bail!("bundle {}: has no shards to partition", dir.display());
    }
    let mut shards = Vec::new();
    for s in &manifest.shards {
        let bytes = read(&dir.join(&s.path))?;
        s.verify(&bytes).with_context(|| format!("bundle {}", dir.display()))?;
        shards.push(Shard::from_bytes(&bytes, &s.path)?);
    }
    let index = partition_shards(&shards, &args.layout, &mut crate::util::DirStore::new(dir))?;
    let old: Vec<String> = manifest.shards.iter().map(|s| s.path.clone()).collect();
    manifest.shards.clear();
    manifest.partitions = Some(index);
    write_atomic(&manifest_path, manifest.to_json().as_bytes())?;
    for p in old {
        std::fs::remove_file(dir.join(&p)).with_context(|| format!("{}: cannot delete the shard now partitioned", dir.join(&p).display()))?;
    }
    let _ = std::fs::remove_dir(dir.join("shards"));
    report(dir, &manifest);
    Ok(())
}

/// Prints what the index looks like.
pub fn report(dir: &Path, manifest: &Manifest) {
    let Some(p) = &manifest.partitions else { return };
    let bytes: u64 = p.lists.iter().map(|l| l.part_bytes).sum();
    eprintln!(
        "bundle {}: {} frames, {} vectors in {} lists × ≤ {} leaves × {} month(s) ({:.1} MB of partitions); manifest {:.1} kB, {:.1} MB before the first query",
        dir.display(),
        p.frames,
        p.rows,
        p.lists.len(),
        p.subs,
        p.periods.len(),
        bytes as f64 / 1e6,
        manifest.to_json().len() as f64 / 1e3,
        manifest.startup_bytes() as f64 / 1e6,
    );
}

/// Trains the quantizer on an even sample of the shards' rows and writes their partitions.
pub fn partition_shards(shards: &[Shard], layout: &Layout, store: &mut dyn skycase_core::partition::build::Store) -> Result<PartitionIndex> {
    let first = shards.first().context("no shards")?;
    let names = first.vector_names().to_vec();
    for s in shards {
        if s.vector_names() != names.as_slice() || s.dim() != first.dim() {
            bail!("shard {} has other vectors ({} of {}) than shard {} ({} of {})", s.period(), s.vectors_per_frame(), s.dim(), first.period(), names.len(), first.dim());
        }
        if !matches!(s.vectors(), Vectors::Int8 { .. }) {
            bail!("shard {}: partitions hold int8 vectors, this shard is {:?} (export with --vectors int8)", s.period(), s.kind());
        }
    }
    let rows: u64 = shards.iter().map(|s| (s.len() * s.vectors_per_frame()) as u64).sum();
    let (lists, subs) = layout.sizes(rows);
    let step = (rows as usize).div_ceil(layout.sample_for(lists * subs)).max(1);
    let mut sample = Vec::new();
    let mut i = 0usize;
    for s in shards {
        for r in 0..s.len() * s.vectors_per_frame() {
            if i % step == 0 {
                sample.push(s.row_f32(r));
            }
            i += 1;
        }
    }
    eprintln!("training the quantizer: {lists} lists × {subs} sub-centroids on {} of {rows} vectors", sample.len());
    let mut writer = layout.writer(&sample, lists, subs, 1, names, store)?;
    let mut by_period: Vec<&Shard> = shards.iter().collect();
    by_period.sort_by(|a, b| a.period().cmp(b.period()));
    for s in by_period {
        let Vectors::Int8 { scales, data } = s.vectors() else { unreachable!("checked above") };
        writer.add_period(s.period(), s.records(), scales, data)?;
    }
    Ok(writer.finish(layout.plan())?)
}

#[cfg(test)]
mod tests {
    use super::Layout;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        layout: Layout,
    }

    #[test]
    fn the_default_sample_grows_with_the_leaves_and_a_given_one_wins() {
        let default = Cli::parse_from(["x"]).layout;
        // 250 a leaf, at least 100,000: 4,096 leaves (the decade's 256 × 16) → 1,024,000.
        assert_eq!(default.sample_for(4096), 1_024_000);
        assert_eq!(default.sample_for(16), 100_000);
        let given = Cli::parse_from(["x", "--sample", "5000"]).layout;
        assert_eq!(given.sample_for(4096), 5000);
    }

    #[test]
    fn skypart3_is_the_default_format_and_skypart2_can_still_be_written() {
        assert_eq!(Cli::parse_from(["x"]).layout.format, skycase_core::partition::areas::FORMAT);
        assert_eq!(Cli::parse_from(["x", "--format", "skypart-2"]).layout.format, skycase_core::partition::PARTITION_FORMAT);
    }
}
