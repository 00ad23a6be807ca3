//! The leaf directory of a `skypart-3` index: an unfiltered query plans and reads its leaves
//! in one round, without list files (issue 11).
//!
//! Through the list files a cold query takes three network rounds: the list files it probes
//! (decade F: 10 files, ~400 kB gzip), the codes areas of its leaves, then the row blocks of
//! its best candidates with their records. The list files give every partition's place and
//! hash. A query that allows every month whole (no date, month, source, region or phenomenon
//! filter) reads all of a leaf's codes areas, and those lie back to back at the end of the
//! leaf file: its *tail*. So it needs, per leaf, only the sub-centroid to plan by and where
//! the tail lies with its hash; and, to parse the tail, each month's row count, which the
//! tail itself ends with. This directory is fetched at start with the other startup files:
//!
//! ```text
//! parts/leaves-<sha16>.bin
//!   0    b"SKYLEAVS"
//!   8    u32 version (1), u32 dim, u32 lists, u32 subs (leaves per list), u32 vectors
//!   28   per leaf, list by list, `subs` a list:
//!          f32 scale, i8 × dim    its sub-centroid, as its list file has it
//!          [u8; 8]                its leaf file's name (zeros: no leaf)
//!          u32 start, u32 bytes   its tail
//!          [u8; 16]               the first 16 bytes of the tail's sha256
//!          u8 × vectors           its non-zero rows of each vector, 255 for 255 or more
//!
//! a leaf file's tail (after its months' rows and records areas, areas' module header):
//!   its months' codes areas back to back, oldest first
//!   per month: u32 period, u32 rows, u32 records bytes
//!   u32 months
//! ```
//!
//! A tail's months and the fixed sizes of the layout give every area's place: month `j`'s
//! rows area starts where month `j − 1`'s records area ends (the first at 0) and is
//! `16 + rows · (8 + dim)` bytes, its records area follows it, and its codes area is
//! `16 + 16 · ⌈rows / 16⌉ + rows · (m + 1)` bytes. Everything read is verified: the tail
//! against the directory's hash, row blocks and records against the hashes its codes areas
//! carry, as in the list files' rounds.
//!
//! A row count capped at 255 plans as the true one: a bound plan only asks whether the leaves
//! taken hold [`BOUND_ROWS`] rows of the bound vectors (fewer than 255), and a sum of capped
//! counts reaches it exactly when the true sum does.

use std::sync::Arc;

use super::areas::{codes_area_bytes, rows_area_bytes, SHORT};
use super::{by_score, searched_days, Budget, Centroids, PartRef, PartitionIndex, BOUND_ROWS};
use crate::error::{Error, Result};
use crate::filters::Filters;
use crate::rank::QueryVector;

/// Role of the leaf directory among a bundle's files.
pub const LEAVES_ROLE: &str = "partition-leaves";
const MAGIC: &[u8; 8] = b"SKYLEAVS";
const VERSION: u32 = 1;
const HEADER: usize = 28;
/// Bytes of one month in a tail's directory.
const MONTH: usize = 12;
const _: () = assert!(BOUND_ROWS < 255);

/// Path of the leaf directory.
pub fn leaves_path(sha256: &str) -> String {
    format!("parts/leaves-{}.bin", &sha256[..16.min(sha256.len())])
}

/// One leaf as the directory gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafEntry {
    /// 16 hex digits naming its leaf file; empty: no leaf.
    pub name: String,
    /// Where its tail starts in its leaf file.
    pub start: u64,
    /// Bytes of its tail.
    pub bytes: u64,
    /// The first 16 bytes of the tail's sha256.
    pub hash: [u8; SHORT],
    /// Its non-zero rows of each vector, capped at 255.
    pub rows: Vec<u8>,
}

/// The leaf directory (see the module header).
#[derive(Debug, Clone)]
pub struct LeafDir {
    dim: usize,
    lists: usize,
    subs: usize,
    centroids: Centroids,
    leaves: Vec<LeafEntry>,
}

