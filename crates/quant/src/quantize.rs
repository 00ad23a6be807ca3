//! Quantizes the f32 all-MiniLM-L6-v2 checkpoint into the files a bundle ships.
//!
//! Two parts come out of [`quantize`]:
//! - the GGUF file (`encoder.gguf`): the six layers' weight matrices in a ggml block format
//!   chosen per group ([`QuantizeOptions`]: attention, feed-forward up, feed-forward down),
//!   position embeddings cut to [`MAX_TOKENS`] rows as f16, biases
//!   and layer norms as f32. The pooler head is dropped (sentence embeddings use mean pooling).
//! - the word-embedding table (30522 × 384, as many weights as all six layers together) as
//!   raw ggml blocks, row after row. A query reads about ten of its rows, so the bundle ships
//!   it in chunks of rows that the browser fetches on demand (see [`skycase_core::embeddings`]).
//!
//! The shipped setting is [`QuantizeOptions::default`]; `docs/encoder.md` has the table of
//! sizes and parity that chose it.

use std::io::Cursor;

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use skycase_core::embeddings::WordEmbeddings;
use skycase_core::format::{Quantization, GGUF_CONFIG_KEY};
use skycase_core::text::{MiniLmConfig, TextTokenizer, MAX_TOKENS};

use crate::calibrate::{calibration_texts, Calibration};
use crate::error::{Error, Result};
use crate::gptq;

/// How the layer matrices' weights are rounded to their format's levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Each weight to its nearest level (candle's quantizer).
    Nearest,
    /// Activation-aware: GPTQ on the built-in calibration set ([`crate::calibrate`],
    /// [`crate::gptq`]); importance-weighted for the k-quants.
    Gptq,
}

impl Rounding {
    /// The name written into manifests.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nearest => "nearest",
            Self::Gptq => "gptq",
        }
    }
}

/// Formats of the encoder's weight groups and their rounding, written into manifests as
/// `attention=q8_0,ffn_up=q4_0,ffn_down=q4_0,embeddings=q4_0,rounding=gptq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantizeOptions {
    /// Query, key, value and attention output matrices (384 × 384 each).
    pub attention: Quantization,
    /// Feed-forward up projection, `intermediate.dense` (1536 × 384).
    pub ffn_up: Quantization,
    /// Feed-forward down projection, `output.dense` (384 × 1536).
    pub ffn_down: Quantization,
    /// The word-embedding table (30522 × 384).
    pub embeddings: Quantization,
    /// Rounding of the layer matrices (the table is always rounded to nearest).
    pub rounding: Rounding,
}

impl Default for QuantizeOptions {
    /// The shipped setting: the smallest in docs/encoder.md's sweep whose worst cosine to
    /// the sentence-transformers embeddings stays ≥ 0.99 with margin (0.9937;
    /// crates/quant/tests/parity.rs asserts it): 8-bit attention, 5-bit feed-forward rounded by
    /// GPTQ. Rounded to nearest, the same formats end at 0.9797, and every 4-bit setting
    /// ends below 0.99 either way.
    fn default() -> Self {
        Self {
            attention: Quantization::Q8_0,
            ffn_up: Quantization::Q5_0,
            ffn_down: Quantization::Q5_0,
            embeddings: Quantization::Q4_0,
            rounding: Rounding::Gptq,
        }
    }
}

impl QuantizeOptions {
    /// One format for every linear layer.
    pub fn uniform(linear: Quantization, embeddings: Quantization) -> Self {
        Self { attention: linear, ffn_up: linear, ffn_down: linear, embeddings, rounding: Self::default().rounding }
    }

    /// Parses `attention=q8_0,ffn_up=q4_0,…,rounding=gptq` (keys left out keep the default),
    /// or a single format name that then applies to every linear layer.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut opts = Self::default();
        if !spec.contains('=') {
            let q = Quantization::parse(spec.trim())?;
            return Ok(Self::uniform(q, opts.embeddings));
        }
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (group, format) = part
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("'{part}' is not group=format, e.g. ffn_up=q4_0")))?;
            if group.trim() == "rounding" {
                opts.rounding = match format.trim() {
                    "nearest" => Rounding::Nearest,
                    "gptq" => Rounding::Gptq,
                    other => return Err(Error::Usage(format!("rounding '{other}' is not one of nearest, gptq"))),
                };
                continue;
            }
            let q = Quantization::parse(format.trim())?;
            match group.trim() {
                "attention" => opts.attention = q,
                "ffn_up" => opts.ffn_up = q,
                "ffn_down" => opts.ffn_down = q,
                "embeddings" => opts.embeddings = q,
                other => {
                    return Err(Error::Usage(format!(
                        "weight group '{other}' is not one of attention, ffn_up, ffn_down, embeddings (or rounding)"
                    )))
                }
            }
        }
        Ok(opts)
    }

    /// The manifest spelling, which [`parse`](Self::parse) reads back.
    pub fn name(&self) -> String {
        format!(
            "attention={},ffn_up={},ffn_down={},embeddings={},rounding={}",
            self.attention.name(),
            self.ffn_up.name(),
            self.ffn_down.name(),
            self.embeddings.name(),
            self.rounding.name()
        )
    }

    /// The format of one layer matrix, by its checkpoint name
    /// (`encoder.layer.<i>.attention.self.query.weight`, `….intermediate.dense.weight`, …).
    pub fn for_matrix(&self, name: &str) -> Quantization {
        if name.contains(".attention.") {
            self.attention
        } else if name.contains(".intermediate.") {
            self.ffn_up
        } else {
            self.ffn_down
        }
    }
}

