//! The image encoder over brightness-temperature frames, its global and region heads, and
//! the text projection into the joint space.
//!
//! Shapes (channel-last; `B` frames, `R` = 13 regions, `D` = joint dimension):
//! ```text
//! input    [B, H4, W4, 3]   4×4 block mean and min of BT (normalised K) and valid fraction
//! stem     patch 2×2 → [B, H4/2, W4/2, c1]  + 1×1 residual        ("fine", 8 px cells)
//! down     patch 2×2 → [B, H4/4, W4/4, c2]  + 2 × (depthwise 3×3 → 1×1) residual ("coarse")
//! global   4×4 average grid of coarse → MLP → D, L2-normalised
//! region   mask-weighted mean of fine and coarse, ‖ region embedding → MLP → D, normalised
//! text     z = normalize(W·e + b), W: D × 384
//! ```
//! Every layer is a matrix product over patches (no `conv2d`): candle's CPU convolution
//! backward pass is several times slower than a matmul of the same size.

use std::path::Path;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{Linear, Module, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::Rng;

/// Number of study regions ([`skycase_vocab::REGIONS`]).
pub const N_REGIONS: usize = skycase_vocab::REGIONS.len();

/// Which embeddings a model is trained to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One embedding per frame ↔ the whole 13-line caption (the study).
    Global,
    /// One embedding per frame × region ↔ that region's bullet; a frame scores by its best region.
    Region,
}

impl Granularity {
    /// Parses `global` or `region`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "global" => Ok(Self::Global),
            "region" | "region-aware" => Ok(Self::Region),
            other => Err(Error::Usage(format!("granularity '{other}' is not one of global, region"))),
        }
    }

    /// `global` or `region`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Region => "region",
        }
    }
}

/// Architecture and input geometry, saved as `config.json` in a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Frame width in pixels (the satellite grid).
    pub frame_width: usize,
    /// Frame height in pixels.
    pub frame_height: usize,
    /// Pixels per input cell along each axis (block mean/min).
    pub downsample: usize,
    /// Channels of the fine (stem) feature map.
    pub stem_channels: usize,
    /// Channels of the coarse feature map.
    pub channels: usize,
    /// Size of the learned region identity embedding.
    pub region_embed: usize,
    /// Hidden width of the heads.
    pub hidden: usize,
    /// Joint embedding dimension.
    pub joint_dim: usize,
    /// Text encoder dimension (384 for all-MiniLM-L6-v2).
    pub text_dim: usize,
    /// Coarse cells averaged per global-grid cell along each axis.
    pub global_pool: usize,
    /// Depthwise 3×3 + 1×1 context blocks on the coarse map (0: cells see only themselves).
    #[serde(default)]
    pub context_blocks: usize,
    /// Adds a fourth input channel: the cell's mean BT minus a per-cell clear-sky reference
    /// (`backbone.clear_ref`, the warm 10th percentile of the training frames, not trained),
    /// so the model sees cloud as an anomaly against the local surface temperature.
    #[serde(default)]
    pub clear_ref: bool,
    /// BT normalisation: `(bt_center − BT) / bt_scale` (cold clouds positive).
    pub bt_center: f32,
    /// See `bt_center`.
    pub bt_scale: f32,
    /// What the model was trained for; the exporter ships those embeddings.
    pub granularity: Granularity,
}

impl ModelConfig {
    /// The defaults for a frame of `width × height` pixels.
    pub fn for_frame(width: usize, height: usize, granularity: Granularity) -> Self {
        Self {
            frame_width: width,
            frame_height: height,
            downsample: 4,
            stem_channels: 32,
            channels: 64,
            region_embed: 16,
            hidden: 128,
            joint_dim: 256,
            text_dim: 384,
            global_pool: 4,
            context_blocks: 0,
            clear_ref: false,
            bt_center: 250.0,
            bt_scale: 30.0,
            granularity,
        }
    }

    /// A model of a few thousand weights for a frame of `width × height` pixels: what the tests
    /// of this crate and its users train, save and load in milliseconds.
    pub fn tiny(width: usize, height: usize) -> Self {
        Self { downsample: 2, stem_channels: 4, channels: 8, region_embed: 4, hidden: 8, joint_dim: 6, text_dim: 5, global_pool: 2, ..Self::for_frame(width, height, Granularity::Region) }
    }

    /// Input grid (rows, columns): the frame in `downsample` cells, padded to a multiple of 4.
    pub fn input_hw(&self) -> (usize, usize) {
        let cell = self.downsample * 4;
        (self.frame_height.div_ceil(cell) * 4, self.frame_width.div_ceil(cell) * 4)
    }

    /// Fine feature grid (rows, columns).
    pub fn fine_hw(&self) -> (usize, usize) {
        let (h, w) = self.input_hw();
        (h / 2, w / 2)
    }

