//! Writing a partitioned index (export time): the two-level k-means quantizer and the writer
//! of partition and list files.
//!
//! Contract: [`Quantizer::train`] is deterministic for a given sample, sizes and seed
//! (spherical k-means: vectors and centroids compared by dot product, centroids
//! re-normalised each pass), so a rebuilt bundle has the same partitions and names.
//! [`IndexWriter`] takes months oldest first, each as int8 rows (frame-major, as in a
//! [`Shard`](crate::Shard)), appends each month's segment of a leaf to that leaf's file as it
//! goes, and at the end names each leaf file after its segments' hashes and writes the list
//! files, all through a [`Store`]: the caller decides where (a staging folder) — this crate
//! does no I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::bundle::sha256_hex;
use crate::error::{Error, Result};
use crate::shard::FrameRecord;

use super::areas::{self, Codes, SegmentRows};
use super::leaves::{self, LeafEntry};
use super::months::{self, MonthDir};
use super::pq::Pq;
use super::{list_path, part_path, Centroids, ListEntry, ListFile, Partition, PartitionIndex, PeriodEntry, PARTITION_FORMAT};

/// Where an [`IndexWriter`] puts its files (paths relative to the bundle, `/`-separated).
pub trait Store {
    /// Writes a whole file.
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<()>;
    /// Appends to a file being built (created by the first append).
    fn append(&mut self, path: &str, bytes: &[u8]) -> Result<()>;
    /// Gives a finished file its final name.
    fn rename(&mut self, from: &str, to: &str) -> Result<()>;
}

/// Files in memory, by path (tests, and small indexes written in one go).
impl Store for std::collections::HashMap<String, Vec<u8>> {
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        self.insert(path.to_string(), bytes.to_vec());
        Ok(())
    }
    fn append(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        self.entry(path.to_string()).or_default().extend_from_slice(bytes);
        Ok(())
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let bytes = self.remove(from).ok_or_else(|| Error::Usage(format!("cannot rename {from}: no such file")))?;
        self.insert(to.to_string(), bytes);
        Ok(())
    }
}

/// Where a leaf file grows before it is named (under `parts/`, never listed).
fn building_path(list: usize, sub: usize) -> String {
    format!("parts/building-{list:03}-{sub:03}.tmp")
}

/// The 16 hex digits naming a leaf file: of the sha256 of its segments' sha256 (hex, in
/// file order), so any change of a byte renames it without hashing the file again.
pub fn leaf_name(segment_sha256: &[&str]) -> String {
    sha256_hex(segment_sha256.concat().as_bytes())[..16].to_string()
}

/// The two-level coarse quantizer.
#[derive(Debug, Clone)]
pub struct Quantizer {
    dim: usize,
    lists: Vec<Vec<f32>>,
    subs: Vec<Vec<Vec<f32>>>,
}

/// Dot product in eight independent lanes (the compiler vectorises them; one running sum
/// could not be reordered), then the lanes summed in order: deterministic on every platform.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

fn normalise(v: &mut [f32]) {
    let n = dot(v, v).sqrt();
    if n > 0.0 && n.is_finite() {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

fn nearest(centroids: &[Vec<f32>], v: &[f32]) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, c) in centroids.iter().enumerate() {
        let s = dot(c, v);
        if s > best.1 {
            best = (i, s);
        }
    }
    best.0
}

/// A fixed-seed generator (64-bit LCG, high bits), the same on every platform.
pub struct Lcg(u64);

impl Lcg {
    /// Starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407))
    }
    /// Next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u32() as u64) << 32 | self.next_u32() as u64) % n.max(1) as u64) as usize
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 / (1u32 << 24) as f32
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u = self.unit().max(1e-7);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// Spherical k-means of `points` (indices into `data`) into at most `k` centroids.
fn kmeans(data: &[Vec<f32>], points: &[usize], k: usize, iters: usize, rng: &mut Lcg) -> Vec<Vec<f32>> {
    let k = k.min(points.len()).max(1);
    if points.is_empty() {
        return Vec::new();
    }
    // Distinct starting points: a seeded shuffle of the members.
    let mut order = points.to_vec();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut centroids: Vec<Vec<f32>> = order[..k].iter().map(|&i| data[i].clone()).collect();
    centroids.iter_mut().for_each(|c| normalise(c));
    let dim = data[points[0]].len();
    for _ in 0..iters {
        let mut sums = vec![vec![0f32; dim]; k];
        let mut counts = vec![0usize; k];
        for &p in points {
            let c = nearest(&centroids, &data[p]);
            counts[c] += 1;
            sums[c].iter_mut().zip(&data[p]).for_each(|(s, x)| *s += x);
        }
        for (c, (sum, n)) in centroids.iter_mut().zip(sums.into_iter().zip(counts)) {
            if n > 0 {
                *c = sum;
                normalise(c);
            }
        }
    }
    centroids
}

