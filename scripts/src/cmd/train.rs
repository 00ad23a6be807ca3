//! `skycase train`: learn the joint text–image space on a captioned archive (`--data`) or on
//! a frame store and one of its caption sources (`--store S --captions physical|mllm|truth`,
//! frames resampled onto the canonical grid), or print the comparison table of finished runs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use skycase_caption::CaptionSource;
use skycase_ingest::canonical::{CANONICAL_HEIGHT, CANONICAL_WIDTH};
use skycase_train::eval::Storage;
use skycase_train::store_data::{load_store, relabel_test_days};
use skycase_train::{load_archive, text, Granularity, Loss, ModelConfig, RunOptions, TextBank, TrainConfig, TrainSummary};
use skycase_vocab::{PHENOMENA, REGIONS};

/// Arguments of `skycase train`.
#[derive(clap::Args)]
pub struct Args {
    /// Captioned archive folder (meta.json, labels.jsonl, frame PNGs), e.g. sim-nov2017.
    #[arg(long, required_unless_present_any = ["table", "store"], conflicts_with = "store")]
    data: Option<PathBuf>,
    /// A frame store (`skycase ingest`) to train on instead: every frame with a caption of
    /// `--captions`, resampled onto the canonical grid, whatever its satellite or projection.
    #[arg(long)]
    store: Option<PathBuf>,
    /// With --store: the caption source trained on (`physical`, `mllm` or `truth`, the
    /// folders under <store>/captions/).
    #[arg(long, default_value = "physical", requires = "store")]
    captions: String,
    /// With --store: score the test days against this caption source instead (e.g. train on
    /// `physical`, score against `truth`); training and validation keep --captions.
    #[arg(long, requires = "store")]
    eval_captions: Option<String>,
    /// More captioned archives of the same grid (e.g. other simulated months) whose frames
    /// are all added to the training set; the validation and test days stay those of --data.
    #[arg(long = "extra-data", value_name = "DIR")]
    extra_data: Vec<PathBuf>,
    /// Checkpoint folder to write (best weights, config, projection, train.json, last/).
    #[arg(long, required_unless_present = "table")]
    out: Option<PathBuf>,
    /// `global` (whole caption, as the study) or `region` (one embedding per region).
    #[arg(long, default_value = "region")]
    granularity: String,
    /// `triplet` (the study, margin 0.2, hardest in-batch negatives) or `infonce`.
    #[arg(long, default_value = "infonce")]
    loss: String,
    /// Maximum epochs.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Frames per step.
    #[arg(long, default_value_t = 24)]
    batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Seed (initialisation, shuffles, phrasings).
    #[arg(long, default_value_t = 2017)]
    seed: u64,
    /// Held-out test days at the end of the archive.
    #[arg(long, default_value_t = 5)]
    test_days: usize,
    /// Validation days before the test days (early stopping).
    #[arg(long, default_value_t = 2)]
    val_days: usize,
    /// Epochs without validation improvement before stopping.
    #[arg(long, default_value_t = 6)]
    patience: usize,
    /// Joint embedding dimension.
    #[arg(long, default_value_t = 256)]
    dim: usize,
    /// Region-aware: weight of the frame-level ranking loss (a frame scores a text by its
    /// best region, as search ranks); 0 turns it off.
    #[arg(long, default_value_t = 0.0)]
    frame_loss: f32,
    /// Depthwise 3×3 context blocks on the coarse map (0: each cell sees only itself).
    #[arg(long, default_value_t = 0)]
    context_blocks: usize,
    /// Add the anomaly against a per-cell clear-sky reference (fit on the training days) as an
    /// input channel.
    #[arg(long)]
    clear_ref: bool,
    /// Train region-aware models on the bullet only (no extra phrasings).
    #[arg(long)]
    no_augment: bool,
    /// all-MiniLM-L6-v2 folder (tokenizer.json, config.json, model.safetensors); needed only
    /// for texts not yet in the text bank.
    #[arg(long)]
    text_model: Option<PathBuf>,
    /// Cache folder for preprocessed frames and the text-embedding bank.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Continue an interrupted run from <out>/last.
    #[arg(long)]
    resume: bool,
    /// Initialise the backbone from a pretrained checkpoint's model.safetensors.
    #[arg(long)]
    backbone: Option<PathBuf>,
    /// Print the comparison table (markdown) of finished runs' train.json and exit.
    #[arg(long, num_args = 1.., value_name = "RUN_DIR")]
    table: Vec<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.table.is_empty() {
        return print_table(&args.table);
    }
    let Some(out) = &args.out else { bail!("--out is required") };
    let cfg = TrainConfig {
        granularity: Granularity::parse(&args.granularity)?,
        loss: Loss::parse(&args.loss)?,
        epochs: args.epochs,
        batch: args.batch,
        lr: args.lr,
        seed: args.seed,
        test_days: args.test_days,
        val_days: args.val_days,
        patience: args.patience,
        augment_text: !args.no_augment,
        joint_dim: args.dim,
        frame_loss: args.frame_loss,
        extra_data: args.extra_data.iter().map(|p| p.display().to_string()).collect(),
        ..TrainConfig::default()
    };
    let cache = args.cache_dir.clone().or_else(|| std::env::var_os("SKYCASE_CACHE").map(PathBuf::from)).unwrap_or_else(default_cache);
    let mut ds = match (&args.store, &args.data) {
        (Some(store), _) => {
            if !args.extra_data.is_empty() {
                bail!("--extra-data works with --data archives; ingest them into the store instead");
            }
            let source = CaptionSource::parse(&args.captions)?;
            let mut mc = ModelConfig::for_frame(CANONICAL_WIDTH, CANONICAL_HEIGHT, cfg.granularity);
            mc.context_blocks = args.context_blocks;
            mc.clear_ref = args.clear_ref;
            let t0 = std::time::Instant::now();
            let (mut ds, report) = load_store(store, source, &mc, Some(&cache), &candle_core::Device::Cpu)?;
            eprintln!(
                "loaded {} frames with {} captions from {} in {:.1}s ({} frames in the store, {} without a caption, {} left out for partial coverage{})",
                report.samples,
                source.name(),
                store.display(),
                t0.elapsed().as_secs_f32(),
                report.frames,
                report.uncaptioned,
                report.partial.len(),
                report.partial.first().map(|(id, why)| format!(", e.g. {id}: {why}")).unwrap_or_default()
            );
            if let Some(eval) = &args.eval_captions {
                let eval = CaptionSource::parse(eval)?;
                if eval != source {
                    let n = relabel_test_days(&mut ds, eval, args.val_days, args.test_days)?;
                    eprintln!("test days ({n} frames) scored against {} captions", eval.name());
                }
            }
            ds
        }
        (None, Some(data)) => {
            let meta = data.join("meta.json");
            let side = skycase_ingest::Sidecar::parse(&std::fs::read(&meta).with_context(|| format!("{}", meta.display()))?, &meta)?;
            let mut mc = ModelConfig::for_frame(side.width, side.height, cfg.granularity);
            mc.context_blocks = args.context_blocks;
            mc.clear_ref = args.clear_ref;
            let t0 = std::time::Instant::now();
            let ds = load_archive(data, &mc, Some(&cache), &candle_core::Device::Cpu)?;
            eprintln!("loaded {} frames from {} in {:.1}s", ds.samples.len(), data.display(), t0.elapsed().as_secs_f32());
            ds
        }
        (None, None) => bail!("--data <archive> or --store <frame store> is required"),
    };
    let mc = ds.config.clone();
    for extra in &args.extra_data {
        let t0 = std::time::Instant::now();
        let more = load_archive(extra, &mc, Some(&cache), &candle_core::Device::Cpu)?;
        eprintln!("loaded {} training-only frames from {} in {:.1}s", more.samples.len(), extra.display(), t0.elapsed().as_secs_f32());
        ds.append_training(more)?;
    }