    /// Coarse feature grid (rows, columns).
    pub fn coarse_hw(&self) -> (usize, usize) {
        let (h, w) = self.input_hw();
        (h / 4, w / 4)
    }

    fn global_grid(&self) -> (usize, usize) {
        let (h, w) = self.coarse_hw();
        (h.div_ceil(self.global_pool), w.div_ceil(self.global_pool))
    }

    /// Checks the values a model cannot be built from.
    pub fn validate(&self) -> Result<()> {
        let dims = [
            ("frame_width", self.frame_width),
            ("frame_height", self.frame_height),
            ("downsample", self.downsample),
            ("stem_channels", self.stem_channels),
            ("channels", self.channels),
            ("region_embed", self.region_embed),
            ("hidden", self.hidden),
            ("joint_dim", self.joint_dim),
            ("text_dim", self.text_dim),
            ("global_pool", self.global_pool),
        ];
        for (name, v) in dims {
            if v == 0 || v > 1 << 16 {
                return Err(Error::Usage(format!("model config: {name} = {v} is out of range (1..=65536)")));
            }
        }
        if !(self.bt_scale.is_finite() && self.bt_scale > 0.0 && self.bt_center.is_finite()) {
            return Err(Error::Usage(format!(
                "model config: bt_center {} / bt_scale {} must be finite with a positive scale",
                self.bt_center, self.bt_scale
            )));
        }
        Ok(())
    }
}

/// Per-region pooling weights on the fine and coarse grids (each row sums to 1, or is all
/// zeros for a region outside the frame).
#[derive(Debug, Clone)]
pub struct RegionWeights {
    /// `[R, Hf·Wf]`.
    pub fine: Tensor,
    /// `[R, Hc·Wc]`.
    pub coarse: Tensor,
}

impl RegionWeights {
    /// Builds the weights from full-resolution masks: `masks[k]` is region `k`, row-major
    /// `frame_height × frame_width`.
    pub fn from_masks(cfg: &ModelConfig, masks: &[Vec<bool>], device: &Device) -> Result<Self> {
        if masks.len() != N_REGIONS {
            return Err(Error::shape("region masks", format!("{N_REGIONS} masks"), format!("{} masks", masks.len())));
        }
        let n = cfg.frame_width * cfg.frame_height;
        if let Some(m) = masks.iter().find(|m| m.len() != n) {
            return Err(Error::shape(
                "region mask",
                format!("{}×{} = {n} pixels", cfg.frame_width, cfg.frame_height),
                format!("{} pixels", m.len()),
            ));
        }
        let grid = |cell: usize, (gh, gw): (usize, usize)| -> Result<Tensor> {
            let mut w = vec![0f32; N_REGIONS * gh * gw];
            for (k, mask) in masks.iter().enumerate() {
                let row = &mut w[k * gh * gw..(k + 1) * gh * gw];
                for (i, &inside) in mask.iter().enumerate() {
                    if inside {
                        let (y, x) = (i / cfg.frame_width, i % cfg.frame_width);
                        row[(y / cell) * gw + x / cell] += 1.0;
                    }
                }
                let total: f32 = row.iter().sum();
                if total > 0.0 {
                    row.iter_mut().for_each(|v| *v /= total);
                }
            }
            Ok(Tensor::from_vec(w, (N_REGIONS, gh * gw), device)?)
        };
        Ok(Self { fine: grid(cfg.downsample * 2, cfg.fine_hw())?, coarse: grid(cfg.downsample * 4, cfg.coarse_hw())? })
    }
}

/// Turns a BT frame (kelvin, NaN or non-finite = space/no data, row-major) into the model
/// input `[H4, W4, 3]`: per cell the normalised mean and minimum BT of its valid pixels and
/// the valid fraction (cells outside the frame are zero).
pub fn preprocess(cfg: &ModelConfig, bt: &[f32]) -> Result<Vec<f32>> {
    let (w, h) = (cfg.frame_width, cfg.frame_height);
    if bt.len() != w * h {
        return Err(Error::shape("frame", format!("{w}×{h} = {} pixels", w * h), format!("{} pixels", bt.len())));
    }
    let (gh, gw) = cfg.input_hw();
    let ds = cfg.downsample;
    let mut sum = vec![0f32; gh * gw];
    let mut min = vec![f32::INFINITY; gh * gw];
    let mut count = vec![0u32; gh * gw];
    for y in 0..h {
        let row = &bt[y * w..(y + 1) * w];
        let base = (y / ds) * gw;
        for (x, &t) in row.iter().enumerate() {
            if t.is_finite() {
                let c = base + x / ds;
                sum[c] += t;
                min[c] = min[c].min(t);
                count[c] += 1;
            }
        }
    }
    let norm = |t: f32| (cfg.bt_center - t) / cfg.bt_scale;
    let mut out = vec![0f32; gh * gw * 3];
    let full = (ds * ds) as f32;
    for c in 0..gh * gw {
        if count[c] > 0 {
            out[c * 3] = norm(sum[c] / count[c] as f32);
            out[c * 3 + 1] = norm(min[c]);
            out[c * 3 + 2] = count[c] as f32 / full;
        }
    }
    Ok(out)
}

