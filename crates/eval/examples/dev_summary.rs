//! The dev numbers of a checkpoint as one markdown table, summary rows only (no query text is
//! printed): template, English and Korean dev queries, top 20, on the given dev archives.
//!
//! ```sh
//! cargo run --release -p skycase-eval --example dev_summary -- <checkpoint> <dev archive>…
//! ```
//! Needs `SKYCASE_MODEL_DIR` (all-MiniLM-L6-v2); `SKYCASE_EVAL_CACHE` caches the archives'
//! embeddings and the quantized encoder between runs. `SKYCASE_E5_PROJECTION=<file>` sends
//! Hangul queries to multilingual-e5 with that projection (as the browser) and adds the
//! `ko@minilm` row. `SKYCASE_NO_REGION_BINDING=1` and
//! `SKYCASE_ANCHOR_WEIGHT=w` switch the search choices being measured.

use skycase_eval::{evaluate, EvalOptions, MultilingualOptions, Split};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((checkpoint, archives)) = args.split_first().filter(|(_, a)| !a.is_empty()) else {
        return Err("usage: dev_summary <checkpoint> <dev archive>…".into());
    };
    let e5: Option<std::path::PathBuf> = std::env::var_os("SKYCASE_E5_PROJECTION").map(Into::into);
    let report = evaluate(&EvalOptions {
        checkpoint: checkpoint.into(),
        text_model: std::env::var("SKYCASE_MODEL_DIR").map_err(|_| "set SKYCASE_MODEL_DIR to the all-MiniLM-L6-v2 folder")?.into(),
        runs: vec![(Split::Dev, archives.iter().map(Into::into).collect())],
        query_dir: "data/eval".into(),
        sets: if e5.is_some() { vec!["template".into(), "en".into(), "ko".into(), "ko@minilm".into()] } else { vec!["template".into(), "en".into(), "ko".into()] },
        multilingual: e5.map(|projection| MultilingualOptions { model: skycase_e5::default_model_path(), projection }),
        k: 20,
        cache: std::env::var_os("SKYCASE_EVAL_CACHE").map(Into::into),
        progress: false,
    })?;
    let f = |x: Option<f64>| x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "–".into());
    println!("| set | queries | hits@20 ≥1 | hits@20 ≥5 | region | notice, none | notice, ≥5 |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for run in &report.runs {
        for s in &run.sets {
            let m = &s.summary;
            println!("| {} | {} | {} | {} | {} | {} | {} |", s.name, m.queries, f(m.hits_any), f(m.hits_strict), f(m.region_match), f(m.nothing_close_empty), f(m.nothing_close_strict));
        }
    }
    Ok(())
}
