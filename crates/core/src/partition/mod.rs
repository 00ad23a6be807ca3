//! The partitioned index: an archive of any length searched from static files, fetching only
//! what one query needs (issue 11).
//!
//! A two-level coarse quantizer (k-means centroids over the region vectors, trained on a
//! sample; [`build`]) sends every region vector to one *leaf* `(list, sub)`. The vectors of
//! one leaf and one month form a *partition* (a *segment* of its leaf's file): holding int8
//! rows with a per-row scale, each row's frame reference and region, and the frame records
//! those rows belong to. All segments of a leaf, months oldest first, are one *leaf file*, so
//! a query fetches a leaf in one request: the wanted segments of a leaf lie back to back and
//! are read by one HTTP byte range ([`spans`]). Each segment keeps its own offset, length and
//! sha256 in its list file, so a month filter still reads only its months' segments, and
//! every segment is verified (and cached) on its own.
//!
//! ```text
//! manifest.json   partitions: periods (months, frame counts, first/last times),
//!                 the list centroids (int8 hex), one entry per list (file, sha256, size,
//!                 rows, the periods it holds)            ← fetched at start
//! parts/lists/<list>-<sha16>.json   a list's sub-centroids, its leaf files and its
//!                 partition table (sub, period, offset, sha256, bytes, rows, first/last
//!                 day)                                   ← per query, cached
//! parts/leaves-<sha16>.bin   skypart-3: every leaf's sub-centroid and where its tail of
//!                 codes areas lies ([`leaves`])       ← fetched at start
//! parts/months/<YYYY-MM>-<sha16>.json   skypart-3 planning lean: every list file's rows of
//!                 one month ([`months`])               ← per query within one or two months,
//!                 while the query is embedded; cached
//! parts/<list>-<sub>-<sha16>.skyleaf   one leaf: its segments back to back ← per query, by
//!                 byte ranges (a server that ignores `Range` sends the whole file, which
//!                 is sliced); <sha16>: of the segments' sha256 (hex) in order, so the name
//!                 changes whenever a byte does
//! ```
//!
//! A `skypart-3` query that leaves no month out plans by the leaf directory instead and reads
//! no list file ([`PartitionIndex::plan_tails`]); one within one or two months plans by their
//! month directories ([`PartitionIndex::month_dirs`]), the same plan without list files.
//!
//! A query ([`PartitionIndex::plan_lists`], then [`PartitionIndex::plan_parts`]) scores the
//! list centroids with the integer dot product of [`crate::rank`], fetches the lists it
//! probes, scores their sub-centroids, and picks leaves best first; date and month filters
//! drop partitions before anything is fetched (a one-month filter fetches only that month's
//! segments), and the number of leaves grows when filters leave fewer rows per leaf (adaptive
//! nprobe); an index with a byte budget ([`Budget`]) keeps a lean plan's leaf areas within
//! it, best leaves first, knowing each leaf's size from its list file. When everything the
//! filters allow is small ([`PartitionIndex::exact_below`] bytes), every allowed partition
//! is fetched and the answer is the exact scan. Ranking
//! inside the fetched partitions ([`rank_parts`]) is exact and uses the same i16 × i8
//! arithmetic as the shard scan, so the browser and `skycase search` answer identically
//! when they fetch the same partitions, which the plan guarantees (it depends only on the
//! query vector, the filters and the index).
//!
//! Partition (segment) layout (little endian), version 2:
//! ```text
//! 0   magic  b"SKYPART\0"
//! 8   u32    version (2; 1: the metadata is plain JSON)
//! 12  u32    dim
//! 16  u32    rows
//! 20  u32    meta_len
//! 24  meta   raw DEFLATE of the JSON {"vector_names": [...], "records": [FrameRecord…]}
//!            (the caption text compresses ~5×; the int8 rows would not, so they are stored
//!            as they are and leaf files are served without HTTP compression, which would
//!            defeat byte ranges)
//! ..  pad    zero bytes up to a multiple of 4
//! ..  u32 × rows   frame: index into records
//! ..  u8 × rows    vector: index into vector_names, then zero bytes up to a multiple of 4
//! ..  f32 × rows   scale
//! ..  i8 × rows·dim
//! ```

pub mod areas;
pub mod build;
pub mod kept;
pub mod leaves;
pub mod months;
pub mod period;
pub mod pq;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::filters::{Date, Filters};
use crate::rank::{dot_i16_i8, Hit, QueryVector};
use crate::shard::FrameRecord;

const MAGIC: &[u8; 8] = b"SKYPART\0";
const VERSION: u32 = 2;
/// The most bytes a partition's metadata may inflate to (a guard against a hostile file).
const META_LIMIT: usize = 256 << 20;
const HEADER: usize = 24;

/// The `format` string of a manifest's partition index.
pub const PARTITION_FORMAT: &str = "skypart-2";

/// One partition: the rows of one leaf in one month.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    dim: usize,
    vector_names: Vec<String>,
    records: Vec<FrameRecord>,
    frames: Vec<u32>,
    vectors: Vec<u8>,
    scales: Vec<f32>,
    data: Vec<i8>,
}

#[derive(Serialize, Deserialize)]
struct PartMeta {
    vector_names: Vec<String>,
    records: Vec<FrameRecord>,
}

impl Partition {
    /// A partition of `scales.len()` int8 rows; row `i` belongs to frame `records[frames[i]]`
    /// and is its vector `vector_names[vectors[i]]`.
    pub fn new(dim: usize, vector_names: Vec<String>, records: Vec<FrameRecord>, frames: Vec<u32>, vectors: Vec<u8>, scales: Vec<f32>, data: Vec<i8>) -> Result<Self> {
        let rows = scales.len();
        if dim == 0 || frames.len() != rows || vectors.len() != rows || data.len() != rows * dim {
            return Err(Error::Usage(format!(
                "a partition of {rows} rows of {dim} needs as many frame refs, vector refs and {} values (got {}, {}, {})",
                rows * dim,
                frames.len(),
                vectors.len(),
                data.len()
            )));
        }
        if let Some(i) = frames.iter().position(|&f| f as usize >= records.len()) {
            return Err(Error::Usage(format!("row {i} refers to frame {} of {}", frames[i], records.len())));
        }
        if let Some(i) = vectors.iter().position(|&v| v as usize >= vector_names.len()) {
            return Err(Error::Usage(format!("row {i} refers to vector {} of {}", vectors[i], vector_names.len())));
        }
        Ok(Self { dim, vector_names, records, frames, vectors, scales, data })
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.scales.len()
    }
    /// The frames its rows belong to.
    pub fn records(&self) -> &[FrameRecord] {
        &self.records
    }
    /// Names of the vectors a frame has (region names, or `global`).
    pub fn vector_names(&self) -> &[String] {
        &self.vector_names
    }
    /// `(frame, vector)` of row `row`.
    pub fn row_ref(&self, row: usize) -> (usize, usize) {
        (self.frames[row] as usize, self.vectors[row] as usize)
    }
    /// The row holding vector `vector` of frame `frame`, if this partition has it.
    pub fn find_row(&self, frame: usize, vector: usize) -> Option<usize> {
        (0..self.rows()).find(|&r| self.row_ref(r) == (frame, vector))
    }
    /// Score of row `row` for `query` with the arithmetic of [`rank_parts`]; `None` past the
    /// end, for a zero row (a region the frame does not cover) or a dimension mismatch.
    pub fn score_row(&self, row: usize, query: &QueryVector) -> Option<f32> {
        let d = self.dim;
        let (s, data) = (*self.scales.get(row)?, self.data.get(row * d..(row + 1) * d)?);
        (d == query.dim() && s != 0.0 && data.iter().any(|&x| x != 0)).then(|| (query.scale() * s) * dot_i16_i8(query.quantized(), data) as f32)
    }

