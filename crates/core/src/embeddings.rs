//! The word-embedding table, held in chunks of rows that may arrive one at a time.
//!
//! The table (30522 × 384 for MiniLM) is as large as the rest of the encoder, but a query
//! reads only the rows of its ~10 tokens. A bundle therefore ships it as chunk files of
//! `rows_per_chunk` consecutive rows (ggml blocks, row after row; see
//! [`WordTableInfo`](crate::bundle::WordTableInfo)). The browser asks the table which chunks
//! a query needs ([`WordEmbeddings::missing_chunks`]), downloads those, hands them over
//! ([`WordEmbeddings::insert_chunk`], which checks each against the manifest), and embeds;
//! the rest arrive in the background. The companion inserts every chunk up front.
//!
//! Rows are dequantized when they are looked up, block by block, with the same candle code
//! whichever side runs it, so a chunked table gives exactly the vectors of a whole one.
//!
//! ```
//! # use skycase_core::format::Quantization;
//! # use skycase_core::embeddings::WordEmbeddings;
//! // A 3 × 32 f32 table held whole: rows come back as f32.
//! let data: Vec<u8> = (0..96).flat_map(|i| (i as f32).to_le_bytes()).collect();
//! let table = WordEmbeddings::loaded(Quantization::F32, 3, 32, data)?;
//! assert!(table.missing_chunks(&[0, 2]).is_empty());
//! assert_eq!(table.lookup(&[2])?.get(0)?.get(0)?.to_scalar::<f32>()?, 64.0);
//! # Ok::<(), skycase_core::Error>(())
//! ```

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::{Device, Tensor};

use crate::bundle::{FileEntry, WordTableInfo};
use crate::error::{Error, Result};
use crate::format::Quantization;

/// A word-embedding table whose chunks may be missing.
pub struct WordEmbeddings {
    format: Quantization,
    rows: usize,
    dim: usize,
    rows_per_chunk: usize,
    row_bytes: usize,
    /// The manifest's entry of each chunk: path, size and hash to check arrivals against.
    files: Vec<FileEntry>,
    chunks: Vec<Option<Vec<u8>>>,
}

impl WordEmbeddings {
    /// An empty table laid out as the manifest describes; every chunk is still missing.
    pub fn new(info: &WordTableInfo) -> Result<Self> {
        let bad = |reason: String| Error::format("manifest.json", format!("word_embeddings: {reason}"));
        let format = Quantization::parse(&info.format).map_err(|e| bad(e.to_string()))?;
        let row_bytes = format.row_bytes(info.dim).map_err(|e| bad(e.to_string()))?;
        if info.rows_per_chunk == 0 {
            return Err(bad("rows_per_chunk is 0".into()));
        }
        let expected = info.rows.div_ceil(info.rows_per_chunk);
        if info.chunks.len() != expected {
            return Err(bad(format!(
                "{} rows in chunks of {} need {expected} chunk files, the manifest lists {}",
                info.rows,
                info.rows_per_chunk,
                info.chunks.len()
            )));
        }
        let table = Self {
            format,
            rows: info.rows,
            dim: info.dim,
            rows_per_chunk: info.rows_per_chunk,
            row_bytes,
            files: info.chunks.clone(),
            chunks: vec![None; expected],
        };
        for (k, f) in table.files.iter().enumerate() {
            let want = (table.chunk_rows(k) * row_bytes) as u64;
            if f.bytes != want {
                return Err(bad(format!("{} is listed with {} bytes, but its rows take {want}", f.path, f.bytes)));
            }
        }
        Ok(table)
    }

    /// A table held whole in memory (one chunk, already present), e.g. from the f32
    /// checkpoint or a freshly quantized model.
    pub fn loaded(format: Quantization, rows: usize, dim: usize, data: Vec<u8>) -> Result<Self> {
        let row_bytes = format.row_bytes(dim)?;
        if data.len() != rows * row_bytes {
            return Err(Error::Usage(format!(
                "a {rows} × {dim} {} table takes {} bytes, got {}",
                format.name(),
                rows * row_bytes,
                data.len()
            )));
        }
        // In-memory tables are never checked against a manifest: the entry only names them.
        let file = FileEntry { path: "word embeddings".into(), role: "word-embeddings".into(), sha256: String::new(), bytes: data.len() as u64 };
        Ok(Self { format, rows, dim, rows_per_chunk: rows.max(1), row_bytes, files: vec![file], chunks: vec![Some(data)] })
    }

