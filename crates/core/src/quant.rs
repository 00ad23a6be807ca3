//! Quantizes the f32 all-MiniLM-L6-v2 checkpoint into the GGUF file a bundle ships.
//!
//! Linear weights and the word-embedding table are stored in a ggml block format
//! (Q8_0 by default: blocks of 32 int8 values with one f16 scale, 8.5 bits per weight);
//! position embeddings are cut to [`MAX_TOKENS`](crate::text::MAX_TOKENS) rows and kept as
//! f16; biases and layer norms stay f32. The pooler head is dropped (sentence embeddings
//! use mean pooling).

use std::io::Cursor;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};
use crate::text::{MiniLmConfig, GGUF_CONFIG_KEY, MAX_TOKENS};

/// Block formats a bundle's encoder may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantization {
    /// 8-bit blocks (8.5 bits per weight).
    Q8_0,
    /// 4-bit blocks with a scale (4.5 bits per weight).
    Q4_0,
    /// Unquantized f16.
    F16,
    /// Unquantized f32.
    F32,
}

impl Quantization {
    /// Parses a name as used on the command line and in manifests.
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "q8_0" | "q8" => Ok(Self::Q8_0),
            "q4_0" | "q4" => Ok(Self::Q4_0),
            "f16" => Ok(Self::F16),
            "f32" => Ok(Self::F32),
            other => Err(Error::Usage(format!("quantization '{other}' is not one of q8_0, q4_0, f16, f32"))),
        }
    }

    /// The name written into manifests.
    pub fn name(self) -> &'static str {
        match self {
            Self::Q8_0 => "q8_0",
            Self::Q4_0 => "q4_0",
            Self::F16 => "f16",
            Self::F32 => "f32",
        }
    }

    fn ggml(self) -> GgmlDType {
        match self {
            Self::Q8_0 => GgmlDType::Q8_0,
            Self::Q4_0 => GgmlDType::Q4_0,
            Self::F16 => GgmlDType::F16,
            Self::F32 => GgmlDType::F32,
        }
    }
}

/// Options of [`quantize`].
#[derive(Debug, Clone, Copy)]
pub struct QuantizeOptions {
    /// Format of the attention and feed-forward weight matrices.
    pub linear: Quantization,
    /// Format of the word-embedding table (30522 × 384, half the model).
    pub embeddings: Quantization,
}

impl Default for QuantizeOptions {
    fn default() -> Self {
        Self { linear: Quantization::Q8_0, embeddings: Quantization::Q8_0 }
    }
}

/// Reads `model.safetensors` (f32) + `config.json` and returns the GGUF bytes.
pub fn quantize(safetensors: &[u8], config_json: &[u8], opts: QuantizeOptions) -> Result<Vec<u8>> {
    let config = MiniLmConfig::from_json(config_json, "config.json")?;
    let tensors = candle_core::safetensors::load_buffer(safetensors, &Device::Cpu)
        .map_err(|e| Error::format("model.safetensors", format!("cannot read: {e}")))?;
    let mut names: Vec<&String> = tensors
        .keys()
        .filter(|n| n.starts_with("embeddings.") || n.starts_with("encoder."))
        .filter(|n| n.as_str() != "embeddings.position_ids")
        .collect();
    names.sort();
    if !names.iter().any(|n| n.as_str() == "embeddings.word_embeddings.weight") {
        return Err(Error::format("model.safetensors", "no embeddings.word_embeddings.weight: not a BERT checkpoint"));
    }
    let mut out: Vec<(String, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let t = tensors[name].to_dtype(DType::F32)?;
        let q = if name == "embeddings.word_embeddings.weight" {
            QTensor::quantize(&t, opts.embeddings.ggml())?
        } else if name == "embeddings.position_embeddings.weight" {
            // `narrow` keeps the whole storage; quantize reads storage, so copy the rows out.
            let rows = MAX_TOKENS.min(t.dim(0)?);
            let kept = Tensor::from_vec(t.narrow(0, 0, rows)?.flatten_all()?.to_vec1::<f32>()?, (rows, t.dim(1)?), &Device::Cpu)?;
            QTensor::quantize(&kept, GgmlDType::F16)?
        } else if name.ends_with(".weight") && t.rank() == 2 && name.starts_with("encoder.") {
            QTensor::quantize(&t, opts.linear.ggml())?
        } else {
            QTensor::quantize(&t, GgmlDType::F32)?
        };
        out.push((name.clone(), q));
    }
    let config_str = serde_json::to_string(&config).map_err(|e| Error::Usage(e.to_string()))?;
    let meta_config = gguf_file::Value::String(config_str);
    let meta_quant = gguf_file::Value::String(format!("linear={},embeddings={}", opts.linear.name(), opts.embeddings.name()));
    let metadata = [(GGUF_CONFIG_KEY, &meta_config), ("skycase.quantization", &meta_quant)];
    let refs: Vec<(&str, &QTensor)> = out.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut buf = Cursor::new(Vec::new());
    gguf_file::write(&mut buf, &metadata, &refs)?;
    Ok(buf.into_inner())
}
