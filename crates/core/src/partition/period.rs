//! What "make this period available offline" saves of a partitioned index (issue 11), so
//! that a query within the period answers from the browser's cache alone, and its size from
//! the manifest before anything is fetched.
//!
//! A `skypart-2` period is its partitions: segments of leaf files, each cached under its key
//! (`PartRef::key`). A `skypart-3` period is whatever the rounds of a query within it may
//! read ([`super::areas::Rounds`]), each piece cached under the key the rounds ask for:
//! - the **rows** and **records** areas of its partitions: all an exact scan reads, and every
//!   query of an index of at most `exact_below` bytes is one (the demo);
//! - in a larger index a query plans lean, so also the **codes** areas (the leaves it reads as
//!   codes) and every **row block** of the rows areas (the code candidates it re-ranks are
//!   read as 16-row blocks, asked for by their own keys, which a saved rows area does not
//!   answer). The blocks repeat the rows areas' bytes: such a period costs its rows twice.
//!
//! Sizes from the manifest: a month records its partitions and their bytes (all three areas
//! in `skypart-3`); its rows are its frames × vectors a frame, so its rows areas and blocks
//! follow exactly, and its codes areas to within 15 bytes a partition (the block hashes'
//! rounding), so the estimate is an upper bound that is exact for a lean index.

use std::collections::HashMap;

use super::areas::{row_bytes, BLOCK_ROWS, SHORT};
use super::{ListFile, PartRef, PartitionIndex};
use crate::error::{Error, Result};
use crate::filters::Filters;

/// The pieces of a period to save, each a byte range of a leaf file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeriodParts {
    /// `skypart-2`: its partitions; `skypart-3`: their rows areas. Hashes from the list file.
    pub rows: Vec<PartRef>,
    /// `skypart-3` planning lean: the codes area of each partition of `rows` (same order;
    /// hash from the list file); else empty.
    pub codes: Vec<PartRef>,
    /// `skypart-3`: the records area of each partition of `rows` (same order), its hash
    /// empty: the rows area holds it ([`records_ref`]); else empty.
    pub records: Vec<PartRef>,
    /// `skypart-3` planning lean: each rows area's row blocks are saved too ([`row_blocks`]).
    pub blocks: bool,
}

impl PartitionIndex {
    /// Whether a query may plan lean: a `skypart-3` index larger than `exact_below`, whose
    /// queries read codes areas and row blocks (a smaller one is always scanned exactly).
    pub fn plans_lean(&self) -> bool {
        self.codes.is_some() && self.lists.iter().map(|l| l.part_bytes).sum::<u64>() > self.exact_below
    }

    /// What a period needs offline ([`PeriodParts`]): every partition of `lists` whose month
    /// and days the date filters allow, as [`parts_in`](Self::parts_in) names them.
    pub fn period_parts(&self, filters: &Filters, lists: &[&ListFile]) -> Result<PeriodParts> {
        let rows = self.parts_in(filters, lists)?;
        if self.codes.is_none() {
            return Ok(PeriodParts { rows, ..PeriodParts::default() });
        }
        let lean = self.plans_lean();
        let mut at: HashMap<(usize, usize, usize), (&ListFile, usize)> = HashMap::new();
        for lf in lists {
            let n = lf.sub.len();
            if [lf.codes_at.len(), lf.codes_bytes.len(), lf.recs_at.len(), lf.recs_bytes.len()].iter().any(|&c| c != n) || lf.codes_sha.len() != n * 32 {
                return Err(Error::format(&self.lists[lf.list].path, "skypart-3 area columns differ in length"));
            }
            for i in 0..n {
                at.insert((lf.list, lf.sub[i] as usize, lf.period[i] as usize), (lf, i));
            }
        }
        let (mut codes, mut records) = (Vec::new(), Vec::with_capacity(rows.len()));
        for p in &rows {
            let &(lf, i) = at.get(&(p.list, p.sub, p.period)).ok_or_else(|| Error::format(&self.lists[p.list].path, format!("no partition of sub-centroid {} in period {}", p.sub, p.period)))?;
            if lean {
                codes.push(PartRef { offset: lf.codes_at[i], bytes: lf.codes_bytes[i], sha256: lf.codes_sha[i * 32..(i + 1) * 32].to_string(), ..p.clone() });
            }
            records.push(PartRef { offset: lf.recs_at[i], bytes: lf.recs_bytes[i], sha256: String::new(), ..p.clone() });
        }
        Ok(PeriodParts { rows, codes, records, blocks: lean })
    }

