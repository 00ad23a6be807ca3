//! The training loop: time-disjoint split, seeded shuffles, AdamW with cosine decay,
//! validation every epoch, early stopping, checkpoints that resume.
//!
//! Checkpoint folder layout:
//! ```text
//! out/config.json, model.safetensors, projection.safetensors   best epoch (by validation hit rate)
//! out/train.json                                              options, history, test report
//! out/last/{config.json, model.safetensors, optimizer.safetensors, state.json}   for --resume
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};
use skycase_vocab::{bullet, PHENOMENA, REGIONS};

use crate::data::{Dataset, Sample};
use crate::error::{Error, Result};
use crate::eval::{evaluate, Metrics, Storage, TextSide};
use crate::loss::Loss;
use crate::model::{write_atomic, FrameEmbedding, Granularity, ImageModel, N_REGIONS, WEIGHTS_FILE};
use crate::rng::Rng;
use crate::text::{study_query, train_phrasings, TextBank};

/// Training options (saved in `train.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Global or region-aware.
    pub granularity: Granularity,
    /// Triplet or InfoNCE.
    pub loss: Loss,
    /// Maximum epochs.
    pub epochs: usize,
    /// Frames per step.
    pub batch: usize,
    /// Peak learning rate (cosine decay to 5 % over `epochs`).
    pub lr: f64,
    /// AdamW decoupled weight decay (matrices only).
    pub weight_decay: f64,
    /// Seed of initialisation, shuffles and phrasing choice.
    pub seed: u64,
    /// Held-out test days at the end of the archive.
    pub test_days: usize,
    /// Validation days before the test days.
    pub val_days: usize,
    /// Stop after this many epochs without a better validation score.
    pub patience: usize,
    /// Region-aware: train on several phrasings of each bullet, not only the bullet.
    pub augment_text: bool,
    /// Joint dimension.
    pub joint_dim: usize,
    /// Region-aware: weight of the frame-level ranking loss ([`crate::loss::frame_rank`]:
    /// a frame scores a text by its best region, as in search). 0 turns it off.
    #[serde(default)]
    pub frame_loss: f32,
    /// Region-aware: phrasings per region × phenomenon from the phrasing grammar, on top of
    /// the five fixed ones (0: the five only, as before the grammar).
    #[serde(default)]
    pub grammar_phrasings: usize,
    /// Region-aware: weight of the region-grounding loss ([`crate::loss::region_ground`]:
    /// negatives are the same phenomenon in other regions). 0 turns it off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ground_loss: f32,
    /// Archives whose frames were added to the training set only (`--extra-data`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_data: Vec<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            granularity: Granularity::Region,
            loss: Loss::InfoNce,
            epochs: 30,
            batch: 24,
            lr: 2e-3,
            weight_decay: 1e-4,
            seed: 2017,
            test_days: 5,
            val_days: 2,
            patience: 6,
            augment_text: true,
            joint_dim: 256,
            frame_loss: 0.0,
            grammar_phrasings: 40,
            ground_loss: 0.0,
            extra_data: Vec::new(),
        }
    }
}

fn is_zero(x: &f32) -> bool {
    *x == 0.0
}

/// One epoch of history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f32,
    /// Validation metrics.
    pub val: Metrics,
    /// Seconds since the start of this run (resumed runs restart the clock).
    pub seconds: f32,
}

/// Resumable state, written after every epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    epoch: usize,
    step: usize,
    best_score: f32,
    best_epoch: usize,
    history: Vec<EpochLog>,
    config: TrainConfig,
}

/// What a finished run reports (also `train.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Options.
    pub config: TrainConfig,
    /// Epoch history.
    pub history: Vec<EpochLog>,
    /// Best epoch (its weights are the checkpoint).
    pub best_epoch: usize,
    /// Wall-clock seconds of this invocation's training epochs.
    pub train_seconds: f32,
    /// Held-out test metrics of the best epoch, per storage (f32, f16, int8).
    pub test: Vec<(Storage, Metrics)>,
    /// Test frames' first and last time.
    pub test_period: (String, String),
    /// Region-aware runs: how the "nothing close" calibration (`calibration.json`, fit on
    /// the validation + test days) was fit and the rates it measured there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<serde_json::Value>,
}

/// AdamW with state that can be saved and restored.
struct AdamW {
    vars: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: usize,
    wd: f64,
}

