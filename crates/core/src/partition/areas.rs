//! `skypart-3`: a leaf file in three areas, read in rounds, so a cold query over a decade
//! reads residual codes for most of its leaves and int8 rows only where they decide the
//! answer (issue 11; measured first with `skycase recall --pq`, docs/benchmarks.md).
//!
//! Leaf file layout (little endian); the leaf's months back to back, oldest first, each its
//! rows area then its records area, then its months' codes areas back to back, so the wanted
//! months of a leaf are one byte range of rows and records and one of codes, and a row block
//! and the records of its month are one short range:
//! ```text
//! parts/<list>-<sub>-<sha16>.skyleaf
//!   per month:
//!    rows area:
//!     0    [u8; 16]   records hash: the first 16 bytes of the sha256 of the month's records area
//!     16   per row:   f32 scale, u32 frame << 8 | vector, i8 × dim          (8 + dim bytes)
//!    records area: raw DEFLATE of JSON {"vector_names", "frames", "records"}
//!   codes areas, one a month, then the months' directory (the leaf's *tail*, [`super::leaves`]):
//!     0    [u8; 16]   records hash
//!     16   [u8; 16] × ⌈rows / 16⌉   block hashes: of rows 16·b .. 16·b + 16 of the rows area
//!                                   (its bytes from 16 on), so a few rows read alone verify
//!     ..   per row:   m bytes of residual PQ code, then its vector (255: a zero row)
//! ```
//! (Bundles written before 2026-12-05 17:30Z put all rows areas first, then the codes areas,
//! then the records areas; the list file gives every area's offset, so they read the same,
//! with more requests.)
//! `frame`: the frame's number within its month (frames are in time order), below 2^24;
//! `frames[i]`: that number of `records[i]`; `vector`: index into `vector_names`. A code is of
//! the row's *residual* to its leaf's sub-centroid (both dequantized), so a row scores about
//! `q·c + Σ table[j][code[j]]` ([`Pq`], whose int8 codebooks the manifest holds: [`Codes`]).
//!
//! A list file gives, per partition (leaf × month): `offset`, `bytes` and `sha256` of its
//! rows area (32 hex digits: 128 bits of the sha256, half of what a list file would spend
//! otherwise; a forged area would need a second preimage of 128 bits), `codes_at`,
//! `codes_bytes`, `codes_sha` of its codes area, `recs_at`, `recs_bytes` of its records area,
//! whose hash both other areas carry. Every byte a query reads is verified: areas against the
//! list file, row blocks against the verified codes area, records against the verified rows
//! or codes area.
//!
//! A query ([`Rounds`]; [`PartitionIndex::fetch_plan3`] drives it from files):
//! 1. the list files (within one or two months: their month directories, [`super::months`]),
//!    and the plan's leaves, best first, as in `skypart-2` ([`PartitionIndex::plan_parts`],
//!    filters pruning months and days first);
//! 2. the rows areas of the best [`Codes::int8_leaves`] leaves and the codes areas of the
//!    others, one range per leaf (a month filter: per run of adjacent allowed months);
//! 3. the row blocks holding the [`Codes::rerank`] best code candidates with the records
//!    areas of their months, and the records areas of the int8 partitions holding the best
//!    `k` frames so far (a leaf's blocks and records at most [`ROUND3_GAP`] apart are one
//!    range); every row read is scored exactly (`crate::rank`'s i16 × i8);
//! 4. the records areas not read yet of the segments holding the best `k` frames (and those
//!    tied with the k-th): none in practice (a frame's best row after round 3 is a block's,
//!    whose records came with it, or an int8 row that already ranked in the best `k`). Those
//!    frames' best rows and records become small [`Partition`]s, ranked by
//!    [`super::rank_parts`] as any partition is: the answer's order, ties and strengths are
//!    those of `skypart-2` over the same scored rows.
//!
//! With a leaf directory ([`super::leaves`]) a query that allows every month whole skips
//! round 1: it plans from the directory and reads each leaf's tail (its codes areas and the
//! month directory after them) in round 2 ([`Rounds::from_tails`]); rounds 3 and 4 are the same.
//!
//! When the answer needs records to rank (a date range that cuts a planned partition's days,
//! a region or phenomenon filter, a month whose origins the source rule searches in part:
//! [`PartitionIndex::origins_cut`]) or the plan is exact (everything allowed is small), round 2 reads the rows areas of every
//! planned leaf with their records areas (a leaf's months are one range; each records area is
//! checked against the hash its rows area gives, and one that does not match is asked for again
//! in round 3): the exact scan of the planned partitions.
//!
//! An area or block that does not verify is read once more alone; if it still does not, the
//! query answers without it and says so ([`Answer3::warnings`]).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::months::MonthDir;
use super::pq::Pq;
use super::{searched_days, spans_through, Decoded, ListFile, PartRef, Partition, PartitionIndex};
use crate::bundle::sha256_hex;
use crate::error::{Error, Result};
use crate::filters::Filters;
use crate::rank::{dot_i16_i8, QueryVector};
use crate::shard::FrameRecord;

/// The `format` string of a manifest's partition index in this layout.
pub const FORMAT: &str = "skypart-3";
/// Rows per hashed block of a rows area.
pub const BLOCK_ROWS: usize = 16;
/// Bytes of a short hash (the first bytes of a sha256).
pub const SHORT: usize = 16;
/// The vector index of a zero row in a codes area (a region the frame does not cover).
pub const ZERO_ROW: u8 = 255;
/// The most bytes a records area may inflate to (a guard against a hostile file).
const META_LIMIT: usize = 256 << 20;
/// The largest frame number a row can hold (24 bits).
const MAX_FRAME: u32 = (1 << 24) - 1;

/// The first [`SHORT`] bytes of the sha256 of `bytes`.
pub fn short_hash(bytes: &[u8]) -> [u8; SHORT] {
    let mut out = [0u8; SHORT];
    hex::decode_to_slice(&sha256_hex(bytes)[..2 * SHORT], &mut out).expect("sha256 hex is hex");
    out
}

/// Bytes of one row of a rows area.
pub fn row_bytes(dim: usize) -> usize {
    8 + dim
}

/// The residual product quantizer of a `skypart-3` index and its plan's settings
/// (`manifest.partitions.codes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Codes {
    /// Sub-spaces: code bytes a row.
    pub m: usize,
    /// Codewords per sub-space.
    pub k: usize,
    /// Hex of, per sub-space, an f32 scale then `k × dim / m` int8 codeword values.
    pub codebooks: String,
    /// Leaves a query reads as int8 rows (its best); the others as codes.
    pub int8_leaves: usize,
    /// Code candidates re-ranked with their int8 rows.
    pub rerank: usize,
    /// Round 3 reads a leaf's row blocks and records areas at most this many bytes apart by
    /// one range ([`ROUND3_GAP`] unless set).
    #[serde(default = "round3_gap")]
    pub gap: u64,
    /// The quantizer decoded, for every query after the first ([`Codes::pq_kept`]).
    #[serde(skip)]
    decoded: Decoded<Pq>,
}

fn round3_gap() -> u64 {
    ROUND3_GAP
}

impl Codes {
    /// Stores a trained quantizer with int8 codebooks; returns them and the quantizer they
    /// stand for, which codes must be computed with.
    pub fn new(pq: &Pq, int8_leaves: usize, rerank: usize) -> Result<(Self, Pq)> {
        let (dim, m, k) = (pq.dim(), pq.m(), pq.k());
        let mut bytes = Vec::with_capacity(m * (4 + k * dim / m));
        let mut deq = Vec::with_capacity(k * dim);
        for book in pq.codewords().chunks_exact(k * dim / m) {
            let (s, q) = crate::shard::quantize_i8(book);
            bytes.extend_from_slice(&s.to_le_bytes());
            bytes.extend(q.iter().map(|&x| x as u8));
            deq.extend(q.iter().map(|&x| x as f32 * s));
        }
        Ok((Self { m, k, codebooks: hex::encode(bytes), int8_leaves, rerank, gap: ROUND3_GAP, decoded: Decoded::default() }, Pq::from_codewords(dim, m, k, deq)?))
    }

