//! `skycase eval --report` (`run_study`) end to end on a tiny simulated archive: 30 frames (the
//! real wxsim frame of tests/fixtures/ingest/sim and brightness variants of it), truth captions
//! and physical shares chosen here, a small random checkpoint. Table I, the normalised
//! scores, recall both ways, the graded score and the physical-captioner table are recounted
//! here from labels.jsonl parsed on its own, the model's f32 vectors and the shipped encoder
//! called directly; the markdown and the PNG figures are checked for what they must show.
//!
//! Needs the model that `scripts/fetch-model` installs (`SKYCASE_MODEL_DIR` overrides where).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use skycase_eval::study::{run_study, Source, StudyOptions, K};
use skycase_ingest::{Navigation, RegionMasks, Regions, Sidecar};
use skycase_train::{ImageModel, ModelConfig};
use skycase_vocab::{PHENOMENA, REGIONS};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/ingest/sim");
const FRAMES: usize = 30;

fn model_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SKYCASE_MODEL_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/skycase/models/all-MiniLM-L6-v2")
}

fn stamp(i: usize) -> String {
    // Every 6 h from 2019-09-01T00Z.
    let h = i * 6;
    format!("201909{:02}{:02}00", 1 + h / 24, h % 24)
}

fn time_of(stamp: &str) -> String {
    format!("{}-{}-{}T{}:{}Z", &stamp[..4], &stamp[4..6], &stamp[6..8], &stamp[8..10], &stamp[10..12])
}

/// Phenomenon of region `r` in frame `i`: Honshu has typhoons in some frames, the rest cycles.
fn label(i: usize, r: usize) -> usize {
    if r == 6 {
        [4, 4, 3, 1, 1, 3, 2][i % 7]
    } else {
        (r + i) % 4
    }
}

/// Physical shares written into labels.jsonl: (cloud, rain, snow, typhoon core share, centre inside).
fn shares(i: usize, r: usize) -> (f32, f32, f32, Option<(f32, bool)>) {
    let cloud = ((i * 7 + r * 3) % 10) as f32 / 10.0;
    let rain = ((i * 5 + r) % 7) as f32 / 7.0;
    let snow = ((i * 3 + r * 2) % 5) as f32 / 5.0;
    let ty = (label(i, r) == 4).then_some((0.3 + 0.1 * (i % 3) as f32, i.is_multiple_of(2)));
    (cloud, rain, snow, ty)
}

