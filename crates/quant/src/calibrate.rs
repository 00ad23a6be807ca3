//! Activation statistics of the f32 encoder over a calibration set, for activation-aware
//! quantization ([`crate::gptq`]).
//!
//! For every linear layer's input `x` (one row per token) it accumulates the second-moment
//! matrix `H = E[x xᵀ]` over the calibration texts (each text's tokens weigh `1/len`). The quantization
//! error of a weight row `w` shows up in the layer's output as `(w − ŵ)ᵀ x`, whose mean
//! square over the calibration tokens is `(w − ŵ)ᵀ H (w − ŵ)`: that is what GPTQ minimises.
//!
//! The statistics come from a small forward pass of its own (candle tensors, f32, the
//! checkpoint's weights) rather than from [`skycase_core::text`]'s, so the encoder the app runs
//! carries no hooks; `forward_matches_the_encoder` in the tests checks the two agree.
//! Four inputs per layer: the attention input (shared by the query, key and value
//! projections), the attention context (input of `attention.output.dense`), the attention
//! block's output (input of `intermediate.dense`) and the GELU output (input of
//! `output.dense`).
//!
//! [`calibration_texts`] is the built-in set: the study's caption bullets and captions,
//! region × phenomenon queries in several phrasings, and generic weather sentences. It must
//! not contain the parity sentences of `tests/fixtures/minilm_reference.json` (the tests
//! check it), so that the parity test measures the quantization on unseen text.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use skycase_core::text::{MiniLmConfig, TextTokenizer};
use skycase_vocab::{bullet, PHENOMENA, REGIONS};

use crate::error::{Error, Result};

/// Second moments of one linear layer's input.
#[derive(Debug, Clone)]
pub struct InputStats {
    /// Width of the input.
    pub dim: usize,
    /// Tokens seen.
    pub tokens: usize,
    /// Sequences seen.
    pub sequences: usize,
    /// Mean over sequences of each sequence's mean `x xᵀ`, `dim × dim` row-major.
    pub second_moment: Vec<f64>,
}

impl InputStats {
    fn new(dim: usize) -> Self {
        Self { dim, tokens: 0, sequences: 0, second_moment: vec![0.0; dim * dim] }
    }

    /// Mean square of each input channel (the diagonal of the second moment).
    pub fn mean_square(&self) -> Vec<f64> {
        (0..self.dim).map(|j| self.second_moment[j * self.dim + j]).collect()
    }

    /// Adds one sequence's rows `x` `(n, dim)`, each sequence weighing the same whatever its
    /// length (a sentence embedding is a mean over its tokens, and the parity is per sentence).
    /// Rows wait in `pending`, scaled by `1/√n`, and go into the sum a few thousand at a time.
    fn add(&mut self, x: &Tensor, pending: &mut Vec<f32>) -> Result<()> {
        let n = x.dim(0)?;
        let scale = 1.0 / (n as f32).sqrt();
        pending.extend(x.flatten_all()?.to_vec1::<f32>()?.into_iter().map(|v| v * scale));
        self.tokens += n;
        self.sequences += 1;
        if pending.len() >= 4096 * self.dim {
            self.flush(pending)?;
        }
        Ok(())
    }

    fn flush(&mut self, pending: &mut Vec<f32>) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let x = Tensor::from_slice(pending, (pending.len() / self.dim, self.dim), &Device::Cpu)?;
        let xtx = x.t()?.matmul(&x)?.flatten_all()?.to_vec1::<f32>()?;
        self.second_moment.iter_mut().zip(xtx).for_each(|(s, v)| *s += v as f64);
        pending.clear();
        Ok(())
    }

    fn finish(&mut self, pending: &mut Vec<f32>) -> Result<()> {
        self.flush(pending)?;
        let n = self.sequences.max(1) as f64;
        self.second_moment.iter_mut().for_each(|s| *s /= n);
        Ok(())
    }
}

/// Input statistics of every linear layer of the encoder.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// Keyed by the input's site: `encoder.layer.<i>.attention.self` (query, key, value),
    /// `….attention.output.dense`, `….intermediate.dense`, `….output.dense`.
    sites: HashMap<String, InputStats>,
    /// Calibration texts used.
    pub texts: usize,
}

impl Calibration {
    /// The statistics of the input of a layer matrix, by its checkpoint name
    /// (`encoder.layer.3.attention.self.key.weight`, …).
    pub fn for_matrix(&self, name: &str) -> Option<&InputStats> {
        let prefix = name.strip_suffix(".weight")?;
        let site = match prefix.rsplit_once('.') {
            Some((parent, "query" | "key" | "value")) if parent.ends_with(".attention.self") => parent,
            _ => prefix,
        };
        self.sites.get(site)
    }