/// What [`quantize`] produces.
pub struct QuantizedEncoder {
    /// `encoder.gguf`: every weight but the word-embedding table.
    pub gguf: Vec<u8>,
    /// The word-embedding table as ggml blocks, `rows` rows of `dim` values each.
    pub words: Vec<u8>,
    /// Format of `words`.
    pub words_format: Quantization,
    /// Rows of the table (the vocabulary size).
    pub rows: usize,
    /// Values per row (the hidden size).
    pub dim: usize,
}

impl QuantizedEncoder {
    /// Bytes of one table row.
    pub fn row_bytes(&self) -> usize {
        self.words.len() / self.rows.max(1)
    }

    /// Rows per chunk when the table is split into `chunks` files of (almost) equal size.
    pub fn rows_per_chunk(&self, chunks: usize) -> usize {
        self.rows.div_ceil(chunks.max(1))
    }

    /// The table cut into consecutive chunks of `rows_per_chunk` rows (the last may be shorter).
    pub fn word_chunks(&self, rows_per_chunk: usize) -> impl Iterator<Item = &[u8]> {
        self.words.chunks(rows_per_chunk.max(1) * self.row_bytes())
    }

    /// The whole table, loaded, as the encoder uses it (tests and tools that hold it all).
    pub fn word_embeddings(&self) -> Result<WordEmbeddings> {
        Ok(WordEmbeddings::loaded(self.words_format, self.rows, self.dim, self.words.clone())?)
    }
}

/// Reads `model.safetensors` (f32) + `config.json` and quantizes it; with
/// [`Rounding::Gptq`], the f32 model first runs over [`calibration_texts`] (the tokenizer
/// is needed for that, and it takes some seconds).
pub fn quantize(safetensors: &[u8], config_json: &[u8], tokenizer_json: &[u8], opts: QuantizeOptions) -> Result<QuantizedEncoder> {
    let calibration = match opts.rounding {
        Rounding::Nearest => None,
        Rounding::Gptq => {
            let tokenizer = TextTokenizer::from_bytes(tokenizer_json)?;
            Some(Calibration::collect(safetensors, config_json, &tokenizer, &calibration_texts())?)
        }
    };
    quantize_calibrated(safetensors, config_json, opts.embeddings, &opts.name(), |name| opts.for_matrix(name), calibration.as_ref())
}

/// As [`quantize`], with the format of each layer matrix chosen by `format_of` from its
/// checkpoint name (e.g. `encoder.layer.3.output.dense.weight`), for per-layer mixes;
/// `label` is written into the file's metadata.
pub fn quantize_with(
    safetensors: &[u8],
    config_json: &[u8],
    embeddings: Quantization,
    label: &str,
    format_of: impl Fn(&str) -> Quantization,
) -> Result<QuantizedEncoder> {
    quantize_calibrated(safetensors, config_json, embeddings, label, format_of, None)
}