    /// The quantizer the codes were computed with.
    pub fn pq(&self, dim: usize) -> Result<Pq> {
        let bad = |why: String| Error::format("manifest.json", format!("partitions.codes: {why}"));
        let bytes = hex::decode(&self.codebooks).map_err(|e| bad(format!("codebooks are not hex: {e}")))?;
        if self.m == 0 || dim % self.m != 0 || !(1..=256).contains(&self.k) {
            return Err(bad(format!("{} sub-spaces of {} codewords do not fit {dim} dimensions", self.m, self.k)));
        }
        let per = 4 + self.k * dim / self.m;
        if bytes.len() != self.m * per {
            return Err(bad(format!("{} bytes of codebooks, expected {}", bytes.len(), self.m * per)));
        }
        let mut values = Vec::with_capacity(self.k * dim);
        for book in bytes.chunks_exact(per) {
            let s = f32::from_le_bytes([book[0], book[1], book[2], book[3]]);
            values.extend(book[4..].iter().map(|&b| b as i8 as f32 * s));
        }
        Pq::from_codewords(dim, self.m, self.k, values)
    }

    /// [`pq`](Self::pq), decoded once.
    pub fn pq_kept(&self, dim: usize) -> Result<Arc<Pq>> {
        self.decoded.get(&self.codebooks, [dim, self.m, self.k], || self.pq(dim))
    }
}

#[derive(Serialize, Deserialize)]
struct RecordsJson {
    vector_names: Vec<String>,
    frames: Vec<u32>,
    records: Vec<FrameRecord>,
}

/// One month of one leaf, written: its three areas.
pub struct SegmentAreas {
    /// The rows area.
    pub rows: Vec<u8>,
    /// The codes area.
    pub codes: Vec<u8>,
    /// The records area.
    pub records: Vec<u8>,
}

/// The rows of one leaf and month to write: row `i` is vector `vectors[i]` of the frame
/// numbered `frames[i]` in its month, `scales[i]` and `data[i·dim..]` its int8 values.
pub struct SegmentRows<'a> {
    /// Vector dimension.
    pub dim: usize,
    /// The names of a frame's vectors.
    pub vector_names: &'a [String],
    /// Each row's frame: its number in the month.
    pub frames: &'a [u32],
    /// Each row's vector.
    pub vectors: &'a [u8],
    /// Each row's scale.
    pub scales: &'a [f32],
    /// The int8 values, row by row.
    pub data: &'a [i8],
}

/// Writes the three areas of a segment: `records` are its frames (`record_frames[i]` the
/// number of `records[i]` in the month), `pq` the quantizer of the index ([`Codes::pq`]),
/// `centre` the leaf's sub-centroid as readers dequantize it.
pub fn write_segment(rows: &SegmentRows, records: Vec<FrameRecord>, record_frames: Vec<u32>, pq: &Pq, centre: &[f32]) -> Result<SegmentAreas> {
    let (dim, n) = (rows.dim, rows.scales.len());
    if rows.frames.len() != n || rows.vectors.len() != n || rows.data.len() != n * dim || pq.dim() != dim || centre.len() != dim {
        return Err(Error::Usage(format!("a segment of {n} rows of {dim} needs as many frames, vectors and values, and a quantizer and centre of {dim}")));
    }
    if rows.vector_names.len() >= ZERO_ROW as usize {
        return Err(Error::Usage(format!("{} vectors a frame: skypart-3 takes at most {}", rows.vector_names.len(), ZERO_ROW - 1)));
    }
    if let Some(f) = rows.frames.iter().chain(&record_frames).find(|&&f| f > MAX_FRAME) {
        return Err(Error::Usage(format!("frame number {f} in a month: skypart-3 takes at most {MAX_FRAME}")));
    }
    if let Some(i) = rows.vectors.iter().position(|&v| v as usize >= rows.vector_names.len()) {
        return Err(Error::Usage(format!("row {i} is vector {} of {}", rows.vectors[i], rows.vector_names.len())));
    }
    let json = RecordsJson { vector_names: rows.vector_names.to_vec(), frames: record_frames, records };
    let records = miniz_oxide::deflate::compress_to_vec(&serde_json::to_vec(&json).expect("records always serialise"), 6);
    let rec_hash = short_hash(&records);
    let rb = row_bytes(dim);
    let mut area = Vec::with_capacity(SHORT + n * rb);
    area.extend_from_slice(&rec_hash);
    for i in 0..n {
        area.extend_from_slice(&rows.scales[i].to_le_bytes());
        area.extend_from_slice(&(rows.frames[i] << 8 | u32::from(rows.vectors[i])).to_le_bytes());
        area.extend(rows.data[i * dim..(i + 1) * dim].iter().map(|&q| q as u8));
    }
    let mut codes = Vec::with_capacity(SHORT * (1 + n.div_ceil(BLOCK_ROWS)) + n * (pq.m() + 1));
    codes.extend_from_slice(&rec_hash);
    for block in area[SHORT..].chunks(BLOCK_ROWS * rb) {
        codes.extend_from_slice(&short_hash(block));
    }
    let mut residual = vec![0f32; dim];
    for i in 0..n {
        let q = &rows.data[i * dim..(i + 1) * dim];
        let zero = rows.scales[i] == 0.0 || q.iter().all(|&x| x == 0);
        residual.iter_mut().zip(q.iter().zip(centre)).for_each(|(r, (&x, c))| *r = x as f32 * rows.scales[i] - c);
        codes.extend(pq.encode(&residual));
        codes.push(if zero { ZERO_ROW } else { rows.vectors[i] });
    }
    Ok(SegmentAreas { rows: area, codes, records })
}

/// Rows of a rows area (or of a block of one), as read (bytes as i8, so that the values
/// are a slice the kernel takes).
struct Rows<'a> {
    dim: usize,
    bytes: &'a [i8],
}

impl<'a> Rows<'a> {
    fn len(&self) -> usize {
        self.bytes.len() / row_bytes(self.dim)
    }
    /// `(scale, frame, vector, values)` of row `i`.
    fn row(&self, i: usize) -> (f32, u32, u8, &'a [i8]) {
        let r = &self.bytes[i * row_bytes(self.dim)..(i + 1) * row_bytes(self.dim)];
        let b = |j: usize| r[j] as u8;
        let packed = u32::from_le_bytes([b(4), b(5), b(6), b(7)]);
        (f32::from_le_bytes([b(0), b(1), b(2), b(3)]), packed >> 8, (packed & 0xff) as u8, &r[8..])
    }
}

/// Bytes of a rows area of `rows` rows of `dim` (`None`: it overflows).
pub fn rows_area_bytes(rows: usize, dim: usize) -> Option<usize> {
    rows.checked_mul(row_bytes(dim))?.checked_add(SHORT)
}

/// Bytes of a codes area of `rows` rows of `m` code bytes (`None`: it overflows).
pub fn codes_area_bytes(rows: usize, m: usize) -> Option<usize> {
    rows.checked_mul(m + 1)?.checked_add(SHORT + rows.div_ceil(BLOCK_ROWS) * SHORT)
}

/// Checks a rows area's size (`rows` rows of `dim`); returns its records hash and its rows'
/// bytes as i8.
fn rows_area(bytes: &[u8], rows: usize, dim: usize, file: &str) -> Result<([u8; SHORT], Vec<i8>)> {
    let need = rows_area_bytes(rows, dim).ok_or_else(|| Error::format(file, "row count overflows"))?;
    if bytes.len() != need {
        return Err(Error::format(file, format!("a rows area of {rows} rows of {dim} has {need} bytes, this one {}", bytes.len())));
    }
    Ok((bytes[..SHORT].try_into().expect("16 bytes"), bytes[SHORT..].iter().map(|&x| x as i8).collect()))
}

/// A codes area, checked for its size.
struct CodeArea<'a> {
    m: usize,
    records_hash: [u8; SHORT],
    blocks: &'a [u8],
    codes: &'a [u8],
}