    /// Runs the f32 checkpoint (`model.safetensors`, `config.json`) over `texts` and records
    /// the input statistics of every linear layer.
    pub fn collect(safetensors: &[u8], config_json: &[u8], tokenizer: &TextTokenizer, texts: &[String]) -> Result<Self> {
        let config = MiniLmConfig::from_json(config_json, "config.json")?;
        let model = Model::load(safetensors, config)?;
        let mut sites: HashMap<String, (InputStats, Vec<f32>)> = HashMap::new();
        for text in texts {
            let ids = tokenizer.encode(text)?;
            model.forward(&ids, &mut |site: String, x: &Tensor| {
                let dim = x.dim(1)?;
                let (stats, pending) = sites.entry(site).or_insert_with(|| (InputStats::new(dim), Vec::new()));
                stats.add(x, pending)
            })?;
        }
        let sites = sites
            .into_iter()
            .map(|(site, (mut stats, mut pending))| {
                stats.finish(&mut pending)?;
                Ok((site, stats))
            })
            .collect::<Result<_>>()?;
        Ok(Self { sites, texts: texts.len() })
    }
}

/// The pooled, L2-normalised embedding of one token sequence by the calibration forward
/// pass, to check it against [`skycase_core::text::MiniLm`] (they must agree to ~1e-6).
pub fn embed_f32(safetensors: &[u8], config_json: &[u8], ids: &[u32]) -> Result<Vec<f32>> {
    let model = Model::load(safetensors, MiniLmConfig::from_json(config_json, "config.json")?)?;
    model.forward(ids, &mut |_, _| Ok(()))
}

/// The calibration set: caption bullets and whole captions as the captioner writes them,
/// region × phenomenon queries in several phrasings, and generic weather sentences.
pub fn calibration_texts() -> Vec<String> {
    let prose = |p: &str| match p {
        "Snow" => "snow",
        "Clear" => "clear skies",
        "Cloudy" => "clouds",
        "Rain" => "rain",
        _ => "a typhoon",
    };
    let mut texts = Vec::new();
    for (r, region) in REGIONS.iter().enumerate() {
        for (p, phenomenon) in PHENOMENA.iter().enumerate() {
            let what = prose(phenomenon);
            texts.push(bullet(r, p));
            // One phrasing per pair, rotating, keeps the set small but varied.
            texts.push(match (r + p) % 6 {
                0 => format!("{what} over {region}"),
                1 => format!("Satellite image showing {what} near {region}."),
                2 => format!("Is there {what} in {region} today?"),
                3 => format!("{region}: {phenomenon}"),
                4 => format!("{region} under {what}"),
                _ => format!("Past cases of {what} around {region}"),
            });
        }
    }
    // Whole captions: every region's bullet, phenomena by a fixed pseudo-random walk.
    let mut state = 0x9e37_79b9u32;
    for _ in 0..24 {
        let lines: Vec<String> = (0..REGIONS.len())
            .map(|r| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                bullet(r, state as usize % PHENOMENA.len())
            })
            .collect();
        texts.push(lines.join("\n"));
    }
    texts.extend(GENERIC.iter().map(|s| s.to_string()));
    // Inputs near the 256-token limit: captions back to back, and the generic sentences as
    // one paragraph.
    let captions: Vec<String> = texts.iter().filter(|t| t.lines().count() == REGIONS.len()).cloned().collect();
    texts.push(captions[..3].join("\n"));
    texts.push(captions[3..6].join(" "));
    texts.push(GENERIC[..20].join(" "));
    texts
}

const GENERIC: &[&str] = &[
    "A strong typhoon is moving north toward Okinawa.",
    "Winter monsoon brings heavy snow to the Sea of Japan coast.",
    "Dry, sunny weather continues over the Gobi desert.",
    "A stationary front lies across southern Japan during the rainy season.",
    "Thick low clouds cover the Yellow Sea this morning.",
    "Convective storms develop over the Korean Peninsula in the afternoon.",
    "tropical cyclone landfall in Taiwan",
    "cold air outbreak over Manchuria",
    "fog over the East China Sea",
    "frames with deep convection and cold cloud tops",
    "Where did it snow last January?",
    "Show me clear nights over Mongolia in spring.",
    "Brightness temperatures below 220 K mark high cloud tops.",
    "The infrared image shows a spiral cloud band with a clear eye.",
    "Seasonal rain band (Meiyu/Baiu) stretches from China to Japan.",
    "Typhoon season peaks in August and September.",
    "Light snow showers along the coast of Hokkaido.",
    "Mostly cloudy with occasional rain in Shanghai.",
    "The sky is clear and the air is cold and dry.",
    "Heavy rainfall warnings were issued for Kyushu.",
    "a cloud-free day over the Philippine Sea",
    "rain rain rain",
    "SNOW STORM!!",
    "typhoon Maemi 2003",
    "일본 규슈에 태풍이 접근하고 있다",
    "몽골 상공은 맑음",
    "北海道に大雪",
    "Search historical weather cases in satellite imagery.",
    "The quick brown fox jumps over the lazy dog.",
    "Machine learning models embed sentences as vectors.",
    // Queries of one or two words: sequences that are mostly [CLS] and [SEP].
    "rain",
    "snow",
    "typhoon",
    "clear",
    "cloudy",
    "storm",
    "fog",
    "Korea",
    "Japan",
    "weather",
    "?",
    "...",
    "hi",
    "2012",
    "heavy rain",
    "no clouds",
    "snowfall Japan",
    "typhoons",
];