/// 2-D linear layer applied to the last axis of any-rank input.
#[derive(Debug, Clone)]
struct Dense(Linear);

impl Dense {
    fn new(i: usize, o: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self(candle_nn::linear(i, o, vb)?))
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let last = dims[dims.len() - 1];
        let rows = x.elem_count() / last.max(1);
        // Flatten to 2-D: candle's batched matmul with a broadcast operand is avoided.
        let y = self.0.forward(&x.reshape((rows, last))?)?;
        let mut out = dims;
        let n = out.len();
        out[n - 1] = y.dim(1)?;
        Ok(y.reshape(out)?)
    }
}

/// `[B, H, W, C]` → `[B, H/2, W/2, 4C]`: non-overlapping 2×2 patches.
fn patchify(x: &Tensor) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    Ok(x.reshape((b, h / 2, 2, w / 2, 2, c))?.permute((0, 1, 3, 2, 4, 5))?.contiguous()?.reshape((b, h / 2, w / 2, 4 * c))?)
}

/// Depthwise 3×3 convolution (zero padding) on `[B, H, W, C]` with weights `[9, C]`.
fn depthwise3(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let (_, h, wd, _) = x.dims4()?;
    let xp = x.pad_with_zeros(1, 1, 1)?.pad_with_zeros(2, 1, 1)?;
    let mut acc: Option<Tensor> = None;
    for k in 0..9 {
        let tap = xp.narrow(1, k / 3, h)?.narrow(2, k % 3, wd)?.broadcast_mul(&w.get(k)?)?;
        acc = Some(match acc {
            None => tap,
            Some(a) => (a + tap)?,
        });
    }
    acc.ok_or_else(|| Error::Usage("depthwise3: empty kernel".into()))
}

/// L2-normalises the last axis.
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let n = (x.sqr()?.sum_keepdim(D::Minus1)? + 1e-12)?.sqrt()?;
    Ok(x.broadcast_div(&n)?)
}

/// Mask-weighted mean of `[B, N, C]` features with weights `[R, N]` → `[B, R, C]`.
fn region_pool(f: &Tensor, w: &Tensor) -> Result<Tensor> {
    let (b, n, c) = f.dims3()?;
    let r = w.dim(0)?;
    let flat = f.transpose(0, 1)?.contiguous()?.reshape((n, b * c))?;
    Ok(w.matmul(&flat)?.reshape((r, b, c))?.transpose(0, 1)?.contiguous()?)
}

/// The feature maps of a batch.
#[derive(Debug, Clone)]
pub struct Features {
    /// `[B, Hf, Wf, c1]`.
    pub fine: Tensor,
    /// `[B, Hc, Wc, c2]`.
    pub coarse: Tensor,
}

/// The trainable parts: backbone, heads, text projection and the InfoNCE temperature.
pub struct ImageModel {
    cfg: ModelConfig,
    varmap: VarMap,
    device: Device,
    stem: Dense,
    mix: Dense,
    down: Dense,
    dw: Vec<Tensor>,
    pw: Vec<Dense>,
    g1: Dense,
    g2: Dense,
    region_embed: Tensor,
    r1: Dense,
    r2: Dense,
    text_proj: Dense,
    logit_scale: Tensor,
    clear_ref: Option<Tensor>,
}

/// The fixed clear-sky reference tensor (under `backbone.`), `[H4, W4, 1]`.
pub const CLEAR_REF: &str = "clear_ref";

/// The file names inside a checkpoint folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Model architecture file in a checkpoint folder.
pub const CONFIG_FILE: &str = "config.json";
/// The text projection alone (`weight` D × 384, `bias` D), as skycase-core reads it.
pub const PROJECTION_FILE: &str = "projection.safetensors";