impl<'a> CodeArea<'a> {
    /// `file()` names it in errors (made only for one).
    fn parse(bytes: &'a [u8], rows: usize, m: usize, file: impl Fn() -> String) -> Result<Self> {
        let blocks = rows.div_ceil(BLOCK_ROWS) * SHORT;
        let need = codes_area_bytes(rows, m).ok_or_else(|| Error::format(&file(), "row count overflows"))?;
        if bytes.len() != need {
            return Err(Error::format(&file(), format!("a codes area of {rows} rows of {m} code bytes has {need} bytes, this one {}", bytes.len())));
        }
        Ok(Self { m, records_hash: bytes[..SHORT].try_into().expect("16 bytes"), blocks: &bytes[SHORT..SHORT + blocks], codes: &bytes[SHORT + blocks..] })
    }
    /// Each row's code and vector, in order.
    fn rows(&self) -> impl Iterator<Item = (&'a [u8], u8)> + 'a {
        let m = self.m;
        self.codes.chunks_exact(m + 1).map(move |row| (&row[..m], row[m]))
    }
    fn block_hash(&self, b: usize) -> &'a [u8] {
        &self.blocks[b * SHORT..(b + 1) * SHORT]
    }
}

/// A records area: names, frame numbers and records.
fn records_area(bytes: &[u8], file: &str) -> Result<RecordsJson> {
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(bytes, META_LIMIT).map_err(|e| Error::format(file, format!("records do not inflate: {e}")))?;
    let r: RecordsJson = serde_json::from_slice(&json).map_err(|e| Error::format(file, format!("records are not valid JSON: {e}")))?;
    if r.frames.len() != r.records.len() {
        return Err(Error::format(file, format!("{} frame numbers for {} records", r.frames.len(), r.records.len())));
    }
    Ok(r)
}

/// A [`Partition`] of some rows of a segment: `rows` as `(scale, frame, vector, values)`,
/// frames looked up in its records area; it keeps only the records its rows refer to (an
/// answer's partition holds a few rows of a segment of hundreds of frames).
fn partition_of(dim: usize, rows: &[(f32, u32, u8, &[i8])], recs: RecordsJson, file: &str) -> Result<Partition> {
    let at: HashMap<u32, usize> = recs.frames.iter().enumerate().map(|(i, &f)| (f, i)).collect();
    let mut records: Vec<Option<FrameRecord>> = recs.records.into_iter().map(Some).collect();
    partition_from(dim, rows, recs.vector_names, |f| at.get(&f).and_then(|&i| records[i].take()), file)
}

/// [`partition_of`] with `record(frame)` giving the record of a frame number (asked once per
/// frame, in the order the rows first name them).
fn partition_from(dim: usize, rows: &[(f32, u32, u8, &[i8])], vector_names: Vec<String>, mut record: impl FnMut(u32) -> Option<FrameRecord>, file: &str) -> Result<Partition> {
    let mut local: HashMap<u32, u32> = HashMap::new();
    let mut records = Vec::new();
    let mut frames = Vec::with_capacity(rows.len());
    for &(_, f, _, _) in rows {
        let at = match local.get(&f) {
            Some(&at) => at,
            None => {
                records.push(record(f).ok_or_else(|| Error::format(file, format!("a row of frame {f}, which its records do not hold")))?);
                local.insert(f, (records.len() - 1) as u32);
                (records.len() - 1) as u32
            }
        };
        frames.push(at);
    }
    Partition::new(
        dim,
        vector_names,
        records,
        frames,
        rows.iter().map(|r| r.2).collect(),
        rows.iter().map(|r| r.0).collect(),
        rows.iter().flat_map(|r| r.3.iter().copied()).collect(),
    )
    .map_err(|e| Error::format(file, e.to_string()))
}

/// The most frame records [`KeptRecords`] holds (~0.5 kB each in a decade's bundle: ~2 MB;
/// an answer keeps 20–40).
pub const KEPT_RECORDS: usize = 4096;

/// The records of answers' frames, kept by records area (its verified hash) and frame number,
/// so that a query whose best frames were met before (the same query asked again) builds its
/// answer without inflating and parsing their months' records areas again (a decade month's
/// area holds ~300 frames, ~0.2 ms each natively, and an answer needs ~20). The bytes are
/// still read and verified as before (the hash names them; equal hashes, equal bytes): only
/// their decoding is saved. At most [`KEPT_RECORDS`] records, the areas kept first dropped
/// first. Shared by the clones of an index, not serialised, not compared.
#[derive(Default, Clone)]
pub struct KeptRecords(Arc<std::sync::Mutex<Kept>>);

#[derive(Default)]
struct Kept {
    /// Per records area: its vector names and the records kept, by frame number.
    areas: HashMap<[u8; SHORT], (Vec<String>, HashMap<u32, FrameRecord>)>,
    /// Areas in the order they were first kept.
    order: std::collections::VecDeque<[u8; SHORT]>,
    records: usize,
    /// Partitions built from the records kept (for tests and `Debug`).
    used: usize,
}

impl KeptRecords {
    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The partition of `rows` of the records area hashed `hash`, when every frame they name
    /// is kept.
    pub(super) fn partition(&self, hash: &[u8; SHORT], dim: usize, rows: &[(f32, u32, u8, &[i8])], file: &str) -> Option<Result<Partition>> {
        let mut kept = self.lock();
        let (names, records) = kept.areas.get(hash)?;
        let p = rows.iter().all(|r| records.contains_key(&r.1)).then(|| partition_from(dim, rows, names.clone(), |f| records.get(&f).cloned(), file))?;
        kept.used += 1;
        Some(p)
    }

    /// Keeps the records of partition `p` (as [`partition_of`] made it from `rows` of the
    /// records area hashed `hash`).
    pub(super) fn keep(&self, hash: [u8; SHORT], rows: &[(f32, u32, u8, &[i8])], p: &Partition) {
        let mut kept = self.lock();
        let kept = &mut *kept;
        let (area, order) = (&mut kept.areas, &mut kept.order);
        let (_, records) = area.entry(hash).or_insert_with(|| {
            order.push_back(hash);
            (p.vector_names().to_vec(), HashMap::new())
        });
        for (r, row) in rows.iter().enumerate() {
            if let std::collections::hash_map::Entry::Vacant(e) = records.entry(row.1) {
                e.insert(p.records()[p.row_ref(r).0].clone());
                kept.records += 1;
            }
        }
        while kept.records > KEPT_RECORDS {
            let Some(old) = kept.order.pop_front() else { break };
            if let Some((_, r)) = kept.areas.remove(&old) {
                kept.records -= r.len();
            }
        }
    }
}

impl PartialEq for KeptRecords {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for KeptRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.lock();
        write!(f, "KeptRecords({} records of {} areas, {} partitions built from them)", kept.records, kept.areas.len(), kept.used)
    }
}

/// The most bytes of areas, row blocks and records areas a reader keeps in memory by default
/// ([`AreaCache`]): a cold unfiltered query on a decade reads ~1.5 MB of them, so the last
/// ~30 queries asked again read nothing; a browsing session no longer grows without bound.
/// A small index read whole (at most `exact_below`, 8 MB by default) fits.
pub const AREA_CACHE_BYTES: usize = 48 << 20;

/// Areas, row blocks and records areas read and checked, by key ([`super::PartRef::key`]),
/// up to a number of bytes: past it, the least recently used are dropped first (a piece
/// used again by a query is kept longer), never the last one kept. `B` holds the bytes (the
/// worker's shared `Rc<[u8]>`).
pub struct AreaCache<B> {
    map: HashMap<String, (B, u64)>,
    /// Keys by the time they were last used; an entry whose time is not its key's in `map`
    /// is stale (the key was used again since, or dropped) and skipped.
    order: std::collections::VecDeque<(u64, String)>,
    bytes: usize,
    limit: usize,
    clock: u64,
}

