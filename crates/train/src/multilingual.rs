//! A text projection for a second (multilingual) text encoder into a FROZEN checkpoint's
//! joint space, so Korean queries rank against the same image vectors as English ones.
//!
//! Nothing of the checkpoint changes: its image model embeds the archive's frames once
//! (13 region vectors per frame); only `z = normalize(W · e + b)` (`W`: joint × text dim) is
//! learned, from phrasings of every region × phenomenon in English and Korean embedded by the
//! multilingual encoder.
//!
//! Loss per step, over a batch of `B` (frame, region) pairs of the training days, each with
//! the phenomenon its truth label gives and one phrasing of that region × phenomenon (random
//! language): multi-positive InfoNCE between the projected phrasings and the frozen region
//! vectors (every pair of the same region × phenomenon counts as positive, both directions,
//! inverse temperature [`ProjectionConfig::scale`]), plus `distill ·` mean `(1 − cos(z, m))`
//! where `m` is the checkpoint's own (MiniLM) projection of that cell's English phrasings,
//! averaged and normalised: the multilingual side is pulled toward where the English side
//! already lands.
//!
//! Validation, on the archive's validation days and with phrasings drawn under another seed
//! (not trained on): per language, normalised hits@20 (hits / min(20, relevant)) of each
//! region × phenomenon cell that has a relevant frame, frames scored by their best region as
//! search ranks them, averaged over phrasings and cells. The best step's projection is kept.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};
use skycase_vocab::{PHENOMENA, REGIONS};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::query_score;
use crate::model::{write_atomic, FrameEmbedding, Granularity, ImageModel};
use crate::rng::Rng;
use crate::text::Embedder;
use crate::train::embed_indices;

/// Languages the phrasings come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// English.
    En,
    /// Korean.
    Ko,
}

impl Lang {
    /// Both, English first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    /// `en` or `ko`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }
}

/// Phrasings of `(region, phenomenon)` in a language: up to `n`, deterministic per `seed`.
pub type Phraser<'a> = dyn Fn(usize, usize, Lang, usize, u64) -> Vec<String> + 'a;

/// The recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionConfig {
    /// Optimiser steps.
    pub steps: usize,
    /// (frame, region) pairs per step.
    pub batch: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// Weight of the distillation term toward the checkpoint's English projection.
    pub distill: f32,
    /// Inverse temperature of the InfoNCE logits.
    pub scale: f32,
    /// Training phrasings per cell and language.
    pub phrasings: usize,
    /// Validation phrasings per cell and language (another seed).
    pub val_phrasings: usize,
    /// Validate every this many steps.
    pub eval_every: usize,
    /// Validation counts hits in the top `top_k` (20, as the app shows).
    pub top_k: usize,
    /// Seed (initialisation, sampling, phrasings).
    pub seed: u64,
    /// Validation days (before the test days, as `skycase train` splits).
    pub val_days: usize,
    /// Held-out test days at the end of the archive (never looked at here).
    pub test_days: usize,
}

impl Default for ProjectionConfig {
    fn default() -> Self {
        Self {
            steps: 1500,
            batch: 256,
            lr: 3e-3,
            distill: 0.0,
            scale: 20.0,
            phrasings: 40,
            val_phrasings: 6,
            eval_every: 100,
            top_k: 20,
            seed: 2017,
            val_days: 2,
            test_days: 5,
        }
    }
}

/// Validation score of one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LangScore {
    /// `en` or `ko`.
    pub lang: String,
    /// Mean normalised hits@k (hits / min(k, relevant)) over cells and phrasings.
    pub hits: f32,
    /// Cells (region × phenomenon with a relevant validation frame) scored.
    pub cells: usize,
}

/// What [`train_projection`] reports (also written as `projection.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionReport {
    /// The recipe.
    pub config: ProjectionConfig,
    /// Training and validation frames.
    pub train_frames: usize,
    /// Validation frames.
    pub val_frames: usize,
    /// Validation period (first and last frame time).
    pub val_period: (String, String),
    /// The step whose projection was kept.
    pub best_step: usize,
    /// Validation scores of the kept projection.
    pub val: Vec<LangScore>,
    /// The same measure with the checkpoint's own (MiniLM) projection and MiniLM embeddings
    /// of the same validation phrasings, for comparison.
    pub val_minilm: Vec<LangScore>,
    /// `(step, mean of the languages' hits@20)` at each validation.
    pub history: Vec<(usize, f32)>,
}