impl ImageModel {
    /// A freshly initialised model; the same `seed` gives the same weights.
    pub fn new(cfg: ModelConfig, seed: u64, device: &Device) -> Result<Self> {
        cfg.validate()?;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let (c1, c2) = (cfg.stem_channels, cfg.channels);
        let b = vb.pp("backbone");
        let (ih, iw) = cfg.input_hw();
        let clear_ref = if cfg.clear_ref { Some(b.get((ih, iw, 1), CLEAR_REF)?) } else { None };
        let stem = Dense::new(if cfg.clear_ref { 16 } else { 12 }, c1, b.pp("stem"))?;
        let mix = Dense::new(c1, c1, b.pp("mix"))?;
        let down = Dense::new(4 * c1, c2, b.pp("down"))?;
        let dw = (0..cfg.context_blocks).map(|i| b.get((9, c2), &format!("dw{i}"))).collect::<candle_core::Result<Vec<_>>>()?;
        let pw = (0..cfg.context_blocks).map(|i| Dense::new(c2, c2, b.pp(format!("pw{i}")))).collect::<Result<Vec<_>>>()?;
        let (gh, gw) = cfg.global_grid();
        let g1 = Dense::new(gh * gw * c2, cfg.hidden, vb.pp("global").pp("fc1"))?;
        let g2 = Dense::new(cfg.hidden, cfg.joint_dim, vb.pp("global").pp("fc2"))?;
        let region_embed = vb.pp("region").get((N_REGIONS, cfg.region_embed), "embed")?;
        let r1 = Dense::new(c1 + c2 + cfg.region_embed, cfg.hidden, vb.pp("region").pp("fc1"))?;
        let r2 = Dense::new(cfg.hidden, cfg.joint_dim, vb.pp("region").pp("fc2"))?;
        let text_proj = Dense::new(cfg.text_dim, cfg.joint_dim, vb.pp("text_proj"))?;
        let logit_scale = vb.get(1, "logit_scale")?;
        let model = Self {
            cfg,
            varmap,
            device: device.clone(),
            stem,
            mix,
            down,
            dw,
            pw,
            g1,
            g2,
            region_embed,
            r1,
            r2,
            text_proj,
            logit_scale,
            clear_ref,
        };
        model.init(seed)?;
        Ok(model)
    }

    /// Seeded initialisation (candle's own initialisers draw from an unseeded generator).
    fn init(&self, seed: u64) -> Result<()> {
        for (i, (name, var)) in self.named_vars().into_iter().enumerate() {
            let mut rng = Rng::new(seed, i as u64 + 1);
            let dims = var.dims().to_vec();
            let n = var.elem_count();
            let mut uniform = |bound: f32| -> Vec<f32> { (0..n).map(|_| (2.0 * rng.uniform() - 1.0) * bound).collect() };
            let values = if name == format!("backbone.{CLEAR_REF}") {
                vec![0.0; n]
            } else if name == "logit_scale" {
                vec![(1.0f32 / 0.07).ln()]
            } else if name.ends_with(".bias") {
                vec![0.0; n]
            } else if name.starts_with("backbone.dw") {
                // Start near the identity: centre tap 1, the rest small.
                let mut v = uniform(0.1);
                let c = dims[1];
                v[4 * c..5 * c].iter_mut().for_each(|x| *x += 1.0);
                v
            } else if name == "region.embed" {
                uniform(1.0)
            } else {
                // He-uniform over the input dimension ([out, in] weights).
                let fan_in = dims.last().copied().unwrap_or(1).max(1) as f32;
                uniform((6.0 / fan_in).sqrt())
            };
            var.set(&Tensor::from_vec(values, dims, &self.device)?)?;
        }
        Ok(())
    }

    /// All variables by name, sorted.
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let data = self.varmap.data().lock().map(|d| d.clone()).unwrap_or_default();
        let mut v: Vec<(String, Var)> = data.into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The variables an optimiser updates (all but the fixed clear-sky reference).
    pub fn vars(&self) -> Vec<Var> {
        self.trainable_vars().into_iter().map(|(_, v)| v).collect()
    }

    /// [`ImageModel::named_vars`] without the fixed clear-sky reference.
    pub fn trainable_vars(&self) -> Vec<(String, Var)> {
        let fixed = format!("backbone.{CLEAR_REF}");
        self.named_vars().into_iter().filter(|(n, _)| *n != fixed).collect()
    }

    /// Sets the clear-sky reference from preprocessed inputs `[N, H4, W4, 3]` (training frames
    /// only): per cell the 10th percentile of the normalised mean BT (cold positive, so the
    /// warm end) over the frames where the cell is valid. No-op without `clear_ref`.
    pub fn fit_clear_ref(&self, inputs: &Tensor) -> Result<()> {
        let Some(r) = &self.clear_ref else { return Ok(()) };
        let (n, h, w, c) = inputs.dims4()?;
        let data = inputs.flatten_all()?.to_vec1::<f32>()?;
        let mut out = vec![0f32; h * w];
        let mut vals = Vec::with_capacity(n);
        for (cell, o) in out.iter_mut().enumerate() {
            vals.clear();
            vals.extend((0..n).map(|i| (i * h * w + cell) * c).filter(|&k| data[k + 2] > 0.0).map(|k| data[k]));
            if !vals.is_empty() {
                vals.sort_by(f32::total_cmp);
                *o = vals[vals.len() / 10];
            }
        }
        let t = Tensor::from_vec(out, (h, w, 1), &self.device)?;
        let var = self.named_vars().into_iter().find(|(n, _)| n.ends_with(CLEAR_REF)).map(|(_, v)| v);
        match var {
            Some(v) => Ok(v.set(&t)?),
            None => Err(Error::Usage(format!("{CLEAR_REF}: variable missing ({:?})", r.dims()))),
        }
    }