    /// Number of rows (the vocabulary size).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// The manifest entry of chunk `k`.
    pub fn chunk_file(&self, k: usize) -> Option<&FileEntry> {
        self.files.get(k)
    }

    /// True once every chunk is present.
    pub fn is_complete(&self) -> bool {
        self.chunks.iter().all(Option::is_some)
    }

    /// The chunks that are not present yet, in order.
    pub fn missing(&self) -> Vec<usize> {
        (0..self.chunks.len()).filter(|&k| self.chunks[k].is_none()).collect()
    }

    /// The chunks that `ids` need and that are not present yet, in order, each once.
    /// Ids outside the table are left to [`lookup`](Self::lookup) to report.
    pub fn missing_chunks(&self, ids: &[u32]) -> Vec<usize> {
        let mut ks: Vec<usize> = ids
            .iter()
            .filter(|&&id| (id as usize) < self.rows)
            .map(|&id| id as usize / self.rows_per_chunk)
            .filter(|&k| self.chunks[k].is_none())
            .collect();
        ks.sort_unstable();
        ks.dedup();
        ks
    }

    /// Adds chunk `k` after checking its size and sha256 against the manifest entry; an
    /// error names the chunk's file.
    pub fn insert_chunk(&mut self, k: usize, bytes: Vec<u8>) -> Result<()> {
        let file = self.files.get(k).ok_or_else(|| {
            Error::Usage(format!("word-embedding chunk {k} does not exist (the table has {})", self.chunks.len()))
        })?;
        file.verify(&bytes)?;
        self.chunks[k] = Some(bytes);
        Ok(())
    }

    /// The f32 rows of `ids`, shape `(ids.len(), dim)`.
    pub fn lookup(&self, ids: &[u32]) -> Result<Tensor> {
        let mut out = Vec::with_capacity(ids.len() * self.dim);
        for &id in ids {
            let id = id as usize;
            if id >= self.rows {
                return Err(Error::Usage(format!("token id {id} is outside the vocabulary of {}", self.rows)));
            }
            let k = id / self.rows_per_chunk;
            let chunk = self.chunks[k].as_deref().ok_or_else(|| Error::MissingChunk { file: self.files[k].path.clone(), chunk: k })?;
            let at = (id - k * self.rows_per_chunk) * self.row_bytes;
            let row = qtensor_from_ggml(self.format.ggml(), &chunk[at..at + self.row_bytes], vec![self.dim], &Device::Cpu)?;
            out.extend(row.dequantize(&Device::Cpu)?.to_vec1::<f32>()?);
        }
        Ok(Tensor::from_vec(out, (ids.len(), self.dim), &Device::Cpu)?)
    }