    /// Files and bytes of the pieces of months `periods` ([`PeriodParts`], without list files
    /// and thumbnails), from the manifest alone: exact, except a `skypart-3` index scanned
    /// exactly, whose codes areas (not saved) are taken off at their least (at most 15 bytes
    /// a partition too many); a bound on the files where row blocks are counted. `None`
    /// when a month does not record its partitions' size (indexes written before it was).
    pub fn period_size(&self, periods: &[usize]) -> Option<(usize, u64)> {
        let months: Vec<_> = periods.iter().filter_map(|&p| self.periods.get(p)).collect();
        if months.len() != periods.len() || months.iter().any(|m| m.bytes == 0) {
            return None;
        }
        let Some(codes) = &self.codes else {
            return Some((months.iter().map(|m| m.parts).sum(), months.iter().map(|m| m.bytes).sum()));
        };
        let (lean, rb) = (self.plans_lean(), row_bytes(self.dim) as u64);
        let (mut files, mut bytes) = (0usize, 0u64);
        for m in months {
            // Every vector of every frame is a row of some partition of the month.
            let (parts, rows) = (m.parts as u64, (m.frames * self.vector_names.len()) as u64);
            if lean {
                // Blocks: Σ ⌈rows_i / 16⌉ ≤ rows / 16 + parts; their bytes are the rows'.
                files += (3 * parts + (rows.div_ceil(BLOCK_ROWS as u64) + parts).min(rows)) as usize;
                bytes += m.bytes + rows * rb;
            } else {
                // A codes area: 16 + 16 · ⌈rows_i / 16⌉ + rows_i · (m + 1) ≥ 16 + rows_i · (m + 2).
                files += 2 * m.parts;
                bytes += m.bytes.saturating_sub(SHORT as u64 * parts + rows * (codes.m as u64 + 2));
            }
        }
        Some((files, bytes))
    }
}

/// The records area `recs` (from [`PeriodParts::records`]) with its hash, which the first
/// [`SHORT`] bytes of its partition's verified rows (or codes) area give; `None` if `area`
/// is shorter than that.
pub fn records_ref(recs: &PartRef, area: &[u8]) -> Option<PartRef> {
    Some(PartRef { sha256: hex::encode(area.get(..SHORT)?), ..recs.clone() })
}