    /// The architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The InfoNCE inverse temperature, `exp(logit_scale)` clamped to [1, 100].
    pub fn logit_scale(&self) -> Result<Tensor> {
        Ok(self.logit_scale.clamp(0.0, 100f32.ln())?.exp()?.squeeze(0)?)
    }

    /// Backbone over a batch of inputs `[B, H4, W4, 3]`.
    pub fn features(&self, x: &Tensor) -> Result<Features> {
        let (h, w) = self.cfg.input_hw();
        let dims = x.dims();
        if dims.len() != 4 || dims[1] != h || dims[2] != w || dims[3] != 3 {
            return Err(Error::shape("image batch", format!("[B, {h}, {w}, 3]"), format!("{dims:?}")));
        }
        // ReLU, not GELU: on two CPU cores the elementwise passes cost as much as the matmuls.
        let x = match &self.clear_ref {
            // Anomaly against the clear-sky reference, zero where the cell has no data.
            Some(r) => {
                let anom = (x.narrow(3, 0, 1)?.broadcast_sub(r)? * x.narrow(3, 2, 1)?)?;
                Tensor::cat(&[x, &anom], 3)?
            }
            None => x.clone(),
        };
        let f = self.stem.forward(&patchify(&x)?)?.relu()?;
        let fine = (&f + self.mix.forward(&f)?.relu()?)?;
        let mut c = self.down.forward(&patchify(&fine)?)?.relu()?;
        for (dw, pw) in self.dw.iter().zip(&self.pw) {
            c = (&c + pw.forward(&depthwise3(&c, dw)?)?.relu()?)?;
        }
        Ok(Features { fine, coarse: c })
    }

    /// Global embeddings `[B, D]` (L2-normalised).
    pub fn global(&self, f: &Features) -> Result<Tensor> {
        let (b, hc, wc, c) = f.coarse.dims4()?;
        let p = self.cfg.global_pool;
        let (gh, gw) = self.cfg.global_grid();
        let padded = f.coarse.pad_with_zeros(1, 0, gh * p - hc)?.pad_with_zeros(2, 0, gw * p - wc)?;
        let grid = padded.reshape((b, gh, p, gw, p, c))?.mean(4)?.mean(2)?.reshape((b, gh * gw * c))?;
        l2_normalize(&self.g2.forward(&self.g1.forward(&grid)?.relu()?)?)
    }

    /// Region embeddings `[B, R, D]` (L2-normalised).
    pub fn regions(&self, f: &Features, w: &RegionWeights) -> Result<Tensor> {
        let (b, hf, wf, c1) = f.fine.dims4()?;
        let (_, hc, wc, c2) = f.coarse.dims4()?;
        if w.fine.dims() != [N_REGIONS, hf * wf] || w.coarse.dims() != [N_REGIONS, hc * wc] {
            return Err(Error::shape(
                "region weights",
                format!("[{N_REGIONS}, {}] and [{N_REGIONS}, {}]", hf * wf, hc * wc),
                format!("{:?} and {:?}", w.fine.dims(), w.coarse.dims()),
            ));
        }
        let pf = region_pool(&f.fine.reshape((b, hf * wf, c1))?, &w.fine)?;
        let pc = region_pool(&f.coarse.reshape((b, hc * wc, c2))?, &w.coarse)?;
        let emb = self.region_embed.unsqueeze(0)?.broadcast_as((b, N_REGIONS, self.cfg.region_embed))?;
        let x = Tensor::cat(&[pf, pc, emb.contiguous()?], 2)?;
        l2_normalize(&self.r2.forward(&self.r1.forward(&x)?.relu()?)?)
    }

    /// Projects text-encoder embeddings `[N, text_dim]` into the joint space (normalised).
    pub fn project_text(&self, t: &Tensor) -> Result<Tensor> {
        let d = t.dims();
        if d.len() != 2 || d[1] != self.cfg.text_dim {
            return Err(Error::shape("text embeddings", format!("[N, {}]", self.cfg.text_dim), format!("{d:?}")));
        }
        l2_normalize(&self.text_proj.forward(t)?)
    }

    /// The text projection as `(weight D × text_dim row-major, bias D)`.
    pub fn text_projection(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let l = &self.text_proj.0;
        let w = l.weight().flatten_all()?.to_vec1::<f32>()?;
        let b = l.bias().map(|b| b.to_vec1::<f32>()).transpose()?.unwrap_or_else(|| vec![0.0; self.cfg.joint_dim]);
        Ok((w, b))
    }

