//! `skycase caption`: one phenomenon per region for every frame of a frame store.
//!
//! Captions go to `<store>/captions/<source>/<frame id>.json` (`physical` or `mllm`; atomic
//! writes; `--import-truth` fills `truth`); frames that already
//! have one are skipped, so an interrupted run resumes where it stopped. Frames that
//! cannot be captioned get `<store>/captions/<source>/failed/<frame id>.json` with the reason
//! (and the raw answer for MLLM parse errors).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use skycase_caption::eval::{read_truth, Evaluation};
use skycase_caption::mllm::STUDY_PROMPT;
use skycase_caption::run::MAX_ENDPOINT_FAILURES;
use skycase_caption::store::{CaptionerInfo, FailureReason, FailureRecord};
use skycase_caption::{
    import_truth, BestTrack, Caption, CaptionSource, CaptionStore, MllmClient, MllmConfig, MllmOutcome, MllmRun, Phenomenon, PhysicalCaptioner,
    PhysicalRun, Rules,
};
use skycase_ingest::{FrameMeta, FrameStore};

/// Which captioner to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Captioner {
    /// Brightness-temperature statistics per region + JMA best-track typhoons (offline).
    Physical,
    /// The study's prompt and the image sent to an OpenAI-compatible chat endpoint.
    Mllm,
}

/// Arguments of `skycase caption`.
#[derive(clap::Args)]
pub struct Args {
    /// Frame store folder (written by `skycase ingest`).
    #[arg(long, default_value = "store")]
    store: PathBuf,
    /// Captioner.
    #[arg(long, value_enum, default_value_t = Captioner::Physical)]
    captioner: Captioner,
    /// Recaption frames that already have a caption.
    #[arg(long)]
    force: bool,
    /// Caption at most this many frames (in time order).
    #[arg(long)]
    limit: Option<usize>,

    /// JMA best-track file for typhoons (physical captioner). Without it no region is
    /// ever "Typhoon".
    #[arg(long)]
    besttrack: Option<PathBuf>,
    /// Rules JSON for the physical captioner (default: the shipped rules).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Print the effective rules as JSON and exit.
    #[arg(long)]
    print_rules: bool,
    /// Clear-sky composite window, ± days at the same time of day (0: per-frame fallback).
    #[arg(long, default_value_t = 3)]
    composite_days: i64,

    /// Chat-completions base URL (MLLM), e.g. https://api.openai.com/v1.
    #[arg(long)]
    base_url: Option<String>,
    /// Model name (MLLM).
    #[arg(long)]
    model: Option<String>,
    /// Allow plain http:// to an MLLM endpoint that is not on this machine (the API key and
    /// the images would travel unencrypted). The key itself comes from the environment only
    /// (SKYCASE_API_KEY or OPENAI_API_KEY), never from a flag that `ps` and shell history show.
    #[arg(long)]
    allow_http: bool,
    /// Prompt template file (default: the study's prompt, satellite and month filled in).
    #[arg(long)]
    prompt: Option<PathBuf>,
    /// Requests in flight at once (MLLM).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Per-request timeout in seconds (MLLM).
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
    /// Retries of a request on 429/5xx/timeouts (MLLM).
    #[arg(long, default_value_t = 5)]
    max_retries: u32,

    /// Import a simulated archive's truth labels (`<archive>/labels.jsonl`) as the `truth`
    /// caption source (`<store>/captions/truth/`) and exit. Labels attach to the frames
    /// ingested from the files they name; truth is for evaluation (`skycase train
    /// --eval-captions truth`) and trains only when asked for by name.
    #[arg(long, value_name = "LABELS_JSONL", conflicts_with_all = ["truth", "force", "limit"])]
    import_truth: Option<PathBuf>,