fn build(base: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let archive = base.join("tiny-2019");
    std::fs::create_dir_all(archive.join("frames")).unwrap();
    std::fs::copy(Path::new(FIXTURE).join("meta.json"), archive.join("meta.json")).unwrap();
    let src = image::open(Path::new(FIXTURE).join("frames/coms_mi_le1b_ir1_ea_201711081200.png")).unwrap().to_luma8();
    let mut lines = Vec::new();
    for i in 0..FRAMES {
        let mut img = src.clone();
        for (x, y, px) in img.enumerate_pixels_mut() {
            if px.0[0] > 0 {
                let shift = (i as i32 * 23 + (x as i32 * (i as i32 % 5 + 1)) / 97 + (y as i32 * (i as i32 % 3)) / 61) % 120 - 60;
                px.0[0] = (px.0[0] as i32 + shift).clamp(1, 255) as u8;
            }
        }
        let s = stamp(i);
        let file = format!("frames/coms_mi_le1b_ir1_ea_{s}.png");
        img.save(archive.join(&file)).unwrap();
        let caption: Vec<String> = REGIONS.iter().enumerate().map(|(r, name)| format!("- {name} - {}", PHENOMENA[label(i, r)])).collect();
        let mut regions = serde_json::Map::new();
        for (r, name) in REGIONS.iter().enumerate() {
            let (cloud, rain, snow, ty) = shares(i, r);
            let typhoon = match ty {
                Some((core, inside)) => serde_json::json!({"id": "1915", "name": "FAXAI", "core_share": core, "centre_inside": inside}),
                None => serde_json::Value::Null,
            };
            regions.insert(
                name.to_string(),
                serde_json::json!({"phenomenon": PHENOMENA[label(i, r)], "cloud_fraction": cloud, "rain_fraction": rain, "snow_fraction": snow, "typhoon": typhoon}),
            );
        }
        lines.push(serde_json::json!({"time": time_of(&s), "file": file, "caption": caption.join("\n"), "regions": regions}).to_string());
    }
    std::fs::write(archive.join("labels.jsonl"), lines.join("\n")).unwrap();

    let c = ModelConfig { downsample: 4, hidden: 16, joint_dim: 16, text_dim: 384, global_pool: 4, ..ModelConfig::tiny(819, 471) };
    let ckpt = base.join("ckpt");
    ImageModel::new(c, 5, &candle_core::Device::Cpu).unwrap().save(&ckpt).unwrap();

    let queries = base.join("queries");
    std::fs::create_dir_all(&queries).unwrap();
    let head = "id\tsplit\tregion\tphenomenon\ttext";
    let en = [
        head,
        "a\ttest\tHonshu (Japan)\tTyphoon\ttyphoon approaching Tokyo",
        "b\tdev\tMongolia\tSnow\tsnow in mongolia",
        "c\ttest\tKorean Peninsula\tRain\train over Seoul",
    ];
    std::fs::write(queries.join("queries-en.tsv"), en.join("\n")).unwrap();
    let ko = [head, "k1\ttest\tHonshu (Japan)\tTyphoon\t혼슈에 태풍", "k2\tdev\tMongolia\tSnow\t몽골에 눈"];
    std::fs::write(queries.join("queries-ko.tsv"), ko.join("\n")).unwrap();
    (archive, ckpt, queries)
}

/// labels.jsonl read here: time → (phenomenon name per region, shares per region).
#[allow(clippy::type_complexity)]
fn truth(archive: &Path) -> HashMap<String, (HashMap<String, String>, HashMap<String, [f32; 5]>)> {
    std::fs::read_to_string(archive.join("labels.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let labels = v["caption"]
                .as_str()
                .unwrap()
                .lines()
                .map(|b| {
                    let (r, p) = b.trim_start_matches("- ").rsplit_once(" - ").unwrap();
                    (r.to_string(), p.to_string())
                })
                .collect();
            let sh = v["regions"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, x)| {
                    let f = |k: &str| x[k].as_f64().unwrap() as f32;
                    let ty = if x["typhoon"].is_null() {
                        0.0
                    } else if x["typhoon"]["centre_inside"].as_bool().unwrap() {
                        1.0
                    } else {
                        x["typhoon"]["core_share"].as_f64().unwrap() as f32
                    };
                    (name.clone(), [f("snow_fraction"), 1.0 - f("cloud_fraction"), f("cloud_fraction"), f("rain_fraction"), ty])
                })
                .collect();
            (v["time"].as_str().unwrap().to_string(), (labels, sh))
        })
        .collect()
}

