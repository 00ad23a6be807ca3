//! `skycase bench`: native latency of the search path, the numbers that sit beside the
//! browser's in docs/benchmarks.md (tests/e2e/bench.mjs calls this with --json).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use skycase_core::{rank, Filters, QueryVector, Shard, BENCH_QUERIES};

use crate::bundle::load_searcher;

/// Arguments of `skycase bench`.
#[derive(clap::Args)]
pub struct Args {
    /// The bundle folder.
    #[arg(long, default_value = "www/bundle")]
    bundle: PathBuf,
    /// Passes over the query set.
    #[arg(long, default_value_t = 10)]
    reps: usize,
    /// Frames in the synthetic ranking benchmark (256-d int8).
    #[arg(long, default_value_t = 100_000)]
    scan_frames: usize,
    /// Also embed the sentences of a reference file (tests/fixtures/minilm_reference.json:
    /// sentence-transformers' f32 embeddings) with the bundle's encoder and report the worst
    /// cosine to them (the browser computes the same bits: crates/core/src/qkernel.rs).
    #[arg(long)]
    fixture: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The worst cosine of the bundle encoder's embeddings to a reference file's.
fn fixture_worst_cosine(encoder: &skycase_core::TextEncoder, path: &std::path::Path) -> Result<f64> {
    use anyhow::Context;
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?)
        .with_context(|| format!("{}: not JSON", path.display()))?;
    let items = json["items"].as_array().with_context(|| format!("{}: no \"items\" list", path.display()))?;
    let mut worst = 1f64;
    for it in items {
        let text = it["text"].as_str().with_context(|| format!("{}: an item without \"text\"", path.display()))?;
        let want: Vec<f32> = it["embedding"].as_array().into_iter().flatten().filter_map(|v| v.as_f64()).map(|v| v as f32).collect();
        let got = encoder.embed(text)?;
        anyhow::ensure!(want.len() == got.len(), "{}: {text:?} has {} values, the encoder gives {}", path.display(), want.len(), got.len());
        worst = worst.min(f64::from(skycase_core::text::cosine(&got, &want)));
    }
    Ok(worst)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

pub fn run(args: Args) -> Result<()> {
    let searcher = load_searcher(&args.bundle)?;
    let start = Instant::now();
    let clock = move || start.elapsed().as_secs_f64() * 1e3;
    let (mut encode, mut rank_ms) = (Vec::new(), Vec::new());
    searcher.search("warm up", 20, &Filters::default(), clock)?;
    for _ in 0..args.reps.max(1) {
        for q in BENCH_QUERIES {
            let a = searcher.search(q, 20, &Filters::default(), clock)?;
            encode.push(a.encode.as_secs_f64() * 1e3);
            rank_ms.push(a.rank.as_secs_f64() * 1e3);
        }
    }
    let shard = Shard::synthetic(args.scan_frames, 256, 7);
    let query: Vec<f32> = (0..256).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
    let qv = QueryVector::new(&query)?;
    let mut scan = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        rank(&[&shard], &qv, 20)?;
        scan.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let fixture_cosine = args.fixture.as_deref().map(|p| fixture_worst_cosine(searcher.text_encoder(), p)).transpose()?;
    let out = serde_json::json!({
        "fixture_worst_cosine": fixture_cosine,
        "frames": searcher.frames(),
        "encode_p50_ms": percentile(&mut encode, 0.5), "encode_p95_ms": percentile(&mut encode, 0.95),
        "rank_p50_ms": percentile(&mut rank_ms, 0.5), "rank_p95_ms": percentile(&mut rank_ms, 0.95),
        "scan_frames": args.scan_frames, "scan_dim": 256, "scan_p50_ms": percentile(&mut scan, 0.5),
        "threads": "one (the encoder runs skycase-core's kernels on the calling thread)",
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("native encode p50 {:.2} ms, p95 {:.2} ms; rank p50 {:.3} ms over {} frames; {}×256 int8 scan p50 {:.2} ms",
            out["encode_p50_ms"].as_f64().unwrap_or(0.0), out["encode_p95_ms"].as_f64().unwrap_or(0.0),
            out["rank_p50_ms"].as_f64().unwrap_or(0.0), searcher.frames(), args.scan_frames, out["scan_p50_ms"].as_f64().unwrap_or(0.0));
    }
    Ok(())
}
