//! A shard: the frames of one period, ready to rank.
//!
//! Binary layout (little endian), version 1:
//! ```text
//! 0   magic  b"SKYSHARD"
//! 8   u32    version (1)
//! 12  u32    dim
//! 16  u32    frames
//! 20  u32    vectors per frame (1 = one global vector; 13 = one per region; …)
//! 24  u32    kind: 1 = int8 + f32 scale per vector, 2 = f16, 3 = f32
//! 28  u32    meta_len
//! 32  meta   JSON: {"period", "vector_names", "records": [FrameRecord…]}
//! ..  pad    zero bytes up to a multiple of 4
//! ..  int8:  f32 scale × (frames·vpf), then i8 × (frames·vpf·dim)
//!     f16:   u16 × (frames·vpf·dim);  f32: f32 × (frames·vpf·dim)
//! ```
//! Vector `j` of frame `i` is row `i·vpf + j`.

use half::f16;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"SKYSHARD";
const VERSION: u32 = 1;
const HEADER: usize = 32;

/// How a shard stores its vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VectorKind {
    /// Symmetric int8 with one f32 scale per vector (`v ≈ scale · q`).
    Int8,
    /// IEEE half precision.
    F16,
    /// Full precision.
    F32,
}

impl VectorKind {
    fn code(self) -> u32 {
        match self {
            Self::Int8 => 1,
            Self::F16 => 2,
            Self::F32 => 3,
        }
    }

    fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(Self::Int8),
            2 => Some(Self::F16),
            3 => Some(Self::F32),
            _ => None,
        }
    }

    /// Parses `int8`, `f16` or `f32`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "int8" | "i8" => Ok(Self::Int8),
            "f16" => Ok(Self::F16),
            "f32" => Ok(Self::F32),
            other => Err(Error::Usage(format!("vector kind '{other}' is not one of int8, f16, f32"))),
        }
    }
}

/// What a result shows about a frame.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameRecord {
    /// Stable id, unique within a bundle.
    pub id: String,
    /// UTC time, ISO 8601 (`2017-11-01T00:00Z`).
    pub time: String,
    /// The 13-line caption (`- Region - Phenomenon`), plain text.
    pub caption: String,
    /// Thumbnail path relative to the manifest.
    pub thumb: String,
    /// Where the frame came from, as a card says it (satellite or product, and who wrote
    /// the caption).
    #[serde(default)]
    pub source: String,
    /// The origin key the `source` filter reads (`simulated`, `kma`, …; see
    /// [`crate::source`]); empty in bundles exported before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub origin: String,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    period: String,
    vector_names: Vec<String>,
    records: Vec<FrameRecord>,
}

/// Vector storage of a shard.
#[derive(Debug, Clone, PartialEq)]
pub enum Vectors {
    /// int8 rows with per-row scales.
    Int8 { scales: Vec<f32>, data: Vec<i8> },
    /// f16 rows.
    F16(Vec<f16>),
    /// f32 rows.
    F32(Vec<f32>),
}

/// An in-memory shard.
#[derive(Debug, Clone, PartialEq)]
pub struct Shard {
    period: String,
    dim: usize,
    vector_names: Vec<String>,
    records: Vec<FrameRecord>,
    vectors: Vectors,
}

impl Shard {
    /// Builds a shard from f32 vectors (`records.len() · vector_names.len()` rows of `dim`),
    /// stored as `kind`.
    pub fn from_f32(
        period: impl Into<String>,
        vector_names: Vec<String>,
        records: Vec<FrameRecord>,
        dim: usize,
        rows: &[Vec<f32>],
        kind: VectorKind,
    ) -> Result<Self> {
        let expected = records.len() * vector_names.len();
        if vector_names.is_empty() || rows.len() != expected {
            return Err(Error::Usage(format!(
                "shard needs {} frames × {} vectors = {expected} rows, got {}",
                records.len(),
                vector_names.len(),
                rows.len()
            )));
        }
        if let Some(bad) = rows.iter().position(|r| r.len() != dim) {
            return Err(Error::Usage(format!("row {bad} has {} values, expected {dim}", rows[bad].len())));
        }
        let vectors = match kind {
            VectorKind::Int8 => {
                let mut scales = Vec::with_capacity(rows.len());
                let mut data = Vec::with_capacity(rows.len() * dim);
                for r in rows {
                    let (s, q) = quantize_i8(r);
                    scales.push(s);
                    data.extend(q);
                }
                Vectors::Int8 { scales, data }
            }
            VectorKind::F16 => Vectors::F16(rows.iter().flatten().map(|&v| f16::from_f32(v)).collect()),
            VectorKind::F32 => Vectors::F32(rows.iter().flatten().copied().collect()),
        };
        Ok(Self { period: period.into(), dim, vector_names, records, vectors })
    }