    /// Saves `model.safetensors`, `config.json` and `projection.safetensors` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let weights = dir.join(WEIGHTS_FILE);
        let tmp = dir.join(format!("{WEIGHTS_FILE}.tmp"));
        self.varmap.save(&tmp).map_err(|e| Error::format(&tmp, format!("cannot write weights: {e}")))?;
        std::fs::rename(&tmp, &weights).map_err(|e| Error::io(&weights, e))?;
        let cfg = serde_json::to_vec_pretty(&self.cfg).map_err(|e| Error::format(dir.join(CONFIG_FILE), e.to_string()))?;
        write_atomic(&dir.join(CONFIG_FILE), &cfg)?;
        let l = &self.text_proj.0;
        let mut proj = std::collections::HashMap::new();
        proj.insert("weight".to_string(), l.weight().clone());
        if let Some(b) = l.bias() {
            proj.insert("bias".to_string(), b.clone());
        }
        let p = dir.join(PROJECTION_FILE);
        candle_core::safetensors::save(&proj, &p).map_err(|e| Error::format(&p, format!("cannot write: {e}")))?;
        Ok(())
    }

    /// Loads a checkpoint folder written by [`ImageModel::save`] (or by `skycase train`).
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_on(dir, &Device::Cpu)
    }

    /// [`ImageModel::load`] onto a given device.
    pub fn load_on(dir: &Path, device: &Device) -> Result<Self> {
        let cfg_path = dir.join(CONFIG_FILE);
        let bytes = std::fs::read(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?;
        let cfg: ModelConfig = serde_json::from_slice(&bytes)
            .map_err(|e| Error::checkpoint(&cfg_path, format!("not a model config: {e}")))?;
        cfg.validate().map_err(|e| Error::checkpoint(&cfg_path, e.to_string()))?;
        let model = Self::new(cfg, 0, device)?;
        model.load_weights(&dir.join(WEIGHTS_FILE), None)?;
        Ok(model)
    }

    /// Copies weights from a safetensors file. With `prefix` (e.g. `"backbone."`) only those
    /// tensors are loaded (a pretrained backbone); otherwise every variable must be present.
    pub fn load_weights(&self, path: &Path, prefix: Option<&str>) -> Result<usize> {
        let tensors = candle_core::safetensors::load(path, &self.device).map_err(|e| match e {
            candle_core::Error::Io(io) => Error::io(path, io),
            other => Error::checkpoint(path, format!("not a readable safetensors file: {other}")),
        })?;
        let mut loaded = 0;
        for (name, var) in self.named_vars() {
            if let Some(p) = prefix {
                if !name.starts_with(p) {
                    continue;
                }
            }
            let t = tensors.get(&name).ok_or_else(|| Error::checkpoint(path, format!("tensor '{name}' is missing")))?;
            if t.dims() != var.dims() {
                return Err(Error::checkpoint(
                    path,
                    format!("tensor '{name}' has shape {:?}, the model needs {:?}", t.dims(), var.dims()),
                ));
            }
            let t = t.to_dtype(DType::F32)?;
            let finite = t.flatten_all()?.to_vec1::<f32>()?.iter().all(|v| v.is_finite());
            if !finite {
                return Err(Error::checkpoint(path, format!("tensor '{name}' holds NaN or infinite values")));
            }
            var.set(&t)?;
            loaded += 1;
        }
        if loaded == 0 {
            return Err(Error::checkpoint(path, format!("no tensor matches prefix '{}'", prefix.unwrap_or(""))));
        }
        Ok(loaded)
    }

    /// Embeds frames for export and search: per frame the global embedding and the 13
    /// region embeddings, both L2-normalised `D`-vectors. `frames` are BT in kelvin
    /// (non-finite = space), row-major `frame_height × frame_width`; `masks[k]` is region `k`
    /// on the same grid.
    pub fn embed_frames(&self, frames: &[&[f32]], masks: &[Vec<bool>]) -> Result<Vec<FrameEmbedding>> {
        let weights = RegionWeights::from_masks(&self.cfg, masks, &self.device)?;
        let (h, w) = self.cfg.input_hw();
        let mut out = Vec::with_capacity(frames.len());
        for chunk in frames.chunks(16) {
            let mut data = Vec::with_capacity(chunk.len() * h * w * 3);
            for bt in chunk {
                data.extend(preprocess(&self.cfg, bt)?);
            }
            let x = Tensor::from_vec(data, (chunk.len(), h, w, 3), &self.device)?;
            out.extend(self.embed_inputs(&x, &weights)?);
        }
        Ok(out)
    }

    /// [`ImageModel::embed_frames`] on preprocessed inputs `[B, H4, W4, 3]`.
    pub fn embed_inputs(&self, x: &Tensor, weights: &RegionWeights) -> Result<Vec<FrameEmbedding>> {
        let f = self.features(x)?;
        let g = self.global(&f)?.to_vec2::<f32>()?;
        let r = self.regions(&f, weights)?.to_vec3::<f32>()?;
        Ok(g.into_iter().zip(r).map(|(global, regions)| FrameEmbedding { global, regions }).collect())
    }
}