    /// Row `row` as f32 (dequantized).
    pub fn row_f32(&self, row: usize) -> Vec<f32> {
        let d = self.dim;
        self.data[row * d..(row + 1) * d].iter().map(|&q| q as f32 * self.scales[row]).collect()
    }

    /// Serialises to the binary layout above.
    pub fn to_bytes(&self) -> Vec<u8> {
        let meta = PartMeta { vector_names: self.vector_names.clone(), records: self.records.clone() };
        let meta = serde_json::to_vec(&meta).expect("partition metadata always serialises");
        let meta = miniz_oxide::deflate::compress_to_vec(&meta, 6);
        let rows = self.rows();
        let mut out = Vec::with_capacity(HEADER + meta.len() + rows * (self.dim + 10));
        out.extend_from_slice(MAGIC);
        for v in [VERSION, self.dim as u32, rows as u32, meta.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&meta);
        pad4(&mut out);
        self.frames.iter().for_each(|f| out.extend_from_slice(&f.to_le_bytes()));
        out.extend_from_slice(&self.vectors);
        pad4(&mut out);
        self.scales.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
        out.extend(self.data.iter().map(|&q| q as u8));
        out
    }

    /// Parses a partition; `file` names it in errors.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<Self> {
        let bad = |reason: String| Error::format(file, reason);
        if bytes.len() < HEADER {
            return Err(bad(format!("{} bytes is shorter than the {HEADER}-byte partition header", bytes.len())));
        }
        if &bytes[..8] != MAGIC {
            return Err(bad("wrong magic: not a skycase partition".into()));
        }
        let u32_at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let usize_at = |o: usize| usize::try_from(u32_at(o)).map_err(|_| bad(format!("header field at {o} overflows")));
        let version = u32_at(8);
        if version != VERSION && version != 1 {
            return Err(bad(format!("partition version {version} is not supported (this build reads 1 and {VERSION})")));
        }
        let (dim, rows, meta_len) = (usize_at(12)?, usize_at(16)?, usize_at(20)?);
        let meta_end = HEADER.checked_add(meta_len).filter(|&e| e <= bytes.len()).ok_or_else(|| bad(format!("metadata of {meta_len} bytes runs past the end of the file")))?;
        let inflated;
        let meta_json = if version == 1 {
            &bytes[HEADER..meta_end]
        } else {
            inflated = miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes[HEADER..meta_end], META_LIMIT).map_err(|e| bad(format!("metadata does not inflate: {e}")))?;
            &inflated[..]
        };
        let meta: PartMeta = serde_json::from_slice(meta_json).map_err(|e| bad(format!("metadata is not valid JSON: {e}")))?;
        let frames_at = meta_end.div_ceil(4) * 4;
        let vectors_at = rows.checked_mul(4).and_then(|n| n.checked_add(frames_at)).ok_or_else(|| bad("row count overflows".into()))?;
        let scales_at = vectors_at.checked_add(rows.div_ceil(4) * 4).ok_or_else(|| bad("row count overflows".into()))?;
        let data_at = rows.checked_mul(4).and_then(|n| n.checked_add(scales_at)).ok_or_else(|| bad("row count overflows".into()))?;
        let need = rows.checked_mul(dim).and_then(|n| n.checked_add(data_at)).ok_or_else(|| bad("size overflows".into()))?;
        if bytes.len() != need {
            return Err(bad(format!("expected {need} bytes for {rows} rows of {dim}, file has {} (truncated or padded)", bytes.len())));
        }
        let frames = bytes[frames_at..vectors_at].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let vectors = bytes[vectors_at..vectors_at + rows].to_vec();
        let scales = bytes[scales_at..data_at].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let data = bytes[data_at..].iter().map(|&b| b as i8).collect();
        Self::new(dim, meta.vector_names, meta.records, frames, vectors, scales, data).map_err(|e| bad(e.to_string()))
    }
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// One month of the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodEntry {
    /// `YYYY-MM`.
    pub period: String,
    /// Frames in the month.
    pub frames: usize,
    /// First frame time (UTC, ISO 8601).
    pub start: String,
    /// Last frame time.
    pub end: String,
    /// Its partition files (0 in indexes written before it was recorded).
    #[serde(default)]
    pub parts: usize,
    /// Bytes of its partition files (0 likewise).
    #[serde(default)]
    pub bytes: u64,
    /// Distinct thumbnails its frames show.
    #[serde(default)]
    pub thumbs: usize,
    /// The origin keys of its frames, sorted ([`crate::source`]); empty where not known (an
    /// index written before they were recorded, or a frame without a key). A plan skips a
    /// month none of whose origins the source rule searches, and reads the records of a
    /// month it searches in part ([`PartitionIndex::origins_cut`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<String>,
    /// `skypart-3` planning lean: its month directory ([`months`]), which a query allowing
    /// only this month (or one more) plans by instead of list files; none in indexes written
    /// before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<crate::bundle::FileEntry>,
}

impl PeriodEntry {
    /// Of its known origins, how many the source rule searches under `filters` (the filter's
    /// own, or without one every calibrated origin); `None` where they are not known.
    fn origins_searched(&self, filters: &Filters) -> Option<usize> {
        (!self.origins.is_empty()).then(|| self.origins.iter().filter(|o| filters.searches_origin(o)).count())
    }
}

/// One list (first-level cell) as the manifest gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListEntry {
    /// Path of its list file, relative to the manifest.
    pub path: String,
    /// Lower-case hex sha256 of the list file.
    pub sha256: String,
    /// Size of the list file in bytes.
    pub bytes: u64,
    /// Rows in all its partitions.
    pub rows: u64,
    /// Bytes of all its partitions.
    pub part_bytes: u64,
    /// Indices into [`PartitionIndex::periods`] of the months it has rows in.
    pub periods: Vec<u32>,
    /// Its non-zero rows of each vector (index into [`PartitionIndex::vector_names`]; a zero
    /// row is a region a frame does not cover): which lists can answer a query bound to a
    /// region. Empty in indexes written before it was recorded (every list then counts as
    /// holding every vector).
    #[serde(default)]
    pub vector_rows: Vec<u64>,
}