/// The checkpoint's weights for the calibration forward pass.
struct Model {
    config: MiniLmConfig,
    tensors: HashMap<String, Tensor>,
}

impl Model {
    fn load(safetensors: &[u8], config: MiniLmConfig) -> Result<Self> {
        let tensors = candle_core::safetensors::load_buffer(safetensors, &Device::Cpu)
            .map_err(|e| Error::format("model.safetensors", format!("cannot read: {e}")))?
            .into_iter()
            .map(|(k, v)| Ok((k, v.to_dtype(DType::F32)?)))
            .collect::<Result<_>>()?;
        Ok(Self { config, tensors })
    }

    fn get(&self, name: &str) -> Result<&Tensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| Error::format("model.safetensors", format!("tensor {name} is missing")))
    }

    /// `x · Wᵀ + b`, after showing `x` to `record` under the layer's name.
    fn linear(&self, prefix: &str, x: &Tensor, record: &mut dyn FnMut(String, &Tensor) -> Result<()>) -> Result<Tensor> {
        record(prefix.to_string(), x)?;
        self.project(prefix, x)
    }

    fn project(&self, prefix: &str, x: &Tensor) -> Result<Tensor> {
        let w = self.get(&format!("{prefix}.weight"))?;
        let b = self.get(&format!("{prefix}.bias"))?;
        Ok(x.matmul(&w.t()?)?.broadcast_add(b)?)
    }

    fn layer_norm(&self, prefix: &str, x: &Tensor) -> Result<Tensor> {
        let gamma = self.get(&format!("{prefix}.weight"))?;
        let beta = self.get(&format!("{prefix}.bias"))?;
        Ok(candle_nn::ops::layer_norm(x, gamma, beta, self.config.layer_norm_eps as f32)?)
    }

    /// One sequence; returns the pooled, L2-normalised embedding.
    fn forward(&self, ids: &[u32], record: &mut dyn FnMut(String, &Tensor) -> Result<()>) -> Result<Vec<f32>> {
        let (n, h) = (ids.len(), self.config.hidden_size);
        let heads = self.config.num_attention_heads;
        let hd = h / heads;
        let ids_t = Tensor::new(ids, &Device::Cpu)?;
        let words = self.get("embeddings.word_embeddings.weight")?.index_select(&ids_t, 0)?;
        let positions = self.get("embeddings.position_embeddings.weight")?.narrow(0, 0, n)?;
        let token_type = self.get("embeddings.token_type_embeddings.weight")?.narrow(0, 0, 1)?;
        let mut x = self.layer_norm("embeddings.LayerNorm", &(words + positions)?.broadcast_add(&token_type)?)?;
        for i in 0..self.config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            record(format!("{p}.attention.self"), &x)?;
            let split = |t: Tensor| t.reshape((n, heads, hd))?.transpose(0, 1)?.contiguous();
            let q = split(self.project(&format!("{p}.attention.self.query"), &x)?)?;
            let k = split(self.project(&format!("{p}.attention.self.key"), &x)?)?;
            let v = split(self.project(&format!("{p}.attention.self.value"), &x)?)?;
            let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs.matmul(&v)?.transpose(0, 1)?.reshape((n, h))?;
            let attn = self.linear(&format!("{p}.attention.output.dense"), &context, record)?;
            let attn = self.layer_norm(&format!("{p}.attention.output.LayerNorm"), &(attn + &x)?)?;
            let inner = self.linear(&format!("{p}.intermediate.dense"), &attn, record)?.gelu_erf()?;
            let out = self.linear(&format!("{p}.output.dense"), &inner, record)?;
            x = self.layer_norm(&format!("{p}.output.LayerNorm"), &(out + attn)?)?;
        }
        let mean = x.mean(0)?;
        let norm = mean.sqr()?.sum_all()?.sqrt()?;
        Ok(mean.broadcast_div(&norm)?.to_vec1::<f32>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_many_and_distinct() {
        let texts = calibration_texts();
        assert!(texts.len() > 150, "{}", texts.len());
        let unique: std::collections::HashSet<&String> = texts.iter().collect();
        assert_eq!(unique.len(), texts.len());
    }

    #[test]
    fn matrices_map_to_their_input_site() {
        let mut sites = HashMap::new();
        for s in ["encoder.layer.0.attention.self", "encoder.layer.0.attention.output.dense", "encoder.layer.0.output.dense"] {
            sites.insert(s.to_string(), InputStats::new(s.len()));
        }
        let c = Calibration { sites, texts: 0 };
        let dim = |n: &str| c.for_matrix(n).map(|s| s.dim);
        assert_eq!(dim("encoder.layer.0.attention.self.key.weight"), Some("encoder.layer.0.attention.self".len()));
        assert_eq!(dim("encoder.layer.0.attention.output.dense.weight"), Some("encoder.layer.0.attention.output.dense".len()));
        assert_eq!(dim("encoder.layer.0.output.dense.weight"), Some("encoder.layer.0.output.dense".len()));
        assert_eq!(dim("encoder.layer.0.intermediate.dense.weight"), None);
        assert_eq!(dim("encoder.layer.0.attention.self.key.bias"), None);
    }
}