    let mut bank = TextBank::open(&cache.join("text-bank.json"))?;
    let needed = text::texts_needed(ds.samples.iter().map(|s| s.caption.clone()));
    let missing = bank.missing(&needed).len();
    if missing > 0 {
        let Some(dir) = args.text_model.clone().or_else(|| std::env::var_os("SKYCASE_TEXT_MODEL").map(PathBuf::from)) else {
            bail!("{missing} texts have no cached embedding; pass --text-model <all-MiniLM-L6-v2 folder> (or SKYCASE_TEXT_MODEL)")
        };
        let t0 = std::time::Instant::now();
        let mut enc = text::minilm(&dir)?;
        bank.ensure(&needed, &mut enc)?;
        eprintln!("embedded {missing} texts with MiniLM in {:.1}s", t0.elapsed().as_secs_f32());
    }
    let opts = RunOptions { resume: args.resume, progress: !args.quiet, backbone: args.backbone.clone(), stop_after: None };
    let s = skycase_train::train(&ds, &bank, &cfg, out, &opts)?;
    println!(
        "{} / {}: best epoch {} of {}, {:.0}s",
        cfg.granularity.name(),
        cfg.loss.name(),
        s.best_epoch,
        s.history.len(),
        s.train_seconds
    );
    for (st, m) in &s.test {
        println!(
            "  test {:>4}: hit rate {:.3} (mean hits {:.1}/20)  R@1/5/10 t2i {:.3}/{:.3}/{:.3}  i2t {:.3}/{:.3}/{:.3}",
            st.name(),
            m.hit_rate,
            m.mean_hits,
            m.t2i[0],
            m.t2i[1],
            m.t2i[2],
            m.i2t[0],
            m.i2t[1],
            m.i2t[2]
        );
    }
    println!("checkpoint: {}", out.display());
    Ok(())
}