/// A manifest's partitioned index (`manifest.partitions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionIndex {
    /// Always [`PARTITION_FORMAT`].
    pub format: String,
    /// Vector dimension (= the manifest's `joint_dim`).
    pub dim: usize,
    /// Names of a frame's vectors (the 13 regions, or `global`).
    pub vector_names: Vec<String>,
    /// Frames in the whole index.
    pub frames: usize,
    /// Region vectors in the whole index.
    pub rows: u64,
    /// The months, oldest first.
    pub periods: Vec<PeriodEntry>,
    /// Sub-centroids per list.
    pub subs: usize,
    /// The list centroids: hex of, per list, an f32 scale (little endian) then `dim` int8.
    pub centroids: String,
    /// One entry per list.
    pub lists: Vec<ListEntry>,
    /// Leaves probed by default (more when filters thin the leaves out).
    pub nprobe: usize,
    /// Lists probed by default.
    pub list_probe: usize,
    /// When the partitions the filters allow add up to at most this many bytes, all of them
    /// are fetched: the answer is then the exact scan.
    pub exact_below: u64,
    /// Adaptive nprobe by probe scores: besides the `nprobe` best leaves (and the
    /// `list_probe` best lists), every further leaf (list) whose centroid scores within this
    /// margin of the best one is probed too, up to [`probe_max`](Self::probe_max) leaves.
    /// 0 (and indexes written before it): a fixed nprobe.
    #[serde(default)]
    pub probe_margin: f32,
    /// The most leaves an adaptive plan probes (lists in proportion), before filters widen it.
    #[serde(default)]
    pub probe_max: usize,
    /// `skypart-3` only: the residual product quantizer of the codes areas and the plan's
    /// rounds ([`areas`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<areas::Codes>,
    /// A lean plan's byte budget ([`Budget`]); none in indexes written without one, which
    /// plan as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// The most a filter widens the plan ([`widen`](Self::widen)): a filter leaving a
    /// fraction of the frames multiplies the lists and leaves probed by its inverse, up to
    /// this; none ([`WIDEN_MAX`]) in indexes written without it, which plan as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widen_max: Option<usize>,
    /// `skypart-3`: the leaf directory ([`leaves`]), a startup file; none in indexes written
    /// before it, which plan every query through the list files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves: Option<crate::bundle::FileEntry>,
    /// The leaf directory once loaded ([`PartitionIndex::load_leaves`]).
    #[serde(skip)]
    leaf_dir: Loaded,
    /// [`centroids`](Self::centroids) decoded, for every query after the first.
    #[serde(skip)]
    decoded: Decoded<Centroids>,
    /// `skypart-3`: the records of answers' frames, for queries after the first.
    #[serde(skip)]
    kept: areas::KeptRecords,
}

/// What a lean query may read of leaf areas (`manifest.partitions.budget`): round 2 of
/// [`areas::Reads`] (`skypart-2`: its partitions), in bytes as stored, so that the heaviest
/// query of an index reads near its median instead of every big leaf its centroids point at
/// (issue 11: on decade F the 73 queries' p50 was 1.7 MB, their max 4.8 MB). List files are
/// not counted: a plan takes the same number of them whatever it reads, and they are served
/// compressed (decade F: 10 lists, ~0.4 MB gzip).
///
/// The plan knows every leaf's cost before it fetches it (the list files give each area's
/// size): it takes leaves best first among those it would probe without a budget, the first
/// [`min_leaves`](Self::min_leaves) whatever they cost, then every further one whose areas fit
/// in what is left (a leaf that does not fit is skipped; a smaller, worse one may still fit).
/// The plan still depends only on the query vector, the filters and the index.
///
/// It binds lean plans only: not an exact plan ([`PartitionIndex::exact_below`]), nor one
/// whose answer needs records to rank ([`Budget::binds`]), which reads rows and records areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// The most bytes of leaf areas.
    pub bytes: u64,
    /// Leaves taken, best first, whatever they cost.
    pub min_leaves: usize,
}

impl Budget {
    /// Whether a plan under `filters` is bound by a budget: not for filters that need the
    /// records to rank (a lean plan reads codes, and those filters read rows and records).
    pub fn binds(filters: &Filters) -> bool {
        filters.from.is_none() && filters.to.is_none() && filters.source.is_none() && !filters.restricts_regions()
    }
}

/// One row of a list file's partition table, with its derived path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartRef {
    /// The list.
    pub list: usize,
    /// The sub-centroid within it.
    pub sub: usize,
    /// Index into [`PartitionIndex::periods`].
    pub period: usize,
    /// Path of its leaf file, relative to the manifest.
    pub path: String,
    /// Where it starts in its leaf file.
    pub offset: u64,
    /// Lower-case hex sha256 of its bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows.
    pub rows: u32,
    /// Day of the month of its first and last frame.
    pub days: (u8, u8),
}

impl PartRef {
    /// The entry to verify it by: its leaf file's path, its own sha256 and size (it is the
    /// bytes `offset..offset + bytes` of that file).
    pub fn file(&self) -> crate::bundle::FileEntry {
        crate::bundle::FileEntry { path: self.path.clone(), role: PART_ROLE.into(), sha256: self.sha256.clone(), bytes: self.bytes }
    }

    /// Its own name: the leaf file's path with its byte range (`…skyleaf?bytes=a-b`,
    /// inclusive as in HTTP), the key it is cached and shown under.
    pub fn key(&self) -> String {
        segment_key(&self.path, self.offset, self.bytes)
    }

    /// Checks bytes against its size and hash (64 hex digits: the sha256; 32: its first 128
    /// bits, as `skypart-3` stores the hashes of areas and row blocks).
    pub fn verify(&self, bytes: &[u8]) -> Result<()> {
        if bytes.len() as u64 != self.bytes {
            return Err(Error::Size { file: self.key(), expected: self.bytes, actual: bytes.len() as u64 });
        }
        let sha = crate::bundle::sha256_hex(bytes);
        if !matches!(self.sha256.len(), 32 | 64) || !sha.starts_with(&self.sha256) {
            return Err(Error::Checksum { file: self.key(), expected: self.sha256.clone(), actual: sha[..self.sha256.len().clamp(32, 64)].to_string() });
        }
        Ok(())
    }

    /// Its bytes within `body`, which holds its leaf file from byte `body_at` on (a span's
    /// answer, or the whole file from 0); `None` when `body` does not reach that far.
    pub fn slice<'a>(&self, body: &'a [u8], body_at: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(self.offset.checked_sub(body_at)?).ok()?;
        let end = start.checked_add(usize::try_from(self.bytes).ok()?)?;
        body.get(start..end)
    }
}

/// The name of the segment `offset..offset + bytes` of leaf file `path` (see [`PartRef::key`]).
pub fn segment_key(path: &str, offset: u64, bytes: u64) -> String {
    let mut out = String::with_capacity(path.len() + 28);
    write_segment_key(&mut out, path, offset, bytes);
    out
}

/// Appends [`segment_key`] to `out` (a buffer reused for many keys, as a lookup of many
/// segments in memory does).
pub fn write_segment_key(out: &mut String, path: &str, offset: u64, bytes: u64) {
    use std::fmt::Write;
    let _ = write!(out, "{path}?bytes={offset}-{}", (offset + bytes).saturating_sub(1));
}

/// One byte range of one leaf file that a plan reads: wanted segments that lie back to back
/// (or at most a gap apart) in the file, read by one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The leaf file.
    pub path: String,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// The segments it holds (indices into the `parts` given to [`spans`]), by offset.
    pub parts: Vec<usize>,
}

impl Span {
    /// The HTTP `Range` header value asking for it (`bytes=start-last`).
    pub fn range_header(&self) -> String {
        format!("bytes={}-{}", self.start, self.end.saturating_sub(1))
    }
}

/// The requests that read `parts`: per leaf file, segments sorted by offset and merged into
/// one span while the next one starts at most `max_gap` bytes after the span's end (the gap
/// is read and dropped: fewer requests for a few more bytes). A gap is read through only
/// between segments of the same month or of consecutive months (`period` one apart), so that
/// a month filter never reads another month's bytes (in `skypart-3`'s run of rows and records
/// areas, what lies between them is theirs). Spans come in the order of their first segment
/// in `parts` (so plan order, best leaf first). A segment listed twice is read once (both
/// indices are in the span).
pub fn spans(parts: &[PartRef], max_gap: u64) -> Vec<Span> {
    spans_through(parts, max_gap, &[])
}