impl Quantizer {
    /// Trains `lists` centroids on `sample`, then up to `subs` sub-centroids within each list
    /// on the sample vectors it holds (a list holding fewer vectors gets fewer).
    pub fn train(sample: &[Vec<f32>], lists: usize, subs: usize, iters: usize, seed: u64) -> Result<Self> {
        let dim = sample.first().map(Vec::len).ok_or_else(|| Error::Usage("the quantizer needs a sample of at least one vector".into()))?;
        if lists == 0 || subs == 0 {
            return Err(Error::Usage(format!("{lists} lists × {subs} sub-centroids: both must be at least 1")));
        }
        if let Some(bad) = sample.iter().position(|v| v.len() != dim) {
            return Err(Error::Usage(format!("sample vector {bad} has {} values, expected {dim}", sample[bad].len())));
        }
        let mut rng = Lcg::new(seed);
        let all: Vec<usize> = (0..sample.len()).collect();
        let top = kmeans(sample, &all, lists, iters, &mut rng);
        let mut members = vec![Vec::new(); top.len()];
        for (i, v) in sample.iter().enumerate() {
            members[nearest(&top, v)].push(i);
        }
        let subs = members.iter().enumerate().map(|(l, m)| if m.is_empty() { vec![top[l].clone()] } else { kmeans(sample, m, subs, iters, &mut rng) }).collect();
        Ok(Self { dim, lists: top, subs })
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of lists.
    pub fn lists(&self) -> usize {
        self.lists.len()
    }

    /// The leaf `(list, sub)` of a vector.
    pub fn assign(&self, v: &[f32]) -> (usize, usize) {
        let l = nearest(&self.lists, v);
        (l, nearest(&self.subs[l], v))
    }

    /// Sub-centroid `sub` of list `list` as readers see it (int8 in the list file, dequantized).
    pub fn centre(&self, list: usize, sub: usize) -> Vec<f32> {
        Centroids::from_f32(&self.subs[list][sub..sub + 1], self.dim).row_f32(0)
    }

    /// Trains the product quantizer of `skypart-3` codes areas on `sample`: codes of `m`
    /// bytes (`m` divides the dimension), 256 codewords, of each vector's residual to its
    /// leaf's sub-centroid ([`centre`](Self::centre)).
    pub fn train_codes(&self, sample: &[Vec<f32>], m: usize, iters: usize, seed: u64) -> Result<Pq> {
        let residuals: Vec<Vec<f32>> = sample
            .iter()
            .map(|v| {
                let (l, s) = self.assign(v);
                v.iter().zip(self.centre(l, s)).map(|(a, b)| a - b).collect()
            })
            .collect();
        Pq::train(&residuals, m, 256, iters, seed)
    }
}

/// Per list: its partition table as it grows.
#[derive(Default)]
struct ListAcc {
    /// Per partition: sub, period, sha256, bytes, rows, first and last day, offset in its leaf file.
    table: Vec<(u32, u32, String, u64, u32, u8, u8, u64)>,
    /// Per sub-centroid: the bytes of its leaf file so far.
    leaf_bytes: BTreeMap<u32, u64>,
    /// Per partition of `table`: its non-zero rows of each vector.
    vector_rows: Vec<Vec<u32>>,
    /// `skypart-3`, per partition of `table`: its codes area (offset in the leaf's codes,
    /// bytes, short hash hex) and records area (offset in the leaf file, bytes).
    areas: Vec<(u64, u64, String, u64, u64)>,
    /// `skypart-3`, per sub-centroid: its codes areas so far (appended to the leaf file
    /// after its months' rows and records areas by `finish`).
    leaf_tail: BTreeMap<u32, Vec<u8>>,
    rows: u64,
    part_bytes: u64,
    periods: BTreeSet<u32>,
}

/// Settings of a partitioned index's query plan (stored in the manifest).
#[derive(Debug, Clone, Copy)]
pub struct PlanDefaults {
    /// Leaves probed by default.
    pub nprobe: usize,
    /// Lists probed by default.
    pub list_probe: usize,
    /// Fetch everything allowed when it is at most this many bytes (exact answers).
    pub exact_below: u64,
    /// Adaptive nprobe: also probe leaves within this score margin of the best (0: fixed).
    pub probe_margin: f32,
    /// The most leaves an adaptive plan probes.
    pub probe_max: usize,
    /// A lean plan's byte budget (none: unbounded, as before).
    pub budget: Option<super::Budget>,
    /// The most a filter widens the plan (none: [`super::WIDEN_MAX`], as before).
    pub widen_max: Option<usize>,
}

/// Writes partitions month by month, then the list files; see the module header.
pub struct IndexWriter<'a> {
    quantizer: Quantizer,
    vector_names: Vec<String>,
    periods: Vec<PeriodEntry>,
    lists: Vec<ListAcc>,
    frames: usize,
    rows: u64,
    store: &'a mut dyn Store,
    /// `skypart-3`: the codes and their quantizer.
    codes: Option<(Codes, Pq)>,
}