impl<B: AsRef<[u8]> + Clone> AreaCache<B> {
    /// An empty cache of at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { map: HashMap::new(), order: Default::default(), bytes: 0, limit, clock: 0 }
    }

    /// The bytes kept under `key`, marked as used now.
    pub fn get(&mut self, key: &str) -> Option<B> {
        self.clock += 1;
        let (bytes, used) = self.map.get_mut(key)?;
        *used = self.clock;
        let bytes = bytes.clone();
        self.order.push_back((self.clock, key.to_string()));
        self.compact();
        Some(bytes)
    }

    /// Whether `key` is kept (not marked as used).
    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Keeps `bytes` under `key` (replacing what it held), then drops the least recently used
    /// while over the limit.
    pub fn insert(&mut self, key: String, bytes: B) {
        self.clock += 1;
        self.bytes += bytes.as_ref().len();
        if let Some((old, _)) = self.map.insert(key.clone(), (bytes, self.clock)) {
            self.bytes -= old.as_ref().len();
        }
        self.order.push_back((self.clock, key));
        while self.bytes > self.limit && self.map.len() > 1 {
            let Some((at, key)) = self.order.pop_front() else { break };
            if self.map.get(&key).is_some_and(|(_, used)| *used == at) {
                let (old, _) = self.map.remove(&key).expect("just found");
                self.bytes -= old.as_ref().len();
            }
        }
        self.compact();
    }

    /// Drops stale entries of `order` once they outnumber the live ones.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order.retain(|(at, key)| map.get(key).is_some_and(|(_, used)| used == at));
        }
    }

    /// Pieces kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// True if none is kept.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    /// Entries of the use order, stale ones included (for tests).
    #[cfg(test)]
    pub(super) fn order_len(&self) -> usize {
        self.order.len()
    }
    /// Every piece kept, with its key, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &B)> {
        self.map.iter().map(|(k, (b, _))| (k, b))
    }
}

/// A whole partition from its rows area and records area (both already verified: the rows
/// area against its list file, the records against the hash the rows area carries, which is
/// checked here); `file` names it in errors.
pub fn read_segment(rows_area_bytes: &[u8], records_bytes: &[u8], rows: usize, dim: usize, file: &str) -> Result<Partition> {
    let (hash, body) = rows_area(rows_area_bytes, rows, dim, file)?;
    if short_hash(records_bytes) != hash {
        return Err(Error::format(file, "its records area does not match the hash its rows area gives"));
    }
    let r = Rows { dim, bytes: &body };
    let all: Vec<(f32, u32, u8, &[i8])> = (0..r.len()).map(|i| r.row(i)).collect();
    partition_of(dim, &all, records_area(records_bytes, file)?, file)
}

/// Every partition of `list` as `(rows area, records area)` references, in list file order
/// (what an exact scan of the index reads).
pub fn segments(list: &ListFile) -> Vec<(PartRef, PartRef)> {
    let (h, n) = (list.hash_hex(), list.sub.len());
    (0..n)
        .filter(|&i| list.leaves.get(list.sub[i] as usize).is_some() && list.recs_at.len() == n && list.recs_bytes.len() == n)
        .map(|i| {
            let sub = list.sub[i] as usize;
            let rows = PartRef {
                list: list.list,
                sub,
                period: list.period[i] as usize,
                path: super::part_path(list.list, sub, &list.leaves[sub]),
                offset: list.offset[i],
                sha256: list.sha256[i * h..(i + 1) * h].to_string(),
                bytes: list.bytes[i],
                rows: list.rows[i],
                days: (list.first[i], list.last[i]),
            };
            let recs = PartRef { offset: list.recs_at[i], bytes: list.recs_bytes[i], sha256: String::new(), ..rows.clone() };
            (rows, recs)
        })
        .collect()
}

/// The exact score of a row, as [`super::rank_parts`] computes it (`None`: a zero row).
fn exact(q: &QueryVector, scale: f32, values: &[i8]) -> Option<f32> {
    (scale != 0.0 && values.iter().any(|&x| x != 0)).then(|| (q.scale() * scale) * dot_i16_i8(q.quantized(), values) as f32)
}

/// Bytes and requests a query read, per round: lists, leaf areas, row blocks with records,
/// records read late.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reads {
    /// Requests (byte ranges, or whole files) per round.
    pub requests: [usize; 4],
    /// Bytes per round.
    pub bytes: [u64; 4],
}

impl Reads {
    /// All requests.
    pub fn total_requests(&self) -> usize {
        self.requests.iter().sum()
    }
    /// All bytes.
    pub fn total_bytes(&self) -> u64 {
        self.bytes.iter().sum()
    }
}

/// What a `skypart-3` query answered from.
#[derive(Debug)]
pub struct Answer3 {
    /// Small partitions holding the best rows of the best frames (their records area whole),
    /// in plan order: [`super::rank_parts`] over them is the answer (or, for an exact or
    /// record-filtered plan, every planned partition whole).
    pub parts: Vec<(PartRef, Partition)>,
    /// What was read.
    pub reads: Reads,
    /// The areas and blocks left out because they did not verify (after a second read).
    pub warnings: Vec<String>,
}

/// A round-3 request: the records area of planned partition `.0`, or a row block of it
/// starting at row `.1`.
enum Piece {
    Records(usize),
    Block(usize, usize),
}

/// Checks a piece a round asked for against its size and hash, or, for a records area asked
/// for with the rows area before it (no hash yet: `sha256` empty, [`Rounds::leaf_areas`]),
/// its size only: [`Rounds`] checks it against the hash its verified rows area gives before
/// using it, and a reader keeps it only after that ([`Rounds::round2_records`]).
pub fn verify_piece(p: &PartRef, bytes: &[u8]) -> Result<()> {
    if !p.sha256.is_empty() {
        return p.verify(bytes);
    }
    if bytes.len() as u64 != p.bytes {
        return Err(Error::Size { file: p.key(), expected: p.bytes, actual: bytes.len() as u64 });
    }
    Ok(())
}

/// Where a scored row's values are: an int8 rows area read whole or a row block
/// (index into [`Rounds::buffers`]) and its row there.
#[derive(Clone, Copy)]
struct Best {
    score: f32,
    vector: u8,
    part: usize,
    buffer: usize,
    row: usize,
}

/// The rounds of a `skypart-3` query after its list files (see the module header): each
/// method takes what the previous round's requests returned (`None`: it did not verify) and
/// names the next requests. The same steps run natively ([`PartitionIndex::fetch_plan3`])
/// and in the browser's worker, so both read and rank the same rows.
pub struct Rounds {
    dim: usize,
    pq: Arc<Pq>,
    /// Every planned partition (rows areas), best leaf first.
    parts: Vec<PartRef>,
    /// Per partition: its codes area and its records area (hash not known yet).
    codes: Vec<PartRef>,
    recs: Vec<PartRef>,
    /// Per partition: the sub-centroid score of its leaf (the residual codes' base).
    base: Vec<f32>,
    /// Per partition: read as int8 rows (else as codes).
    int8: Vec<bool>,
    /// The exact scan of every planned partition (filters need records, or the plan is exact).
    full: bool,
    rerank: usize,
    gap: u64,
    /// Per month: allowed by the filters (round 3 may read through it).
    readable: Vec<bool>,
    only: Vec<usize>,
    /// Bytes of rows read (rows areas without header, row blocks), with the partition and
    /// first row of each.
    buffers: Vec<(usize, usize, Vec<i8>)>,
    /// Per partition: its records hash once known.
    rec_hash: Vec<Option<[u8; SHORT]>>,
    /// Per partition: its records area once read and checked, and whether it was asked for.
    records: Vec<Option<Vec<u8>>>,
    asked: Vec<bool>,
    /// The best row of each frame kept for the answer, best first (lean plans).
    chosen: Vec<Best>,
    /// The index's records of answers' frames (lean plans read and add to them).
    kept: KeptRecords,
}