/// The embeddings of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameEmbedding {
    /// `[D]`.
    pub global: Vec<f32>,
    /// `[13][D]`, region order of the study.
    pub regions: Vec<Vec<f32>>,
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn tiny_config() -> ModelConfig {
        ModelConfig { context_blocks: 2, ..ModelConfig::tiny(40, 24) }
    }

    fn tiny_masks(c: &ModelConfig) -> Vec<Vec<bool>> {
        // Region k covers column band k*3..k*3+3 (region 12 partly outside a 40 px frame).
        (0..N_REGIONS)
            .map(|k| (0..c.frame_width * c.frame_height).map(|i| (i % c.frame_width) / 3 == k).collect())
            .collect()
    }

    #[test]
    fn grid_geometry() {
        // 471 rows / 16 → 30 blocks of 4 cells = 120; 819 / 16 → 52 × 4 = 208.
        let c = ModelConfig::for_frame(819, 471, Granularity::Global);
        assert_eq!(c.input_hw(), (120, 208));
        assert_eq!(c.fine_hw(), (60, 104));
        assert_eq!(c.coarse_hw(), (30, 52));
        assert_eq!(c.global_grid(), (8, 13));
    }

    #[test]
    fn preprocess_means_mins_and_space() {
        let mut c = tiny_config();
        c.frame_width = 4;
        c.frame_height = 2;
        c.bt_center = 250.0;
        c.bt_scale = 10.0;
        // Cell 0 (2×2): 240, 260, 250, NaN → mean 250, min 240, 3/4 valid.
        // Cell 1: all NaN (space) → zeros.
        let bt = [240.0, 260.0, f32::NAN, f32::NAN, 250.0, f32::NAN, f32::NAN, f32::NAN];
        let x = preprocess(&c, &bt).unwrap();
        assert_eq!(c.input_hw(), (4, 4));
        assert_eq!(&x[0..3], &[0.0, 1.0, 0.75]);
        assert_eq!(&x[3..6], &[0.0, 0.0, 0.0]);
        assert!(preprocess(&c, &bt[..5]).is_err());
    }

    #[test]
    fn patchify_orders_patches() {
        // 1×2×2×1 → 1×1×1×4 in (row, col) order.
        let x = Tensor::from_vec(vec![1f32, 2., 3., 4.], (1, 2, 2, 1), &Device::Cpu).unwrap();
        let p = patchify(&x).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(p, vec![1., 2., 3., 4.]);
    }

    #[test]
    fn depthwise_identity_and_shift() {
        let x = Tensor::arange(0f32, 6., &Device::Cpu).unwrap().reshape((1, 2, 3, 1)).unwrap();
        let mut w = vec![0f32; 9];
        w[4] = 1.0;
        let id = depthwise3(&x, &Tensor::from_vec(w, (9, 1), &Device::Cpu).unwrap()).unwrap();
        assert_eq!(id.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![0., 1., 2., 3., 4., 5.]);
        // Tap 5 (row 0, col +1) reads the right neighbour; the last column reads padding.
        let mut w = vec![0f32; 9];
        w[5] = 1.0;
        let sh = depthwise3(&x, &Tensor::from_vec(w, (9, 1), &Device::Cpu).unwrap()).unwrap();
        assert_eq!(sh.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![1., 2., 0., 4., 5., 0.]);
    }

    #[test]
    fn region_pool_is_weighted_mean() {
        // Features [1, 3, 1] = 1, 2, 3; region 0 weights 0.5/0.5/0 → 1.5; region 1 → 3.
        let f = Tensor::from_vec(vec![1f32, 2., 3.], (1, 3, 1), &Device::Cpu).unwrap();
        let w = Tensor::from_vec(vec![0.5f32, 0.5, 0., 0., 0., 1.], (2, 3), &Device::Cpu).unwrap();
        let p = region_pool(&f, &w).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(p, vec![1.5, 3.0]);
    }

    #[test]
    fn same_seed_same_weights_and_unit_outputs() {
        let c = tiny_config();
        let a = ImageModel::new(c.clone(), 3, &Device::Cpu).unwrap();
        let b = ImageModel::new(c.clone(), 3, &Device::Cpu).unwrap();
        let other = ImageModel::new(c.clone(), 4, &Device::Cpu).unwrap();
        let bt: Vec<f32> = (0..c.frame_width * c.frame_height).map(|i| 200.0 + (i % 97) as f32).collect();
        let masks = tiny_masks(&c);
        let ea = a.embed_frames(&[&bt], &masks).unwrap();
        let eb = b.embed_frames(&[&bt], &masks).unwrap();
        let eo = other.embed_frames(&[&bt], &masks).unwrap();
        assert_eq!(ea, eb);
        assert_ne!(ea, eo);
        assert_eq!(ea[0].global.len(), c.joint_dim);
        assert_eq!(ea[0].regions.len(), N_REGIONS);
        let norm: f32 = ea[0].regions[5].iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }

    #[test]
    fn save_load_round_trip_and_bad_checkpoints() {
        let dir = std::env::temp_dir().join(format!("skycase-train-model-{}", std::process::id()));
        let c = tiny_config();
        let a = ImageModel::new(c.clone(), 9, &Device::Cpu).unwrap();
        a.save(&dir).unwrap();
        let b = ImageModel::load(&dir).unwrap();
        let bt: Vec<f32> = (0..c.frame_width * c.frame_height).map(|i| 210.0 + (i % 31) as f32).collect();
        let masks = tiny_masks(&c);
        assert_eq!(a.embed_frames(&[&bt], &masks).unwrap(), b.embed_frames(&[&bt], &masks).unwrap());
        // The projection file is what skycase-core reads.
        let proj = std::fs::read(dir.join(PROJECTION_FILE)).unwrap();
        let p = skycase_core::Projection::from_safetensors(&proj, "projection.safetensors").unwrap();
        assert_eq!((p.in_dim(), p.out_dim()), (c.text_dim, c.joint_dim));

        // Wrong frame size is a shape error, not a panic.
        let err = b.embed_frames(&[&bt[..10]], &masks).unwrap_err();
        assert!(err.to_string().contains("frame"), "{err}");

        // A truncated weights file names the file.
        let w = dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&w).unwrap();
        std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
        let err = ImageModel::load(&dir).err().unwrap();
        assert!(err.to_string().contains("model.safetensors"), "{err}");

        // A config of another size does not match the weights.
        a.save(&dir).unwrap();
        let mut c2 = c.clone();
        c2.hidden = 9;
        std::fs::write(dir.join(CONFIG_FILE), serde_json::to_vec(&c2).unwrap()).unwrap();
        let err = ImageModel::load(&dir).err().unwrap();
        assert!(err.to_string().contains("shape"), "{err}");
        std::fs::write(dir.join(CONFIG_FILE), b"{not json").unwrap();
        let err = ImageModel::load(&dir).err().unwrap();
        assert!(err.to_string().contains("config.json"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn clear_ref_is_fit_saved_and_not_trained() {
        let dir = std::env::temp_dir().join(format!("skycase-train-clearref-{}", std::process::id()));
        let mut c = tiny_config();
        c.clear_ref = true;
        let m = ImageModel::new(c.clone(), 5, &Device::Cpu).unwrap();
        let name = format!("backbone.{CLEAR_REF}");
        assert!(m.named_vars().iter().any(|(n, _)| *n == name));
        assert!(!m.trainable_vars().iter().any(|(n, _)| *n == name));
        // Inputs of 20 frames: channel 0 of frame i is i/10 everywhere, all cells valid;
        // the 10th percentile of 0.0, 0.1, …, 1.9 is the value at index 2: 0.2.
        let (h, w) = c.input_hw();
        let data: Vec<f32> = (0..20).flat_map(|i| (0..h * w).flat_map(move |_| [i as f32 / 10.0, 0.0, 1.0])).collect();
        let x = Tensor::from_vec(data, (20, h, w, 3), &Device::Cpu).unwrap();
        m.fit_clear_ref(&x).unwrap();
        let r = m.named_vars().into_iter().find(|(n, _)| *n == name).unwrap().1.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(r.iter().all(|v| (v - 0.2).abs() < 1e-6), "{:?}", &r[..3]);
        m.save(&dir).unwrap();
        let back = ImageModel::load(&dir).unwrap();
        let bt: Vec<f32> = (0..c.frame_width * c.frame_height).map(|i| 220.0 + (i % 13) as f32).collect();
        let masks = tiny_masks(&c);
        assert_eq!(m.embed_frames(&[&bt], &masks).unwrap(), back.embed_frames(&[&bt], &masks).unwrap());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn pretrained_backbone_loads_from_a_checkpoint() {
        let dir = std::env::temp_dir().join(format!("skycase-train-backbone-{}", std::process::id()));
        let c = tiny_config();
        let donor = ImageModel::new(c.clone(), 1, &Device::Cpu).unwrap();
        donor.save(&dir).unwrap();
        let m = ImageModel::new(c, 2, &Device::Cpu).unwrap();
        let n = m.load_weights(&dir.join(WEIGHTS_FILE), Some("backbone.")).unwrap();
        assert_eq!(n, 12); // stem, mix, down, pw0, pw1 (weight + bias each) and dw0, dw1
        let get = |m: &ImageModel, name: &str| {
            m.named_vars().into_iter().find(|(n, _)| n == name).unwrap().1.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        assert_eq!(get(&donor, "backbone.stem.weight"), get(&m, "backbone.stem.weight"));
        assert_ne!(get(&donor, "region.fc1.weight"), get(&m, "region.fc1.weight"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