impl LeafDir {
    /// A directory of `lists × subs` leaves, list by list (`centroids` likewise).
    pub fn new(dim: usize, lists: usize, subs: usize, centroids: Centroids, leaves: Vec<LeafEntry>) -> Result<Self> {
        if centroids.len() != lists * subs || leaves.len() != lists * subs || centroids.dim != dim {
            return Err(Error::Usage(format!("a directory of {lists} × {subs} leaves of {dim} takes as many centroids and entries, got {} and {}", centroids.len(), leaves.len())));
        }
        let vectors = leaves.first().map_or(0, |l| l.rows.len());
        if leaves.iter().any(|l| l.rows.len() != vectors || !(l.name.is_empty() || is_name(&l.name))) {
            return Err(Error::Usage("every leaf needs one row count per vector and a name of 16 hex digits or none".into()));
        }
        if let Some(l) = leaves.iter().find(|l| l.start.checked_add(l.bytes).is_none_or(|end| end > u64::from(u32::MAX))) {
            return Err(Error::Usage(format!("leaf {}: a tail at {} of {} bytes lies past the 4 GiB a leaf directory can place", l.name, l.start, l.bytes)));
        }
        Ok(Self { dim, lists, subs, centroids, leaves })
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let vectors = self.leaves.first().map_or(0, |l| l.rows.len());
        let mut out = Vec::with_capacity(HEADER + self.leaves.len() * (4 + self.dim + 32 + vectors));
        out.extend_from_slice(MAGIC);
        for v in [VERSION, self.dim as u32, self.lists as u32, self.subs as u32, vectors as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for (i, leaf) in self.leaves.iter().enumerate() {
            out.extend_from_slice(&self.centroids.scales[i].to_le_bytes());
            out.extend(self.centroids.data[i * self.dim..(i + 1) * self.dim].iter().map(|&q| q as u8));
            let mut name = [0u8; 8];
            if !leaf.name.is_empty() {
                hex::decode_to_slice(&leaf.name, &mut name).expect("checked by new");
            }
            out.extend_from_slice(&name);
            out.extend_from_slice(&(leaf.start as u32).to_le_bytes());
            out.extend_from_slice(&(leaf.bytes as u32).to_le_bytes());
            out.extend_from_slice(&leaf.hash);
            out.extend_from_slice(&leaf.rows);
        }
        out
    }

    /// Reads a directory (verified against its entry by the caller) of `index`, whose
    /// dimension, lists, sub-centroids and vectors it must have; `file` names it in errors.
    pub fn from_bytes(bytes: &[u8], index: &PartitionIndex, file: &str) -> Result<Self> {
        let bad = |why: String| Error::format(file, why);
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(bad("not a skycase leaf directory (wrong magic or shorter than its header)".into()));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
        let [version, dim, lists, subs, vectors] = [8, 12, 16, 20, 24].map(|o| u32_at(o) as usize);
        if version != VERSION as usize {
            return Err(bad(format!("leaf directory version {version} is not supported (this build reads {VERSION})")));
        }
        let want = (index.dim, index.lists.len(), index.subs, index.vector_names.len());
        if (dim, lists, subs, vectors) != want {
            return Err(bad(format!("describes {lists} lists × {subs} leaves of {dim} dimensions and {vectors} vectors; the manifest's index has {} × {} of {} and {}", want.1, want.2, want.0, want.3)));
        }
        let per = 4 + dim + 8 + 8 + SHORT + vectors;
        let n = lists * subs;
        if bytes.len() != HEADER + n * per {
            return Err(bad(format!("{} bytes; {n} leaves of {per} bytes and the header make {}", bytes.len(), HEADER + n * per)));
        }
        let (mut scales, mut data, mut leaves) = (Vec::with_capacity(n), Vec::with_capacity(n * dim), Vec::with_capacity(n));
        for row in bytes[HEADER..].chunks_exact(per) {
            scales.push(f32::from_le_bytes(row[..4].try_into().expect("4 bytes")));
            data.extend(row[4..4 + dim].iter().map(|&b| b as i8));
            let rest = &row[4 + dim..];
            let word = |o: usize| u64::from(u32::from_le_bytes(rest[o..o + 4].try_into().expect("4 bytes")));
            let name = if rest[..8].iter().all(|&b| b == 0) { String::new() } else { hex::encode(&rest[..8]) };
            leaves.push(LeafEntry { name, start: word(8), bytes: word(12), hash: rest[16..16 + SHORT].try_into().expect("16 bytes"), rows: rest[16 + SHORT..].to_vec() });
        }
        Ok(Self { dim, lists, subs, centroids: Centroids { dim, scales, data }, leaves })
    }

    /// The sub-centroid of leaf `sub` of list `list`, as f32 (dequantized).
    pub fn sub_centroid(&self, list: usize, sub: usize) -> Vec<f32> {
        self.centroids.row_f32(list * self.subs + sub)
    }

    /// Leaves per list.
    pub fn subs(&self) -> usize {
        self.subs
    }

    /// The sub-centroids of list `list` (all [`subs`](Self::subs) of them; a leaf without
    /// rows has a zero one), as its list file has them.
    pub fn list_centroids(&self, list: usize) -> Centroids {
        let rows = list * self.subs..((list + 1) * self.subs).min(self.centroids.len());
        Centroids { dim: self.dim, scales: self.centroids.scales[rows.clone()].to_vec(), data: self.centroids.data[rows.start * self.dim..rows.end * self.dim].to_vec() }
    }

    /// Leaf `sub` of list `list`.
    pub fn leaf(&self, list: usize, sub: usize) -> Option<&LeafEntry> {
        (sub < self.subs).then(|| self.leaves.get(list * self.subs + sub)).flatten()
    }
}

fn is_name(name: &str) -> bool {
    name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The directory a tail ends with: per month `(period, rows, records bytes)`.
pub fn tail_directory(months: &[(u32, u32, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(months.len() * MONTH + 4);
    for &(period, rows, recs) in months {
        for v in [period, rows, recs] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.extend_from_slice(&(months.len() as u32).to_le_bytes());
    out
}

/// One month of a leaf, placed by its tail's directory: offsets in the leaf file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailMonth {
    /// Index into the manifest's periods.
    pub period: usize,
    /// Rows.
    pub rows: u32,
    /// Its rows area, then its records area.
    pub rows_at: u64,
    pub recs_at: u64,
    pub recs_bytes: u64,
    /// Its codes area.
    pub codes_at: u64,
    pub codes_bytes: u64,
}

/// The months of a tail (`start`: where it lies in its leaf file), checked against the
/// layout: the codes areas and the directory must fill it exactly, its periods rise and are
/// the index's. `file` names it in errors.
pub fn tail_months(tail: &[u8], start: u64, dim: usize, m: usize, periods: usize, file: &str) -> Result<Vec<TailMonth>> {
    let bad = |why: String| Error::format(file, why);
    let n = tail.len().checked_sub(4).map(|e| u32::from_le_bytes(tail[e..].try_into().expect("4 bytes")) as usize).ok_or_else(|| bad("a tail shorter than its month count".into()))?;
    let dir_at = n.checked_mul(MONTH).and_then(|d| tail.len().checked_sub(4 + d)).ok_or_else(|| bad(format!("a tail of {} bytes cannot hold a directory of {n} months", tail.len())))?;
    let (mut out, mut rows_at, mut codes_at) = (Vec::with_capacity(n), 0u64, start);
    for (j, entry) in tail[dir_at..tail.len() - 4].chunks_exact(MONTH).enumerate() {
        let [period, rows, recs] = [0, 4, 8].map(|o| u32::from_le_bytes(entry[o..o + 4].try_into().expect("4 bytes")));
        if period as usize >= periods || out.last().is_some_and(|p: &TailMonth| p.period >= period as usize) {
            return Err(bad(format!("month {j} of the tail names period {period} (of {periods}; months rise)")));
        }
        let sizes = rows_area_bytes(rows as usize, dim).zip(codes_area_bytes(rows as usize, m));
        let (rows_bytes, codes_bytes) = sizes.map(|(r, c)| (r as u64, c as u64)).ok_or_else(|| bad(format!("month {j} of the tail: {rows} rows overflow")))?;
        out.push(TailMonth { period: period as usize, rows, rows_at, recs_at: rows_at + rows_bytes, recs_bytes: u64::from(recs), codes_at, codes_bytes });
        rows_at += rows_bytes + u64::from(recs);
        codes_at += codes_bytes;
    }
    if codes_at - start != dir_at as u64 || rows_at != start {
        return Err(bad(format!("the tail's {n} months do not fill it: codes areas end at {}, the directory starts at {dir_at}; rows and records end at {rows_at}, the tail starts at {start}", codes_at - start)));
    }
    Ok(out)
}

/// A leaf an unfiltered plan reads whole: its tail.
#[derive(Debug, Clone, PartialEq)]
pub struct Tail {
    /// Its sub-centroid's score for the query.
    pub score: f32,
    /// Its tail as a piece to read (list, sub, path, offset, bytes, hash; no period).
    pub area: PartRef,
}

impl PartitionIndex {
    /// Reads the leaf directory (verified against [`leaves`](Self::leaves) by the caller), so
    /// that unfiltered queries plan by it ([`plan_tails`](Self::plan_tails)).
    pub fn load_leaves(&mut self, bytes: &[u8], file: &str) -> Result<()> {
        self.leaf_dir = super::Loaded(Some(Arc::new(LeafDir::from_bytes(bytes, self, file)?)));
        Ok(())
    }

    /// The leaf directory, once loaded.
    pub fn leaf_dir(&self) -> Option<&LeafDir> {
        self.leaf_dir.0.as_deref()
    }

    /// The plan of a query that reads whole leaves by the directory, or `None` when it
    /// cannot: no directory loaded, an index with int8 leaves, filters that leave out a month
    /// or a day or need the records to rank ([`Budget::binds`]), or a plan that is the exact
    /// scan. The lists are [`plan_lists`](Self::plan_lists)'; their leaves, best first, are
    /// taken as [`plan_parts`](Self::plan_parts) takes them, a leaf's cost its tail.
    pub fn plan_tails(&self, q: &QueryVector, filters: &Filters, bound: &[usize], nprobe: Option<usize>) -> Result<Option<Vec<Tail>>> {
        let Some(dir) = self.leaf_dir() else { return Ok(None) };
        let allowed = searched_days(&self.periods, filters);
        let whole = allowed.iter().enumerate().all(|(p, a)| *a == Some((1, 31)) && !self.origins_cut(p, filters));
        if self.codes.as_ref().is_none_or(|c| c.int8_leaves != 0) || !Budget::binds(filters) || !whole || self.allowed_bytes(&allowed) <= self.exact_below {
            return Ok(None);
        }
        let scores = dir.centroids.scores(q);
        let mut leaves: Vec<(usize, u64)> = Vec::new();
        for list in self.plan_lists(q, filters, bound, nprobe)? {
            for sub in 0..dir.subs {
                let at = list * dir.subs + sub;
                let Some(leaf) = dir.leaves.get(at).filter(|l| !l.name.is_empty()) else { continue };
                let held: u64 = bound.iter().filter_map(|&v| leaf.rows.get(v)).map(|&c| u64::from(c)).sum();
                if bound.is_empty() || held > 0 {
                    leaves.push((at, held));
                }
            }
        }
        let order = by_score(&leaves.iter().map(|&(at, _)| scores[at]).collect::<Vec<_>>());
        let leaves: Vec<(usize, u64)> = order.into_iter().map(|i| leaves[i]).collect();
        let ranked: Vec<f32> = leaves.iter().map(|&(at, _)| scores[at]).collect();
        let held: Vec<u64> = leaves.iter().map(|l| l.1).collect();
        let take = self.leaves_to_probe(&ranked, &held, !bound.is_empty(), 1, nprobe);
        let chosen = match self.budget {
            Some(budget) => self.within_budget(budget, take, |i, _| dir.leaves[leaves[i].0].bytes),
            None => (0..take).collect(),
        };
        Ok(Some(
            chosen
                .into_iter()
                .map(|i| {
                    let at = leaves[i].0;
                    let (list, sub, leaf) = (at / dir.subs, at % dir.subs, &dir.leaves[at]);
                    let path = super::part_path(list, sub, &leaf.name);
                    Tail { score: scores[at], area: PartRef { list, sub, period: 0, path, offset: leaf.start, sha256: hex::encode(leaf.hash), bytes: leaf.bytes, rows: 0, days: (1, 31) } }
                })
                .collect(),
        ))
    }
}

/// The directory of an index written by [`super::build::IndexWriter`]: `tails[list][sub]`
/// (start, bytes, hash; `None`: no leaf), names and row counts per leaf likewise.
pub(super) fn directory_of(dim: usize, subs: usize, centroids: &[Vec<Vec<f32>>], leaves: Vec<Vec<Option<LeafEntry>>>, vectors: usize) -> Result<LeafDir> {
    let lists = centroids.len();
    let mut rows = Vec::with_capacity(lists * subs);
    let mut entries = Vec::with_capacity(lists * subs);
    for (l, mut list) in leaves.into_iter().enumerate() {
        list.resize(subs, None);
        for (sub, leaf) in list.into_iter().enumerate() {
            rows.push(centroids[l].get(sub).cloned().unwrap_or_else(|| vec![0.0; dim]));
            entries.push(leaf.unwrap_or(LeafEntry { name: String::new(), start: 0, bytes: 0, hash: [0; SHORT], rows: vec![0; vectors] }));
        }
    }
    LeafDir::new(dim, lists, subs, Centroids::from_f32(&rows, dim), entries)
}