    /// Builds an int8 shard from already-quantized rows (`data` holds `scales.len()` rows).
    pub fn from_int8(period: impl Into<String>, vector_names: Vec<String>, records: Vec<FrameRecord>, dim: usize, scales: Vec<f32>, data: Vec<i8>) -> Result<Self> {
        let rows = records.len() * vector_names.len();
        if vector_names.is_empty() || scales.len() != rows || data.len() != rows * dim {
            return Err(Error::Usage(format!("int8 shard needs {rows} scales and {} values, got {} and {}", rows * dim, scales.len(), data.len())));
        }
        Ok(Self { period: period.into(), dim, vector_names, records, vectors: Vectors::Int8 { scales, data } })
    }

    /// A synthetic int8 shard of `frames` random unit-ish vectors (for benchmarks), from a
    /// fixed-seed generator so every platform scans the same data.
    pub fn synthetic(frames: usize, dim: usize, seed: u64) -> Self {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let data: Vec<i8> = (0..frames * dim).map(|_| (next() % 255) as i8).collect();
        let scales = vec![1.0 / (127.0 * (dim as f32).sqrt()); frames];
        let records = (0..frames)
            .map(|i| FrameRecord { id: format!("synthetic-{i}"), time: String::new(), caption: String::new(), thumb: String::new(), source: String::new(), origin: String::new() })
            .collect();
        Self { period: "synthetic".into(), dim, vector_names: vec!["global".into()], records, vectors: Vectors::Int8 { scales, data } }
    }

    /// Period label.
    pub fn period(&self) -> &str {
        &self.period
    }
    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.records.len()
    }
    /// True if the shard has no frames.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    /// Names of the vectors each frame has (`global`, or region names).
    pub fn vector_names(&self) -> &[String] {
        &self.vector_names
    }
    /// Vectors per frame.
    pub fn vectors_per_frame(&self) -> usize {
        self.vector_names.len()
    }
    /// The frames.
    pub fn records(&self) -> &[FrameRecord] {
        &self.records
    }
    /// Vector storage.
    pub fn vectors(&self) -> &Vectors {
        &self.vectors
    }
    /// Storage kind.
    pub fn kind(&self) -> VectorKind {
        match self.vectors {
            Vectors::Int8 { .. } => VectorKind::Int8,
            Vectors::F16(_) => VectorKind::F16,
            Vectors::F32(_) => VectorKind::F32,
        }
    }

    /// Row `row` as f32 (dequantized).
    pub fn row_f32(&self, row: usize) -> Vec<f32> {
        let d = self.dim;
        match &self.vectors {
            Vectors::Int8 { scales, data } => data[row * d..(row + 1) * d].iter().map(|&q| q as f32 * scales[row]).collect(),
            Vectors::F16(v) => v[row * d..(row + 1) * d].iter().map(|x| x.to_f32()).collect(),
            Vectors::F32(v) => v[row * d..(row + 1) * d].to_vec(),
        }
    }

    /// Serialises to the binary layout above.
    pub fn to_bytes(&self) -> Vec<u8> {
        let meta = Meta { period: self.period.clone(), vector_names: self.vector_names.clone(), records: self.records.clone() };
        let meta = serde_json::to_vec(&meta).expect("shard metadata always serialises");
        let mut out = Vec::with_capacity(HEADER + meta.len() + self.records.len() * self.dim);
        out.extend_from_slice(MAGIC);
        for v in [VERSION, self.dim as u32, self.records.len() as u32, self.vector_names.len() as u32, self.kind().code(), meta.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&meta);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        match &self.vectors {
            Vectors::Int8 { scales, data } => {
                scales.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
                out.extend(data.iter().map(|&q| q as u8));
            }
            Vectors::F16(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_bits().to_le_bytes())),
            Vectors::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
        out
    }

    /// Parses a shard; `file` names it in errors.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<Self> {
        let bad = |reason: String| Error::format(file, reason);
        if bytes.len() < HEADER {
            return Err(bad(format!("{} bytes is shorter than the {HEADER}-byte shard header", bytes.len())));
        }
        if &bytes[..8] != MAGIC {
            return Err(bad("wrong magic: not a skycase shard".into()));
        }
        let u32_at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let usize_at = |o: usize| usize::try_from(u32_at(o)).map_err(|_| bad(format!("header field at {o} overflows")));
        let version = u32_at(8);
        if version != VERSION {
            return Err(bad(format!("shard version {version} is not supported (this build reads {VERSION})")));
        }
        let dim = usize_at(12)?;
        let frames = usize_at(16)?;
        let vpf = usize_at(20)?;
        let kind = VectorKind::from_code(u32_at(24)).ok_or_else(|| bad(format!("unknown vector kind {}", u32_at(24))))?;
        let meta_len = usize_at(28)?;
        if dim == 0 || vpf == 0 {
            return Err(bad(format!("dim {dim} and vectors per frame {vpf} must be positive")));
        }
        let meta_end = HEADER.checked_add(meta_len).filter(|&e| e <= bytes.len()).ok_or_else(|| bad(format!("metadata of {meta_len} bytes runs past the end of the file")))?;
        let meta: Meta = serde_json::from_slice(&bytes[HEADER..meta_end]).map_err(|e| bad(format!("metadata is not valid JSON: {e}")))?;
        if meta.records.len() != frames || meta.vector_names.len() != vpf {
            return Err(bad(format!(
                "header says {frames} frames × {vpf} vectors, metadata has {} records × {} names",
                meta.records.len(),
                meta.vector_names.len()
            )));
        }
        let body = meta_end.div_ceil(4) * 4;
        let rows = frames.checked_mul(vpf).ok_or_else(|| bad("frame count overflows".into()))?;
        let values = rows.checked_mul(dim).ok_or_else(|| bad("vector count overflows".into()))?;
        let need = match kind {
            VectorKind::Int8 => rows.checked_mul(4).and_then(|s| s.checked_add(values)),
            VectorKind::F16 => values.checked_mul(2),
            VectorKind::F32 => values.checked_mul(4),
        }
        .and_then(|n| n.checked_add(body))
        .ok_or_else(|| bad("size overflows".into()))?;
        if bytes.len() != need {
            return Err(bad(format!("expected {need} bytes for {rows} vectors of {dim}, file has {} (truncated or padded)", bytes.len())));
        }
        let data = &bytes[body..];
        let vectors = match kind {
            VectorKind::Int8 => {
                let (s, q) = data.split_at(rows * 4);
                let scales = s.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                Vectors::Int8 { scales, data: q.iter().map(|&b| b as i8).collect() }
            }
            VectorKind::F16 => Vectors::F16(data.chunks_exact(2).map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]]))).collect()),
            VectorKind::F32 => Vectors::F32(data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
        };
        Ok(Self { period: meta.period, dim, vector_names: meta.vector_names, records: meta.records, vectors })
    }
}