#[test]
fn report_numbers_match_an_independent_recount() {
    let base = std::env::temp_dir().join(format!("skycase-eval-study-{}", std::process::id()));
    std::fs::remove_dir_all(&base).ok();
    let (archive, ckpt, queries) = build(&base);
    let opts = StudyOptions {
        checkpoint: ckpt.clone(),
        text_model: model_dir(),
        source: Source::Archives(vec![archive.clone()]),
        query_dir: queries,
        besttrack: None,
        physical: true,
        figure_queries: vec!["Honshu, Japan is experiencing a typhoon.".into()],
        background: 40,
        tsne_iterations: 120,
        multilingual: None,
        cache: Some(base.join("cache")),
        progress: false,
    };
    let study = run_study(&opts).unwrap();
    let t = truth(&archive);
    assert_eq!(study.archives[0].frames, FRAMES);
    let names: Vec<&str> = study.sets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["template", "en", "ko"]);
    // Only the test halves of the paraphrase sets.
    assert_eq!(study.sets[1].outcomes.iter().map(|o| o.query.id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
    assert_eq!(study.sets[2].outcomes.iter().map(|o| o.query.id.as_str()).collect::<Vec<_>>(), ["k1"]);

    // Table I against truth: relevant frames and hits per cell, recounted.
    let template = &study.sets[0];
    assert_eq!(template.outcomes.len(), 65);
    let mut total = 0;
    for o in &template.outcomes {
        let (r, p) = (REGIONS[o.query.region], PHENOMENA[o.query.phenomenon]);
        assert_eq!(o.top.len(), K);
        let relevant = t.values().filter(|(l, _)| l[r] == p).count();
        let hits = o.top.iter().filter(|h| t[&h.time].0[r] == p).count();
        assert_eq!(study.relevant[o.query.region][o.query.phenomenon], relevant, "{}", o.query.text);
        assert_eq!(study.hits[o.query.region][o.query.phenomenon], hits, "{}", o.query.text);
        total += hits;
    }
    assert_eq!(study.total(), total);
    // Not every frame fits in a top 20 of 30, so hits are not simply the relevant counts.
    assert!(template.outcomes.iter().any(|o| o.hits < o.relevant.min(K)));
    // Honshu × Typhoon: frames with i % 7 ∈ {0, 1} → 10 of 30.
    assert_eq!(study.relevant[6][4], (0..FRAMES).filter(|i| i % 7 < 2).count());

    // Text → image recall, recounted from the ranked lists and truth.
    for s in &study.sets {
        let with: Vec<_> = s.outcomes.iter().filter(|o| o.relevant > 0).collect();
        for (n, k) in [1, 5, 10].into_iter().enumerate() {
            let want = with.iter().filter(|o| o.top.iter().take(k).any(|h| t[&h.time].0[REGIONS[o.query.region]] == PHENOMENA[o.query.phenomenon])).count()
                as f64
                / with.len() as f64;
            assert!((s.recall[n].unwrap() - want).abs() < 1e-12, "{} R@{k}", s.name);
        }
    }

    // Graded: mean share over the top 20 / mean over the 20 largest shares, per query, then the mean.
    let mut graded = Vec::new();
    for o in &template.outcomes {
        let (r, p) = (REGIONS[o.query.region], o.query.phenomenon);
        let top: f64 = o.top.iter().map(|h| t[&h.time].1[r][p] as f64).sum();
        let mut all: Vec<f64> = t.values().map(|(_, s)| s[r][p] as f64).collect();
        all.sort_by(|a, b| b.total_cmp(a));
        let best: f64 = all[..K].iter().sum();
        if best > 0.0 {
            graded.push(top / best);
        }
    }
    let want = graded.iter().sum::<f64>() / graded.len() as f64;
    assert!((template.graded.unwrap() - want).abs() < 1e-6, "{:?} vs {want}", template.graded);
    assert!(study.graded_available);

    // Image → text among the 65 templates, from the model's f32 vectors and the shipped
    // encoder + projection called here.
    let text = skycase_eval::text_side(&model_dir(), Some(&base.join("cache"))).unwrap();
    let words = skycase_core::WordEmbeddings::loaded(text.words_format, text.rows, text.dim, text.words.clone()).unwrap();
    let encoder = skycase_core::TextEncoder::from_bundle_files(&text.tokenizer, &text.encoder, words).unwrap();
    let proj = skycase_core::Projection::from_safetensors(&std::fs::read(ckpt.join("projection.safetensors")).unwrap(), "p").unwrap();
    let norm = |v: Vec<f32>| {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
    };
    let qv: Vec<Vec<f32>> = skycase_eval::template_queries().iter().map(|q| norm(proj.apply(&encoder.embed_query(&q.text).unwrap()).unwrap())).collect();
    let model = ImageModel::load(&ckpt).unwrap();
    let side = Sidecar::parse(&std::fs::read(archive.join("meta.json")).unwrap(), Path::new("meta.json")).unwrap();
    let rm = RegionMasks::rasterize(&Regions::bundled(), &Navigation::Geos(side.nav.clone()), 819, 471);
    let masks: Vec<Vec<bool>> = (0..13).map(|r| rm.mask(r)).collect();
    let (mut found, mut pairs, mut five) = ([0usize; 3], 0usize, 0usize);
    for i in 0..FRAMES {
        let p = archive.join(format!("frames/coms_mi_le1b_ir1_ea_{}.png", stamp(i)));
        let (bt, _, _) = side.decode_png(&std::fs::read(&p).unwrap(), &p).unwrap();
        let e = model.embed_frames(&[&bt], &masks).unwrap().remove(0);
        for r in 0..13 {
            let v = norm(e.regions[r].clone());
            let scores: Vec<f32> = qv.iter().map(|q| q.iter().zip(&v).map(|(a, b)| a * b).sum()).collect();
            let want = r * 5 + label(i, r);
            let better = scores.iter().filter(|&&s| s > scores[want]).count();
            for (n, k) in [1, 5, 10].into_iter().enumerate() {
                found[n] += usize::from(better < k);
            }
            five += usize::from((0..5).all(|q| scores[r * 5 + q] <= scores[want]));
            pairs += 1;
        }
    }
    assert_eq!(study.image_regions, pairs);
    for n in 0..3 {
        let got = study.image_to_text[n].unwrap();
        // Ties and f32 sums in another order may move a pair or two.
        assert!((got - found[n] as f64 / pairs as f64).abs() <= 2.0 / pairs as f64, "R@{}: {got} vs {}", [1, 5, 10][n], found[n]);
    }
    assert!((study.image_to_text_5way - five as f64 / pairs as f64).abs() <= 2.0 / pairs as f64);

    // Against the physical captioner: its labels recomputed here through skycase-caption on a
    // store of our own, then the same rankings rescored.
    let store = skycase_ingest::FrameStore::open(base.join("store")).unwrap();
    let mut id_time = HashMap::new();
    for i in 0..FRAMES {
        let f = skycase_ingest::read_sim_frame(&archive.join(format!("frames/coms_mi_le1b_ir1_ea_{}.png", stamp(i)))).unwrap();
        store.put(&f, None).unwrap();
        id_time.insert(f.meta.id.clone(), time_of(&stamp(i)));
    }
    let rules = skycase_caption::Rules::shipped().unwrap();
    let info = skycase_caption::store::CaptionerInfo::Physical { rules_sha256: rules.fingerprint(), besttrack: None };
    let cap = skycase_caption::PhysicalCaptioner::new(rules).unwrap();
    let job = skycase_caption::PhysicalRun { store: &store, captioner: &cap, besttrack: None, info, composite_days: 3 };
    let mut phys: HashMap<String, Vec<usize>> = HashMap::new();
    job.run(&store.list().unwrap(), |m, rec| {
        phys.insert(id_time[&m.id].clone(), rec.unwrap().labels.labels().iter().map(|p| p.index()).collect());
        Ok(())
    })
    .unwrap();
    let hp = study.hits_physical.unwrap();
    let rp = study.relevant_physical.unwrap();
    for o in &template.outcomes {
        let (r, p) = (o.query.region, o.query.phenomenon);
        assert_eq!(rp[r][p], phys.values().filter(|l| l[r] == p).count());
        assert_eq!(hp[r][p], o.top.iter().filter(|h| phys[&h.time][r] == p).count(), "{}", o.query.text);
    }
    let mut agree = 0;
    for (time, (l, _)) in &t {
        for (r, name) in REGIONS.iter().enumerate() {
            agree += usize::from(PHENOMENA[phys[time][r]] == l[*name]);
        }
    }
    assert!((study.physical_agreement.unwrap().0 - agree as f64 / (13 * FRAMES) as f64).abs() < 1e-12);
    // No best track: the captioner never says Typhoon.
    assert!((0..13).all(|r| rp[r][4] == 0));

    // Figure II: the top 3 of the Honshu query as the template query ranked them.
    let honshu = template.outcomes.iter().find(|o| o.query.region == 6 && o.query.phenomenon == 4).unwrap();
    let f2 = &study.figure_two[0];
    assert_eq!(f2.top.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), honshu.top[..3].iter().map(|h| h.time.as_str()).collect::<Vec<_>>());
    for (row, h) in f2.top.iter().zip(&honshu.top) {
        assert!((row.1 - h.score).abs() < 1e-6);
        assert_eq!(Some(row.2.as_str()), h.matched.as_deref());
        assert_eq!(row.3, format!("truth Honshu (Japan): {}", t[&h.time].0["Honshu (Japan)"]));
    }

    let (cell, times) = f2.relevant.clone().unwrap();
    assert_eq!(cell, (6, 4));
    assert_eq!(times.len(), study.relevant[6][4]);

    // The markdown and the figures.
    let study_table = skycase_eval::read_study_table(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/eval/study-table1.tsv"))).unwrap();
    let md = study.to_markdown("skycase eval --report tiny", Some(&study_table), "img");
    assert!(md.contains("    skycase eval --report tiny"));
    assert!(md.contains(&format!("Total: **{total} / 1300** (the study: 430 / 1300)")), "{md}");
    let ph_total: usize = hp.iter().flatten().sum();
    assert!(md.contains(&format!("Total: **{ph_total} / 1300**")));
    assert!(md.contains("no best track: it never says Typhoon"));
    assert!(md.contains(&format!("Truth has Honshu (Japan) × Typhoon in {} frame(s)", study.relevant[6][4])));
    let h = study.hits[6][4];
    assert!(
        md.contains(&format!(
            "| Honshu (Japan) | {} / 11 | {} / 1 | {} / 12 | {} / 12 | {h} / 9 |",
            study.hits[6][0], study.hits[6][1], study.hits[6][2], study.hits[6][3]
        )),
        "{md}"
    );
    assert!(md.contains(&format!("{:.2} · {}", h as f64 / study.relevant[6][4].min(K) as f64, study.relevant[6][4])));
    assert!(md.contains(&format!("| template | 65 | {} | {:.3} |", template.outcomes.iter().filter(|o| o.relevant > 0).count(), template.recall[0].unwrap())));
    assert!(md.contains("![after](img/fig3-after.png)"));
    // The encoder-alone run covers the same sets, with its own numbers in the table.
    assert_eq!(study.encoder_alone.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["template", "en", "ko"]);
    let ea = &study.encoder_alone[0];
    assert!(md.contains(&format!(
        "| template | {:.3} | {:.3} | {:.3} | {:.3} |",
        template.summary.hits_any.unwrap(),
        ea.1.unwrap(),
        template.recall[0].unwrap(),
        ea.2[0].unwrap()
    )));
    let dir = base.join("fig");
    let files = study.write_figures(&dir).unwrap();
    let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["fig2-1.png", "fig3-before.png", "fig3-after.png"]);
    let fig2 = image::open(dir.join("fig2-1.png")).unwrap().to_rgb8();
    assert_eq!(fig2.width(), 12 + 3 * (400 + 12));
    // The matched region's outline (yellow) is drawn.
    assert!(fig2.pixels().any(|p| p.0 == [255, 215, 0]));
    let fig3 = image::open(dir.join("fig3-after.png")).unwrap().to_rgb8();
    assert!(fig3.width() > 1000 && fig3.height() > 500);
    std::fs::remove_dir_all(&base).ok();
}