/// [`spans`], reading a gap also between segments of months further apart when every month
/// between them is `readable` (indexed by period: the months the filters allow; `skypart-3`
/// rows and records areas only, where a leaf's months lie in order).
pub fn spans_through(parts: &[PartRef], max_gap: u64, readable: &[bool]) -> Vec<Span> {
    let through = |a: usize, b: usize| a.abs_diff(b) <= 1 || (a.min(b) + 1..a.max(b)).all(|p| readable.get(p).copied().unwrap_or(false));
    let mut by_path: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        match by_path.iter_mut().find(|(path, _)| *path == p.path) {
            Some((_, v)) => v.push(i),
            None => by_path.push((&p.path, vec![i])),
        }
    }
    let mut out = Vec::new();
    for (path, mut members) in by_path {
        members.sort_by_key(|&i| (parts[i].offset, i));
        let mut cur: Option<Span> = None;
        for i in members {
            let (a, b) = (parts[i].offset, parts[i].offset + parts[i].bytes);
            let near = |s: &Span| a <= s.end || (a <= s.end.saturating_add(max_gap) && s.parts.last().is_some_and(|&j| through(parts[j].period, parts[i].period)));
            match &mut cur {
                Some(s) if near(s) => {
                    s.end = s.end.max(b);
                    s.parts.push(i);
                }
                _ => {
                    out.extend(cur.take());
                    cur = Some(Span { path: path.to_string(), start: a, end: b, parts: vec![i] });
                }
            }
        }
        out.extend(cur);
    }
    out
}

/// Role of partition files in messages and caches.
pub const PART_ROLE: &str = "partition";
/// Role of list files.
pub const LIST_ROLE: &str = "partition-list";

/// A list file: its sub-centroids and its partitions, as columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFile {
    /// The list's index.
    pub list: usize,
    /// Hex of, per sub-centroid, an f32 scale then `dim` int8.
    pub centroids: String,
    /// Per partition: its sub-centroid.
    pub sub: Vec<u32>,
    /// Per partition: index into the manifest's periods.
    pub period: Vec<u32>,
    /// Per sub-centroid: the 16 hex digits naming its leaf file (see the module header;
    /// empty for a sub-centroid without rows).
    pub leaves: Vec<String>,
    /// Per partition: where it starts in its leaf file.
    pub offset: Vec<u64>,
    /// Per partition: 64 hex digits of its sha256, concatenated.
    pub sha256: String,
    /// Per partition: bytes.
    pub bytes: Vec<u64>,
    /// Per partition: rows.
    pub rows: Vec<u32>,
    /// Per partition: day of month of its first frame.
    pub first: Vec<u8>,
    /// Per partition: day of month of its last frame.
    pub last: Vec<u8>,
    /// Per partition: its non-zero rows of each vector, `vector_names.len()` numbers per
    /// partition, concatenated. Empty in list files written before it was recorded (every
    /// partition then counts as holding every vector).
    #[serde(default)]
    pub vector_rows: Vec<u32>,
    /// `skypart-3` ([`areas`]; then `offset`, `bytes` and `sha256` name a partition's rows
    /// area, its sha256 cut to 32 hex digits): per partition, where its codes area starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes_at: Vec<u64>,
    /// `skypart-3`: per partition, bytes of its codes area.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes_bytes: Vec<u64>,
    /// `skypart-3`: per partition, 32 hex digits of its codes area's sha256, concatenated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub codes_sha: String,
    /// `skypart-3`: per partition, where its records area starts (its hash is in the
    /// headers of its rows and codes areas).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recs_at: Vec<u64>,
    /// `skypart-3`: per partition, bytes of its records area.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recs_bytes: Vec<u64>,
    /// [`centroids`](Self::centroids) decoded, for every query after the first.
    #[serde(skip)]
    decoded: Decoded<Centroids>,
}

impl ListFile {
    /// Its sub-centroids (decoded once; `dim`: the index's, `file` names it in errors).
    pub fn sub_centroids(&self, dim: usize, file: &str) -> Result<Arc<Centroids>> {
        self.decoded.get(&self.centroids, [dim, 0, 0], || Centroids::from_hex(&self.centroids, dim, file))
    }

    /// Hex digits of each partition's hash in [`sha256`](Self::sha256): 64, or 32 in
    /// `skypart-3` (the first 128 bits of the sha256).
    pub fn hash_hex(&self) -> usize {
        if !self.sub.is_empty() && self.sha256.len() == self.sub.len() * 32 {
            32
        } else {
            64
        }
    }
}

/// A plan bound to regions (a query naming a region, or the region filter) probes, besides
/// its `nprobe` leaves, further leaves until those it fetches hold at least this many rows of
/// the bound vectors, or none are left; leaves and lists without a row of them are never
/// probed (their rows could not match).
pub const BOUND_ROWS: u64 = 100;

/// The most a filter widens a plan in an index whose manifest sets no
/// [`widen_max`](PartitionIndex::widen_max).
pub const WIDEN_MAX: usize = 8;

/// Rows of the `bound` vectors among `counts` (one number per vector); `None` when `counts`
/// is not recorded (an older index).
fn bound_rows<T: Copy + Into<u64>>(counts: &[T], bound: &[usize]) -> Option<u64> {
    (!counts.is_empty()).then(|| bound.iter().filter_map(|&v| counts.get(v)).map(|&c| c.into()).sum())
}

/// One leaf of a plan: its score, list, sub-centroid, allowed partitions and their rows of
/// the bound vectors (all their rows when the plan is not bound).
struct Leaf {
    score: f32,
    list: usize,
    sub: usize,
    /// Its list file (index into the plan's `lists`) and the rows of its allowed partitions
    /// there: [`Leaf::parts`] makes their [`PartRef`]s, only for the leaves a plan takes.
    file: usize,
    rows: Vec<usize>,
    bound_rows: u64,
}

impl Leaf {
    /// Bytes round 2 reads of it: its allowed partitions' codes areas (`skypart-3`), or
    /// their rows areas when `int8` or the list file has no codes (`skypart-2`: the
    /// partitions).
    fn cost(&self, lists: &[&ListFile], int8: bool) -> u64 {
        let lf = lists[self.file];
        self.rows.iter().map(|&i| if int8 { lf.bytes[i] } else { lf.codes_bytes.get(i).copied().unwrap_or(lf.bytes[i]) }).sum()
    }

    /// Its allowed partitions, from its list file (checked by `allowed_leaves`).
    fn parts(&self, lists: &[&ListFile]) -> Vec<PartRef> {
        let lf = lists[self.file];
        let path = part_path(lf.list, self.sub, &lf.leaves[self.sub]);
        let h = lf.hash_hex();
        self.rows
            .iter()
            .map(|&i| PartRef {
                list: lf.list,
                sub: self.sub,
                period: lf.period[i] as usize,
                path: path.clone(),
                offset: lf.offset[i],
                sha256: lf.sha256[i * h..(i + 1) * h].to_string(),
                bytes: lf.bytes[i],
                rows: lf.rows[i],
                days: (lf.first[i], lf.last[i]),
            })
            .collect()
    }
}

/// Path of a leaf file, from what its list file says of it (`name`: its 16 hex digits).
pub fn part_path(list: usize, sub: usize, name: &str) -> String {
    format!("parts/{list:03}-{sub:03}-{}.skyleaf", &name[..16.min(name.len())])
}