fn default_cache() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".cache/skycase/train")
}

fn read_summary(dir: &Path) -> anyhow::Result<TrainSummary> {
    let p = dir.join("train.json");
    let bytes = std::fs::read(&p).with_context(|| format!("{}: cannot read", p.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: not a train.json", p.display()))
}

fn print_table(dirs: &[PathBuf]) -> anyhow::Result<()> {
    let runs: Vec<(PathBuf, TrainSummary)> = dirs.iter().map(|d| Ok((d.clone(), read_summary(d)?))).collect::<anyhow::Result<_>>()?;
    println!("| granularity | loss | storage | bytes/frame | hit rate | mean hits /20 | t2i R@1 | R@5 | R@10 | i2t R@1 | R@5 | R@10 | best epoch | train s |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (_, s) in &runs {
        let d = s.config.joint_dim;
        let vpf = if s.config.granularity == Granularity::Region { REGIONS.len() } else { 1 };
        for (st, m) in &s.test {
            println!(
                "| {} | {} | {} | {} | {:.3} | {:.1} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {:.0} |",
                s.config.granularity.name(),
                s.config.loss.name(),
                st.name(),
                vpf * st.bytes_per_vector(d),
                m.hit_rate,
                m.mean_hits,
                m.t2i[0],
                m.t2i[1],
                m.t2i[2],
                m.i2t[0],
                m.i2t[1],
                m.i2t[2],
                s.best_epoch,
                s.train_seconds
            );
        }
    }
    // Table I (f32) per run: rows region, columns phenomenon, "hits/relevant-capped".
    for (dir, s) in &runs {
        let Some((_, m)) = s.test.iter().find(|(st, _)| *st == Storage::F32) else { continue };
        println!("\nTable I, {} / {} ({}; test {} – {}): hits in top 20 / min(20, relevant)\n", s.config.granularity.name(), s.config.loss.name(), dir.display(), s.test_period.0, s.test_period.1);
        println!("| region | {} |", PHENOMENA.join(" | "));
        println!("|---|{}", "---:|".repeat(PHENOMENA.len()));
        for (r, name) in REGIONS.iter().enumerate() {
            let cells: Vec<String> = (0..PHENOMENA.len())
                .map(|p| match m.queries.iter().find(|q| q.region == r && q.phenomenon == p) {
                    Some(q) => format!("{}/{}", q.hits, q.relevant.min(20)),
                    None => "–".into(),
                })
                .collect();
            println!("| {name} | {} |", cells.join(" | "));
        }
    }
    Ok(())
}