/// The projection file's name inside the output folder.
pub const PROJECTION_FILE: &str = "projection.safetensors";
/// The report's name inside the output folder.
pub const REPORT_FILE: &str = "projection.json";

/// Phrasings of every cell: `texts[(r, p, lang)]`.
type Texts = HashMap<(usize, usize, Lang), Vec<String>>;

fn phrasing_sets(phrase: &Phraser<'_>, n: usize, seed: u64, exclude: Option<&Texts>) -> Texts {
    let mut out = Texts::new();
    for r in 0..REGIONS.len() {
        for p in 0..PHENOMENA.len() {
            for lang in Lang::ALL {
                let mut v = phrase(r, p, lang, n, seed);
                if let Some(ex) = exclude.and_then(|e| e.get(&(r, p, lang))) {
                    v.retain(|t| !ex.contains(t));
                }
                out.insert((r, p, lang), v);
            }
        }
    }
    out
}

/// Embeds every distinct text once.
fn embed_all(texts: &[&Texts], embed: &mut Embedder<'_>) -> Result<HashMap<String, Vec<f32>>> {
    let mut distinct: Vec<&str> = texts.iter().flat_map(|t| t.values().flatten().map(String::as_str)).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut out = HashMap::with_capacity(distinct.len());
    for chunk in distinct.chunks(64) {
        for (t, v) in chunk.iter().zip(embed(chunk)?) {
            out.insert(t.to_string(), v);
        }
    }
    Ok(out)
}

fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
}

fn project(w: &[f32], b: &[f32], e: &[f32]) -> Vec<f32> {
    let mut z: Vec<f32> = b.iter().enumerate().map(|(o, bias)| bias + w[o * e.len()..(o + 1) * e.len()].iter().zip(e).map(|(a, x)| a * x).sum::<f32>()).collect();
    normalize(&mut z);
    z
}

/// Mean normalised hits@`k` per language of `query(text)` over the validation frames.
fn validate(
    k: usize,
    emb: &[FrameEmbedding],
    labels: &[[u8; 13]],
    texts: &Texts,
    query: &dyn Fn(&str) -> Vec<f32>,
) -> Vec<LangScore> {
    Lang::ALL
        .iter()
        .map(|&lang| {
            let (mut sum, mut cells) = (0f32, 0usize);
            for r in 0..REGIONS.len() {
                for p in 0..PHENOMENA.len() {
                    let relevant = labels.iter().filter(|l| usize::from(l[r]) == p).count();
                    let qs = &texts[&(r, p, lang)];
                    if relevant == 0 || qs.is_empty() {
                        continue;
                    }
                    let mut cell = 0f32;
                    for q in qs {
                        let v = query(q);
                        let mut order: Vec<(f32, usize)> = emb.iter().enumerate().map(|(i, e)| (query_score(Granularity::Region, e, &v), i)).collect();
                        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                        let hits = order.iter().take(k).filter(|(_, i)| usize::from(labels[*i][r]) == p).count();
                        cell += hits as f32 / relevant.min(k) as f32;
                    }
                    sum += cell / qs.len() as f32;
                    cells += 1;
                }
            }
            LangScore { lang: lang.code().into(), hits: if cells > 0 { sum / cells as f32 } else { 0.0 }, cells }
        })
        .collect()
}