impl Rounds {
    /// Starts the rounds of query `q` on the planned partitions `parts` (from
    /// [`PartitionIndex::plan_parts`] with `lists`), with `bound` as the ranking takes it.
    pub fn new(index: &PartitionIndex, q: &QueryVector, filters: &Filters, bound: &[usize], lists: &[&ListFile], parts: Vec<PartRef>) -> Result<Self> {
        let codes = index.codes.as_ref().ok_or_else(|| Error::format("manifest.json", format!("a {} index without codes", index.format)))?;
        let pq = codes.pq_kept(index.dim)?;
        let allowed = searched_days(&index.periods, filters);
        let exact = index.allowed_bytes(&allowed) <= index.exact_below;
        // A date range needs the records' times only where it cuts a planned partition's days.
        let cuts = parts.iter().any(|p| allowed.get(p.period).copied().flatten().is_none_or(|(lo, hi)| p.days.0 < lo || p.days.1 > hi));
        let full = exact || ((filters.from.is_some() || filters.to.is_some()) && cuts) || filters.restricts_regions() || parts.iter().any(|p| index.origins_cut(p.period, filters));
        // Per list: the sub-centroids planned, whose rows in the list files are looked up
        // below (a list file has hundreds of partitions; a plan takes a few leaves of each).
        let mut planned: HashMap<usize, Vec<bool>> = HashMap::new();
        for p in &parts {
            let subs = planned.entry(p.list).or_default();
            if subs.len() <= p.sub {
                subs.resize(p.sub + 1, false);
            }
            subs[p.sub] = true;
        }
        let mut row_of: HashMap<(usize, usize, usize), (usize, usize)> = HashMap::with_capacity(parts.len());
        let mut scores: HashMap<usize, Vec<f32>> = HashMap::new();
        for (li, lf) in lists.iter().enumerate() {
            let n = lf.sub.len();
            if [lf.codes_at.len(), lf.codes_bytes.len(), lf.recs_at.len(), lf.recs_bytes.len()].iter().any(|&c| c != n) || lf.codes_sha.len() != n * 32 {
                return Err(Error::format(&index.lists[lf.list].path, "skypart-3 area columns differ in length"));
            }
            let subs = planned.get(&lf.list).map_or(&[][..], Vec::as_slice);
            for i in 0..n {
                if subs.get(lf.sub[i] as usize).copied().unwrap_or(false) {
                    row_of.insert((lf.list, lf.sub[i] as usize, lf.period[i] as usize), (li, i));
                }
            }
            scores.insert(lf.list, lf.sub_centroids(index.dim, &index.lists[lf.list].path)?.scores(q));
        }
        let (mut code_refs, mut rec_refs, mut base, mut int8) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut leaves: Vec<&str> = Vec::new();
        for p in &parts {
            let &(li, i) = row_of.get(&(p.list, p.sub, p.period)).ok_or_else(|| Error::format(&index.lists[p.list].path, format!("no partition of sub-centroid {} in period {}", p.sub, p.period)))?;
            let lf = lists[li];
            // Another area of the same partition (built field by field: `..p.clone()` would
            // copy its hash only to drop it, ~800 times a decade query).
            let area = |offset: u64, bytes: u64, sha256: String| PartRef { list: p.list, sub: p.sub, period: p.period, path: p.path.clone(), offset, sha256, bytes, rows: p.rows, days: p.days };
            code_refs.push(area(lf.codes_at[i], lf.codes_bytes[i], lf.codes_sha[i * 32..(i + 1) * 32].to_string()));
            rec_refs.push(area(lf.recs_at[i], lf.recs_bytes[i], String::new()));
            base.push(scores[&p.list].get(p.sub).copied().unwrap_or(f32::NEG_INFINITY));
            // The leaf's rank in the plan (a leaf's partitions come together: the last one first).
            let at = leaves.iter().rposition(|l| *l == p.path).unwrap_or_else(|| {
                leaves.push(&p.path);
                leaves.len() - 1
            });
            int8.push(full || at < codes.int8_leaves);
        }
        let only = bound.iter().copied().filter(|&j| j < index.vector_names.len()).collect();
        let n = parts.len();
        Ok(Self { dim: index.dim, pq, parts, codes: code_refs, recs: rec_refs, base, int8, full, rerank: codes.rerank, gap: codes.gap, readable: allowed.iter().map(Option::is_some).collect(), only, buffers: Vec::new(), rec_hash: vec![None; n], records: vec![None; n], asked: vec![false; n], chosen: Vec::new(), kept: index.kept.clone() })
    }