impl<'a> IndexWriter<'a> {
    /// A writer for frames with `vector_names` vectors each.
    pub fn new(quantizer: Quantizer, vector_names: Vec<String>, store: &'a mut dyn Store) -> Result<Self> {
        if vector_names.is_empty() || vector_names.len() > 256 {
            return Err(Error::Usage(format!("{} vectors per frame: a partition index takes 1 to 256", vector_names.len())));
        }
        let lists = (0..quantizer.lists()).map(|_| ListAcc::default()).collect();
        Ok(Self { quantizer, vector_names, periods: Vec::new(), lists, frames: 0, rows: 0, store, codes: None })
    }

    /// A writer of the `skypart-3` layout ([`areas`]): leaves in three areas, with residual
    /// codes of `pq` (from [`Quantizer::train_codes`]; stored as int8 codebooks, [`Codes::new`])
    /// and the plan's `int8_leaves` and `rerank`.
    pub fn with_codes(quantizer: Quantizer, vector_names: Vec<String>, store: &'a mut dyn Store, pq: &Pq, int8_leaves: usize, rerank: usize) -> Result<Self> {
        if pq.dim() != quantizer.dim() {
            return Err(Error::Usage(format!("codes of {} dimensions for vectors of {}", pq.dim(), quantizer.dim())));
        }
        let mut w = Self::new(quantizer, vector_names, store)?;
        w.codes = Some(Codes::new(pq, int8_leaves, rerank)?);
        Ok(w)
    }