/// Symmetric int8 quantization: returns `(scale, q)` with `v ≈ scale · q`, `|q| ≤ 127`.
pub fn quantize_i8(v: &[f32]) -> (f32, Vec<i8>) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        return (0.0, vec![0; v.len()]);
    }
    let scale = max / 127.0;
    (scale, v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize) -> FrameRecord {
        FrameRecord { id: format!("f{i}"), time: format!("2017-11-01T{i:02}:00Z"), caption: "- Mongolia - Clear".into(), thumb: format!("thumbs/f{i}.jpg"), source: "sim".into(), origin: "simulated".into() }
    }

    fn shard(kind: VectorKind) -> Shard {
        let rows = vec![vec![0.5, -1.0, 0.25], vec![0.0, 0.0, 0.0], vec![1.0, 1.0, -1.0], vec![0.1, 0.2, 0.3]];
        Shard::from_f32("2017-11", vec!["a".into(), "b".into()], vec![record(0), record(1)], 3, &rows, kind).unwrap()
    }

    #[test]
    fn round_trips_every_kind() {
        for kind in [VectorKind::Int8, VectorKind::F16, VectorKind::F32] {
            let s = shard(kind);
            let back = Shard::from_bytes(&s.to_bytes(), "t.skyshard").unwrap();
            assert_eq!(back, s, "{kind:?}");
        }
    }

    #[test]
    fn int8_keeps_values_within_half_a_step() {
        // scale = 1/127; 0.25 → round(31.75) = 32 → 0.2520
        let s = shard(VectorKind::Int8);
        let r = s.row_f32(0);
        assert!((r[0] - 0.5).abs() <= 0.5 / 127.0 && (r[1] + 1.0).abs() < 1e-6 && (r[2] - 0.25198).abs() < 1e-4, "{r:?}");
        assert_eq!(s.row_f32(1), vec![0.0; 3]);
    }

    #[test]
    fn refuses_truncated_and_foreign_files() {
        let bytes = shard(VectorKind::Int8).to_bytes();
        let err = Shard::from_bytes(&bytes[..bytes.len() - 1], "x.skyshard").unwrap_err().to_string();
        assert!(err.starts_with("x.skyshard: expected"), "{err}");
        let err = Shard::from_bytes(b"PK\x03\x04 not a shard at all, long enough", "y").unwrap_err().to_string();
        assert!(err.contains("wrong magic"), "{err}");
        assert!(Shard::from_bytes(&bytes[..10], "z").unwrap_err().to_string().contains("shorter"));
        let mut wrong_version = bytes.clone();
        wrong_version[8] = 9;
        assert!(Shard::from_bytes(&wrong_version, "v").unwrap_err().to_string().contains("version 9"));
    }

    #[test]
    fn refuses_mismatched_rows() {
        let err = Shard::from_f32("p", vec!["g".into()], vec![record(0)], 3, &[vec![1.0, 2.0]], VectorKind::F32).unwrap_err();
        assert!(err.to_string().contains("row 0 has 2 values"), "{err}");
    }
}