    /// Starts the rounds of a plan by the leaf directory ([`PartitionIndex::plan_tails`]):
    /// `got[i]` is the tail of `tails[i]`, verified (`None`: it could not be had; its leaf is
    /// left out). Returns the rounds over every month of those leaves, read as codes, with
    /// each partition's codes area, as [`take_leaf_areas`](Self::take_leaf_areas) takes them.
    pub fn from_tails<'a, B: AsRef<[u8]>>(index: &PartitionIndex, bound: &[usize], tails: &[super::leaves::Tail], got: &'a [Option<B>]) -> Result<(Self, Vec<Option<&'a [u8]>>)> {
        let codes = index.codes.as_ref().ok_or_else(|| Error::format("manifest.json", format!("a {} index without codes", index.format)))?;
        let pq = codes.pq_kept(index.dim)?;
        let (mut parts, mut code_refs, mut rec_refs, mut base, mut areas) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (tail, bytes) in tails.iter().zip(got) {
            let Some(bytes) = bytes.as_ref().map(AsRef::as_ref) else { continue };
            let t = &tail.area;
            for month in super::leaves::tail_months(bytes, t.offset, index.dim, pq.m(), index.periods.len(), &t.key())? {
                let area = |offset: u64, bytes: u64| PartRef { list: t.list, sub: t.sub, period: month.period, path: t.path.clone(), offset, sha256: String::new(), bytes, rows: month.rows, days: (1, 31) };
                parts.push(area(month.rows_at, month.recs_at - month.rows_at));
                code_refs.push(area(month.codes_at, month.codes_bytes));
                rec_refs.push(area(month.recs_at, month.recs_bytes));
                base.push(tail.score);
                let at = (month.codes_at - t.offset) as usize;
                areas.push(Some(&bytes[at..at + month.codes_bytes as usize]));
            }
        }
        let only = bound.iter().copied().filter(|&j| j < index.vector_names.len()).collect();
        let n = parts.len();
        let rounds = Self { dim: index.dim, pq, parts, codes: code_refs, recs: rec_refs, base, int8: vec![false; n], full: false, rerank: codes.rerank, gap: codes.gap, readable: vec![true; index.periods.len()], only, buffers: Vec::new(), rec_hash: vec![None; n], records: vec![None; n], asked: vec![false; n], chosen: Vec::new(), kept: index.kept.clone() };
        Ok((rounds, areas))
    }

    /// Every planned partition (rows areas), in plan order.
    pub fn parts(&self) -> &[PartRef] {
        &self.parts
    }

    /// Whether the plan is the exact scan of every planned partition (filters need records,
    /// or the plan is exact): rows areas in round 2, records areas in round 3, no codes.
    pub fn exact_scan(&self) -> bool {
        self.full
    }

    /// Round 3's gap: its requests of a leaf at most this many bytes apart are one range,
    /// through months the filters allow ([`spans_through`]'s `readable`).
    /// An exact plan reads through nothing: its rows areas came whole in round 2, and a gap
    /// between its records areas is rows it already holds.
    pub fn gap(&self) -> (u64, &[bool]) {
        (if self.full { 0 } else { self.gap }, &self.readable)
    }

    /// Round 2's requests: the rows areas of the int8 leaves and the codes areas of the others.
    /// An exact or record-filtered plan also asks for every planned partition's records area
    /// (with no hash: its rows area, read in the same round, gives it, and
    /// [`take_leaf_areas`](Self::take_leaf_areas) checks it; [`verify_piece`]), so that a
    /// leaf's months, each its rows then its records, are one range and round 3 asks for
    /// nothing (the demo's first query: one request a leaf, not two a partition).
    pub fn leaf_areas(&self) -> Vec<PartRef> {
        let areas = (0..self.parts.len()).map(|i| if self.int8[i] { self.parts[i].clone() } else { self.codes[i].clone() });
        if self.full {
            areas.chain(self.recs.iter().cloned()).collect()
        } else {
            areas.collect()
        }
    }

    /// Takes round 2's answers (as [`leaf_areas`](Self::leaf_areas) named them) and returns
    /// round 3's requests: the row blocks holding the best code candidates, with the records
    /// areas of their partitions (read with them: in this layout a month's records area
    /// follows its rows area, so a candidate's block and its records are one range, see
    /// [`ROUND3_GAP`]), and the records areas of the int8 partitions holding the best `k`
    /// frames so far. The answer's frames are among those, so round 4 is almost always empty.
    /// An exact or record-filtered plan: the records areas of every partition read that did
    /// not come, checked, with round 2 (usually none).
    ///
    /// `got` may be shared bytes (the worker's, kept in memory): they are read, not kept.
    pub fn take_leaf_areas(&mut self, q: &QueryVector, k: usize, got: Vec<Option<impl AsRef<[u8]>>>) -> Result<Vec<PartRef>> {
        let table = self.pq.query_table(q);
        let mut scores = Vec::new();
        let n = self.parts.len();
        let mut got = got;
        // An exact plan's records areas, read with the rows areas: each checked against the
        // hash its rows area gives; one that does not match is asked for again in round 3.
        let late = if self.full && got.len() == 2 * n { got.split_off(n) } else { Vec::new() };
        // (approximate score, partition, row): one per code row read (~25,000 a decade query).
        let rows: usize = got.iter().zip(&self.parts).filter(|(b, _)| b.is_some()).map(|(_, p)| p.rows as usize).sum();
        let mut approx: Vec<(f32, u32, u32)> = Vec::with_capacity(rows);
        for (i, bytes) in got.iter().enumerate() {
            let Some(bytes) = bytes.as_ref().map(AsRef::as_ref) else { continue };
            let p = &self.parts[i];
            if self.int8[i] {
                let (h, body) = rows_area(bytes, p.rows as usize, self.dim, &p.key())?;
                self.rec_hash[i] = Some(h);
                self.buffers.push((i, 0, body));
                continue;
            }
            let area = CodeArea::parse(bytes, p.rows as usize, self.pq.m(), || self.codes[i].key())?;
            self.rec_hash[i] = Some(area.records_hash);
            score_codes(&self.pq, &table, area.codes, &mut scores);
            for (r, ((_, v), &score)) in area.rows().zip(&scores).enumerate() {
                if v == ZERO_ROW || (!self.only.is_empty() && !self.only.contains(&(v as usize))) {
                    continue;
                }
                approx.push((self.base[i] + score, i as u32, r as u32));
            }
        }
        for (i, bytes) in late.iter().enumerate() {
            if let (Some(bytes), Some(hash)) = (bytes.as_ref().map(AsRef::as_ref), self.rec_hash[i]) {
                if short_hash(bytes) == hash {
                    self.records[i] = Some(bytes.to_vec());
                    self.asked[i] = true;
                }
            }
        }
        // The best `rerank` candidates as a set (their blocks are sorted below): selected, not
        // every candidate sorted (the order is total, so the set is the one a sort gives).
        if self.rerank > 0 && approx.len() > self.rerank {
            approx.select_nth_unstable_by(self.rerank - 1, |a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        }
        approx.truncate(self.rerank);
        let mut blocks: Vec<(usize, usize)> = approx.iter().map(|&(_, i, r)| (i as usize, r as usize / BLOCK_ROWS)).collect();
        blocks.sort_unstable();
        blocks.dedup();
        let rb = row_bytes(self.dim) as u64;
        let mut want: Vec<usize> = if self.full {
            (0..self.parts.len()).filter(|&i| self.rec_hash[i].is_some() && self.records[i].is_none()).collect()
        } else {
            let mut w: Vec<usize> = self.best_frames(q, k).iter().map(|b| self.buffers[b.buffer].0).collect();
            w.extend(blocks.iter().map(|&(i, _)| i));
            w
        };
        want.sort_unstable();
        want.dedup();
        let mut out: Vec<PartRef> = blocks
            .into_iter()
            .map(|(i, b)| {
                let p = &self.parts[i];
                let area = CodeArea::parse(got[i].as_ref().expect("read above").as_ref(), p.rows as usize, self.pq.m(), String::new).expect("parsed above");
                let rows = (p.rows as usize - b * BLOCK_ROWS).min(BLOCK_ROWS) as u64;
                PartRef { offset: p.offset + SHORT as u64 + (b * BLOCK_ROWS) as u64 * rb, bytes: rows * rb, sha256: hex::encode(area.block_hash(b)), ..p.clone() }
            })
            .collect();
        out.extend(want.into_iter().map(|i| self.records_ref(i)));
        Ok(out)
    }

    /// The records area of partition `i` (its hash known from its rows or codes area), marked
    /// as asked for.
    fn records_ref(&mut self, i: usize) -> PartRef {
        self.asked[i] = true;
        PartRef { sha256: hex::encode(self.rec_hash[i].expect("read")), ..self.recs[i].clone() }
    }

    /// Each frame's best row among the rows read, the best `k` frames (and those tied with
    /// the k-th), best first: the highest score, then the lower vector, then the first met
    /// (buffers in the order read).
    fn best_frames(&self, q: &QueryVector, k: usize) -> Vec<Best> {
        let buffers: Vec<(usize, usize, &[i8])> = self.buffers.iter().map(|(i, first, b)| (*i, *first, b.as_slice())).collect();
        self.best_in(&buffers, q, k)
    }

    /// [`best_frames`](Self::best_frames) among `buffers` (a [`Best`]'s `buffer` indexes them).
    fn best_in(&self, buffers: &[(usize, usize, &[i8])], q: &QueryVector, k: usize) -> Vec<Best> {
        let mut best: HashMap<(usize, u32), Best> = HashMap::new();
        for (bi, &(i, _, bytes)) in buffers.iter().enumerate() {
            let rows = Rows { dim: self.dim, bytes };
            for r in 0..rows.len() {
                let (s, frame, vector, values) = rows.row(r);
                if !self.only.is_empty() && !self.only.contains(&(vector as usize)) {
                    continue;
                }
                let Some(score) = exact(q, s, values) else { continue };
                let key = (self.parts[i].period, frame);
                let cand = Best { score, vector, part: i, buffer: bi, row: r };
                match best.get_mut(&key) {
                    Some(b) if score > b.score || (score == b.score && vector < b.vector) => *b = cand,
                    Some(_) => {}
                    None => {
                        best.insert(key, cand);
                    }
                }
            }
        }
        let mut frames: Vec<((usize, u32), Best)> = best.into_iter().collect();
        frames.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
        if frames.len() > k {
            // Frames tied with the k-th stay: the ranking breaks ties by time, then id.
            let floor = frames[k.max(1) - 1].1.score;
            let keep = frames.iter().take_while(|f| f.1.score >= floor).count().max(k);
            frames.truncate(keep);
        }
        frames.into_iter().map(|(_, b)| b).collect()
    }

    /// Takes round 3's answers (`refs` as [`take_leaf_areas`](Self::take_leaf_areas) named
    /// them: row blocks and records areas), scores every row read exactly, and returns round
    /// 4's requests: the records areas not asked for yet of the partitions holding the best
    /// `k` frames and those tied with the k-th (for an exact or record-filtered plan, of every
    /// partition read); usually none.
    pub fn take_blocks(&mut self, q: &QueryVector, k: usize, refs: &[PartRef], got: Vec<Option<impl AsRef<[u8]>>>) -> Result<Vec<PartRef>> {
        for (b, bytes) in refs.iter().zip(&got) {
            let Some(bytes) = bytes.as_ref().map(AsRef::as_ref) else { continue };
            match self.piece(b)? {
                Piece::Records(i) => self.records[i] = Some(bytes.to_vec()),
                Piece::Block(i, first) => self.buffers.push((i, first, bytes.iter().map(|&x| x as i8).collect())),
            }
        }
        self.chosen = self.best_frames(q, k);
        let mut want: Vec<usize> = if self.full { (0..self.parts.len()).filter(|&i| self.rec_hash[i].is_some()).collect() } else { self.chosen.iter().map(|b| b.part).collect() };
        want.sort_unstable();
        want.dedup();
        want.retain(|&i| !self.asked[i]);
        Ok(want.into_iter().map(|i| self.records_ref(i)).collect())
    }

    /// What round 3's request `b` is: a planned partition's records area, or a row block of
    /// one (partition, first row).
    fn piece(&self, b: &PartRef) -> Result<Piece> {
        // Offsets compared before paths (cheaper, and they rarely match by chance).
        if let Some(i) = self.recs.iter().position(|x| x.offset == b.offset && x.bytes == b.bytes && x.path == b.path) {
            return Ok(Piece::Records(i));
        }
        let Some(i) = self.parts.iter().position(|p| b.offset >= p.offset + SHORT as u64 && b.offset + b.bytes <= p.offset + p.bytes && p.path == b.path) else {
            return Err(Error::Usage(format!("{}: a block of no planned partition", b.key())));
        };
        Ok(Piece::Block(i, ((b.offset - self.parts[i].offset - SHORT as u64) / row_bytes(self.dim) as u64) as usize))
    }

    /// The records areas that came checked with round 2 (an exact or record-filtered plan,
    /// [`leaf_areas`](Self::leaf_areas)), each with its hash: a reader that keeps what it
    /// verified keeps these too.
    pub fn round2_records(&self) -> Vec<(PartRef, &[u8])> {
        (0..self.parts.len())
            .filter_map(|i| Some((PartRef { sha256: hex::encode(self.rec_hash[i]?), ..self.recs[i].clone() }, self.records[i].as_deref()?)))
            .collect()
    }

    /// A partial answer while round 3's answers arrive (`got[j]` for `refs[j]` as
    /// [`take_leaf_areas`](Self::take_leaf_areas) named them; `None`: not at hand yet): the
    /// partitions [`finish`](Self::finish) would build from the rows read so far, keeping
    /// only partitions whose records are at hand, so every frame it ranks has its record (a
    /// lean plan: the best `k` frames among those rows, each its best row; an exact or
    /// record-filtered plan: each such partition whole). Empty when no frame qualifies. The
    /// whole answer ([`take_blocks`](Self::take_blocks), [`finish`](Self::finish)) does not
    /// depend on it.
    pub fn partial(&self, q: &QueryVector, k: usize, refs: &[PartRef], got: &[Option<impl AsRef<[u8]>>]) -> Result<Vec<(PartRef, Partition)>> {
        let mut records: Vec<Option<&[u8]>> = self.records.iter().map(|r| r.as_deref()).collect();
        let mut blocks: Vec<(usize, usize, Vec<i8>)> = Vec::new();
        for (b, bytes) in refs.iter().zip(got) {
            let Some(bytes) = bytes.as_ref().map(AsRef::as_ref) else { continue };
            match self.piece(b)? {
                Piece::Records(i) => records[i] = Some(bytes),
                Piece::Block(i, first) => blocks.push((i, first, bytes.iter().map(|&x| x as i8).collect())),
            }
        }
        let buffers: Vec<(usize, usize, &[i8])> = self.buffers.iter().chain(&blocks).filter(|b| records[b.0].is_some()).map(|(i, first, b)| (*i, *first, b.as_slice())).collect();
        let chosen = if self.full { Vec::new() } else { self.best_in(&buffers, q, k) };
        let mut need: Vec<usize> = if self.full { buffers.iter().map(|b| b.0).collect() } else { chosen.iter().map(|b| b.part).collect() };
        need.sort_unstable();
        need.dedup();
        let mut out = Vec::with_capacity(need.len());
        for i in need {
            let Some(bytes) = records[i] else { continue };
            let key = self.recs[i].key();
            let rows: Vec<(f32, u32, u8, &[i8])> = if self.full {
                buffers.iter().filter(|b| b.0 == i).flat_map(|&(_, _, bytes)| {
                    let rows = Rows { dim: self.dim, bytes };
                    (0..rows.len()).map(move |j| rows.row(j))
                }).collect()
            } else {
                chosen.iter().filter(|b| b.part == i).map(|b| Rows { dim: self.dim, bytes: buffers[b.buffer].2 }.row(b.row)).collect()
            };
            out.push((self.parts[i].clone(), partition_of(self.dim, &rows, records_area(bytes, &key)?, &key)?));
        }
        Ok(out)
    }

    /// Takes round 4's answers (`recs` as [`take_blocks`](Self::take_blocks) named them) and
    /// returns the partitions the answer ranks: per partition with a best frame, its records
    /// and those frames' best rows (an exact or record-filtered plan: every partition read,
    /// whole), in plan order. A partition whose records did not verify is left out.
    pub fn finish(mut self, recs: &[PartRef], got: Vec<Option<impl AsRef<[u8]>>>) -> Result<Vec<(PartRef, Partition)>> {
        for (r, bytes) in recs.iter().zip(&got) {
            let Some(bytes) = bytes.as_ref().map(AsRef::as_ref) else { continue };
            let Some(i) = self.recs.iter().position(|x| x.offset == r.offset && x.path == r.path) else {
                return Err(Error::Usage(format!("{}: records of no planned partition", r.key())));
            };
            self.records[i] = Some(bytes.to_vec());
        }
        let mut need: Vec<usize> = if self.full { (0..self.parts.len()).filter(|&i| self.rec_hash[i].is_some()).collect() } else { self.chosen.iter().map(|b| b.part).collect() };
        need.sort_unstable();
        need.dedup();
        let mut out = Vec::new();
        for i in need {
            let Some(bytes) = self.records[i].take() else { continue };
            let key = self.recs[i].key();
            let rows: Vec<(f32, u32, u8, &[i8])> = if self.full {
                self.buffers.iter().filter(|b| b.0 == i).flat_map(|(_, _, bytes)| {
                    let rows = Rows { dim: self.dim, bytes };
                    (0..rows.len()).map(move |j| rows.row(j))
                }).collect()
            } else {
                self.chosen.iter().filter(|b| b.part == i).map(|b| Rows { dim: self.dim, bytes: &self.buffers[b.buffer].2 }.row(b.row)).collect()
            };
            // A lean plan's few rows: from the records kept, when they hold their frames.
            let hash = self.rec_hash[i].filter(|_| !self.full);
            if let Some(p) = hash.and_then(|h| self.kept.partition(&h, self.dim, &rows, &key)) {
                out.push((self.parts[i].clone(), p?));
                continue;
            }
            let p = partition_of(self.dim, &rows, records_area(&bytes, &key)?, &key)?;
            if let Some(h) = hash {
                self.kept.keep(h, &rows, &p);
            }
            out.push((self.parts[i].clone(), p));
        }
        Ok(out)
    }
}