/// Path of a list file.
pub fn list_path(list: usize, sha256: &str) -> String {
    format!("parts/lists/{list:03}-{}.json", &sha256[..16.min(sha256.len())])
}

/// Centroids stored as an f32 scale and `dim` int8 each, hex encoded.
#[derive(Debug, Clone)]
pub struct Centroids {
    dim: usize,
    scales: Vec<f32>,
    data: Vec<i8>,
}

impl Centroids {
    /// Quantizes f32 centroids.
    pub fn from_f32(rows: &[Vec<f32>], dim: usize) -> Self {
        let mut scales = Vec::with_capacity(rows.len());
        let mut data = Vec::with_capacity(rows.len() * dim);
        for r in rows {
            let (s, q) = crate::shard::quantize_i8(r);
            scales.push(s);
            data.extend(q);
        }
        Self { dim, scales, data }
    }

    /// Reads the hex form; `file` names it in errors.
    pub fn from_hex(hex_text: &str, dim: usize, file: &str) -> Result<Self> {
        let bytes = hex::decode(hex_text).map_err(|e| Error::format(file, format!("centroids are not hex: {e}")))?;
        let per = 4 + dim;
        if dim == 0 || bytes.len() % per != 0 {
            return Err(Error::format(file, format!("centroids of {} bytes are not whole rows of 4 + {dim}", bytes.len())));
        }
        let mut scales = Vec::with_capacity(bytes.len() / per);
        let mut data = Vec::with_capacity(bytes.len() / per * dim);
        for row in bytes.chunks_exact(per) {
            scales.push(f32::from_le_bytes([row[0], row[1], row[2], row[3]]));
            data.extend(row[4..].iter().map(|&b| b as i8));
        }
        Ok(Self { dim, scales, data })
    }

    /// The hex form.
    pub fn to_hex(&self) -> String {
        let mut bytes = Vec::with_capacity(self.scales.len() * (4 + self.dim));
        for (s, row) in self.scales.iter().zip(self.data.chunks_exact(self.dim)) {
            bytes.extend_from_slice(&s.to_le_bytes());
            bytes.extend(row.iter().map(|&q| q as u8));
        }
        hex::encode(bytes)
    }

    /// Number of centroids.
    pub fn len(&self) -> usize {
        self.scales.len()
    }
    /// Centroid `i` as f32 (dequantized).
    pub fn row_f32(&self, i: usize) -> Vec<f32> {
        self.data[i * self.dim..(i + 1) * self.dim].iter().map(|&q| q as f32 * self.scales[i]).collect()
    }
    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// Score of every centroid for a query, with the shard scan's arithmetic.
    pub fn scores(&self, q: &QueryVector) -> Vec<f32> {
        if q.dim() != self.dim {
            return vec![f32::NEG_INFINITY; self.len()];
        }
        self.data.chunks_exact(self.dim).zip(&self.scales).map(|(row, &s)| (q.scale() * s) * dot_i16_i8(q.quantized(), row) as f32).collect()
    }
}

/// A value decoded from a hex field of the index and kept, so that a query after the first
/// does not decode it again (the list centroids, a list file's sub-centroids, the codebooks).
/// It keeps the text and shape it was decoded from and is used only while the field still
/// holds them: a field changed since (tests and `skycase decade` edit indexes in memory) is
/// decoded afresh each time, never read stale. Not part of the value it belongs to: not
/// serialised, equal to any other.
pub struct Decoded<T>(OnceLock<(String, [usize; 3], Arc<T>)>);

impl<T> Decoded<T> {
    /// The value decoded from `hex` with `shape` (dimensions the decoding takes): kept, or
    /// `decode()`d (and kept if nothing is yet).
    pub fn get(&self, hex: &str, shape: [usize; 3], decode: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        match self.0.get() {
            Some((from, s, value)) if *s == shape && from == hex => Ok(value.clone()),
            Some(_) => decode().map(Arc::new),
            None => {
                let value = Arc::new(decode()?);
                // Another thread may have kept its own first: either is the same value.
                let _ = self.0.set((hex.to_string(), shape, value.clone()));
                Ok(value)
            }
        }
    }
}

impl<T> Default for Decoded<T> {
    fn default() -> Self {
        Self(OnceLock::new())
    }
}

impl<T> Clone for Decoded<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> PartialEq for Decoded<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Decoded<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "Decoded(kept)" } else { "Decoded(none)" })
    }
}

/// The leaf directory of an index, once loaded: a cache of a startup file, not part of the
/// index's value (two indexes are equal whether or not either has it loaded).
#[derive(Debug, Clone, Default)]
struct Loaded(Option<Arc<leaves::LeafDir>>);

impl PartialEq for Loaded {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Indices sorted by score, best first, ties to the lower index.
fn by_score(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// `(year·12 + month, day)` of a date, from its canonical spelling.
fn ymd(d: Date) -> (u32, u8) {
    let s = d.to_string();
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok()).unwrap_or(0);
    (num(0..4) * 12 + num(5..7), num(8..10) as u8)
}

/// The months a query plans from: those [`allowed_days`] allows, less those of which the
/// source rule searches no origin ([`PeriodEntry::origins_searched`]).
fn searched_days(periods: &[PeriodEntry], filters: &Filters) -> Vec<Option<(u8, u8)>> {
    let mut allowed = allowed_days(periods, filters);
    for (a, p) in allowed.iter_mut().zip(periods) {
        if p.origins_searched(filters) == Some(0) {
            *a = None;
        }
    }
    allowed
}

/// Which months the date and month filters allow, per index of [`PartitionIndex::periods`],
/// with the allowed day range within each month (`None`: the month is out).
fn allowed_days(periods: &[PeriodEntry], filters: &Filters) -> Vec<Option<(u8, u8)>> {
    let from = filters.from.as_deref().and_then(|d| Date::parse(d).ok());
    let to = filters.to.as_deref().and_then(|d| Date::parse(d).ok());
    let broken = (filters.from.is_some() && from.is_none()) || (filters.to.is_some() && to.is_none());
    periods
        .iter()
        .map(|p| {
            if broken {
                return None;
            }
            let first = Date::parse(&format!("{}-01", p.period)).ok()?;
            if !filters.months.is_empty() && !filters.months.contains(&first.month()) {
                return None;
            }
            let month = ymd(first).0;
            let (mut lo, mut hi) = (1u8, 31u8);
            if let Some(f) = from.map(ymd) {
                if f.0 > month {
                    return None;
                }
                if f.0 == month {
                    lo = f.1;
                }
            }
            if let Some(t) = to.map(ymd) {
                if t.0 < month {
                    return None;
                }
                if t.0 == month {
                    hi = t.1;
                }
            }
            Some((lo, hi))
        })
        .collect()
}

impl PartitionIndex {
    /// Checks what readers rely on: the format, the periods' spelling, one list per
    /// centroid, list periods in range, list paths inside the bundle.
    pub fn check(&self) -> Result<()> {
        let bad = |why: String| Err(Error::format("manifest.json", format!("partitions: {why}")));
        match (self.format.as_str(), &self.codes) {
            (PARTITION_FORMAT, None) | (areas::FORMAT, Some(_)) => {}
            (PARTITION_FORMAT | areas::FORMAT, _) => return bad(format!("format {:?} with{} codes", self.format, if self.codes.is_some() { "" } else { "out" })),
            _ => return bad(format!("format {:?} is neither {PARTITION_FORMAT} nor {}", self.format, areas::FORMAT)),
        }
        if let Some(c) = &self.codes {
            c.pq(self.dim)?;
        }
        for p in &self.periods {
            if Date::parse(&format!("{}-01", p.period)).is_err() || p.period.len() != 7 {
                return bad(format!("period {:?} is not YYYY-MM", p.period));
            }
        }
        let centroids = Centroids::from_hex(&self.centroids, self.dim, "manifest.json")?;
        if centroids.len() != self.lists.len() {
            return bad(format!("{} centroids for {} lists", centroids.len(), self.lists.len()));
        }
        if let Some(l) = &self.leaves {
            crate::bundle::confined(&l.path)?;
        }
        for (i, l) in self.lists.iter().enumerate() {
            crate::bundle::confined(&l.path)?;
            if let Some(p) = l.periods.iter().find(|&&p| p as usize >= self.periods.len()) {
                return bad(format!("list {i} names period {p} of {}", self.periods.len()));
            }
        }
        Ok(())
    }