    /// Adds one month: `records` (time order) with `vector_names.len()` int8 rows each
    /// (`scales`, `data` frame-major). Months must come oldest first, each once.
    pub fn add_period(&mut self, period: &str, records: &[FrameRecord], scales: &[f32], data: &[i8]) -> Result<()> {
        let (vpf, dim) = (self.vector_names.len(), self.quantizer.dim());
        if crate::filters::Date::parse(&format!("{period}-01")).is_err() || period.len() != 7 {
            return Err(Error::Usage(format!("period {period:?} is not YYYY-MM")));
        }
        if self.periods.last().is_some_and(|p| p.period.as_str() >= period) {
            return Err(Error::Usage(format!("period {period} comes after {} (months go oldest first, each once)", self.periods[self.periods.len() - 1].period)));
        }
        let rows = records.len() * vpf;
        if scales.len() != rows || data.len() != rows * dim {
            return Err(Error::Usage(format!("period {period}: {} frames × {vpf} vectors need {rows} scales and {} values, got {} and {}", records.len(), rows * dim, scales.len(), data.len())));
        }
        if let Some(r) = records.iter().find(|r| !r.time.starts_with(period)) {
            return Err(Error::Usage(format!("frame {} at {} is not in period {period}", r.id, r.time)));
        }
        let pi = self.periods.len() as u32;
        let (mut period_bytes, mut period_parts) = (0u64, 0usize);
        let mut leaves: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        let mut v = vec![0f32; dim];
        for row in 0..rows {
            let q = &data[row * dim..(row + 1) * dim];
            v.iter_mut().zip(q).for_each(|(x, &qi)| *x = qi as f32 * scales[row]);
            leaves.entry(self.quantizer.assign(&v)).or_default().push(row);
        }
        for ((list, sub), members) in leaves {
            let mut frame_ids: Vec<usize> = members.iter().map(|r| r / vpf).collect();
            frame_ids.dedup();
            let local: BTreeMap<usize, u32> = frame_ids.iter().enumerate().map(|(i, &f)| (f, i as u32)).collect();
            let recs: Vec<FrameRecord> = frame_ids.iter().map(|&f| records[f].clone()).collect();
            let day = |r: &FrameRecord| r.time.get(8..10).and_then(|d| d.parse::<u8>().ok()).unwrap_or(1);
            let (first, last) = (recs.iter().map(day).min().unwrap_or(1), recs.iter().map(day).max().unwrap_or(31));
            if let Some((_, pq)) = &self.codes {
                let seg = areas::write_segment(
                    &SegmentRows {
                        dim,
                        vector_names: &self.vector_names,
                        frames: &members.iter().map(|r| (r / vpf) as u32).collect::<Vec<_>>(),
                        vectors: &members.iter().map(|r| (r % vpf) as u8).collect::<Vec<_>>(),
                        scales: &members.iter().map(|&r| scales[r]).collect::<Vec<_>>(),
                        data: &members.iter().flat_map(|&r| data[r * dim..(r + 1) * dim].iter().copied()).collect::<Vec<_>>(),
                    },
                    recs,
                    frame_ids.iter().map(|&f| f as u32).collect(),
                    pq,
                    &self.quantizer.centre(list, sub),
                )?;
                let sha = sha256_hex(&seg.rows)[..32].to_string();
                // A month's records area right after its rows area: the row blocks of a
                // query's candidates and their records are one range (areas' module header).
                self.store.append(&building_path(list, sub), &seg.rows)?;
                self.store.append(&building_path(list, sub), &seg.records)?;
                let mut counts = vec![0u32; vpf];
                for &r in members.iter().filter(|&&r| scales[r] != 0.0 && data[r * dim..(r + 1) * dim].iter().any(|&x| x != 0)) {
                    counts[r % vpf] += 1;
                }
                let all = (seg.rows.len() + seg.codes.len() + seg.records.len()) as u64;
                let acc = &mut self.lists[list];
                let at = acc.leaf_bytes.entry(sub as u32).or_default();
                let offset = *at;
                *at += (seg.rows.len() + seg.records.len()) as u64;
                let tail = acc.leaf_tail.entry(sub as u32).or_default();
                acc.areas.push((tail.len() as u64, seg.codes.len() as u64, sha256_hex(&seg.codes)[..32].to_string(), offset + seg.rows.len() as u64, seg.records.len() as u64));
                tail.extend_from_slice(&seg.codes);
                acc.table.push((sub as u32, pi, sha, seg.rows.len() as u64, members.len() as u32, first, last, offset));
                acc.vector_rows.push(counts);
                acc.rows += members.len() as u64;
                acc.part_bytes += all;
                period_bytes += all;
                period_parts += 1;
                acc.periods.insert(pi);
                continue;
            }
            let part = Partition::new(
                dim,
                self.vector_names.clone(),
                recs,
                members.iter().map(|r| local[&(r / vpf)]).collect(),
                members.iter().map(|r| (r % vpf) as u8).collect(),
                members.iter().map(|&r| scales[r]).collect(),
                members.iter().flat_map(|&r| data[r * dim..(r + 1) * dim].iter().copied()).collect(),
            )?;
            let bytes = part.to_bytes();
            let sha = sha256_hex(&bytes);
            self.store.append(&building_path(list, sub), &bytes)?;
            let mut counts = vec![0u32; vpf];
            for &r in members.iter().filter(|&&r| scales[r] != 0.0 && data[r * dim..(r + 1) * dim].iter().any(|&x| x != 0)) {
                counts[r % vpf] += 1;
            }
            let acc = &mut self.lists[list];
            let at = acc.leaf_bytes.entry(sub as u32).or_default();
            let offset = *at;
            *at += bytes.len() as u64;
            acc.table.push((sub as u32, pi, sha, bytes.len() as u64, members.len() as u32, first, last, offset));
            acc.vector_rows.push(counts);
            acc.rows += members.len() as u64;
            acc.part_bytes += bytes.len() as u64;
            period_bytes += bytes.len() as u64;
            period_parts += 1;
            acc.periods.insert(pi);
        }
        self.periods.push(PeriodEntry {
            period: period.to_string(),
            frames: records.len(),
            start: records.first().map(|r| r.time.clone()).unwrap_or_default(),
            end: records.last().map(|r| r.time.clone()).unwrap_or_default(),
            parts: period_parts,
            bytes: period_bytes,
            thumbs: records.iter().map(|r| r.thumb.as_str()).filter(|t| !t.is_empty()).collect::<BTreeSet<_>>().len(),
            // Known only when every frame has its key.
            origins: if records.iter().all(|r| !r.origin.is_empty()) { records.iter().map(|r| r.origin.clone()).collect::<BTreeSet<_>>().into_iter().collect() } else { Vec::new() },
            directory: None,
        });
        self.frames += records.len();
        self.rows += rows as u64;
        Ok(())
    }