/// [`Pq::score`] of every row of a codes area's rows (`codes`: per row `m` code bytes, then
/// its vector) for the query of `table` (from [`Pq::query_table`]), into `out`: the same
/// terms summed in the same order from the same start, so the same bits. With 256 codewords
/// a sub-space's table is an array that a code byte indexes without a bounds check, and four
/// rows are summed side by side (four chains of adds, each in its own order, instead of one
/// waiting on each add): a decade query scores ~25,000 codes of 32 bytes.
pub(super) fn score_codes(pq: &Pq, table: &[f32], codes: &[u8], out: &mut Vec<f32>) {
    let (m, stride) = (pq.m(), pq.m() + 1);
    out.clear();
    let (books, _) = table.as_chunks::<256>();
    if pq.k() != 256 || books.len() != m || table.len() != m * 256 {
        out.extend(codes.chunks_exact(stride).map(|row| pq.score(table, &row[..m])));
        return;
    }
    let quads = codes.chunks_exact(4 * stride);
    let rest = quads.remainder();
    for rows in quads {
        let (a, b, c, d) = (&rows[..m], &rows[stride..stride + m], &rows[2 * stride..2 * stride + m], &rows[3 * stride..3 * stride + m]);
        // `Iterator::sum` of f32 folds from -0.0: so do these.
        let mut s = [-0.0f32; 4];
        for (j, book) in books.iter().enumerate() {
            s[0] += book[a[j] as usize];
            s[1] += book[b[j] as usize];
            s[2] += book[c[j] as usize];
            s[3] += book[d[j] as usize];
        }
        out.extend_from_slice(&s);
    }
    out.extend(rest.chunks_exact(stride).map(|row| row[..m].iter().zip(books).map(|(&c, book)| book[c as usize]).sum::<f32>()));
}