    /// The list centroids.
    pub fn list_centroids(&self) -> Result<Centroids> {
        Centroids::from_hex(&self.centroids, self.dim, "manifest.json")
    }

    /// The list centroids, decoded once.
    fn list_centroids_kept(&self) -> Result<Arc<Centroids>> {
        self.decoded.get(&self.centroids, [self.dim, 0, 0], || self.list_centroids())
    }

    /// Bytes of the partitions the filters allow, summed over lists (an upper bound: a list
    /// counts whole if it has any allowed month).
    fn allowed_bytes(&self, allowed: &[Option<(u8, u8)>]) -> u64 {
        self.lists.iter().filter(|l| l.periods.iter().any(|&p| allowed[p as usize].is_some())).map(|l| l.part_bytes).sum()
    }

    /// How much more to probe when filters leave a fraction of the index: the allowed
    /// months' frames against all frames, inverted, between 1 and
    /// [`widen_max`](Self::widen_max) ([`WIDEN_MAX`] when the manifest has none).
    fn widen(&self, allowed: &[Option<(u8, u8)>]) -> usize {
        let all: usize = self.periods.iter().map(|p| p.frames).sum();
        let kept: usize = self.periods.iter().zip(allowed).filter(|(_, a)| a.is_some()).map(|(p, _)| p.frames).sum();
        if kept == 0 {
            return 1;
        }
        (all.div_ceil(kept)).clamp(1, self.widen_max.unwrap_or(WIDEN_MAX).max(1))
    }

    /// The lists a query fetches (their list files), best first: every list with an allowed
    /// month when the allowed partitions are small ([`exact_below`](Self::exact_below)),
    /// else the `list_probe` best (more under filters).
    ///
    /// `bound`: the vectors (indices into [`vector_names`](Self::vector_names)) the ranking
    /// scores, when the query is bound to regions (empty: all). A bound plan skips lists
    /// without a row of them and takes further lists, best first, until the lists taken are
    /// estimated to hold [`BOUND_ROWS`] such rows in the allowed months (at most as many
    /// lists again as the plan would take otherwise).
    pub fn plan_lists(&self, q: &QueryVector, filters: &Filters, bound: &[usize], nprobe: Option<usize>) -> Result<Vec<usize>> {
        let allowed = searched_days(&self.periods, filters);
        let has_allowed = |l: &ListEntry| l.periods.iter().any(|&p| allowed[p as usize].is_some());
        let holds_bound = |l: &ListEntry| bound.is_empty() || bound_rows(&l.vector_rows, bound).is_none_or(|n| n > 0);
        let scores = self.list_centroids_kept()?.scores(q);
        let candidates: Vec<usize> = by_score(&scores).into_iter().filter(|&i| has_allowed(&self.lists[i])).collect();
        if self.allowed_bytes(&allowed) <= self.exact_below {
            return Ok(candidates);
        }
        let candidates: Vec<usize> = candidates.into_iter().filter(|&i| holds_bound(&self.lists[i])).collect();
        let widen = self.widen(&allowed);
        let n = self.list_probe_for(nprobe).saturating_mul(widen);
        let cap = self.list_probe_for(Some(self.probe_max.max(nprobe.unwrap_or(self.nprobe)))).saturating_mul(widen).max(n);
        let scored: Vec<f32> = candidates.iter().map(|&l| scores[l]).collect();
        let mut take = self.adaptive_take(&scored, n, cap);
        if !bound.is_empty() {
            // The allowed share of the index, to estimate a list's bound rows in allowed months.
            let all: usize = self.periods.iter().map(|p| p.frames).sum();
            let kept: usize = self.periods.iter().zip(&allowed).filter(|(_, a)| a.is_some()).map(|(p, _)| p.frames).sum();
            let share = kept as f64 / all.max(1) as f64;
            let estimate = |l: usize| bound_rows(&self.lists[l].vector_rows, bound).unwrap_or(self.lists[l].rows) as f64 * share;
            let most = take.saturating_mul(2).min(candidates.len());
            let mut have: f64 = candidates.iter().take(take).map(|&l| estimate(l)).sum();
            while take < most && have < BOUND_ROWS as f64 {
                have += estimate(candidates[take]);
                take += 1;
            }
        }
        Ok(candidates.into_iter().take(take).collect())
    }

    /// How many of `scores` (best first) to probe: at least `n`, then, when the plan is
    /// adaptive ([`probe_margin`](Self::probe_margin) > 0), every further one within the
    /// margin of the best, up to `cap`.
    fn adaptive_take(&self, scores: &[f32], n: usize, cap: usize) -> usize {
        let n = n.min(scores.len());
        if self.probe_margin <= 0.0 || scores.is_empty() {
            return n;
        }
        let floor = scores[0] - self.probe_margin;
        let close = scores.iter().take(cap.min(scores.len())).take_while(|&&s| s >= floor).count();
        n.max(close)
    }

    /// Lists probed for a given nprobe: the manifest's `list_probe` at its own nprobe, and in
    /// proportion otherwise (at least 1).
    fn list_probe_for(&self, nprobe: Option<usize>) -> usize {
        match nprobe {
            Some(n) if self.nprobe > 0 => self.list_probe.saturating_mul(n).div_ceil(self.nprobe).max(1),
            _ => self.list_probe.max(1),
        }
    }

    /// The partitions a query fetches, given the list files of [`plan_lists`](Self::plan_lists)
    /// (`lists[i]` for list `planned[i]`): leaves best first by sub-centroid score, only
    /// allowed months and days, until `nprobe` leaves with allowed rows (more under filters),
    /// or all allowed ones when they are small.
    ///
    /// `bound` as for [`plan_lists`](Self::plan_lists): a bound plan drops partitions (and so
    /// leaves) without a row of the bound vectors, and takes further leaves, best first,
    /// until the partitions taken hold [`BOUND_ROWS`] such rows or no leaf is left, so a
    /// query naming a region finds that region's rows whenever the lists have any.
    pub fn plan_parts(&self, q: &QueryVector, filters: &Filters, bound: &[usize], lists: &[&ListFile], nprobe: Option<usize>) -> Result<Vec<PartRef>> {
        let allowed = searched_days(&self.periods, filters);
        let exact = self.allowed_bytes(&allowed) <= self.exact_below;
        let leaves = self.allowed_leaves(q, &allowed, lists, if exact { &[] } else { bound })?;
        let take = if exact {
            leaves.len()
        } else {
            let scores: Vec<f32> = leaves.iter().map(|l| l.score).collect();
            let held: Vec<u64> = leaves.iter().map(|l| l.bound_rows).collect();
            self.leaves_to_probe(&scores, &held, !bound.is_empty(), self.widen(&allowed), nprobe)
        };
        let cut = (0..self.periods.len()).any(|p| allowed[p].is_some() && self.origins_cut(p, filters));
        let Some(budget) = self.budget.filter(|_| !exact && !cut && Budget::binds(filters)) else {
            return Ok(leaves.iter().take(take).flat_map(|l| l.parts(lists)).collect());
        };
        Ok(self.within_budget(budget, take, |i, int8| leaves[i].cost(lists, int8)).into_iter().flat_map(|i| leaves[i].parts(lists)).collect())
    }