/// As [`quantize_with`]; with a `calibration`, the layer matrices are rounded to keep each
/// layer's output close on the calibration inputs rather than each weight: GPTQ
/// ([`crate::gptq`]) for the 32-value block formats, candle's importance-weighted
/// quantizer (the inputs' mean squares) for the k-quants. The files have the same formats
/// and layout either way.
pub fn quantize_calibrated(
    safetensors: &[u8],
    config_json: &[u8],
    embeddings: Quantization,
    label: &str,
    format_of: impl Fn(&str) -> Quantization,
    calibration: Option<&Calibration>,
) -> Result<QuantizedEncoder> {
    let config = MiniLmConfig::from_json(config_json, "config.json")?;
    let tensors = candle_core::safetensors::load_buffer(safetensors, &Device::Cpu)
        .map_err(|e| Error::format("model.safetensors", format!("cannot read: {e}")))?;
    let mut names: Vec<&String> = tensors
        .keys()
        .filter(|n| n.starts_with("embeddings.") || n.starts_with("encoder."))
        .filter(|n| !matches!(n.as_str(), "embeddings.position_ids" | "embeddings.word_embeddings.weight"))
        .collect();
    names.sort();
    let words = tensors
        .get("embeddings.word_embeddings.weight")
        .ok_or_else(|| Error::format("model.safetensors", "no embeddings.word_embeddings.weight: not a BERT checkpoint"))?;
    let (rows, dim) = words.dims2()?;
    embeddings.row_bytes(dim).map_err(|e| Error::format("model.safetensors", format!("word embeddings: {e}")))?;
    let words = QTensor::quantize(&words.to_dtype(DType::F32)?, embeddings.ggml())?.data()?.into_owned();

    let mut out: Vec<(String, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let t = tensors[name].to_dtype(DType::F32)?;
        let q = if name == "embeddings.position_embeddings.weight" {
            // `narrow` keeps the whole storage; quantize reads storage, so copy the rows out.
            let rows = MAX_TOKENS.min(t.dim(0)?);
            let kept = Tensor::from_vec(t.narrow(0, 0, rows)?.flatten_all()?.to_vec1::<f32>()?, (rows, t.dim(1)?), &Device::Cpu)?;
            QTensor::quantize(&kept, GgmlDType::F16)?
        } else if name.ends_with(".weight") && t.rank() == 2 && name.starts_with("encoder.") {
            let q = format_of(name);
            let (rows, cols) = t.dims2()?;
            q.row_bytes(cols).map_err(|e| Error::Usage(format!("{name}: {e}")))?;
            match calibration.and_then(|c| c.for_matrix(name)) {
                Some(stats) if gptq::supports(q) => {
                    let bytes = gptq::quantize_matrix(&t.flatten_all()?.to_vec1::<f32>()?, rows, cols, stats, q)
                        .map_err(|e| Error::Usage(format!("{name}: {e}")))?;
                    qtensor_from_ggml(q.ggml(), &bytes, vec![rows, cols], &Device::Cpu)?
                }
                Some(stats) if matches!(q, Quantization::Q3K | Quantization::Q4K | Quantization::Q5K | Quantization::Q6K) => {
                    let importance: Vec<f32> = stats.mean_square().into_iter().map(|v| v as f32).collect();
                    QTensor::quantize_imatrix(&t, &importance, q.ggml())?
                }
                _ => QTensor::quantize(&t, q.ggml())?,
            }
        } else {
            QTensor::quantize(&t, GgmlDType::F32)?
        };
        out.push((name.clone(), q));
    }
    let config_str = serde_json::to_string(&config).map_err(|e| Error::Usage(e.to_string()))?;
    let meta_config = gguf_file::Value::String(config_str);
    let meta_quant = gguf_file::Value::String(label.to_string());
    let metadata = [(GGUF_CONFIG_KEY, &meta_config), ("skycase.quantization", &meta_quant)];
    let refs: Vec<(&str, &QTensor)> = out.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut buf = Cursor::new(Vec::new());
    gguf_file::write(&mut buf, &metadata, &refs)?;
    Ok(QuantizedEncoder { gguf: buf.into_inner(), words, words_format: embeddings, rows, dim })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip_through_their_manifest_name() {
        let o = QuantizeOptions::parse("attention=q8_0,ffn_up=q5_0,ffn_down=q4_k,embeddings=q8_0").unwrap();
        assert_eq!(o.ffn_down, Quantization::Q4K);
        assert_eq!(QuantizeOptions::parse(&o.name()).unwrap(), o);
        assert_eq!(QuantizeOptions::parse("q5_1").unwrap(), QuantizeOptions::uniform(Quantization::Q5_1, QuantizeOptions::default().embeddings));
        assert_eq!(QuantizeOptions::parse("ffn_up=q4_1").unwrap().attention, QuantizeOptions::default().attention);
        assert_eq!(QuantizeOptions::parse("rounding=gptq").unwrap().rounding, Rounding::Gptq);
        assert!(QuantizeOptions::parse("rounding=awq").unwrap_err().to_string().contains("'awq' is not one of nearest, gptq"));
    }

    #[test]
    fn bad_specs_name_the_culprit() {
        assert!(QuantizeOptions::parse("q7").unwrap_err().to_string().contains("'q7' is not one of q8_0"));
        assert!(QuantizeOptions::parse("mlp=q4_0").unwrap_err().to_string().contains("weight group 'mlp'"));
        assert!(QuantizeOptions::parse("attention=q4_0,x").unwrap_err().to_string().contains("group=format"));
    }
}