    /// After captioning, compare with truth labels (a simulated archive's labels.jsonl).
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Write the comparison as Markdown here.
    #[arg(long, requires = "truth")]
    report: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.print_rules {
        let rules = load_rules(&args)?;
        println!("{}", serde_json::to_string_pretty(&rules)?);
        return Ok(());
    }
    if !args.store.join("frames").is_dir() {
        bail!("{}: not a frame store (no frames/ folder); run `skycase ingest` first", args.store.display());
    }
    let store = FrameStore::open(&args.store).with_context(|| format!("opening frame store {}", args.store.display()))?;
    let all = store.list()?;
    if let Some(labels) = &args.import_truth {
        let out = CaptionStore::open_source(&args.store, CaptionSource::Truth)?;
        let r = import_truth(labels, &all, &out)?;
        eprintln!(
            "truth captions in {}: {} written, {} unchanged, {} labels of {} name frames not in this store",
            out.dir().display(),
            r.written,
            r.unchanged,
            r.not_in_store.len(),
            labels.display()
        );
        return Ok(());
    }
    let source = match args.captioner {
        Captioner::Physical => CaptionSource::Physical,
        Captioner::Mllm => CaptionSource::Mllm,
    };
    let captions = CaptionStore::open_source(&args.store, source)?;
    let legacy = CaptionStore::open(&args.store)?.ids()?.len();
    if legacy > 0 {
        eprintln!(
            "warning: {legacy} captions in the old layout {s}/captions/*.json are not read any more; move them to their source's folder: mkdir -p {s}/captions/physical && mv {s}/captions/*.json {s}/captions/physical/",
            s = args.store.display()
        );
    }
    let mut todo: Vec<FrameMeta> =
        all.iter().filter(|m| args.force || !captions.contains(&m.id)).cloned().collect();
    if let Some(n) = args.limit {
        todo.truncate(n);
    }
    eprintln!(
        "{} frames in {}, {} already captioned, {} to caption ({:?} captioner)",
        all.len(),
        args.store.display(),
        all.len() - all.iter().filter(|m| !captions.contains(&m.id)).count(),
        todo.len(),
        args.captioner
    );
    let summary = match args.captioner {
        Captioner::Physical => run_physical(&args, &store, &captions, &todo)?,
        Captioner::Mllm => run_mllm(&args, &store, &captions, &todo)?,
    };
    summary.print();
    if let Some(truth) = &args.truth {
        evaluate(&args, &captions, &all, truth)?;
    }
    if summary.failed > 0 && summary.done == 0 {
        bail!("no frame could be captioned ({} failed; see {}/failed/)", summary.failed, captions.dir().display());
    }
    Ok(())
}

#[derive(Default)]
struct Summary {
    done: usize,
    failed: usize,
    reasons: Vec<String>,
    counts: [usize; 5],
    cached: usize,
}

impl Summary {
    fn ok(&mut self, c: &Caption) {
        self.done += 1;
        for p in c.labels() {
            self.counts[p.index()] += 1;
        }
    }

    fn fail(&mut self, id: &str, reason: &str) {
        self.failed += 1;
        if self.reasons.len() < 10 {
            // Captioner errors already start with "frame <id>: ".
            self.reasons.push(if reason.contains(id) { reason.to_string() } else { format!("{id}: {reason}") });
        }
    }

    fn print(&self) {
        eprintln!("captioned {} frames, {} failed", self.done, self.failed);
        if self.cached > 0 {
            eprintln!("  {} answers came from the MLLM cache", self.cached);
        }
        if self.done > 0 {
            let parts: Vec<String> =
                Phenomenon::ALL.iter().map(|p| format!("{p} {}", self.counts[p.index()])).collect();
            eprintln!("  region labels: {}", parts.join(", "));
        }
        for r in &self.reasons {
            eprintln!("  failed: {r}");
        }
        if self.failed > self.reasons.len() {
            eprintln!("  ... and {} more", self.failed - self.reasons.len());
        }
    }
}