    /// How many leaves a lean plan probes, of leaves best first with these `scores` and rows of
    /// the bound vectors (`held`): `nprobe` (the manifest's by default) times `widen`, more
    /// within the adaptive margin, and, when `bound`, further ones until those taken hold
    /// [`BOUND_ROWS`] bound rows or none is left.
    fn leaves_to_probe(&self, scores: &[f32], held: &[u64], bound: bool, widen: usize, nprobe: Option<usize>) -> usize {
        let n = nprobe.unwrap_or(self.nprobe).max(1);
        let cap = self.probe_max.max(n).saturating_mul(widen);
        let mut take = self.adaptive_take(scores, n.saturating_mul(widen), cap);
        if bound {
            let mut have: u64 = held.iter().take(take).sum();
            while take < held.len() && have < BOUND_ROWS {
                have += held[take];
                take += 1;
            }
        }
        take
    }

    /// Of the first `take` leaves (best first), those a lean plan reads within `budget`
    /// ([`Budget`]): `cost(i, int8)` is what leaf `i` costs read as int8 rows (the first
    /// `int8_leaves` taken) or as codes.
    fn within_budget(&self, budget: Budget, take: usize, cost: impl Fn(usize, bool) -> u64) -> Vec<usize> {
        let int8 = self.codes.as_ref().map_or(usize::MAX, |c| c.int8_leaves);
        let mut left = budget.bytes;
        let mut out = Vec::new();
        for i in 0..take {
            let c = cost(i, out.len() < int8);
            if out.len() < budget.min_leaves || c <= left {
                left = left.saturating_sub(c);
                out.push(i);
            }
        }
        out
    }

    /// Every partition of `lists` whose month and days the date and month filters allow
    /// (what "make this period available offline" saves), in list file order.
    pub fn parts_in(&self, filters: &Filters, lists: &[&ListFile]) -> Result<Vec<PartRef>> {
        let allowed = allowed_days(&self.periods, filters);
        let q = QueryVector::new(&vec![0.0; self.dim])?;
        Ok(self.allowed_leaves(&q, &allowed, lists, &[])?.iter().flat_map(|l| l.parts(lists)).collect())
    }

    /// The lists with a month the filters allow.
    pub fn lists_in(&self, filters: &Filters) -> Vec<usize> {
        let allowed = allowed_days(&self.periods, filters);
        (0..self.lists.len()).filter(|&l| self.lists[l].periods.iter().any(|&p| allowed[p as usize].is_some())).collect()
    }

    /// Whether the source rule under `filters` searches some but not all frames of month `p`
    /// (as far as the manifest tells): its frames need their records to rank, as under a
    /// source filter on an index that does not record origins. A month whose origins are not
    /// known is cut by any source filter, and by none without one.
    pub fn origins_cut(&self, p: usize, filters: &Filters) -> bool {
        let Some(period) = self.periods.get(p) else { return false };
        match period.origins_searched(filters) {
            Some(n) => n > 0 && n < period.origins.len(),
            None => filters.source.is_some(),
        }
    }

    /// The months the filters allow (indices into [`periods`](Self::periods)).
    pub fn periods_in(&self, filters: &Filters) -> Vec<usize> {
        allowed_days(&self.periods, filters).iter().enumerate().filter(|(_, a)| a.is_some()).map(|(i, _)| i).collect()
    }

    /// The allowed partitions of `lists` grouped by leaf, best leaf first for `q`; with
    /// `bound` vectors, only partitions holding a row of them (when the list file says).
    fn allowed_leaves(&self, q: &QueryVector, allowed: &[Option<(u8, u8)>], lists: &[&ListFile], bound: &[usize]) -> Result<Vec<Leaf>> {
        let vpf = self.vector_names.len();
        let mut leaves: Vec<Leaf> = Vec::new();
        for (at, lf) in lists.iter().enumerate() {
            let entry = self.lists.get(lf.list).ok_or_else(|| Error::format("partition list", format!("list {} is not in the manifest", lf.list)))?;
            let file = entry.path.as_str();
            let centroids = lf.sub_centroids(self.dim, file)?;
            let n = lf.sub.len();
            if [lf.period.len(), lf.offset.len(), lf.bytes.len(), lf.rows.len(), lf.first.len(), lf.last.len()].iter().any(|&m| m != n) || lf.sha256.len() != n * lf.hash_hex() {
                return Err(Error::format(file, "partition table columns differ in length"));
            }
            if !lf.vector_rows.is_empty() && lf.vector_rows.len() != n * vpf {
                return Err(Error::format(file, format!("{} vector row counts for {n} partitions of {vpf} vectors", lf.vector_rows.len())));
            }
            let scores = centroids.scores(q);
            // Per sub-centroid: whether its leaf file has a name (checked once, not per partition).
            let named: Vec<bool> = (0..centroids.len()).map(|sub| lf.leaves.get(sub).is_some_and(|n| n.len() == 16 && n.bytes().all(|b| b.is_ascii_hexdigit()))).collect();
            // Per sub-centroid: its allowed partitions and their rows, in partition order.
            let mut by_sub: Vec<Option<(Vec<usize>, u64)>> = vec![None; centroids.len()];
            for i in 0..n {
                let (sub, period) = (lf.sub[i] as usize, lf.period[i] as usize);
                if period >= self.periods.len() {
                    return Err(Error::format(file, format!("partition {i} names period {period} of {}", self.periods.len())));
                }
                if sub >= centroids.len() {
                    return Err(Error::format(file, format!("partition {i} names sub-centroid {sub} of {}", centroids.len())));
                }
                if !named[sub] {
                    return Err(Error::format(file, format!("partition {i}: sub-centroid {sub} has no leaf file name")));
                }
                let Some((lo, hi)) = allowed[period] else { continue };
                if lf.last[i] < lo || lf.first[i] > hi {
                    continue;
                }
                let held = if bound.is_empty() { None } else { bound_rows(lf.vector_rows.get(i * vpf..(i + 1) * vpf).unwrap_or(&[]), bound) };
                if held == Some(0) {
                    continue;
                }
                let leaf = by_sub[sub].get_or_insert_with(Default::default);
                leaf.1 += held.unwrap_or(u64::from(lf.rows[i]));
                leaf.0.push(i);
            }
            for (sub, leaf) in by_sub.into_iter().enumerate() {
                let Some((rows, bound_rows)) = leaf else { continue };
                leaves.push(Leaf { score: scores[sub], list: lf.list, sub, file: at, rows, bound_rows });
            }
        }
        leaves.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.list.cmp(&b.list)).then(a.sub.cmp(&b.sub)));
        Ok(leaves)
    }
}