    fn chunk_rows(&self, k: usize) -> usize {
        self.rows_per_chunk.min(self.rows - k * self.rows_per_chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QTensor;

    /// A 10 × 32 table quantized as q8_0, split into chunks of 4 rows (4 + 4 + 2).
    fn fixture() -> (Vec<f32>, Vec<u8>, WordTableInfo) {
        let values: Vec<f32> = (0..320).map(|i| ((i * 7 % 23) as f32 - 11.0) / 11.0).collect();
        let t = Tensor::from_vec(values.clone(), (10, 32), &Device::Cpu).unwrap();
        let data = QTensor::quantize(&t, Quantization::Q8_0.ggml()).unwrap().data().unwrap().into_owned();
        let row = Quantization::Q8_0.row_bytes(32).unwrap();
        let chunks = data.chunks(4 * row).enumerate().map(|(k, c)| FileEntry::describe(format!("words/{k:03}.q8_0"), "word-embeddings", c)).collect();
        let info = WordTableInfo { format: "q8_0".into(), rows: 10, dim: 32, rows_per_chunk: 4, chunks };
        (values, data, info)
    }

    fn chunk(data: &[u8], k: usize) -> Vec<u8> {
        data.chunks(4 * Quantization::Q8_0.row_bytes(32).unwrap()).nth(k).unwrap().to_vec()
    }

    #[test]
    fn needs_only_the_chunks_of_its_ids() {
        let (_, data, info) = fixture();
        let mut table = WordEmbeddings::new(&info).unwrap();
        assert_eq!(table.missing_chunks(&[9, 1, 2, 8]), vec![0, 2]);
        table.insert_chunk(2, chunk(&data, 2)).unwrap();
        assert_eq!(table.missing_chunks(&[9, 1, 2, 8]), vec![0]);
        assert_eq!(table.missing(), vec![0, 1]);
        assert!(!table.is_complete());
    }

    #[test]
    fn chunked_rows_equal_the_whole_tables_rows() {
        let (values, data, info) = fixture();
        let whole = WordEmbeddings::loaded(Quantization::Q8_0, 10, 32, data.clone()).unwrap();
        let mut table = WordEmbeddings::new(&info).unwrap();
        for k in 0..3 {
            table.insert_chunk(k, chunk(&data, k)).unwrap();
        }
        assert!(table.is_complete());
        let ids = [9, 0, 4, 4, 7];
        let a = table.lookup(&ids).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(a, whole.lookup(&ids).unwrap().to_vec2::<f32>().unwrap());
        // And they are the q8_0 rounding of the original rows (scale max|x|/127 ≈ 0.008).
        for (row, &id) in a.iter().zip(&ids) {
            for (x, y) in row.iter().zip(&values[id as usize * 32..][..32]) {
                assert!((x - y).abs() < 0.005, "row {id}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn a_missing_chunk_is_an_error_naming_its_file() {
        let (_, data, info) = fixture();
        let mut table = WordEmbeddings::new(&info).unwrap();
        table.insert_chunk(0, chunk(&data, 0)).unwrap();
        let err = table.lookup(&[1, 5]).unwrap_err();
        assert!(matches!(&err, Error::MissingChunk { chunk: 1, .. }), "{err}");
        assert!(err.to_string().contains("words/001.q8_0"), "{err}");
        assert!(table.lookup(&[10]).unwrap_err().to_string().contains("outside the vocabulary"));
    }

    #[test]
    fn a_corrupt_or_unknown_chunk_is_refused_and_named() {
        let (_, data, info) = fixture();
        let mut table = WordEmbeddings::new(&info).unwrap();
        let mut bad = chunk(&data, 1);
        bad[3] ^= 1;
        let err = table.insert_chunk(1, bad).unwrap_err();
        assert!(matches!(err, Error::Checksum { .. }));
        assert!(err.to_string().starts_with("words/001.q8_0: sha256 mismatch"), "{err}");
        let err = table.insert_chunk(1, chunk(&data, 0)).unwrap_err();
        assert!(err.to_string().starts_with("words/001.q8_0"), "{err}");
        assert_eq!(table.missing(), vec![0, 1, 2], "nothing bad was kept");
        assert!(table.insert_chunk(3, chunk(&data, 0)).unwrap_err().to_string().contains("chunk 3 does not exist"));
    }

    #[test]
    fn a_manifest_that_does_not_add_up_is_refused() {
        let (_, _, info) = fixture();
        let mut short = info.clone();
        short.chunks.pop();
        assert!(WordEmbeddings::new(&short).err().unwrap().to_string().contains("need 3 chunk files, the manifest lists 2"));
        let mut wrong = info.clone();
        wrong.chunks[2].bytes += 1;
        assert!(WordEmbeddings::new(&wrong).err().unwrap().to_string().contains("words/002.q8_0 is listed with"));
        let mut k_quant = info;
        k_quant.format = "q4_k".into();
        assert!(WordEmbeddings::new(&k_quant).err().unwrap().to_string().contains("cannot store rows of 32"));
    }
}