    /// Writes the list files and returns the manifest's partition index.
    pub fn finish(self, plan: PlanDefaults) -> Result<PartitionIndex> {
        let dim = self.quantizer.dim();
        let vpf = self.vector_names.len();
        let mut lists = Vec::with_capacity(self.lists.len());
        let mut files = Vec::with_capacity(self.lists.len());
        // skypart-3: every leaf's tail, for the leaf directory.
        let mut tails: Vec<Vec<Option<LeafEntry>>> = Vec::with_capacity(self.lists.len());
        for (l, mut acc) in self.lists.into_iter().enumerate() {
            let mut leaves = vec![String::new(); self.quantizer.subs[l].len()];
            // skypart-3: each leaf's tail after its months' rows and records areas: its codes
            // areas, then the directory of its months ([`leaves`]).
            let mut ends: BTreeMap<u32, u64> = BTreeMap::new();
            let mut list_tails: Vec<Option<LeafEntry>> = vec![None; leaves.len()];
            for (&sub, codes) in &acc.leaf_tail {
                let mine = || acc.table.iter().zip(&acc.vector_rows).zip(&acc.areas).filter(move |((t, _), _)| t.0 == sub);
                let months: Vec<(u32, u32, u32)> = mine().map(|((t, _), a)| (t.1, t.4, a.4 as u32)).collect();
                let mut tail = codes.clone();
                tail.extend(leaves::tail_directory(&months));
                self.store.append(&building_path(l, sub as usize), &tail)?;
                let rows = (0..vpf).map(|v| mine().map(|((_, c), _)| c[v]).sum::<u32>().min(255) as u8).collect();
                list_tails[sub as usize] = Some(LeafEntry { name: String::new(), start: acc.leaf_bytes[&sub], bytes: tail.len() as u64, hash: areas::short_hash(&tail), rows });
                ends.insert(sub, acc.leaf_bytes[&sub]);
            }
            for (t, a) in acc.table.iter().zip(acc.areas.iter_mut()) {
                a.0 += ends[&t.0];
            }
            for &sub in acc.leaf_bytes.keys() {
                // skypart-3: the rows and codes areas' hashes (the records' are inside both).
                let shas: Vec<String> = acc.table.iter().zip(acc.areas.iter().map(Some).chain(std::iter::repeat(None))).filter(|(t, _)| t.0 == sub).map(|(t, a)| format!("{}{}", t.2, a.map_or("", |a| a.2.as_str()))).collect();
                let shas: Vec<&str> = shas.iter().map(String::as_str).collect();
                let name = leaf_name(&shas);
                self.store.rename(&building_path(l, sub as usize), &part_path(l, sub as usize, &name))?;
                if let Some(t) = &mut list_tails[sub as usize] {
                    t.name = name.clone();
                }
                leaves[sub as usize] = name;
            }
            tails.push(list_tails);
            let file = ListFile {
                list: l,
                centroids: Centroids::from_f32(&self.quantizer.subs[l], dim).to_hex(),
                sub: acc.table.iter().map(|t| t.0).collect(),
                period: acc.table.iter().map(|t| t.1).collect(),
                leaves,
                offset: acc.table.iter().map(|t| t.7).collect(),
                sha256: acc.table.iter().map(|t| t.2.as_str()).collect(),
                bytes: acc.table.iter().map(|t| t.3).collect(),
                rows: acc.table.iter().map(|t| t.4).collect(),
                first: acc.table.iter().map(|t| t.5).collect(),
                last: acc.table.iter().map(|t| t.6).collect(),
                vector_rows: acc.vector_rows.iter().flatten().copied().collect(),
                codes_at: acc.areas.iter().map(|a| a.0).collect(),
                codes_bytes: acc.areas.iter().map(|a| a.1).collect(),
                codes_sha: acc.areas.iter().map(|a| a.2.as_str()).collect(),
                recs_at: acc.areas.iter().map(|a| a.3).collect(),
                recs_bytes: acc.areas.iter().map(|a| a.4).collect(),
                decoded: Default::default(),
            };
            let bytes = serde_json::to_vec(&file).map_err(|e| Error::Usage(format!("list {l}: {e}")))?;
            let sha = sha256_hex(&bytes);
            let path = list_path(l, &sha);
            self.store.write(&path, &bytes)?;
            files.push(file);
            let vector_rows = (0..self.vector_names.len()).map(|v| acc.vector_rows.iter().map(|c| u64::from(c[v])).sum()).collect();
            lists.push(ListEntry { path, sha256: sha, bytes: bytes.len() as u64, rows: acc.rows, part_bytes: acc.part_bytes, periods: acc.periods.into_iter().collect(), vector_rows });
        }
        let subs = self.quantizer.subs.iter().map(Vec::len).max().unwrap_or(0);
        let leaf_file = match &self.codes {
            Some(_) => {
                let bytes = leaves::directory_of(dim, subs, &self.quantizer.subs, tails, vpf)?.to_bytes();
                let sha256 = sha256_hex(&bytes);
                let path = leaves::leaves_path(&sha256);
                self.store.write(&path, &bytes)?;
                Some(crate::bundle::FileEntry { path, role: leaves::LEAVES_ROLE.into(), sha256, bytes: bytes.len() as u64 })
            }
            None => None,
        };
        let mut index = PartitionIndex {
            format: if self.codes.is_some() { areas::FORMAT } else { PARTITION_FORMAT }.into(),
            dim,
            vector_names: self.vector_names,
            frames: self.frames,
            rows: self.rows,
            periods: self.periods,
            subs,
            centroids: Centroids::from_f32(&self.quantizer.lists, dim).to_hex(),
            lists,
            nprobe: plan.nprobe,
            list_probe: plan.list_probe,
            exact_below: plan.exact_below,
            probe_margin: plan.probe_margin,
            probe_max: plan.probe_max,
            codes: self.codes.map(|c| c.0),
            budget: plan.budget,
            widen_max: plan.widen_max,
            leaves: leaf_file,
            leaf_dir: Default::default(),
            decoded: Default::default(),
            kept: Default::default(),
        };
        // skypart-3 planning lean: each month's directory ([`super::months`]).
        if index.leaves.is_some() && index.plans_lean() {
            for (p, period) in index.periods.iter_mut().enumerate() {
                let dir = MonthDir::of(&files, p as u32);
                let bytes = serde_json::to_vec(&dir).map_err(|e| Error::Usage(format!("month {}: {e}", period.period)))?;
                let sha256 = sha256_hex(&bytes);
                let path = months::month_path(&period.period, &sha256);
                self.store.write(&path, &bytes)?;
                period.directory = Some(crate::bundle::FileEntry { path, role: months::MONTHS_ROLE.into(), sha256, bytes: bytes.len() as u64 });
            }
        }
        Ok(index)
    }
}