/// Round 3 reads a leaf's row blocks and records areas at most this many bytes apart by one
/// range by default ([`Codes::gap`]; the gap read and dropped, only through months the
/// filters allow): in this layout a candidate's block and its records area are back to back
/// or a few blocks apart, and a leaf's months lie in order, so one range often holds the
/// candidates of several nearby months. A cold query in Chromium is bound by its requests
/// more than by its bytes (each costs a few ms of CPU in the worker, the browser and the
/// server), so fewer requests are worth some kB: on decade F (docs/benchmarks.md, 73
/// queries) 0 → 75 round-3 ranges and 98 kB a query, 2048 → 48 and 120 kB, 8192 → 27 and
/// 207 kB, 16384 → 21 and 295 kB, 32768 → 14 and 436 kB (p50).
pub const ROUND3_GAP: u64 = 16384;

/// Reads `refs` (areas, row blocks or records, each with its hash) from files: by
/// [`spans_through`] (those of a leaf back to back, or at most `gap` bytes apart through
/// `readable` months, are one request), each checked; one that does not verify is read
/// once more alone, and left out with a warning if it still does not. `read(path, range)`
/// returns the bytes `start..end` of a bundle file, unchecked. Counts into round `round` of
/// `reads`.
pub fn read_checked(refs: &[PartRef], (gap, readable): (u64, &[bool]), read: &mut dyn FnMut(&str, (u64, u64)) -> Result<Vec<u8>>, reads: &mut Reads, round: usize, warnings: &mut Vec<String>) -> Vec<Option<Vec<u8>>> {
    let mut out = vec![None; refs.len()];
    for span in spans_through(refs, gap, readable) {
        reads.requests[round] += 1;
        reads.bytes[round] += span.end - span.start;
        let body = read(&span.path, (span.start, span.end));
        for &i in &span.parts {
            let p = &refs[i];
            let first = body.as_ref().ok().and_then(|b| p.slice(b, span.start)).filter(|b| verify_piece(p, b).is_ok()).map(<[u8]>::to_vec);
            out[i] = match first {
                Some(b) => Some(b),
                None => {
                    reads.requests[round] += 1;
                    reads.bytes[round] += p.bytes;
                    match read(&p.path, (p.offset, p.offset + p.bytes)).and_then(|b| verify_piece(p, &b).map(|_| b)) {
                        Ok(b) => Some(b),
                        Err(e) => {
                            warnings.push(format!("{e} (read twice); left out"));
                            None
                        }
                    }
                }
            };
        }
    }
    out
}

/// A whole file of round 1 (a list file or a month directory), checked against `entry` and
/// read once more when wrong; counted in `reads`.
fn read_whole(entry: &crate::bundle::FileEntry, read: &mut dyn FnMut(&str, Option<(u64, u64)>) -> Result<Vec<u8>>, reads: &mut Reads) -> Result<Vec<u8>> {
    let mut once = || {
        reads.requests[0] += 1;
        reads.bytes[0] += entry.bytes;
        read(&entry.path, None).and_then(|b| entry.verify(&b).map(|_| b))
    };
    once().or_else(|_| once())
}

impl PartitionIndex {
    /// A `skypart-3` query from files, its rounds in turn ([`Rounds`]): list files or month
    /// directories ([`super::months`]; whole, checked against the manifest, once more if
    /// wrong; a list that still fails fails the query, a month directory gives way to the
    /// list files), leaf areas, row blocks, records. `read(path, None)` returns a whole file,
    /// `read(path, Some((start, end)))` those bytes; unchecked (they are checked here).
    pub fn fetch_plan3(&self, q: &QueryVector, filters: &Filters, bound: &[usize], nprobe: Option<usize>, k: usize, read: &mut dyn FnMut(&str, Option<(u64, u64)>) -> Result<Vec<u8>>) -> Result<Answer3> {
        let mut reads = Reads::default();
        let mut warnings = Vec::new();
        if let Some(tails) = self.plan_tails(q, filters, bound, nprobe)? {
            let mut ranged = |path: &str, range: (u64, u64)| read(path, Some(range));
            // By the leaf directory: no list files; the leaves' tails in round 2.
            let refs: Vec<PartRef> = tails.iter().map(|t| t.area.clone()).collect();
            let got = read_checked(&refs, (0, &[]), &mut ranged, &mut reads, 1, &mut warnings);
            let (rounds, areas) = Rounds::from_tails(self, bound, &tails, &got)?;
            return Self::rounds_after_areas(rounds, areas, q, k, &mut ranged, reads, warnings);
        }
        let planned = self.plan_lists(q, filters, bound, nprobe)?;
        // Round 1: the month directories when the filters allow one or two months (a
        // directory that fails twice: the list files after all), else the list files.
        let by_months = self.month_dirs(filters).and_then(|months| {
            let dirs: Result<Vec<MonthDir>> = months
                .iter()
                .map(|&p| {
                    let entry = self.periods[p].directory.as_ref().expect("month_dirs names months with a directory");
                    read_whole(entry, read, &mut reads).and_then(|b| MonthDir::from_json(&b, &entry.path)).and_then(|d| {
                        if d.period as usize == p {
                            Ok(d)
                        } else {
                            Err(Error::format(&entry.path, format!("is the directory of month {}, the manifest lists it as month {p}", d.period)))
                        }
                    })
                })
                .collect();
            dirs.ok()
        });
        let lists = match by_months {
            Some(dirs) => self.lists_of_months(&planned, &dirs.iter().collect::<Vec<_>>())?,
            None => {
                let mut lists = Vec::with_capacity(planned.len());
                for &l in &planned {
                    let entry = &self.lists[l];
                    let file = crate::bundle::FileEntry { path: entry.path.clone(), role: super::LIST_ROLE.into(), sha256: entry.sha256.clone(), bytes: entry.bytes };
                    let list = ListFile::from_json(&read_whole(&file, read, &mut reads)?, &entry.path)?;
                    if list.list != l {
                        return Err(Error::format(&entry.path, format!("is list {}, the manifest lists it as {l}", list.list)));
                    }
                    lists.push(list);
                }
                lists
            }
        };
        let refs: Vec<&ListFile> = lists.iter().collect();
        let parts = self.plan_parts(q, filters, bound, &refs, nprobe)?;
        let rounds = Rounds::new(self, q, filters, bound, &refs, parts)?;
        let mut ranged = |path: &str, range: (u64, u64)| read(path, Some(range));
        let areas = rounds.leaf_areas();
        let got = read_checked(&areas, (0, &[]), &mut ranged, &mut reads, 1, &mut warnings);
        Self::rounds_after_areas(rounds, got, q, k, &mut ranged, reads, warnings)
    }

    /// [`fetch_plan3`](Self::fetch_plan3) from round 2's answers on.
    fn rounds_after_areas(mut rounds: Rounds, got: Vec<Option<impl AsRef<[u8]>>>, q: &QueryVector, k: usize, ranged: &mut dyn FnMut(&str, (u64, u64)) -> Result<Vec<u8>>, mut reads: Reads, mut warnings: Vec<String>) -> Result<Answer3> {
        let blocks = rounds.take_leaf_areas(q, k, got)?;
        let gap = rounds.gap();
        let got = read_checked(&blocks, (gap.0, &gap.1.to_vec()), ranged, &mut reads, 2, &mut warnings);
        let recs = rounds.take_blocks(q, k, &blocks, got)?;
        let got = read_checked(&recs, (0, &[]), ranged, &mut reads, 3, &mut warnings);
        let parts = rounds.finish(&recs, got)?;
        Ok(Answer3 { parts, reads, warnings })
    }
}