fn progress(n: usize) -> ProgressBar {
    let pb = ProgressBar::new(n as u64);
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

fn load_rules(args: &Args) -> anyhow::Result<Rules> {
    Ok(match &args.rules {
        Some(p) => Rules::open(p)?,
        None => Rules::shipped()?,
    })
}

fn run_physical(args: &Args, store: &FrameStore, captions: &CaptionStore, todo: &[FrameMeta]) -> anyhow::Result<Summary> {
    let rules = load_rules(args)?;
    let besttrack_path = args.besttrack.clone().or_else(|| std::env::var_os("SKYCASE_BESTTRACK").map(PathBuf::from));
    let besttrack = match &besttrack_path {
        Some(p) => Some(BestTrack::open(p).with_context(|| "reading the best-track file (--besttrack)")?),
        None => {
            eprintln!("warning: no --besttrack file: no region will be captioned Typhoon");
            None
        }
    };
    let info = CaptionerInfo::Physical {
        rules_sha256: rules.fingerprint(),
        besttrack: besttrack_path.as_ref().map(|p| p.display().to_string()),
    };
    let captioner = PhysicalCaptioner::new(rules)?;
    // The physical captioner is deterministic: a frame it failed on with the same rules and
    // best track fails again (a storm-centred crop, a frame outside the regions), so a rerun
    // skips it; --force retries.
    let (todo, known): (Vec<FrameMeta>, Vec<FrameMeta>) = todo
        .iter()
        .cloned()
        .partition(|m| args.force || captions.get_failure(&m.id).is_none_or(|f| f.captioner != info));
    if !known.is_empty() {
        eprintln!("{} frames failed before with the same rules and best track (see {}/failed/); not retried (--force retries)", known.len(), captions.dir().display());
    }
    let todo = todo.as_slice();
    let job = PhysicalRun {
        store,
        captioner: &captioner,
        besttrack: besttrack.as_ref(),
        info: info.clone(),
        composite_days: args.composite_days,
    };
    let mut summary = Summary::default();
    let pb = progress(todo.len());
    job.run(todo, |meta, outcome| {
        match outcome {
            Ok(rec) => {
                captions.put(&rec)?;
                summary.ok(&rec.labels);
            }
            Err(e) => {
                let msg = e.to_string();
                captions.put_failure(&FailureRecord {
                    frame_id: meta.id.clone(),
                    time: meta.time,
                    captioner: info.clone(),
                    error: FailureReason::Other { message: msg.clone() },
                    raw_answer: None,
                })?;
                summary.fail(&meta.id, &msg);
            }
        }
        pb.inc(1);
        Ok(())
    })?;
    pb.finish_and_clear();
    Ok(summary)
}

fn run_mllm(args: &Args, store: &FrameStore, captions: &CaptionStore, todo: &[FrameMeta]) -> anyhow::Result<Summary> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let base_url = args.base_url.clone().or_else(|| env("SKYCASE_BASE_URL")).context("the MLLM captioner needs --base-url (or SKYCASE_BASE_URL)")?;
    let model = args.model.clone().or_else(|| env("SKYCASE_MODEL")).context("the MLLM captioner needs --model (or SKYCASE_MODEL)")?;
    let api_key = env("SKYCASE_API_KEY").or_else(|| env("OPENAI_API_KEY"));
    if api_key.is_none() {
        eprintln!("note: no API key (SKYCASE_API_KEY or OPENAI_API_KEY in the environment): requests carry no Authorization");
    }
    let template = match &args.prompt {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading prompt {}", p.display()))?,
        None => STUDY_PROMPT.to_string(),
    };
    let mut cfg = MllmConfig::new(base_url, model, api_key);
    cfg.timeout = Duration::from_secs(args.timeout_s.max(1));
    cfg.max_retries = args.max_retries;
    cfg.allow_http = args.allow_http;
    // Refused before any frame is loaded: plain http to another host needs --allow-http.
    cfg.check_transport()?;
    let client = MllmClient::new(cfg, Some(captions.mllm_cache_dir()));
    let job = MllmRun { store, client: &client, template: &template, concurrency: args.concurrency };
    let pb = progress(todo.len());
    let mut summary = Summary::default();
    let fatal = job.run(todo, |meta, outcome| {
        match outcome {
            MllmOutcome::Captioned { record, cached } => {
                captions.put(&record)?;
                summary.ok(&record.labels);
                if cached {
                    summary.cached += 1;
                }
            }
            MllmOutcome::Failed { message, record } => {
                captions.put_failure(&record)?;
                summary.fail(&meta.id, &message);
            }
        }
        pb.inc(1);
        Ok(())
    })?;
    pb.finish_and_clear();
    if let Some(msg) = fatal {
        summary.print();
        bail!("stopped: endpoint {} failed {MAX_ENDPOINT_FAILURES} times in a row ({msg}); rerun to resume", client.config().url());
    }
    Ok(summary)
}

fn evaluate(args: &Args, captions: &CaptionStore, metas: &[FrameMeta], truth: &std::path::Path) -> anyhow::Result<()> {
    let truth = read_truth(truth)?;
    let mut eval = Evaluation::default();
    let mut missing = 0usize;
    for m in metas {
        let Some(t) = truth.get(&m.time) else { continue };
        match captions.get(&m.id)? {
            Some(rec) => eval.add(t, &rec.labels),
            None => missing += 1,
        }
    }
    if eval.frames() == 0 {
        bail!("no captioned frame has a truth label (times must match labels.jsonl)");
    }
    let md = eval.to_markdown();
    eprintln!(
        "accuracy {:.3}, macro-F1 {:.3} over {} frames ({} with truth but no caption)",
        eval.accuracy(),
        eval.macro_f1(),
        eval.frames(),
        missing
    );
    match &args.report {
        Some(p) => {
            std::fs::write(p, &md).with_context(|| format!("writing {}", p.display()))?;
            eprintln!("report written to {}", p.display());
        }
        None => println!("{md}"),
    }
    Ok(())
}