/// Trains the projection of the multilingual encoder (`embed_multi`) into `model`'s joint
/// space on `ds`'s training days, validates on its validation days, and writes
/// [`PROJECTION_FILE`] and [`REPORT_FILE`] into `out`. `embed_minilm` embeds English
/// phrasings for the distillation targets (the checkpoint's text projection takes them).
pub fn train_projection(
    model: &ImageModel,
    ds: &Dataset,
    cfg: &ProjectionConfig,
    phrase: &Phraser<'_>,
    embed_multi: &mut Embedder<'_>,
    embed_minilm: &mut Embedder<'_>,
    out: &Path,
) -> Result<ProjectionReport> {
    if model.config().granularity != Granularity::Region {
        return Err(Error::Usage("the multilingual projection is trained against a region-aware checkpoint (--granularity region)".into()));
    }
    if cfg.batch < 2 || cfg.steps == 0 || cfg.eval_every == 0 || cfg.top_k == 0 {
        return Err(Error::Usage(format!("batch ({}) must be ≥ 2, steps ({}) and eval_every ({}) ≥ 1", cfg.batch, cfg.steps, cfg.eval_every)));
    }
    let split = ds.split(cfg.val_days, cfg.test_days)?;
    let train_emb = embed_indices(model, ds, &split.train)?;
    let val_emb = embed_indices(model, ds, &split.val)?;
    let val_labels: Vec<[u8; 13]> = split.val.iter().map(|&i| ds.samples[i].labels).collect();

    let train_texts = phrasing_sets(phrase, cfg.phrasings, cfg.seed, None);
    let val_texts = phrasing_sets(phrase, cfg.val_phrasings, cfg.seed.wrapping_add(0x7E57), Some(&train_texts));
    for lang in Lang::ALL {
        if (0..REGIONS.len()).any(|r| (0..PHENOMENA.len()).any(|p| train_texts[&(r, p, lang)].is_empty())) {
            return Err(Error::Usage(format!("the phrasing grammar gives no {} phrasing for some region × phenomenon", lang.code())));
        }
    }
    let multi = embed_all(&[&train_texts, &val_texts], embed_multi)?;
    let text_dim = multi.values().next().map_or(0, Vec::len);
    let english_only = |t: &Texts| -> Texts { t.iter().filter(|((_, _, l), _)| *l == Lang::En).map(|(k, v)| (*k, v.clone())).collect() };
    let minilm = embed_all(&[&english_only(&train_texts), &val_texts], embed_minilm)?;

    // The checkpoint's own projection of MiniLM vectors: distillation targets and the baseline.
    let (mw, mb) = model.text_projection()?;
    let joint = mb.len();
    let mut targets: HashMap<(usize, usize), Vec<f32>> = HashMap::new();
    for r in 0..REGIONS.len() {
        for p in 0..PHENOMENA.len() {
            let mut m = vec![0f32; joint];
            for t in &train_texts[&(r, p, Lang::En)] {
                project(&mw, &mb, &minilm[t]).iter().zip(m.iter_mut()).for_each(|(z, acc)| *acc += z);
            }
            normalize(&mut m);
            targets.insert((r, p), m);
        }
    }
    let val_minilm = validate(cfg.top_k, &val_emb, &val_labels, &val_texts, &|t: &str| project(&mw, &mb, &minilm[t]));

    // (frame, region, class) pairs of the training days.
    let pairs: Vec<(usize, usize, usize)> =
        split.train.iter().enumerate().flat_map(|(f, &i)| (0..REGIONS.len()).map(move |r| (f, r, i))).map(|(f, r, i)| (f, r, r * PHENOMENA.len() + usize::from(ds.samples[i].labels[r]))).collect();
    let cell_texts: Vec<Vec<&String>> = (0..REGIONS.len() * PHENOMENA.len())
        .map(|c| Lang::ALL.iter().flat_map(|&l| train_texts[&(c / PHENOMENA.len(), c % PHENOMENA.len(), l)].iter()).collect())
        .collect();

    let device = Device::Cpu;
    let mut rng = Rng::new(cfg.seed, 0xE5);
    let bound = 1.0 / (text_dim as f32).sqrt();
    let w0: Vec<f32> = (0..joint * text_dim).map(|_| (rng.uniform() * 2.0 - 1.0) * bound).collect();
    let w = Var::from_tensor(&Tensor::from_vec(w0, (joint, text_dim), &device)?)?;
    let b = Var::from_tensor(&Tensor::zeros(joint, DType::F32, &device)?)?;
    let mut opt = AdamW::new(vec![w.clone(), b.clone()], ParamsAdamW { lr: cfg.lr, weight_decay: 1e-4, ..Default::default() })?;

    let current = |w: &Var, b: &Var| -> Result<(Vec<f32>, Vec<f32>)> { Ok((w.as_tensor().flatten_all()?.to_vec1()?, b.as_tensor().to_vec1()?)) };
    let mut best: Option<(f32, usize, Vec<f32>, Vec<f32>, Vec<LangScore>)> = None;
    let mut history = Vec::new();
    for step in 1..=cfg.steps {
        let batch: Vec<(usize, usize, usize)> = (0..cfg.batch).map(|_| pairs[rng.below(pairs.len())]).collect();
        let mut txt = Vec::with_capacity(cfg.batch * text_dim);
        let mut img = Vec::with_capacity(cfg.batch * joint);
        let mut tgt = Vec::with_capacity(cfg.batch * joint);
        for &(f, r, c) in &batch {
            let options = &cell_texts[c];
            txt.extend_from_slice(&multi[options[rng.below(options.len())]]);
            img.extend_from_slice(&train_emb[f].regions[r]);
            tgt.extend_from_slice(&targets[&(c / PHENOMENA.len(), c % PHENOMENA.len())]);
        }
        let n = cfg.batch;
        let mask: Vec<f32> = (0..n * n).map(|k| f32::from(batch[k / n].2 == batch[k % n].2)).collect();
        let txt = Tensor::from_vec(txt, (n, text_dim), &device)?;
        let img = Tensor::from_vec(img, (n, joint), &device)?;
        let tgt = Tensor::from_vec(tgt, (n, joint), &device)?;
        let mask = Tensor::from_vec(mask, (n, n), &device)?;

        let z = txt.matmul(&w.as_tensor().t()?)?.broadcast_add(b.as_tensor())?;
        let z = z.broadcast_div(&z.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?)?;
        let logits = (z.matmul(&img.t()?)? * f64::from(cfg.scale))?;
        let off = ((&mask - 1.0)? * 1e4)?;
        // Rows: text → images; columns: image → texts; positives = same region × phenomenon.
        let rows = (log_sum_exp(&logits, 1)? - log_sum_exp(&(&logits + &off)?, 1)?)?.mean_all()?;
        let cols = (log_sum_exp(&logits, 0)? - log_sum_exp(&(&logits + &off)?, 0)?)?.mean_all()?;
        let distill = (1.0 - (&z * &tgt)?.sum(1)?.mean_all()?)?;
        let loss = (((rows + cols)? * 0.5)? + (distill * f64::from(cfg.distill))?)?;
        opt.set_learning_rate(cfg.lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / cfg.steps as f64).cos())));
        opt.backward_step(&loss)?;

        if step % cfg.eval_every == 0 || step == cfg.steps {
            let (wv, bv) = current(&w, &b)?;
            let scores = validate(cfg.top_k, &val_emb, &val_labels, &val_texts, &|t: &str| project(&wv, &bv, &multi[t]));
            let mean = scores.iter().map(|s| s.hits).sum::<f32>() / scores.len() as f32;
            history.push((step, mean));
            if best.as_ref().is_none_or(|(m, ..)| mean > *m) {
                best = Some((mean, step, wv, bv, scores));
            }
        }
    }
    let Some((_, best_step, wv, bv, val)) = best else { return Err(Error::Usage("no validation ran".into())) };

    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut tensors = HashMap::new();
    tensors.insert("weight".to_string(), Tensor::from_vec(wv, (joint, text_dim), &device)?);
    tensors.insert("bias".to_string(), Tensor::from_vec(bv, joint, &device)?);
    let path = out.join(PROJECTION_FILE);
    let tmp = out.join(format!("{PROJECTION_FILE}.tmp"));
    candle_core::safetensors::save(&tensors, &tmp).map_err(|e| Error::format(&tmp, format!("cannot write: {e}")))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    let period = |idx: &[usize]| {
        let t = |i: Option<&usize>| i.map(|&i| ds.samples[i].time.clone()).unwrap_or_default();
        (t(idx.first()), t(idx.last()))
    };
    let report = ProjectionReport {
        config: cfg.clone(),
        train_frames: split.train.len(),
        val_frames: split.val.len(),
        val_period: period(&split.val),
        best_step,
        val,
        val_minilm,
        history,
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::format(out.join(REPORT_FILE), e.to_string()))?;
    write_atomic(&out.join(REPORT_FILE), &json)?;
    Ok(report)
}