impl PartitionIndex {
    /// The whole plan with files read synchronously (the companion reads them from disk):
    /// `get(entry, at)` returns bytes verified against `entry`: the whole file for `at`
    /// `None` (a list file), else the `entry.bytes` bytes at offset `at` of the file (a
    /// partition, a segment of its leaf file). Returns the partitions in plan order with
    /// their references.
    pub fn fetch_plan(&self, q: &QueryVector, filters: &Filters, bound: &[usize], nprobe: Option<usize>, get: &mut dyn FnMut(&crate::bundle::FileEntry, Option<u64>) -> Result<Vec<u8>>) -> Result<Vec<(PartRef, Partition)>> {
        if self.format != PARTITION_FORMAT {
            return Err(Error::format("manifest.json", format!("a {} index is read by its rounds (partition::areas), not as {PARTITION_FORMAT} partitions", self.format)));
        }
        let mut lists = Vec::new();
        for l in self.plan_lists(q, filters, bound, nprobe)? {
            let entry = &self.lists[l];
            let file = crate::bundle::FileEntry { path: entry.path.clone(), role: LIST_ROLE.into(), sha256: entry.sha256.clone(), bytes: entry.bytes };
            let list = ListFile::from_json(&get(&file, None)?, &entry.path)?;
            if list.list != l {
                return Err(Error::format(&entry.path, format!("is list {}, the manifest lists it as {l}", list.list)));
            }
            lists.push(list);
        }
        let refs: Vec<&ListFile> = lists.iter().collect();
        let mut out = Vec::new();
        for part in self.plan_parts(q, filters, bound, &refs, nprobe)? {
            let bytes = get(&part.file(), Some(part.offset))?;
            let p = Partition::from_bytes(&bytes, &part.key())?;
            out.push((part, p));
        }
        Ok(out)
    }
}

impl ListFile {
    /// Parses a list file (already verified against its manifest entry).
    pub fn from_json(bytes: &[u8], file: &str) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::format(file, format!("not a partition list: {e}")))
    }
}

/// The `k` best frames across partitions, best first, exactly: a frame scores as its best
/// row among those fetched (only rows of the `bound` vector indices when any of them is a
/// vector of the index, and only rows the region and phenomenon filters allow:
/// [`Filters::allows_vector`]), frames the filters drop are skipped, and a frame found in several
/// partitions counts once. Hits name the partition (`shard`: index into `parts`), the
/// frame's record index in it and the matched vector. Ties go to the earlier frame time,
/// then id.
pub fn rank_parts(parts: &[&Partition], query: &QueryVector, k: usize, filters: &Filters, bound: &[usize]) -> Result<Vec<Hit>> {
    if let Some(part) = parts.iter().find(|p| p.dim() != query.dim()) {
        return Err(Error::Usage(format!("query has {} dimensions, the partitions {}", query.dim(), part.dim())));
    }
    if k == 0 {
        return Ok(Vec::new());
    }
    // One pass scores every row the filters allow, into one list without hashing (a warm
    // unfiltered query on a decade scores ~27,000 rows of ~700 segments: hashing each row's
    // frame id was most of its time). Buffers are reused from one partition to the next.
    let restricts = filters.restricts_regions();
    let mut rows: Vec<Scored> = Vec::with_capacity(parts.iter().map(|p| p.rows()).sum());
    let mut only: Vec<usize> = Vec::new();
    let mut kept: Vec<Option<bool>> = Vec::new();
    for (pi, part) in parts.iter().enumerate() {
        let d = part.dim();
        only.clear();
        only.extend(bound.iter().copied().filter(|&j| j < part.vector_names.len()));
        kept.clear();
        kept.resize(part.records.len(), None);
        for (row, (data, &s)) in part.data.chunks_exact(d).zip(&part.scales).enumerate() {
            let (frame, vector) = part.row_ref(row);
            if !only.is_empty() && !only.contains(&vector) {
                continue;
            }
            // A zero row is a region the frame does not cover: never a match
            // (as `rank::empty_rows` in the shard scan).
            if s == 0.0 || data.iter().all(|&x| x == 0) {
                continue;
            }
            let rec = &part.records[frame];
            if !*kept[frame].get_or_insert_with(|| filters.keeps(rec)) {
                continue;
            }
            if restricts && !filters.allows_vector(rec, &part.vector_names[vector]) {
                continue;
            }
            let score = (query.scale() * s) * dot_i16_i8(query.quantized(), data) as f32;
            rows.push(Scored { score, part: pi as u32, row: row as u32 });
        }
    }
    // A frame's score is its best row, so the k best frames have their best rows among the
    // best rows overall: take the best `m` rows (and every row tied with the m-th), and if
    // they hold fewer than k frames, twice as many, up to all of them. A frame left out has
    // every row strictly below all the frames taken.
    let by_score = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score);
    let mut m = k.saturating_mul(4).min(rows.len());
    loop {
        let taken = if m < rows.len() {
            rows.select_nth_unstable_by(m - 1, by_score);
            let floor = rows[m - 1].score;
            // Rows tied with the m-th (`==`, as frames compare their rows), moved up behind it.
            let mut end = m;
            for i in m..rows.len() {
                if rows[i].score == floor {
                    rows.swap(i, end);
                    end += 1;
                }
            }
            end
        } else {
            rows.len()
        };
        let hits = best_frames(parts, &mut rows[..taken], k);
        if hits.len() >= k || taken == rows.len() {
            return Ok(hits);
        }
        m = m.saturating_mul(2).min(rows.len());
    }
}

/// A scored row of [`rank_parts`]: partition index into its `parts` and row in it.
#[derive(Clone, Copy)]
struct Scored {
    score: f32,
    part: u32,
    row: u32,
}

/// The `k` best frames of `rows`, best first, as [`rank_parts`] ranks them: each frame by its
/// best row (equal scores: the lower vector, then the row met first in partition order).
fn best_frames(parts: &[&Partition], rows: &mut [Scored], k: usize) -> Vec<Hit> {
    // Partition order, so that "met first" is the order of the scan.
    rows.sort_unstable_by_key(|r| (r.part, r.row));
    let mut best: HashMap<&str, (Hit, &FrameRecord)> = HashMap::with_capacity(rows.len());
    for r in rows.iter() {
        let part = parts[r.part as usize];
        let (frame, vector) = part.row_ref(r.row as usize);
        let rec = &part.records[frame];
        let (hit, score) = (Hit { shard: r.part as usize, frame, vector, score: r.score }, r.score);
        match best.get_mut(rec.id.as_str()) {
            Some((b, _)) if score > b.score || (score == b.score && vector < b.vector) => *b = hit,
            Some(_) => {}
            None => {
                best.insert(rec.id.as_str(), (hit, rec));
            }
        }
    }
    let mut hits: Vec<(Hit, &FrameRecord)> = best.into_values().collect();
    let order = |(a, ra): &(Hit, &FrameRecord), (b, rb): &(Hit, &FrameRecord)| b.score.total_cmp(&a.score).then(ra.time.cmp(&rb.time)).then(ra.id.cmp(&rb.id));
    if hits.len() > k {
        hits.select_nth_unstable_by(k - 1, order);
        hits.truncate(k);
    }
    hits.sort_by(order);
    hits.into_iter().map(|(h, _)| h).collect()
}

#[cfg(test)]
mod tests;