/// The row blocks of rows area `rows` as a lean query's third round reads them (the same
/// byte ranges, so the same keys): 16 rows each, the last one shorter. Their hashes come
/// from the partition's codes area when given (its block hashes; checked for size), else
/// are left empty.
pub fn row_blocks(rows: &PartRef, dim: usize, codes_area: Option<&[u8]>) -> Result<Vec<PartRef>> {
    let (rb, n) = (row_bytes(dim) as u64, rows.rows as usize);
    let blocks = n.div_ceil(BLOCK_ROWS);
    if let Some(c) = codes_area.filter(|c| c.len() < SHORT * (1 + blocks)) {
        return Err(Error::format(&rows.key(), format!("a codes area of {} bytes holds no {blocks} block hashes", c.len())));
    }
    Ok((0..blocks)
        .map(|b| {
            let sha256 = codes_area.map(|c| hex::encode(&c[SHORT * (1 + b)..SHORT * (2 + b)])).unwrap_or_default();
            let count = (n - b * BLOCK_ROWS).min(BLOCK_ROWS) as u64;
            PartRef { offset: rows.offset + SHORT as u64 + (b * BLOCK_ROWS) as u64 * rb, bytes: count * rb, sha256, ..rows.clone() }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::super::areas::Rounds;
    use super::super::build::{IndexWriter, Lcg, PlanDefaults, Quantizer};
    use super::super::{ListFile, PartRef, PartitionIndex};
    use super::*;
    use crate::rank::QueryVector;
    use crate::shard::{FrameRecord, Shard};

    const DIM: usize = 16;
    const VPF: usize = 3;

    /// Three months (2017-10..12) of 48 frames, 3 vectors each, around 6 directions.
    fn months() -> Vec<Shard> {
        let mut rng = Lcg::new(5);
        let unit = |rng: &mut Lcg, around: Option<&[f32]>| {
            let mut v: Vec<f32> = (0..DIM).map(|j| around.map_or(0.0, |a| a[j]) + if around.is_some() { 0.3 / (DIM as f32).sqrt() } else { 1.0 } * rng.normal()).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= n);
            v
        };
        let seeds: Vec<Vec<f32>> = (0..6).map(|_| unit(&mut rng, None)).collect();
        ["2017-10", "2017-11", "2017-12"]
            .iter()
            .map(|period| {
                let records: Vec<FrameRecord> = (0..48)
                    .map(|i| FrameRecord { id: format!("{period}-{i:02}"), time: format!("{period}-{:02}T{:02}:00Z", 1 + i / 2, (i % 2) * 12), caption: String::new(), thumb: format!("thumbs/{}.png", i % 5), source: "test".into(), origin: String::new() })
                    .collect();
                let rows: Vec<Vec<f32>> = (0..48 * VPF).map(|_| { let s = seeds[rng.below(6)].clone(); unit(&mut rng, Some(&s)) }).collect();
                Shard::from_f32(*period, (0..VPF).map(|j| format!("v{j}")).collect(), records, DIM, &rows, crate::shard::VectorKind::Int8).unwrap()
            })
            .collect()
    }

    /// The index in `skypart-3` (`int8_leaves`: 1, so lean plans read codes and blocks) or
    /// `skypart-2`, with `exact_below`.
    fn build(shards: &[Shard], three: bool, exact_below: u64) -> (PartitionIndex, HashMap<String, Vec<u8>>) {
        let sample: Vec<Vec<f32>> = shards.iter().flat_map(|s| (0..s.len() * VPF).map(move |r| s.row_f32(r))).collect();
        let q = Quantizer::train(&sample, 3, 4, 8, 1).unwrap();
        let mut files: HashMap<String, Vec<u8>> = HashMap::new();
        let mut w = if three {
            let pq = q.train_codes(&sample, 4, 8, 2).unwrap();
            IndexWriter::with_codes(q, shards[0].vector_names().to_vec(), &mut files, &pq, 1, 30).unwrap()
        } else {
            IndexWriter::new(q, shards[0].vector_names().to_vec(), &mut files).unwrap()
        };
        for s in shards {
            let crate::shard::Vectors::Int8 { scales, data } = s.vectors() else { panic!("int8") };
            w.add_period(s.period(), s.records(), scales, data).unwrap();
        }
        let index = w.finish(PlanDefaults { nprobe: 3, list_probe: 2, exact_below, probe_margin: 0.0, probe_max: 3, budget: None, widen_max: None }).unwrap();
        (index, files)
    }

    fn lists(index: &PartitionIndex, files: &HashMap<String, Vec<u8>>, filters: &Filters) -> Vec<ListFile> {
        index.lists_in(filters).iter().map(|&l| ListFile::from_json(&files[&index.lists[l].path], "l").unwrap()).collect()
    }

    /// Reads `p` from the leaf files, checked.
    fn read(files: &HashMap<String, Vec<u8>>, p: &PartRef) -> Vec<u8> {
        let b = p.slice(&files[&p.path], 0).unwrap().to_vec();
        p.verify(&b).unwrap();
        b
    }

    /// What saving a period stores, as the worker does: every piece checked, records by the
    /// hash their rows area gives, blocks by their codes area's hashes; by key.
    fn save(index: &PartitionIndex, files: &HashMap<String, Vec<u8>>, filters: &Filters) -> HashMap<String, Vec<u8>> {
        let lists = lists(index, files, filters);
        let period = index.period_parts(filters, &lists.iter().collect::<Vec<_>>()).unwrap();
        let mut saved = HashMap::new();
        for (i, rows) in period.rows.iter().enumerate() {
            let area = read(files, rows);
            if let Some(recs) = period.records.get(i) {
                let recs = records_ref(recs, &area).unwrap();
                saved.insert(recs.key(), read(files, &recs));
            }
            if period.blocks {
                let codes = read(files, &period.codes[i]);
                for b in row_blocks(rows, index.dim, Some(&codes)).unwrap() {
                    saved.insert(b.key(), read(files, &b));
                }
                saved.insert(period.codes[i].key(), codes);
            }
            saved.insert(rows.key(), area);
        }
        saved
    }

    /// A query's rounds answered from `saved` alone (each piece asked for by its key, as the
    /// worker's cache is); panics naming a piece that is not there. Returns the answer's ids.
    fn offline_query(index: &PartitionIndex, saved: &HashMap<String, Vec<u8>>, files: &HashMap<String, Vec<u8>>, q: &QueryVector, filters: &Filters) -> (Vec<String>, bool) {
        let lists: Vec<ListFile> = index.plan_lists(q, filters, &[], None).unwrap().iter().map(|&l| ListFile::from_json(&files[&index.lists[l].path], "l").unwrap()).collect();
        let refs: Vec<&ListFile> = lists.iter().collect();
        let parts = index.plan_parts(q, filters, &[], &refs, None).unwrap();
        let mut rounds = Rounds::new(index, q, filters, &[], &refs, parts).unwrap();
        let mut lean = false;
        let get = |refs: &[PartRef]| -> Vec<Option<Vec<u8>>> {
            refs.iter()
                .map(|r| {
                    let b = saved.get(&r.key()).unwrap_or_else(|| panic!("{} is not saved", r.key())).clone();
                    super::super::areas::verify_piece(r, &b).unwrap();
                    Some(b)
                })
                .collect()
        };
        let areas = rounds.leaf_areas();
        let got = get(&areas);
        // Round 3 of an exact plan reads the records areas only; a lean one, row blocks.
        lean |= !rounds.exact_scan();
        let blocks = rounds.take_leaf_areas(q, 10, got).unwrap();
        let got = get(&blocks);
        let recs = rounds.take_blocks(q, 10, &blocks, got).unwrap();
        let got = get(&recs);
        let parts = rounds.finish(&recs, got).unwrap();
        let parts: Vec<&super::super::Partition> = parts.iter().map(|(_, p)| p).collect();
        let hits = super::super::rank_parts(&parts, q, 10, filters, &[]).unwrap();
        (hits.iter().map(|h| parts[h.shard].records()[h.frame].id.clone()).collect(), lean)
    }

    #[test]
    fn a_lean_skypart3_period_answers_from_its_saved_pieces_alone_as_from_the_files() {
        let shards = months();
        let (index, files) = build(&shards, true, 0);
        assert!(index.plans_lean());
        let period = Filters { from: Some("2017-11-01".into()), to: Some("2017-11-30".into()), ..Default::default() };
        let saved = save(&index, &files, &period);
        // Nothing of the other months.
        let lf = lists(&index, &files, &period);
        let nov = index.periods.iter().position(|p| p.period == "2017-11").unwrap();
        let (mut n_parts, mut rows) = (0, 0);
        for l in &lf {
            for (i, &p) in l.period.iter().enumerate() {
                if p as usize == nov {
                    n_parts += 1;
                    rows += l.rows[i] as usize;
                }
            }
        }
        let blocks = saved.len() - 3 * n_parts;
        assert!(blocks >= rows.div_ceil(BLOCK_ROWS) && blocks <= rows.div_ceil(BLOCK_ROWS) + n_parts, "{blocks} blocks for {rows} rows in {n_parts} partitions");
        // The manifest's size is exact for a lean index, its file count a bound.
        let (est_files, est_bytes) = index.period_size(&[nov]).unwrap();
        assert_eq!(est_bytes, saved.values().map(|b| b.len() as u64).sum::<u64>());
        assert!(est_files >= saved.len(), "{est_files} < {}", saved.len());
        let mut lean = 0;
        for probe in 0..12 {
            let q = QueryVector::new(&shards[1].row_f32(probe * 11)).unwrap();
            // The period, and a day range inside it (records needed: the exact scan of the plan).
            for filters in [period.clone(), Filters { from: Some("2017-11-03".into()), to: Some("2017-11-20".into()), ..Default::default() }] {
                let (ids, l) = offline_query(&index, &saved, &files, &q, &filters);
                lean += l as usize;
                let mut log = Vec::new();
                let mut reader = |path: &str, range: Option<(u64, u64)>| -> crate::Result<Vec<u8>> {
                    log.push(path.to_string());
                    let b = &files[path];
                    Ok(range.map_or_else(|| b.clone(), |(a, e)| b[a as usize..e as usize].to_vec()))
                };
                let online = index.fetch_plan3(&q, &filters, &[], None, 10, &mut reader).unwrap();
                let parts: Vec<&super::super::Partition> = online.parts.iter().map(|(_, p)| p).collect();
                let want: Vec<String> = super::super::rank_parts(&parts, &q, 10, &filters, &[]).unwrap().iter().map(|h| parts[h.shard].records()[h.frame].id.clone()).collect();
                assert_eq!(ids, want, "query {probe}, {filters:?}");
                assert!(!ids.is_empty() && ids.iter().all(|id| id.starts_with("2017-11")));
            }
        }
        assert!(lean > 0, "some plans read codes and row blocks");
    }

    #[test]
    fn an_exact_skypart3_period_is_its_rows_and_records_and_answers_from_them() {
        let shards = months();
        let (index, files) = build(&shards, true, u64::MAX);
        assert!(!index.plans_lean());
        let period = Filters { from: Some("2017-10-05".into()), to: Some("2017-12-31".into()), ..Default::default() };
        let lf = lists(&index, &files, &period);
        let pp = index.period_parts(&period, &lf.iter().collect::<Vec<_>>()).unwrap();
        assert!(pp.codes.is_empty() && !pp.blocks && pp.records.len() == pp.rows.len());
        let saved = save(&index, &files, &period);
        assert_eq!(saved.len(), 2 * pp.rows.len());
        for probe in 0..6 {
            let q = QueryVector::new(&shards[probe % 3].row_f32(probe * 5)).unwrap();
            let (ids, lean) = offline_query(&index, &saved, &files, &q, &period);
            assert!(!lean && !ids.is_empty());
        }
        // All three months: the bound is above the saved bytes by less than 16 a partition.
        let (files_est, bytes) = index.period_size(&[0, 1, 2]).unwrap();
        let all = save(&index, &files, &Filters::default());
        let (real, n) = (all.values().map(|b| b.len() as u64).sum::<u64>(), all.len() / 2);
        assert_eq!(files_est, all.len());
        assert!(bytes >= real && bytes < real + 16 * n as u64, "{bytes} vs {real} in {n} partitions");
    }

    #[test]
    fn a_skypart2_period_is_its_partitions_and_the_manifest_sizes_it_exactly() {
        let shards = months();
        let (index, files) = build(&shards, false, 0);
        assert!(!index.plans_lean());
        let period = Filters { from: Some("2017-12-01".into()), to: Some("2017-12-31".into()), ..Default::default() };
        let lf = lists(&index, &files, &period);
        let refs: Vec<&ListFile> = lf.iter().collect();
        let pp = index.period_parts(&period, &refs).unwrap();
        assert_eq!(pp, PeriodParts { rows: index.parts_in(&period, &refs).unwrap(), ..PeriodParts::default() });
        let dec = index.periods_in(&period);
        assert_eq!(index.period_size(&dec), Some((pp.rows.len(), pp.rows.iter().map(|p| p.bytes).sum())));
    }

    #[test]
    fn row_blocks_verify_by_their_codes_area_and_a_short_codes_area_is_refused() {
        let shards = months();
        let (index, files) = build(&shards, true, 0);
        let lf = lists(&index, &files, &Filters::default());
        let pp = index.period_parts(&Filters::default(), &lf.iter().collect::<Vec<_>>()).unwrap();
        let mut keys = HashSet::new();
        for (rows, codes) in pp.rows.iter().zip(&pp.codes) {
            let area = read(&files, codes);
            let blocks = row_blocks(rows, index.dim, Some(&area)).unwrap();
            assert_eq!(blocks.iter().map(|b| b.bytes).sum::<u64>(), rows.bytes - SHORT as u64);
            for b in &blocks {
                read(&files, b);
                assert!(keys.insert(b.key()));
            }
            assert!(row_blocks(rows, index.dim, Some(&area[..SHORT])).is_err());
        }
    }
}