/// `log Σ exp` along `dim`, stable.
fn log_sum_exp(x: &Tensor, dim: usize) -> Result<Tensor> {
    let m = x.max_keepdim(dim)?.detach();
    Ok((x.broadcast_sub(&m)?.exp()?.sum_keepdim(dim)?.log()? + m)?.squeeze(dim)?)
}

/// A small Korean and English phrasing set of the study's 13 regions × 5 phenomena (region
/// names × phenomenon words × a few sentence forms, deterministic per seed), for tests;
/// `skycase train --text-encoder` uses `skycase_vocab::grammar::phrasings`.
pub fn basic_phrasings(r: usize, p: usize, lang: Lang, n: usize, seed: u64) -> Vec<String> {
    const KO_REGIONS: [&[&str]; 13] = [
        &["한반도", "한국", "서울", "부산"],
        &["몽골", "고비 사막", "울란바토르"],
        &["중국 북부", "화북", "베이징"],
        &["중국 동부", "화동", "상하이"],
        &["중국 남부", "화남", "광저우"],
        &["만주", "연해주", "중국 동북부"],
        &["혼슈", "일본 혼슈", "도쿄"],
        &["홋카이도", "일본 홋카이도", "삿포로"],
        &["규슈", "일본 규슈", "후쿠오카"],
        &["동중국해", "오키나와 근해", "류큐 제도"],
        &["필리핀해", "서태평양", "필리핀 동쪽 바다"],
        &["남중국해", "베트남 앞바다", "스프래틀리 군도"],
        &["일본 태평양 연안", "일본 남쪽 태평양", "일본 태평양 쪽"],
    ];
    const KO_PHENOMENA: [&[&str]; 5] = [&["눈", "폭설", "강설"], &["맑음", "맑은 하늘", "구름 없음"], &["구름", "흐림", "구름 많음"], &["비", "호우", "강우"], &["태풍", "열대 저기압", "태풍 접근"]];
    const KO_FORMS: [&str; 9] = ["{r}에 {w}", "{r}의 {w}", "{r} {w}", "{r} 상공의 {w}", "{w} ({r})", "{r}에서 {w} 관측", "{r} 부근 {w}", "지금 {r}에 {w}?", "{r} 지역 {w}"];
    const EN_PHENOMENA: [&[&str]; 5] = [&["snow", "heavy snow", "snowfall"], &["clear skies", "clear weather", "no clouds"], &["clouds", "overcast skies", "cloudy weather"], &["rain", "heavy rain", "showers"], &["a typhoon", "a tropical cyclone", "a tropical storm"]];
    const EN_REGIONS: [&[&str]; 13] = [
        &["Korea", "the Korean Peninsula", "Seoul"],
        &["Mongolia", "the Gobi", "Ulaanbaatar"],
        &["northern China", "north China", "Beijing"],
        &["eastern China", "east China", "Shanghai"],
        &["southern China", "south China", "Guangdong"],
        &["Manchuria", "Primorye", "northeast China"],
        &["Honshu", "Tokyo", "central Japan"],
        &["Hokkaido", "Sapporo", "northern Japan"],
        &["Kyushu", "Fukuoka", "southern Japan"],
        &["the East China Sea", "Okinawa", "the Ryukyu Islands"],
        &["the Philippine Sea", "the western Pacific", "the sea east of the Philippines"],
        &["the South China Sea", "the sea off Vietnam", "the Spratly Islands"],
        &["the Pacific coast of Japan", "Japan's Pacific side", "the ocean south of Honshu"],
    ];
    const EN_FORMS: [&str; 7] = ["{w} over {r}", "{r}: {w}", "{w} in {r}", "{r} with {w}", "{w} near {r}", "{w} across {r}", "is there {w} in {r}?"];
    let mut rng = Rng::new(seed, (r * 5 + p) as u64 * 2 + u64::from(lang == Lang::Ko));
    let (regions, words, forms): (&[&str], &[&str], &[&str]) = match lang {
        Lang::Ko => (KO_REGIONS[r], KO_PHENOMENA[p], &KO_FORMS),
        Lang::En => (EN_REGIONS[r], EN_PHENOMENA[p], &EN_FORMS),
    };
    let mut all: Vec<String> = Vec::new();
    for f in forms {
        for reg in regions {
            for w in words {
                all.push(f.replace("{r}", reg).replace("{w}", w));
            }
        }
    }
    all.sort();
    all.dedup();
    rng.shuffle(&mut all);
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_phrasings_are_deterministic_korean_and_distinct() {
        let ko = basic_phrasings(0, 0, Lang::Ko, 10, 1);
        assert_eq!(ko.len(), 10);
        assert_eq!(ko, basic_phrasings(0, 0, Lang::Ko, 10, 1));
        assert_ne!(ko, basic_phrasings(0, 0, Lang::Ko, 10, 2));
        assert!(ko.iter().all(|s| skycase_core::search::has_hangul(s)), "{ko:?}");
        let mut d = ko.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), ko.len());
        let en = basic_phrasings(8, 4, Lang::En, 50, 1);
        assert_eq!(en.len(), 50);
        assert!(en.iter().all(|s| ["Kyushu", "Fukuoka", "southern Japan"].iter().any(|r| s.contains(r))), "{en:?}");
    }

    #[test]
    fn log_sum_exp_matches_the_definition() {
        let x = Tensor::new(&[[0f32, 1.0], [2.0, -1.0]], &Device::Cpu).unwrap();
        let rows: Vec<f32> = log_sum_exp(&x, 1).unwrap().to_vec1().unwrap();
        // ln(1 + e), ln(e² + e⁻¹)
        assert!((rows[0] - (1.0f32 + 1f32.exp()).ln()).abs() < 1e-6);
        assert!((rows[1] - (2f32.exp() + (-1f32).exp()).ln()).abs() < 1e-6);
        let cols: Vec<f32> = log_sum_exp(&x, 0).unwrap().to_vec1().unwrap();
        assert!((cols[0] - (1.0f32 + 2f32.exp()).ln()).abs() < 1e-6);
    }

    /// Phrasings that carry their cell (`ko r3 p1 #2`), and an encoder that reads it back
    /// into separate dimensions (plus a per-text wobble), so the map is learnable.
    fn cell_phrasings(r: usize, p: usize, lang: Lang, n: usize, seed: u64) -> Vec<String> {
        (0..n).map(|i| format!("{} r{r} p{p} #{}", lang.code(), i as u64 + seed % 7)).collect()
    }

    fn cell_embed(texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let num = |tag: char| t.split(' ').find_map(|w| w.strip_prefix(tag)).and_then(|x| x.parse::<usize>().ok()).unwrap_or(0);
                let mut v = vec![0.05f32; 24];
                v[num('r')] += 1.0;
                v[13 + num('p')] += 1.0;
                v[18 + num('#') % 6] += 0.3;
                v
            })
            .collect())
    }

    #[test]
    fn learns_a_projection_into_a_frozen_checkpoint() {
        use crate::train::tests::{bank, cfg, tiny_dataset};
        let ds = tiny_dataset(3);
        let base = std::env::temp_dir().join(format!("skycase-multilingual-{}", std::process::id()));
        let ckpt = base.join("ckpt");
        let mut c = cfg(Granularity::Region, crate::Loss::InfoNce);
        c.epochs = 6;
        crate::train(&ds, &bank(&ds), &c, &ckpt, &crate::RunOptions::default()).unwrap();
        let model = ImageModel::load(&ckpt).unwrap();
        let before = std::fs::read(ckpt.join("model.safetensors")).unwrap();

        // With 6 validation frames every frame is in a top 20: score the best hit only.
        let pc = ProjectionConfig { steps: 150, batch: 32, eval_every: 50, top_k: 1, phrasings: 4, val_phrasings: 2, val_days: 2, test_days: 2, ..ProjectionConfig::default() };
        let minilm = |texts: &[&str]| crate::text::tests::fake_embed(16)(texts);
        let out = base.join("proj");
        let report = train_projection(&model, &ds, &pc, &cell_phrasings, &mut cell_embed, &mut { minilm }, &out).unwrap();
        assert_eq!(report.val.len(), 2);
        assert_eq!(report.history.len(), 3);
        assert!(report.val.iter().all(|s| s.cells > 0 && s.hits.is_finite()), "{report:?}");
        // Trained on the cells, the projection beats the untrained start on validation.
        let untrained = train_projection(&model, &ds, &ProjectionConfig { steps: 1, eval_every: 1, ..pc.clone() }, &cell_phrasings, &mut cell_embed, &mut { minilm }, &base.join("p0")).unwrap();
        let mean = |r: &ProjectionReport| r.val.iter().map(|s| s.hits).sum::<f32>() / 2.0;
        eprintln!("hits@1 trained {:?}, untrained {:?}", report.val, untrained.val);
        assert!(mean(&report) > mean(&untrained), "trained {:?} vs untrained {:?}", report.val, untrained.val);
        // The checkpoint is untouched; the projection maps 24 → the joint dimension.
        assert_eq!(std::fs::read(ckpt.join("model.safetensors")).unwrap(), before);
        let p = skycase_core::Projection::from_safetensors(&std::fs::read(out.join(PROJECTION_FILE)).unwrap(), "p").unwrap();
        assert_eq!((p.in_dim(), p.out_dim()), (24, model.config().joint_dim));
        assert!(out.join(REPORT_FILE).is_file());
        std::fs::remove_dir_all(&base).ok();
    }

    #[test]
    fn projection_of_a_vector_is_unit_length() {
        let z = project(&[1.0, 0.0, 0.0, 2.0], &[0.0, 1.0], &[3.0, 4.0]);
        // (3, 9) / √90
        assert!((z[0] - 3.0 / 90f32.sqrt()).abs() < 1e-6 && (z[1] - 9.0 / 90f32.sqrt()).abs() < 1e-6);
    }
}