impl AdamW {
    const B1: f64 = 0.9;
    const B2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    fn new(vars: Vec<(String, Var)>, wd: f64) -> Result<Self> {
        let m = vars.iter().map(|(_, v)| v.zeros_like()).collect::<candle_core::Result<Vec<_>>>()?;
        let v = m.clone();
        Ok(Self { vars, m, v, t: 0, wd })
    }

    fn step(&mut self, grads: &candle_core::backprop::GradStore, lr: f64) -> Result<()> {
        self.t += 1;
        let (c1, c2) = (1.0 - Self::B1.powi(self.t as i32), 1.0 - Self::B2.powi(self.t as i32));
        for (i, (name, var)) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else { continue };
            let m = ((&self.m[i] * Self::B1)? + (g * (1.0 - Self::B1))?)?;
            let v = ((&self.v[i] * Self::B2)? + (g.sqr()? * (1.0 - Self::B2))?)?;
            let upd = ((&m / c1)? / ((&v / c2)?.sqrt()? + Self::EPS)?)?;
            let decay = if var.rank() >= 2 && !name.ends_with("embed") { self.wd } else { 0.0 };
            let w = ((var.as_tensor() * (1.0 - lr * decay))? - (upd * lr)?)?;
            var.set(&w)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    fn save(&self, path: &Path) -> Result<()> {
        let mut map = HashMap::new();
        for (i, (name, _)) in self.vars.iter().enumerate() {
            map.insert(format!("m.{name}"), self.m[i].clone());
            map.insert(format!("v.{name}"), self.v[i].clone());
        }
        map.insert("t".to_string(), Tensor::new(&[self.t as u32], self.m[0].device())?);
        let tmp = path.with_extension("tmp");
        candle_core::safetensors::save(&map, &tmp).map_err(|e| Error::format(&tmp, e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    fn load(&mut self, path: &Path) -> Result<()> {
        let map = candle_core::safetensors::load(path, self.m[0].device())
            .map_err(|e| Error::checkpoint(path, format!("not a readable optimizer state: {e}")))?;
        for (i, (name, var)) in self.vars.iter().enumerate() {
            for (slot, key) in [(&mut self.m[i], format!("m.{name}")), (&mut self.v[i], format!("v.{name}"))] {
                let t = map.get(&key).ok_or_else(|| Error::checkpoint(path, format!("tensor '{key}' is missing")))?;
                if t.dims() != var.dims() {
                    return Err(Error::checkpoint(path, format!("tensor '{key}' has shape {:?}, expected {:?}", t.dims(), var.dims())));
                }
                *slot = t.clone();
            }
        }
        let t = map.get("t").ok_or_else(|| Error::checkpoint(path, "step count 't' is missing"))?;
        self.t = t.to_vec1::<u32>().map_err(|e| Error::checkpoint(path, format!("step count: {e}")))?.first().copied().unwrap_or(0) as usize;
        Ok(())
    }
}

/// Text tensors of a run: embeddings from the bank, by role.
struct TextTensors {
    /// Per sample, its whole caption `[N, E]`.
    captions: Tensor,
    /// Phrasings `[65 · P, E]`, row `(r·5 + p)·P + k`.
    phrasings: Tensor,
    n_phrasings: usize,
    /// Study queries `[65, E]` and canonical bullets `[65, E]`.
    queries: Tensor,
    bullets: Tensor,
}

fn rows(bank: &TextBank, texts: impl Iterator<Item = String>, device: &candle_core::Device) -> Result<Tensor> {
    let mut data = Vec::new();
    let mut n = 0;
    for t in texts {
        data.extend_from_slice(bank.get(&t)?);
        n += 1;
    }
    Ok(Tensor::from_vec(data, (n, bank.dim()), device)?)
}

impl TextTensors {
    fn new(bank: &TextBank, samples: &[Sample], grammar: usize, device: &candle_core::Device) -> Result<Self> {
        let rp = || (0..REGIONS.len()).flat_map(|r| (0..PHENOMENA.len()).map(move |p| (r, p)));
        let n_phrasings = train_phrasings(0, 0, grammar).len();
        if rp().any(|(r, p)| train_phrasings(r, p, grammar).len() != n_phrasings) {
            return Err(Error::Usage(format!("the phrasing grammar has fewer than {grammar} phrasings for some region × phenomenon; lower --phrasings")));
        }
        Ok(Self {
            captions: rows(bank, samples.iter().map(|s| s.caption.clone()), device)?,
            phrasings: rows(bank, rp().flat_map(|(r, p)| train_phrasings(r, p, grammar)), device)?,
            n_phrasings,
            queries: rows(bank, rp().map(|(r, p)| study_query(r, p)), device)?,
            bullets: rows(bank, rp().map(|(r, p)| bullet(r, p)), device)?,
        })
    }
}

/// Embeds frames `idx` of the dataset in batches (no gradients kept).
pub fn embed_indices(model: &ImageModel, ds: &Dataset, idx: &[usize]) -> Result<Vec<FrameEmbedding>> {
    let mut out = Vec::with_capacity(idx.len());
    for chunk in idx.chunks(32) {
        out.extend(model.embed_inputs(&ds.batch(chunk)?, &ds.weights)?);
    }
    Ok(out)
}

fn to_vecs(t: &Tensor) -> Result<Vec<Vec<f32>>> {
    Ok(t.to_vec2::<f32>()?)
}

/// Evaluates `model` on frames `idx`, for each storage in `storages`.
fn eval_split(
    model: &ImageModel,
    ds: &Dataset,
    tt: &TextTensors,
    idx: &[usize],
    g: Granularity,
    storages: &[Storage],
) -> Result<Vec<(Storage, Metrics)>> {
    let emb = embed_indices(model, ds, idx)?;
    let samples: Vec<&Sample> = idx.iter().map(|&i| &ds.samples[i]).collect();
    let (distinct, _) = crate::eval::distinct_captions(&samples);
    // Projected captions: take each distinct caption's first sample row.
    let first: Vec<u32> = distinct
        .iter()
        .map(|c| idx.iter().position(|&i| &ds.samples[i].caption == c).map(|p| idx[p] as u32).unwrap_or(0))
        .collect();
    let cap_rows = tt.captions.index_select(&Tensor::new(first.as_slice(), tt.captions.device())?, 0)?;
    let text = TextSide {
        queries: to_vecs(&model.project_text(&tt.queries)?)?,
        bullets: to_vecs(&model.project_text(&tt.bullets)?)?,
        captions: to_vecs(&model.project_text(&cap_rows)?)?,
    };
    Ok(storages.iter().map(|&s| (s, evaluate(g, &s.apply(&emb), &samples, &text))).collect())
}

fn cosine_lr(base: f64, epoch: usize, step_in_epoch: usize, steps_per_epoch: usize, epochs: usize) -> f64 {
    let total = (epochs * steps_per_epoch).max(1) as f64;
    let t = (epoch * steps_per_epoch + step_in_epoch) as f64 / total;
    let warm = (steps_per_epoch as f64 / total).min(0.1);
    let f = if t < warm { (t / warm).max(0.05) } else { 0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()) };
    base * f
}

/// Options of [`train`] that are not part of the model or the recipe.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Continue from `out/last` when it exists.
    pub resume: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Initialise the backbone from this safetensors file (a checkpoint's `model.safetensors`).
    pub backbone: Option<PathBuf>,
    /// Stop after this many epochs in this invocation (simulates an interruption in tests).
    pub stop_after: Option<usize>,
}

/// Trains on `ds` with text embeddings from `bank`, writing checkpoints to `out`.
pub fn train(ds: &Dataset, bank: &TextBank, cfg: &TrainConfig, out: &Path, opts: &RunOptions) -> Result<TrainSummary> {
    if cfg.batch < 2 || cfg.epochs == 0 {
        return Err(Error::Usage(format!("batch ({}) must be at least 2 and epochs ({}) at least 1", cfg.batch, cfg.epochs)));
    }
    let device = ds.inputs.device().clone();
    let split = ds.split(cfg.val_days, cfg.test_days)?;
    if split.train.len() < cfg.batch {
        return Err(Error::dataset(&ds.root, format!("{} training frames, fewer than one batch of {}", split.train.len(), cfg.batch)));
    }
    let mut mc = ds.config.clone();
    mc.granularity = cfg.granularity;
    mc.joint_dim = cfg.joint_dim;
    mc.text_dim = bank.dim();
    if bank.dim() == 0 {
        return Err(Error::Usage("the text bank is empty; embed the captions first".into()));
    }
    let tt = TextTensors::new(bank, &ds.samples, cfg.grammar_phrasings, &device)?;

    let last = out.join("last");
    let state_path = last.join("state.json");
    let (model, mut opt, mut state) = if opts.resume && state_path.is_file() {
        let bytes = std::fs::read(&state_path).map_err(|e| Error::io(&state_path, e))?;
        let state: State = serde_json::from_slice(&bytes).map_err(|e| Error::checkpoint(&state_path, format!("not a training state: {e}")))?;
        if state.config != *cfg {
            return Err(Error::checkpoint(
                &state_path,
                "was written with other training options; resume with the same options or choose another --out",
            ));
        }
        let model = ImageModel::load_on(&last, &device)?;
        let mut opt = AdamW::new(model.trainable_vars(), cfg.weight_decay)?;
        opt.load(&last.join("optimizer.safetensors"))?;
        (model, opt, state)
    } else {
        let model = ImageModel::new(mc, cfg.seed, &device)?;
        if let Some(b) = &opts.backbone {
            model.load_weights(b, Some("backbone."))?;
        }
        if model.config().clear_ref {
            model.fit_clear_ref(&ds.batch(&split.train)?)?;
        }
        let opt = AdamW::new(model.trainable_vars(), cfg.weight_decay)?;
        let state = State { epoch: 0, step: 0, best_score: f32::NEG_INFINITY, best_epoch: 0, history: vec![], config: cfg.clone() };
        (model, opt, state)
    };

    let steps = split.train.len() / cfg.batch;
    let started = Instant::now();
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new((cfg.epochs * steps) as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} steps  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_position((state.epoch * steps) as u64);
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut ran = 0;
    while state.epoch < cfg.epochs && state.epoch - state.best_epoch < cfg.patience.max(1) {
        if opts.stop_after.is_some_and(|n| ran >= n) {
            break;
        }
        let epoch = state.epoch;
        let mut order = split.train.clone();
        Rng::new(cfg.seed, 1000 + epoch as u64).shuffle(&mut order);
        let mut pick = Rng::new(cfg.seed ^ 0x5EED, 1000 + epoch as u64);
        let mut loss_sum = 0f32;
        for (s, batch) in order.chunks_exact(cfg.batch).enumerate() {
            let lr = cosine_lr(cfg.lr, epoch, s, steps, cfg.epochs);
            let x = ds.batch(batch)?;
            let f = model.features(&x)?;
            let mut frame_pos: Vec<Vec<bool>> = Vec::new();
            let (img, txt, pos) = match cfg.granularity {
                Granularity::Global => {
                    let mut uniq: Vec<usize> = Vec::new(); // sample index of each distinct caption
                    let pos: Vec<usize> = batch
                        .iter()
                        .map(|&i| {
                            let c = &ds.samples[i].caption;
                            match uniq.iter().position(|&u| &ds.samples[u].caption == c) {
                                Some(p) => p,
                                None => {
                                    uniq.push(i);
                                    uniq.len() - 1
                                }
                            }
                        })
                        .collect();
                    let ids: Vec<u32> = uniq.iter().map(|&i| i as u32).collect();
                    let t = tt.captions.index_select(&Tensor::new(ids.as_slice(), &device)?, 0)?;
                    (model.global(&f)?, model.project_text(&t)?, pos)
                }
                Granularity::Region => {
                    let np = if cfg.augment_text { tt.n_phrasings } else { 1 };
                    let ids: Vec<u32> = (0..N_REGIONS * PHENOMENA.len()).map(|rp| (rp * tt.n_phrasings + pick.below(np)) as u32).collect();
                    let t = tt.phrasings.index_select(&Tensor::new(ids.as_slice(), &device)?, 0)?;
                    let e = model.regions(&f, &ds.weights)?;
                    let (b, r, d) = e.dims3()?;
                    let pos: Vec<usize> = batch
                        .iter()
                        .flat_map(|&i| (0..N_REGIONS).map(move |k| k * PHENOMENA.len() + ds.samples[i].labels[k] as usize))
                        .collect();
                    if cfg.frame_loss > 0.0 {
                        frame_pos = batch
                            .iter()
                            .map(|&i| (0..N_REGIONS * PHENOMENA.len()).map(|rp| ds.samples[i].labels[rp / PHENOMENA.len()] as usize == rp % PHENOMENA.len()).collect())
                            .collect();
                    }
                    (e.reshape((b * r, d))?, model.project_text(&t)?, pos)
                }
            };
            let scale = model.logit_scale()?;
            let mut loss = cfg.loss.compute(&img, &txt, &pos, &scale)?;
            if !frame_pos.is_empty() {
                loss = (loss + (crate::loss::frame_rank(&img, &txt, N_REGIONS, &frame_pos, &scale)? * f64::from(cfg.frame_loss))?)?;
            }
            if cfg.ground_loss > 0.0 && cfg.granularity == Granularity::Region {
                // Texts are region-major, `r · 5 + p`: a text's phenomenon is its index mod 5.
                let group: Vec<usize> = (0..N_REGIONS * PHENOMENA.len()).map(|j| j % PHENOMENA.len()).collect();
                loss = (loss + (crate::loss::region_ground(&img, &txt, &pos, &group, &scale)? * f64::from(cfg.ground_loss))?)?;
            }
            let grads = loss.backward()?;
            opt.step(&grads, lr)?;
            let l = loss.to_scalar::<f32>()?;
            if !l.is_finite() {
                return Err(Error::Usage(format!("training diverged (loss {l}) at epoch {}; lower --lr", epoch + 1)));
            }
            loss_sum += l;
            state.step += 1;
            bar.inc(1);
            bar.set_message(format!("epoch {} loss {:.4}{}", epoch + 1, loss_sum / (s + 1) as f32, last_val(&state)));
        }
        let val = eval_split(&model, ds, &tt, &split.val, cfg.granularity, &[Storage::F32])?.remove(0).1;
        let score = val.hit_rate + 0.25 * val.t2i[2];
        state.epoch += 1;
        state.history.push(EpochLog { epoch: state.epoch, loss: loss_sum / steps.max(1) as f32, val, seconds: started.elapsed().as_secs_f32() });
        if score > state.best_score {
            state.best_score = score;
            state.best_epoch = state.epoch;
            model.save(out)?;
        }
        model.save(&last)?;
        opt.save(&last.join("optimizer.safetensors"))?;
        let bytes = serde_json::to_vec_pretty(&state).map_err(|e| Error::format(&state_path, e.to_string()))?;
        write_atomic(&state_path, &bytes)?;
        bar.set_message(format!("epoch {} loss {:.4}{}", state.epoch, state.history.last().map(|h| h.loss).unwrap_or(0.0), last_val(&state)));
        ran += 1;
    }
    bar.finish();
    let train_seconds = started.elapsed().as_secs_f32();

    let best = ImageModel::load_on(out, &device)
        .map_err(|e| Error::checkpoint(out.join(WEIGHTS_FILE), format!("best checkpoint unreadable: {e}")))?;
    let test = eval_split(&best, ds, &tt, &split.test, cfg.granularity, &Storage::ALL)?;
    let period = (
        split.test.first().map(|&i| ds.samples[i].time.clone()).unwrap_or_default(),
        split.test.last().map(|&i| ds.samples[i].time.clone()).unwrap_or_default(),
    );
    let calibration = if cfg.granularity == Granularity::Region {
        let mut held_out: Vec<usize> = split.val.iter().chain(&split.test).copied().collect();
        held_out.sort_unstable();
        let cal = crate::calibration::calibrate(&best, ds, &held_out, &tt.bullets)?;
        crate::calibration::save(&cal, out)?;
        Some(cal.fit.clone())
    } else {
        None
    };
    let summary =
        TrainSummary { config: cfg.clone(), history: state.history.clone(), best_epoch: state.best_epoch, train_seconds, test, test_period: period, calibration };
    let p = out.join("train.json");
    let bytes = serde_json::to_vec_pretty(&summary).map_err(|e| Error::format(&p, e.to_string()))?;
    write_atomic(&p, &bytes)?;
    Ok(summary)
}

fn last_val(s: &State) -> String {
    s.history
        .last()
        .map(|h| format!("  val hit {:.3} R@5 t2i {:.3} i2t {:.3}", h.val.hit_rate, h.val.t2i[1], h.val.i2t[1]))
        .unwrap_or_default()
}


#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{ModelConfig, RegionWeights};
    use crate::text::{tests::fake_embed, texts_needed};
    use candle_core::Device;

    /// 8 days × 3 frames of 40×24 px; region k is column band k*3..k*3+3; each frame's region
    /// phenomenon is drawn at random and painted as a BT level, so it is learnable.
    pub(crate) fn tiny_dataset(seed: u64) -> Dataset {
        let mut cfg = ModelConfig::for_frame(40, 24, Granularity::Region);
        cfg.downsample = 2;
        cfg.stem_channels = 4;
        cfg.channels = 8;
        cfg.region_embed = 4;
        cfg.hidden = 8;
        cfg.global_pool = 2;
        let masks: Vec<Vec<bool>> = (0..N_REGIONS).map(|k| (0..40 * 24).map(|i| (i % 40) / 3 == k).collect()).collect();
        let mut rng = Rng::new(seed, 0);
        let mut samples = Vec::new();
        let mut data = Vec::new();
        for d in 1..=8 {
            for h in 0..3 {
                let mut labels = [0u8; 13];
                labels.iter_mut().for_each(|l| *l = rng.below(4) as u8);
                let caption = (0..13).map(|r| bullet(r, labels[r] as usize)).collect::<Vec<_>>().join("\n");
                let bt: Vec<f32> = (0..40 * 24).map(|i| {
                    let k = ((i % 40) / 3).min(12);
                    200.0 + 25.0 * labels[k] as f32 + rng.uniform()
                }).collect();
                data.extend(crate::model::preprocess(&cfg, &bt).unwrap());
                samples.push(Sample { time: format!("2017-11-{d:02}T{h:02}:00Z"), file: String::new(), caption, labels });
            }
        }
        let (h, w) = cfg.input_hw();
        let inputs = Tensor::from_vec(data, (samples.len(), h, w, 3), &Device::Cpu).unwrap();
        let weights = RegionWeights::from_masks(&cfg, &masks, &Device::Cpu).unwrap();
        Dataset { root: PathBuf::from("<synthetic>"), samples, inputs, weights, masks, config: cfg, train_only: 0 }
    }

    pub(crate) fn bank(ds: &Dataset) -> TextBank {
        let mut b = TextBank::in_memory();
        b.ensure(&texts_needed(ds.samples.iter().map(|s| s.caption.clone()), 40), &mut fake_embed(16)).unwrap();
        b
    }

    pub(crate) fn cfg(g: Granularity, loss: Loss) -> TrainConfig {
        TrainConfig { granularity: g, loss, epochs: 4, batch: 4, lr: 5e-3, test_days: 2, val_days: 1, patience: 10, joint_dim: 8, ..TrainConfig::default() }
    }

    fn weights(dir: &Path) -> Vec<u8> {
        std::fs::read(dir.join(WEIGHTS_FILE)).unwrap()
    }

    #[test]
    fn trains_every_variant_and_writes_checkpoints() {
        let ds = tiny_dataset(1);
        let b = bank(&ds);
        for g in [Granularity::Global, Granularity::Region] {
            for loss in [Loss::Triplet { margin: 0.2 }, Loss::InfoNce] {
                let out = std::env::temp_dir().join(format!("skycase-train-run-{}-{}-{}", std::process::id(), g.name(), loss.name()));
                let s = train(&ds, &b, &cfg(g, loss), &out, &RunOptions::default()).unwrap();
                assert_eq!(s.history.len(), 4);
                assert!(s.history.iter().all(|h| h.loss.is_finite()));
                assert_eq!(s.test.len(), 3);
                assert_eq!(s.test[0].1.frames, 6);
                let m = ImageModel::load(&out).unwrap();
                assert_eq!(m.config().granularity, g);
                assert!(out.join("train.json").is_file() && out.join("last/optimizer.safetensors").is_file());
                std::fs::remove_dir_all(&out).ok();
            }
        }
    }

    #[test]
    fn seeded_runs_repeat_and_resume_matches_uninterrupted() {
        let ds = tiny_dataset(2);
        let b = bank(&ds);
        let c = cfg(Granularity::Region, Loss::InfoNce);
        let base = std::env::temp_dir().join(format!("skycase-train-resume-{}", std::process::id()));
        let (a, bb, r) = (base.join("a"), base.join("b"), base.join("r"));
        train(&ds, &b, &c, &a, &RunOptions::default()).unwrap();
        train(&ds, &b, &c, &bb, &RunOptions::default()).unwrap();
        assert_eq!(weights(&a.join("last")), weights(&bb.join("last")));
        // Interrupted after 2 epochs, then resumed: the same final weights.
        let first = train(&ds, &b, &c, &r, &RunOptions { stop_after: Some(2), ..RunOptions::default() }).unwrap();
        assert_eq!(first.history.len(), 2);
        let done = train(&ds, &b, &c, &r, &RunOptions { resume: true, ..RunOptions::default() }).unwrap();
        assert_eq!(done.history.len(), 4);
        assert_eq!(weights(&a.join("last")), weights(&r.join("last")));
        // Resuming with other options is refused.
        let mut other = c.clone();
        other.lr = 1e-3;
        let err = train(&ds, &b, &other, &r, &RunOptions { resume: true, ..RunOptions::default() }).unwrap_err();
        assert!(err.to_string().contains("state.json"), "{err}");
        // A corrupt optimizer state is a clear error.
        std::fs::write(r.join("last/optimizer.safetensors"), b"garbage").unwrap();
        let err = train(&ds, &b, &c, &r, &RunOptions { resume: true, ..RunOptions::default() }).unwrap_err();
        assert!(err.to_string().contains("optimizer.safetensors"), "{err}");
        std::fs::remove_dir_all(&base).ok();
    }

    #[test]
    fn extra_archives_only_add_training_frames() {
        let mut ds = tiny_dataset(1);
        let own = ds.split(1, 2).unwrap();
        let mut later = tiny_dataset(2);
        for s in &mut later.samples {
            s.time = s.time.replace("2017-11", "2017-12"); // after the test days
        }
        ds.append_training(later).unwrap();
        let sp = ds.split(1, 2).unwrap();
        assert_eq!((sp.val.clone(), sp.test.clone()), (own.val, own.test));
        assert_eq!(sp.train, own.train.iter().copied().chain(24..48).collect::<Vec<_>>());
        assert_eq!(ds.inputs.dims()[0], 48);

        let mut odd = tiny_dataset(3);
        odd.masks[0][0] = !odd.masks[0][0];
        odd.root = PathBuf::from("other-grid");
        let err = ds.append_training(odd).unwrap_err().to_string();
        assert!(err.contains("other-grid") && err.contains("region masks"), "{err}");
    }

    #[test]
    fn grounding_term_changes_training_and_is_recorded() {
        let ds = tiny_dataset(4);
        let b = bank(&ds);
        let base = std::env::temp_dir().join(format!("skycase-train-ground-{}", std::process::id()));
        let plain = cfg(Granularity::Region, Loss::InfoNce);
        let ground = TrainConfig { ground_loss: 1.0, ..plain.clone() };
        let sp = train(&ds, &b, &plain, &base.join("plain"), &RunOptions::default()).unwrap();
        let sg = train(&ds, &b, &ground, &base.join("ground"), &RunOptions::default()).unwrap();
        // The term adds a positive loss and other gradients: other losses, other weights.
        assert!(sg.history[0].loss > sp.history[0].loss, "{} !> {}", sg.history[0].loss, sp.history[0].loss);
        assert_ne!(weights(&base.join("plain/last")), weights(&base.join("ground/last")));
        let json = |d: &str| std::fs::read_to_string(base.join(d).join("train.json")).unwrap();
        assert!(json("ground").contains("\"ground_loss\": 1.0"), "{}", json("ground"));
        // Off (the default) leaves train.json as before the option existed.
        assert!(!json("plain").contains("ground_loss"));
        std::fs::remove_dir_all(&base).ok();
    }

    #[test]
    fn empty_text_bank_and_tiny_datasets_are_errors() {
        let ds = tiny_dataset(3);
        let out = std::env::temp_dir().join(format!("skycase-train-bad-{}", std::process::id()));
        let err = train(&ds, &TextBank::in_memory(), &cfg(Granularity::Global, Loss::InfoNce), &out, &RunOptions::default()).unwrap_err();
        assert!(err.to_string().contains("text"), "{err}");
        let mut c = cfg(Granularity::Global, Loss::InfoNce);
        c.test_days = 8;
        assert!(train(&ds, &bank(&ds), &c, &out, &RunOptions::default()).is_err());
        std::fs::remove_dir_all(&out).ok();
    }
}
