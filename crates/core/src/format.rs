//! The weight formats a bundle's encoder is stored in, shared by the loader (this crate's
//! [`crate::text`] and [`crate::embeddings`]) and the exporter that writes them
//! (`skycase-quant`).
//!
//! Contract: a format's [`name`](Quantization::name) is what manifests and the encoder file's
//! metadata carry, and [`parse`](Quantization::parse) reads it back; a row of `len` values
//! takes [`row_bytes`](Quantization::row_bytes) bytes, ggml's block layout. The encoder file
//! stores the model's [`MiniLmConfig`](crate::text::MiniLmConfig) as JSON under
//! [`GGUF_CONFIG_KEY`].

use candle_core::quantized::GgmlDType;

use crate::error::{Error, Result};

/// The GGUF metadata key under which the encoder file keeps its model configuration.
pub const GGUF_CONFIG_KEY: &str = "skycase.minilm.config";

/// The optional GGUF metadata key holding the text put before every query (`query: ` for
/// multilingual-e5); without it nothing is put before.
pub const GGUF_QUERY_PREFIX_KEY: &str = "skycase.encoder.query_prefix";

/// Block formats a bundle's encoder may use. The `_0`/`_1` formats have blocks of 32 values;
/// the k-quants (`*_K`) blocks of 256, so they fit only matrices whose rows are a multiple of
/// 256 long (in MiniLM: the feed-forward down projection, 1536 wide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantization {
    /// 8-bit blocks with an f16 scale (8.5 bits per weight).
    Q8_0,
    /// 5-bit blocks with an f16 scale and minimum (6 bits per weight).
    Q5_1,
    /// 5-bit blocks with an f16 scale (5.5 bits per weight).
    Q5_0,
    /// 4-bit blocks with an f16 scale and minimum (5 bits per weight).
    Q4_1,
    /// 4-bit blocks with an f16 scale (4.5 bits per weight).
    Q4_0,
    /// 6-bit k-quant super-blocks (6.5625 bits per weight).
    Q6K,
    /// 5-bit k-quant super-blocks (5.5 bits per weight).
    Q5K,
    /// 4-bit k-quant super-blocks (4.5 bits per weight).
    Q4K,
    /// 3-bit k-quant super-blocks (3.4375 bits per weight).
    Q3K,
    /// Unquantized f16.
    F16,
    /// Unquantized f32.
    F32,
}

impl Quantization {
    /// Every format, for sweeps and help texts.
    pub const ALL: [Quantization; 11] = [
        Self::Q8_0,
        Self::Q5_1,
        Self::Q5_0,
        Self::Q4_1,
        Self::Q4_0,
        Self::Q6K,
        Self::Q5K,
        Self::Q4K,
        Self::Q3K,
        Self::F16,
        Self::F32,
    ];

    /// Parses a name as used on the command line and in manifests (`q5_0`, `q4_k`, …).
    pub fn parse(name: &str) -> Result<Self> {
        let lower = name.to_ascii_lowercase();
        Self::ALL.into_iter().find(|q| q.name() == lower).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|q| q.name()).collect();
            Error::Usage(format!("quantization '{name}' is not one of {}", names.join(", ")))
        })
    }

    /// The name written into manifests.
    pub fn name(self) -> &'static str {
        match self {
            Self::Q8_0 => "q8_0",
            Self::Q5_1 => "q5_1",
            Self::Q5_0 => "q5_0",
            Self::Q4_1 => "q4_1",
            Self::Q4_0 => "q4_0",
            Self::Q6K => "q6_k",
            Self::Q5K => "q5_k",
            Self::Q4K => "q4_k",
            Self::Q3K => "q3_k",
            Self::F16 => "f16",
            Self::F32 => "f32",
        }
    }

    /// The ggml block type candle reads and writes for this format.
    pub fn ggml(self) -> GgmlDType {
        match self {
            Self::Q8_0 => GgmlDType::Q8_0,
            Self::Q5_1 => GgmlDType::Q5_1,
            Self::Q5_0 => GgmlDType::Q5_0,
            Self::Q4_1 => GgmlDType::Q4_1,
            Self::Q4_0 => GgmlDType::Q4_0,
            Self::Q6K => GgmlDType::Q6K,
            Self::Q5K => GgmlDType::Q5K,
            Self::Q4K => GgmlDType::Q4K,
            Self::Q3K => GgmlDType::Q3K,
            Self::F16 => GgmlDType::F16,
            Self::F32 => GgmlDType::F32,
        }
    }

    /// Bytes of one row of `len` values, or an error if `len` is not a whole number of blocks.
    pub fn row_bytes(self, len: usize) -> Result<usize> {
        let g = self.ggml();
        if len % g.block_size() != 0 {
            return Err(Error::Usage(format!(
                "{} packs blocks of {} values and cannot store rows of {len}",
                self.name(),
                g.block_size()
            )));
        }
        Ok(len / g.block_size() * g.type_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_bytes_follow_the_block_layout() {
        // q4_0: 32 values in 2 (f16 scale) + 16 bytes; 384 values = 12 blocks.
        assert_eq!(Quantization::Q4_0.row_bytes(384).unwrap(), 12 * 18);
        // q8_0: 2 + 32 bytes per 32 values.
        assert_eq!(Quantization::Q8_0.row_bytes(384).unwrap(), 12 * 34);
        // k-quants need rows of a multiple of 256.
        assert!(Quantization::Q4K.row_bytes(384).unwrap_err().to_string().contains("cannot store rows of 384"));
        assert_eq!(Quantization::Q4K.row_bytes(1536).unwrap(), 6 * 144);
    }
}
