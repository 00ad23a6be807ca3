//! Partition files, the plan and exact ranking inside partitions, on a small synthetic index
//! of three months.

use std::collections::HashMap;

use super::build::{IndexWriter, Lcg, PlanDefaults, Quantizer};
use super::*;
use crate::bundle::{sha256_hex, FileEntry};
use crate::rank::rank_bound;
use crate::shard::{quantize_i8, Shard};

const DIM: usize = 16;
const VPF: usize = 3;

fn unit(rng: &mut Lcg) -> Vec<f32> {
    let mut v: Vec<f32> = (0..DIM).map(|_| rng.normal()).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// Three months (2017-10..12) of 40 frames, 3 vectors each, clustered around 6 directions.
fn months() -> Vec<Shard> {
    let mut rng = Lcg::new(3);
    let seeds: Vec<Vec<f32>> = (0..6).map(|_| unit(&mut rng)).collect();
    ["2017-10", "2017-11", "2017-12"]
        .iter()
        .map(|period| {
            let records: Vec<FrameRecord> = (0..40)
                .map(|i| FrameRecord {
                    id: format!("{period}-{i:02}"),
                    time: format!("{period}-{:02}T{:02}:00Z", 1 + i / 2, (i % 2) * 12),
                    caption: String::new(),
                    thumb: String::new(),
                    source: "test".into(),
                    origin: String::new(),
                })
                .collect();
            let rows: Vec<Vec<f32>> = (0..40 * VPF)
                .map(|_| {
                    let s = &seeds[rng.below(6)];
                    let mut v: Vec<f32> = s.iter().map(|x| x + 0.3 * rng.normal() / (DIM as f32).sqrt()).collect();
                    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    v.iter_mut().for_each(|x| *x /= n);
                    v
                })
                .collect();
            Shard::from_f32(*period, (0..VPF).map(|j| format!("v{j}")).collect(), records, DIM, &rows, crate::shard::VectorKind::Int8).unwrap()
        })
        .collect()
}

/// Writes the index into a map of files.
fn build(shards: &[Shard], plan: PlanDefaults) -> (PartitionIndex, HashMap<String, Vec<u8>>) {
    let sample: Vec<Vec<f32>> = shards.iter().flat_map(|s| (0..s.len() * VPF).map(move |r| s.row_f32(r))).collect();
    let q = Quantizer::train(&sample, 3, 4, 8, 1).unwrap();
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    let mut w = IndexWriter::new(q, shards[0].vector_names().to_vec(), &mut files).unwrap();
    for s in shards {
        let crate::shard::Vectors::Int8 { scales, data } = s.vectors() else { panic!("int8") };
        w.add_period(s.period(), s.records(), scales, data).unwrap();
    }
    let index = w.finish(plan).unwrap();
    (index, files)
}

/// Reads a whole file (`at` None) or the `e.bytes` bytes at `at`, verified.
fn getter(files: &HashMap<String, Vec<u8>>) -> impl FnMut(&FileEntry, Option<u64>) -> crate::Result<Vec<u8>> + '_ {
    move |e: &FileEntry, at: Option<u64>| {
        let b = files.get(&e.path).ok_or_else(|| crate::Error::Usage(format!("{}: missing", e.path)))?;
        let b = match at {
            None => b.clone(),
            Some(at) => b.get(at as usize..(at + e.bytes) as usize).ok_or_else(|| crate::Error::Usage(format!("{}: short", e.path)))?.to_vec(),
        };
        e.verify(&b)?;
        Ok(b)
    }
}

/// Every partition of the index (all list files read), in list file order.
fn all_parts(index: &PartitionIndex, files: &HashMap<String, Vec<u8>>) -> Vec<PartRef> {
    let lists: Vec<ListFile> = index.lists.iter().map(|l| ListFile::from_json(&files[&l.path], &l.path).unwrap()).collect();
    index.parts_in(&Filters::default(), &lists.iter().collect::<Vec<_>>()).unwrap()
}

/// The bytes of a partition, from its leaf file.
fn part_bytes<'a>(files: &'a HashMap<String, Vec<u8>>, p: &PartRef) -> &'a [u8] {
    p.slice(&files[&p.path], 0).unwrap()
}

fn exact_ids(shards: &[Shard], q: &QueryVector, k: usize, filters: &Filters) -> Vec<(String, f32)> {
    let refs: Vec<&Shard> = shards.iter().collect();
    let hits = rank_bound(&refs, q, k, |s, f| filters.keeps(&refs[s].records()[f]), |_| Vec::new()).unwrap();
    hits.iter().map(|h| (refs[h.shard].records()[h.frame].id.clone(), h.score)).collect()
}

fn part_ids(index: &PartitionIndex, files: &HashMap<String, Vec<u8>>, q: &QueryVector, k: usize, filters: &Filters, nprobe: Option<usize>) -> (Vec<(String, f32)>, Vec<PartRef>) {
    let fetched = index.fetch_plan(q, filters, &[], nprobe, &mut getter(files)).unwrap();
    let parts: Vec<&Partition> = fetched.iter().map(|(_, p)| p).collect();
    let hits = rank_parts(&parts, q, k, filters, &[]).unwrap();
    (hits.iter().map(|h| (parts[h.shard].records()[h.frame].id.clone(), h.score)).collect(), fetched.into_iter().map(|(r, _)| r).collect())
}

const EXACT: PlanDefaults = PlanDefaults { nprobe: 2, list_probe: 1, exact_below: u64::MAX, probe_margin: 0.0, probe_max: 2, budget: None, widen_max: None };
const PROBE: PlanDefaults = PlanDefaults { nprobe: 2, list_probe: 1, exact_below: 0, probe_margin: 0.0, probe_max: 2, budget: None, widen_max: None };

#[test]
fn partition_files_round_trip_and_refuse_damage() {
    let (index, files) = build(&months(), EXACT);
    let parts = all_parts(&index, &files);
    let bytes = part_bytes(&files, &parts[0]);
    assert_eq!(sha256_hex(bytes), parts[0].sha256, "each segment carries its own hash");
    let part = Partition::from_bytes(bytes, &parts[0].key()).unwrap();
    assert_eq!(part.to_bytes(), *bytes);
    let err = Partition::from_bytes(&bytes[..bytes.len() - 1], "p.skyleaf").unwrap_err().to_string();
    assert!(err.starts_with("p.skyleaf: expected"), "{err}");
    assert!(Partition::from_bytes(b"SKYSHARD and more bytes to pass the header", "x").unwrap_err().to_string().contains("wrong magic"));
    // Every row of every month lands in exactly one partition.
    let rows: usize = parts.iter().map(|p| Partition::from_bytes(part_bytes(&files, p), &p.key()).unwrap().rows()).sum();
    assert_eq!((rows as u64, index.rows, index.frames), (3 * 40 * VPF as u64, 3 * 40 * VPF as u64, 120));
    // The manifest's form reads back and checks.
    let json = serde_json::to_string(&index).unwrap();
    let back: PartitionIndex = serde_json::from_str(&json).unwrap();
    back.check().unwrap();
    assert_eq!(back, index);
}

#[test]
fn fetching_everything_ranks_exactly_like_the_shard_scan() {
    let shards = months();
    let (index, files) = build(&shards, EXACT);
    let mut rng = Lcg::new(9);
    for _ in 0..10 {
        let q = QueryVector::new(&unit(&mut rng)).unwrap();
        for filters in [Filters::default(), Filters { months: vec![11], ..Default::default() }] {
            let (got, _) = part_ids(&index, &files, &q, 15, &filters, None);
            let want = exact_ids(&shards, &q, 15, &filters);
            // Bit-identical scores; ids equal up to the order of exact ties.
            assert_eq!(got.iter().map(|x| x.1.to_bits()).collect::<Vec<_>>(), want.iter().map(|x| x.1.to_bits()).collect::<Vec<_>>());
            let (mut g, mut w): (Vec<_>, Vec<_>) = (got.iter().map(|x| x.0.clone()).collect(), want.iter().map(|x| x.0.clone()).collect());
            g.sort();
            w.sort();
            assert_eq!(g, w);
        }
    }
}

#[test]
fn a_zero_vector_is_never_a_match_in_partitions_as_in_the_shard_scan() {
    // Frames 0..10 of each month cover only their first region (the others are zero rows, as
    // for a storm-centred crop); a query bound to another region must not return them at 0.
    let shards: Vec<Shard> = months()
        .into_iter()
        .map(|s| {
            let rows: Vec<Vec<f32>> = (0..s.len() * VPF).map(|r| if r / VPF < 10 && r % VPF > 0 { vec![0.0; DIM] } else { s.row_f32(r) }).collect();
            Shard::from_f32(s.period(), s.vector_names().to_vec(), s.records().to_vec(), DIM, &rows, crate::shard::VectorKind::Int8).unwrap()
        })
        .collect();
    let (index, files) = build(&shards, EXACT);
    let mut rng = Lcg::new(5);
    for _ in 0..5 {
        let mut v = unit(&mut rng);
        v.iter_mut().for_each(|x| *x = -*x);
        let q = QueryVector::new(&v).unwrap();
        let fetched = index.fetch_plan(&q, &Filters::default(), &[], None, &mut getter(&files)).unwrap();
        let parts: Vec<&Partition> = fetched.iter().map(|(_, p)| p).collect();
        let got = rank_parts(&parts, &q, 120, &Filters::default(), &[1]).unwrap();
        let refs: Vec<&Shard> = shards.iter().collect();
        let want = rank_bound(&refs, &q, 120, |_, _| true, |_| vec![1]).unwrap();
        assert_eq!((got.len(), want.len()), (90, 90), "the 30 frames without a vector for region 1 are no hits");
        let uncovered = |id: &str| id.rsplit('-').next().and_then(|i| i.parse::<usize>().ok()).is_some_and(|i| i < 10);
        assert!(got.iter().all(|h| !uncovered(&parts[h.shard].records()[h.frame].id)));
    }
}

/// Three months of 40 frames whose vector 2 lies around one direction of its own and
/// vectors 0 and 1 around five others, so a quantizer puts vector 2 in leaves of its own.
fn months_with_a_separate_region() -> (Vec<Shard>, Vec<Vec<f32>>) {
    let mut rng = Lcg::new(11);
    let seeds: Vec<Vec<f32>> = (0..6).map(|_| unit(&mut rng)).collect();
    let shards = months()
        .into_iter()
        .map(|s| {
            let rows: Vec<Vec<f32>> = (0..s.len() * VPF)
                .map(|r| {
                    let seed = if r % VPF == 2 { &seeds[5] } else { &seeds[rng.below(5)] };
                    let mut v: Vec<f32> = seed.iter().map(|x| x + 0.3 * rng.normal() / (DIM as f32).sqrt()).collect();
                    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    v.iter_mut().for_each(|x| *x /= n);
                    v
                })
                .collect();
            Shard::from_f32(s.period(), s.vector_names().to_vec(), s.records().to_vec(), DIM, &rows, crate::shard::VectorKind::Int8).unwrap()
        })
        .collect();
    (shards, seeds)
}

#[test]
fn a_plan_bound_to_a_region_fetches_leaves_holding_that_regions_rows() {
    // A query near the other vectors' directions, bound to vector 2 (as "typhoon approaching
    // Kyushu" is to Kyushu): the leaves nearest the query hold no row of vector 2, so an
    // unbound plan answers nothing; the bound plan answers with vector 2's best rows.
    let (shards, seeds) = months_with_a_separate_region();
    let (index, files) = build(&shards, PROBE);
    let refs: Vec<&Shard> = shards.iter().collect();
    let mut empty_before = 0;
    for seed in &seeds[..5] {
        let q = QueryVector::new(seed).unwrap();
        let unbound = index.fetch_plan(&q, &Filters::default(), &[], None, &mut getter(&files)).unwrap();
        let parts: Vec<&Partition> = unbound.iter().map(|(_, p)| p).collect();
        empty_before += rank_parts(&parts, &q, 20, &Filters::default(), &[2]).unwrap().is_empty() as usize;

        let bound = index.fetch_plan(&q, &Filters::default(), &[2], None, &mut getter(&files)).unwrap();
        let parts: Vec<&Partition> = bound.iter().map(|(_, p)| p).collect();
        let got = rank_parts(&parts, &q, 20, &Filters::default(), &[2]).unwrap();
        assert_eq!(got.len(), 20, "a bound plan finds the region's rows");
        assert!(got.iter().all(|h| h.vector == 2));
        // Only partitions holding vector 2, and at least BOUND_ROWS of its rows.
        let held: usize = parts.iter().map(|p| (0..p.rows()).filter(|&r| p.row_ref(r).1 == 2).count()).sum();
        assert!(parts.iter().all(|p| (0..p.rows()).any(|r| p.row_ref(r).1 == 2)));
        assert!(held as u64 >= BOUND_ROWS, "{held} rows of vector 2 fetched");
        // What it found are the exact scan's best for vector 2, up to the rows not fetched.
        let want = rank_bound(&refs, &q, 20, |_, _| true, |_| vec![2]).unwrap();
        let ids = |hits: Vec<String>| hits.into_iter().collect::<std::collections::BTreeSet<_>>();
        let got_ids = ids(got.iter().map(|h| parts[h.shard].records()[h.frame].id.clone()).collect());
        let want_ids = ids(want.iter().map(|h| refs[h.shard].records()[h.frame].id.clone()).collect());
        assert!(got_ids.intersection(&want_ids).count() >= 10, "{got_ids:?} vs {want_ids:?}");
    }
    assert!(empty_before > 0, "the unbound plan misses vector 2 for some query (else this tests nothing)");
    // List files written before the counts (no vector_rows): every partition counts as
    // holding every vector (all its rows), so the plan is the unbound one, widened until it
    // holds BOUND_ROWS rows.
    let mut old = files.clone();
    let mut old_index = index.clone();
    for entry in &mut old_index.lists {
        let mut lf: serde_json::Value = serde_json::from_slice(&old[&entry.path]).unwrap();
        lf.as_object_mut().unwrap().remove("vector_rows");
        let bytes = serde_json::to_vec(&lf).unwrap();
        old.remove(&entry.path);
        entry.sha256 = sha256_hex(&bytes);
        entry.bytes = bytes.len() as u64;
        entry.vector_rows.clear();
        old.insert(entry.path.clone(), bytes);
    }
    let q = QueryVector::new(&seeds[0]).unwrap();
    let paths = |f: Vec<(PartRef, Partition)>| f.into_iter().map(|(r, _)| r.key()).collect::<Vec<_>>();
    let old_plan = old_index.fetch_plan(&q, &Filters::default(), &[2], None, &mut getter(&old)).unwrap();
    let rows: usize = old_plan.iter().map(|(_, p)| p.rows()).sum();
    let (old_plan, unbound) = (paths(old_plan), paths(index.fetch_plan(&q, &Filters::default(), &[], None, &mut getter(&files)).unwrap()));
    assert_eq!(old_plan[..unbound.len()], unbound[..]);
    assert!(rows as u64 >= BOUND_ROWS, "{rows}");
}

#[test]
fn a_month_filter_fetches_only_that_months_partitions() {
    let shards = months();
    for plan in [EXACT, PROBE] {
        let (index, files) = build(&shards, plan);
        let q = QueryVector::new(&shards[1].row_f32(0)).unwrap();
        let filters = Filters { from: Some("2017-11-01".into()), to: Some("2017-11-30".into()), ..Default::default() };
        let (hits, fetched) = part_ids(&index, &files, &q, 10, &filters, None);
        assert!(!fetched.is_empty() && fetched.iter().all(|p| index.periods[p.period].period == "2017-11"), "{fetched:?}");
        assert!(hits.iter().all(|(id, _)| id.starts_with("2017-11")));
        // A day range inside the month skips partitions whose days lie outside it.
        let days = Filters { from: Some("2017-11-01".into()), to: Some("2017-11-02".into()), ..Default::default() };
        let (_, fetched) = part_ids(&index, &files, &q, 10, &days, None);
        assert!(fetched.iter().all(|p| p.days.0 <= 2), "{fetched:?}");
        // A month the index does not hold fetches nothing.
        let none = Filters { months: vec![6], ..Default::default() };
        assert!(part_ids(&index, &files, &q, 10, &none, None).1.is_empty());
    }
}

#[test]
fn a_filter_widens_the_plan_up_to_the_manifests_widen_max() {
    let shards = months();
    let q = QueryVector::new(&shards[1].row_f32(0)).unwrap();
    let month = Filters { from: Some("2017-11-01".into()), to: Some("2017-11-30".into()), ..Default::default() };
    let leaves = |fetched: &[PartRef]| fetched.iter().map(|p| (p.list, p.sub)).collect::<std::collections::BTreeSet<_>>().len();
    let mut plans = Vec::new();
    // One month of three leaves a third of the frames: widened 3 times, or up to widen_max.
    for (widen_max, lists, most_leaves) in [(None, 3, 6), (Some(8), 3, 6), (Some(2), 2, 4), (Some(1), 1, 2)] {
        let (index, files) = build(&shards, PlanDefaults { widen_max, ..PROBE });
        let planned = index.plan_lists(&q, &month, &[], None).unwrap();
        assert_eq!(planned.len(), lists, "widen_max {widen_max:?}");
        let (_, fetched) = part_ids(&index, &files, &q, 10, &month, None);
        let n = leaves(&fetched);
        // nprobe 2, widened; fewer when the lists planned hold fewer leaves with November rows.
        assert!(n <= most_leaves && n >= most_leaves.min(2), "widen_max {widen_max:?}: {n} leaves");
        assert!(fetched.iter().all(|p| index.periods[p.period].period == "2017-11"));
        // Unfiltered, nothing is widened: the same plan whatever widen_max is.
        let (_, all) = part_ids(&index, &files, &q, 10, &Filters::default(), None);
        plans.push((n, all));
        // The manifest keeps it (none: no key, read back as none).
        let json = serde_json::to_string(&index).unwrap();
        assert_eq!(json.contains("widen_max"), widen_max.is_some());
        assert_eq!(serde_json::from_str::<PartitionIndex>(&json).unwrap().widen_max, widen_max);
    }
    assert!(plans.windows(2).all(|w| w[0].1 == w[1].1), "unfiltered plans differ");
    // A narrower widening probes fewer leaves (none and 8 alike: 8 is the default).
    assert_eq!(plans[0].0, plans[1].0);
    assert!(plans[1].0 > plans[2].0 && plans[2].0 > plans[3].0, "{:?}", plans.iter().map(|p| p.0).collect::<Vec<_>>());
}

#[test]
fn a_saved_period_is_every_partition_of_its_months_and_the_manifest_sizes_it() {
    let shards = months();
    let (index, files) = build(&shards, PROBE);
    // Each month records the bytes of its partitions, for the size estimate.
    let every = all_parts(&index, &files);
    for (i, p) in index.periods.iter().enumerate() {
        let on_disk: u64 = every.iter().filter(|r| r.period == i).map(|r| part_bytes(&files, r).len() as u64).sum();
        assert_eq!(p.bytes, on_disk, "period {i}");
        assert_eq!(p.parts, every.iter().filter(|r| r.period == i).count());
    }
    let november = Filters { from: Some("2017-11-01".into()), to: Some("2017-11-30".into()), ..Default::default() };
    assert_eq!(index.periods_in(&november), vec![1]);
    let lists: Vec<ListFile> = index.lists_in(&november).iter().map(|&l| ListFile::from_json(&files[&index.lists[l].path], "list").unwrap()).collect();
    let refs: Vec<&ListFile> = lists.iter().collect();
    let saved = index.parts_in(&november, &refs).unwrap();
    let mut want: Vec<String> = every.iter().filter(|r| r.period == 1).map(PartRef::key).collect();
    let mut got: Vec<String> = saved.iter().map(PartRef::key).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "every partition of November, nothing else");
    assert_eq!(saved.iter().map(|p| p.bytes).sum::<u64>(), index.periods[1].bytes);
    // Whatever the plan probes for a November query is among them, so a saved month answers
    // offline.
    let q = QueryVector::new(&shards[1].row_f32(5)).unwrap();
    let (_, fetched) = part_ids(&index, &files, &q, 10, &november, None);
    assert!(fetched.iter().all(|p| got.contains(&p.key())), "{fetched:?}");
}

#[test]
fn recall_grows_with_nprobe_and_reaches_the_exact_scan() {
    let shards = months();
    let (index, files) = build(&shards, PROBE);
    let leaves: usize = 3 * 4;
    let mut rng = Lcg::new(5);
    let queries: Vec<QueryVector> = (0..20).map(|_| QueryVector::new(&unit(&mut rng)).unwrap()).collect();
    let recall = |nprobe: usize| -> f64 {
        let mut sum = 0.0;
        for q in &queries {
            let want: Vec<String> = exact_ids(&shards, q, 20, &Filters::default()).into_iter().map(|x| x.0).collect();
            let (got, _) = part_ids(&index, &files, q, 20, &Filters::default(), Some(nprobe));
            sum += got.iter().filter(|(id, _)| want.contains(id)).count() as f64 / want.len() as f64;
        }
        sum / queries.len() as f64
    };
    let curve: Vec<f64> = [1, 2, 4, leaves].iter().map(|&n| recall(n)).collect();
    assert!(curve.windows(2).all(|w| w[1] + 1e-9 >= w[0]), "{curve:?}");
    assert!(curve[0] < 1.0, "one leaf of {leaves} should miss some: {curve:?}");
    assert_eq!(curve[3], 1.0, "{curve:?}");
}

#[test]
fn adaptive_nprobe_adds_the_leaves_that_score_close_to_the_best_and_no_more_than_probe_max() {
    let shards = months();
    let mut rng = Lcg::new(9);
    let queries: Vec<QueryVector> = (0..20).map(|_| QueryVector::new(&unit(&mut rng)).unwrap()).collect();
    let leaves = |index: &PartitionIndex, files: &HashMap<String, Vec<u8>>, q: &QueryVector| -> usize {
        let (_, parts) = part_ids(index, files, q, 20, &Filters::default(), Some(1));
        let set: std::collections::BTreeSet<(usize, usize)> = parts.iter().map(|p| (p.list, p.sub)).collect();
        set.len()
    };
    let (fixed, files) = build(&shards, PlanDefaults { nprobe: 1, probe_max: 1, ..PROBE });
    // A zero margin is the fixed plan; the same index with a margin probes at least as much,
    // more for some queries, never past probe_max; a huge margin probes probe_max.
    let mut wide = fixed.clone();
    (wide.probe_margin, wide.probe_max) = (0.15, 5);
    let mut all = fixed.clone();
    (all.probe_margin, all.probe_max) = (10.0, 5);
    let (mut grew, mut total) = (0, 0);
    for q in &queries {
        let (a, b) = (leaves(&fixed, &files, q), leaves(&wide, &files, q));
        assert_eq!(a, 1);
        assert!((1..=5).contains(&b), "{b}");
        grew += (b > a) as usize;
        total += b;
        assert_eq!(leaves(&all, &files, q), 5);
    }
    assert!(grew > 0 && total < 5 * queries.len(), "adaptive: {total} leaves over {} queries, {grew} grew", queries.len());
}

#[test]
fn a_partition_with_a_bad_hash_is_refused_by_name() {
    let (index, mut files) = build(&months(), EXACT);
    let victim = all_parts(&index, &files).into_iter().find(|p| p.offset > 0).unwrap();
    files.get_mut(&victim.path).unwrap()[victim.offset as usize + 30] ^= 1;
    let q = QueryVector::new(&[1.0; DIM]).unwrap();
    let err = index.fetch_plan(&q, &Filters::default(), &[], None, &mut getter(&files)).unwrap_err().to_string();
    assert!(err.contains(&victim.path) && err.contains("sha256 mismatch"), "{err}");
}

#[test]
fn quantize_i8_is_what_partitions_store() {
    // Rows keep their shard quantization: the same scale and values as the month's shard.
    let shards = months();
    let (index, files) = build(&shards, EXACT);
    let first = all_parts(&index, &files).into_iter().find(|p| p.period == 0).unwrap();
    let part = Partition::from_bytes(part_bytes(&files, &first), &first.key()).unwrap();
    let (frame, vector) = part.row_ref(0);
    let id = &part.records()[frame].id;
    let i = shards[0].records().iter().position(|r| &r.id == id).unwrap();
    assert_eq!(part.row_f32(0), shards[0].row_f32(i * VPF + vector));
    let (s, q) = quantize_i8(&[0.5, -1.0]);
    assert_eq!((s, q), (1.0 / 127.0, vec![64, -127]));
}

#[test]
fn leaf_files_hold_their_months_back_to_back_and_are_named_after_them() {
    let (index, files) = build(&months(), EXACT);
    let parts = all_parts(&index, &files);
    let mut by_leaf: HashMap<&str, Vec<&PartRef>> = HashMap::new();
    parts.iter().for_each(|p| by_leaf.entry(p.path.as_str()).or_default().push(p));
    // One file per leaf (3 lists × at most 4 subs), none left half built.
    let leaf_files: Vec<&String> = files.keys().filter(|p| p.starts_with("parts/") && !p.starts_with("parts/lists/")).collect();
    assert!(leaf_files.iter().all(|p| p.ends_with(".skyleaf")), "{leaf_files:?}");
    assert_eq!(leaf_files.len(), by_leaf.len());
    assert!(by_leaf.len() <= 12 && by_leaf.values().any(|v| v.len() == 3), "a leaf with rows in all three months");
    for (path, mut segs) in by_leaf {
        segs.sort_by_key(|p| p.offset);
        // Oldest month first, each segment where the previous one ends, the file exactly them.
        assert!(segs.windows(2).all(|w| w[0].period < w[1].period && w[0].offset + w[0].bytes == w[1].offset), "{segs:?}");
        assert_eq!((segs[0].offset, segs.iter().map(|p| p.bytes).sum::<u64>()), (0, files[path].len() as u64));
        let shas: Vec<&str> = segs.iter().map(|p| p.sha256.as_str()).collect();
        assert!(path.contains(&build::leaf_name(&shas)), "{path} is named after its segments' hashes");
    }
}

#[test]
fn partition_metadata_is_deflated_and_version_1_still_reads() {
    let (index, files) = build(&months(), EXACT);
    let p = &all_parts(&index, &files)[0];
    let part = Partition::from_bytes(part_bytes(&files, p), "p").unwrap();
    // Version 1: the same partition with its metadata as plain JSON.
    let v2 = part.to_bytes();
    let meta_len = u32::from_le_bytes(v2[20..24].try_into().unwrap()) as usize;
    let json = miniz_oxide::inflate::decompress_to_vec(&v2[24..24 + meta_len]).unwrap();
    assert!(json.starts_with(b"{\"vector_names\""), "{}", String::from_utf8_lossy(&json[..20]));
    let mut v1 = v2[..24].to_vec();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    v1[20..24].copy_from_slice(&(json.len() as u32).to_le_bytes());
    v1.extend_from_slice(&json);
    while v1.len() % 4 != 0 {
        v1.push(0);
    }
    v1.extend_from_slice(&v2[(24 + meta_len).div_ceil(4) * 4..]);
    assert_eq!(Partition::from_bytes(&v1, "v1").unwrap(), part);
    // Metadata that does not inflate is named so.
    let mut bad = v2.clone();
    bad[24] ^= 0xff;
    bad[25] ^= 0xff;
    let err = Partition::from_bytes(&bad, "bad.skyleaf").unwrap_err().to_string();
    assert!(err.starts_with("bad.skyleaf:"), "{err}");
}

fn seg(path: &str, offset: u64, bytes: u64) -> PartRef {
    PartRef { list: 0, sub: 0, period: 0, path: path.into(), offset, sha256: String::new(), bytes, rows: 1, days: (1, 1) }
}

#[test]
fn adjacent_segments_of_a_leaf_coalesce_into_one_range() {
    // a: 0..10, 10..30 back to back; 50..60 after a gap of 20; b: one segment.
    let parts = [seg("a", 10, 20), seg("b", 0, 5), seg("a", 0, 10), seg("a", 50, 10)];
    let got = spans(&parts, 0);
    assert_eq!(got, vec![
        Span { path: "a".into(), start: 0, end: 30, parts: vec![2, 0] },
        Span { path: "a".into(), start: 50, end: 60, parts: vec![3] },
        Span { path: "b".into(), start: 0, end: 5, parts: vec![1] },
    ]);
    assert_eq!(got[0].range_header(), "bytes=0-29");
    // A gap up to max_gap is read through.
    assert_eq!(spans(&parts, 19).len(), 3);
    assert_eq!(spans(&parts, 20)[0], Span { path: "a".into(), start: 0, end: 60, parts: vec![2, 0, 3] });
    // Through a gap only from a month to the same or the next one (nothing else in between).
    let month = |p: PartRef, period: usize| PartRef { period, ..p };
    let months = [month(seg("a", 0, 10), 3), month(seg("a", 15, 5), 4), month(seg("a", 25, 5), 6), month(seg("a", 30, 5), 9)];
    let got: Vec<(u64, u64)> = spans(&months, 100).iter().map(|s| (s.start, s.end)).collect();
    assert_eq!(got, vec![(0, 20), (25, 35)], "3 → 4 through the gap, 4 ↛ 6, 6 → 9 back to back");
    // … and through months the plan may read (4 → 6 when month 5 is allowed).
    let mut readable = [true; 10];
    assert_eq!(spans_through(&months, 100, &readable).iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(), vec![(0, 35)]);
    readable[5] = false;
    assert_eq!(spans_through(&months, 100, &readable).iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(), vec![(0, 20), (25, 35)]);
    // The same segment twice is one read; nothing asked, nothing read.
    assert_eq!(spans(&[seg("a", 0, 4), seg("a", 0, 4)], 0), vec![Span { path: "a".into(), start: 0, end: 4, parts: vec![0, 1] }]);
    assert!(spans(&[], 0).is_empty());
}

#[test]
fn a_segment_slices_out_of_a_span_or_the_whole_file() {
    let file: Vec<u8> = (0..40).collect();
    let p = seg("a", 10, 5);
    assert_eq!(p.key(), "a?bytes=10-14");
    assert_eq!(p.slice(&file, 0), Some(&file[10..15]), "the whole file (a server without ranges)");
    assert_eq!(p.slice(&file[8..20], 8), Some(&file[10..15]), "a span from byte 8");
    assert_eq!(p.slice(&file[12..20], 12), None, "a span starting after it");
    assert_eq!(p.slice(&file[..12], 0), None, "a short answer");
}

#[test]
fn every_planned_segment_is_read_by_one_span_and_verifies() {
    let (index, files) = build(&months(), PROBE);
    let q = QueryVector::new(&[1.0; DIM]).unwrap();
    let lists: Vec<ListFile> = index.lists.iter().map(|l| ListFile::from_json(&files[&l.path], &l.path).unwrap()).collect();
    let plan = index.plan_parts(&q, &Filters::default(), &[], &lists.iter().collect::<Vec<_>>(), Some(3)).unwrap();
    let ranges = spans(&plan, 0);
    // Unfiltered, a leaf's segments are all wanted and lie back to back: one range per leaf.
    let leaves: std::collections::HashSet<&str> = plan.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(ranges.len(), leaves.len());
    let mut seen = 0;
    for s in &ranges {
        let body = &files[&s.path][s.start as usize..s.end as usize];
        for &i in &s.parts {
            let p = &plan[i];
            p.file().verify(p.slice(body, s.start).unwrap()).unwrap();
            seen += 1;
        }
    }
    assert_eq!(seen, plan.len());
}

// Product quantization (`pq`): the compact first pass `skycase recall --pq` measures.

fn all_rows(shards: &[Shard]) -> Vec<Vec<f32>> {
    shards.iter().flat_map(|s| (0..s.len() * VPF).map(move |r| s.row_f32(r))).collect()
}

#[test]
fn pq_scores_are_the_dot_product_with_the_decoded_code_and_finer_codes_reconstruct_better() {
    let rows = all_rows(&months());
    let err = |m: usize| -> f32 {
        let pq = pq::Pq::train(&rows, m, 16, 8, 1).unwrap();
        assert_eq!((pq.dim(), pq.m(), pq.k()), (DIM, m, 16));
        rows.iter().map(|v| v.iter().zip(pq.decode(&pq.encode(v))).map(|(a, b)| (a - b) * (a - b)).sum::<f32>()).sum::<f32>() / rows.len() as f32
    };
    let (coarse, fine) = (err(2), err(8));
    assert!(fine < coarse, "8 sub-spaces reconstruct worse than 2: {fine} vs {coarse}");
    let pq = pq::Pq::train(&rows, 4, 16, 8, 1).unwrap();
    let q = unit(&mut Lcg::new(11));
    let table = pq.table(&q);
    for v in rows.iter().take(20) {
        let code = pq.encode(v);
        assert_eq!(code.len(), 4);
        let want: f32 = q.iter().zip(pq.decode(&code)).map(|(a, b)| a * b).sum();
        assert!((pq.score(&table, &code) - want).abs() < 1e-5, "{} vs {want}", pq.score(&table, &code));
    }
}

#[test]
fn pq_refuses_a_split_that_does_not_divide_the_dimension_or_codes_over_a_byte() {
    let rows = all_rows(&months());
    let err = pq::Pq::train(&rows, 5, 16, 2, 1).unwrap_err().to_string();
    assert!(err.contains("5 sub-spaces do not divide 16"), "{err}");
    let err = pq::Pq::train(&rows, 4, 257, 2, 1).unwrap_err().to_string();
    assert!(err.contains("257 codewords"), "{err}");
    assert!(pq::Pq::train(&[], 4, 16, 2, 1).is_err());
}

/// A first pass over every row of every partition by PQ score, then the `keep` best re-ranked
/// with the exact int8 score; the top `k` frames (a frame counts once, as its best row).
fn pq_then_exact(parts: &[Partition], pq: &pq::Pq, q: &QueryVector, keep: usize, k: usize) -> Vec<(String, f32)> {
    let table = &pq.query_table(q);
    let approx: Vec<((usize, usize), f32)> = parts.iter().enumerate().flat_map(|(pi, p)| (0..p.rows()).filter(|&r| p.score_row(r, q).is_some()).map(move |r| ((pi, r), pq.score(table, &pq.encode(&p.row_f32(r)))))).collect();
    let mut best: Vec<(String, f32)> = Vec::new();
    for ((pi, r), s) in pq::rerank(approx, keep, |(pi, r)| parts[pi].score_row(r, q)) {
        let id = &parts[pi].records()[parts[pi].row_ref(r).0].id;
        if !best.iter().any(|(b, _)| b == id) {
            best.push((id.clone(), s));
        }
    }
    best.truncate(k);
    best
}

#[test]
fn a_pq_first_pass_with_an_exact_rerank_finds_the_exact_top_k_with_exact_scores() {
    let shards = months();
    let (index, files) = build(&shards, PROBE);
    let parts: Vec<Partition> = all_parts(&index, &files).iter().map(|p| Partition::from_bytes(part_bytes(&files, p), &p.key()).unwrap()).collect();
    let pq = pq::Pq::train(&all_rows(&shards), 4, 16, 8, 1).unwrap();
    let mut rng = Lcg::new(5);
    let (mut narrow, mut wide) = (0.0, 0.0);
    for _ in 0..20 {
        let q = QueryVector::new(&unit(&mut rng)).unwrap();
        let want = exact_ids(&shards, &q, 10, &Filters::default());
        // Re-ranking every row is the exact scan, scores bit for bit.
        assert_eq!(pq_then_exact(&parts, &pq, &q, usize::MAX, 10), want);
        let hit = |got: Vec<(String, f32)>| {
            // Whatever the candidates, a returned score is the exact score of one of the
            // frame's rows: its best one's, or lower when that row was not a candidate.
            for (id, s) in &got {
                if let Some((_, w)) = want.iter().find(|(w, _)| w == id) {
                    assert!(s <= w, "{id}: {s} > {w}");
                }
            }
            got.iter().filter(|(id, _)| want.iter().any(|(w, _)| w == id)).count() as f64 / 10.0
        };
        narrow += hit(pq_then_exact(&parts, &pq, &q, 10, 10)) / 20.0;
        wide += hit(pq_then_exact(&parts, &pq, &q, 60, 10)) / 20.0;
    }
    // 360 rows, 4-byte codes: 60 candidates (a sixth) hold nearly all of the exact top 10,
    // and more candidates never find fewer.
    assert!(wide >= 0.9, "recall@10 with 60 candidates: {wide}");
    assert!(wide >= narrow, "{wide} < {narrow}");
    assert!(narrow < 1.0, "10 candidates for the top 10 should miss some (else the test shows nothing): {narrow}");
}

/// [`rank_parts`] as it was written first: every allowed row into a map by frame id, then all
/// frames sorted. The reference the one-pass ranking must equal hit for hit.
fn rank_parts_by_map(parts: &[&Partition], q: &QueryVector, k: usize, filters: &Filters, bound: &[usize]) -> Vec<Hit> {
    let mut best: HashMap<&str, (Hit, &FrameRecord)> = HashMap::new();
    for (pi, part) in parts.iter().enumerate() {
        let only: Vec<usize> = bound.iter().copied().filter(|&j| j < part.vector_names().len()).collect();
        for row in 0..part.rows() {
            let (frame, vector) = part.row_ref(row);
            let rec = &part.records()[frame];
            if (!only.is_empty() && !only.contains(&vector)) || !filters.keeps(rec) || (filters.restricts_regions() && !filters.allows_vector(rec, &part.vector_names()[vector])) {
                continue;
            }
            let Some(score) = part.score_row(row, q) else { continue };
            let hit = Hit { shard: pi, frame, vector, score };
            match best.get_mut(rec.id.as_str()) {
                Some((b, _)) if score > b.score || (score == b.score && vector < b.vector) => *b = hit,
                Some(_) => {}
                None => {
                    best.insert(rec.id.as_str(), (hit, rec));
                }
            }
        }
    }
    let mut hits: Vec<(Hit, &FrameRecord)> = best.into_values().collect();
    hits.sort_by(|(a, ra), (b, rb)| b.score.total_cmp(&a.score).then(ra.time.cmp(&rb.time)).then(ra.id.cmp(&rb.id)));
    hits.into_iter().take(k).map(|(h, _)| h).collect()
}

#[test]
fn one_pass_ranking_equals_ranking_every_frame_hit_for_hit() {
    let (index, files) = build(&months(), EXACT);
    let parsed: Vec<Partition> = all_parts(&index, &files).iter().map(|p| Partition::from_bytes(part_bytes(&files, p), &p.key()).unwrap()).collect();
    // Every partition twice: each frame's rows are met twice with equal scores, so the
    // first partition must win the tie, and the best 4·k rows hold at most 2·k frames.
    let twice: Vec<&Partition> = parsed.iter().chain(&parsed).collect();
    let mut rng = Lcg::new(17);
    // The zero query scores every row 0: all tied.
    let queries = [unit(&mut rng), unit(&mut rng), vec![0.0; DIM]];
    let filters = [Filters::default(), Filters { months: vec![11], ..Default::default() }];
    for (v, f, bound) in queries.iter().flat_map(|v| filters.iter().flat_map(move |f| [&[][..], &[1][..]].map(|b| (v, f, b)))) {
        let q = QueryVector::new(v).unwrap();
        for parts in [&parsed.iter().collect::<Vec<_>>(), &twice] {
            for k in [0, 1, 2, 5, 20, 39, 40, 41, 119, 120, 121, 500] {
                let (got, want) = (rank_parts(parts, &q, k, f, bound).unwrap(), rank_parts_by_map(parts, &q, k, f, bound));
                assert_eq!(got.iter().map(|h| (h.shard, h.frame, h.vector, h.score.to_bits())).collect::<Vec<_>>(), want.iter().map(|h| (h.shard, h.frame, h.vector, h.score.to_bits())).collect::<Vec<_>>(), "k {k}, bound {bound:?}");
            }
        }
    }
}

// skypart-3 (`areas`): leaves in rows, codes and records areas, read in rounds.

/// Writes the index in the skypart-3 layout: 4-byte residual codes, the plan's best
/// `int8_leaves` leaves as int8 rows, `rerank` code candidates.
fn build3(shards: &[Shard], plan: PlanDefaults, int8_leaves: usize, rerank: usize) -> (PartitionIndex, HashMap<String, Vec<u8>>) {
    let sample: Vec<Vec<f32>> = shards.iter().flat_map(|s| (0..s.len() * VPF).map(move |r| s.row_f32(r))).collect();
    let q = Quantizer::train(&sample, 3, 4, 8, 1).unwrap();
    let pq = q.train_codes(&sample, 4, 8, 2).unwrap();
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    let mut w = IndexWriter::with_codes(q, shards[0].vector_names().to_vec(), &mut files, &pq, int8_leaves, rerank).unwrap();
    for s in shards {
        let crate::shard::Vectors::Int8 { scales, data } = s.vectors() else { panic!("int8") };
        w.add_period(s.period(), s.records(), scales, data).unwrap();
    }
    let index = w.finish(plan).unwrap();
    (index, files)
}

/// Reads files unchecked (`fetch_plan3` checks), logging each request.
fn reader3<'a>(files: &'a HashMap<String, Vec<u8>>, log: &'a mut Vec<(String, Option<(u64, u64)>)>) -> impl FnMut(&str, Option<(u64, u64)>) -> crate::Result<Vec<u8>> + 'a {
    move |path: &str, range: Option<(u64, u64)>| {
        log.push((path.to_string(), range));
        let b = files.get(path).ok_or_else(|| crate::Error::Usage(format!("{path}: missing")))?;
        Ok(match range {
            None => b.clone(),
            Some((a, e)) => b.get(a as usize..e as usize).ok_or_else(|| crate::Error::Usage(format!("{path}: short")))?.to_vec(),
        })
    }
}

fn hits3(index: &PartitionIndex, answer: &areas::Answer3, q: &QueryVector, k: usize, filters: &Filters) -> Vec<(String, f32)> {
    let parts: Vec<&Partition> = answer.parts.iter().map(|(_, p)| p).collect();
    let _ = index;
    rank_parts(&parts, q, k, filters, &[]).unwrap().iter().map(|h| (parts[h.shard].records()[h.frame].id.clone(), h.score)).collect()
}

/// The brute force within the leaves a plan probes: every planned partition read whole
/// (rows and records areas straight from the leaf files), ranked exactly.
fn brute_force3(index: &PartitionIndex, files: &HashMap<String, Vec<u8>>, q: &QueryVector, k: usize, filters: &Filters, nprobe: Option<usize>) -> Vec<(String, f32)> {
    let lists: Vec<ListFile> = index.plan_lists(q, filters, &[], nprobe).unwrap().iter().map(|&l| ListFile::from_json(&files[&index.lists[l].path], "l").unwrap()).collect();
    let planned = index.plan_parts(q, filters, &[], &lists.iter().collect::<Vec<_>>(), nprobe).unwrap();
    let mut parts = Vec::new();
    for (rows, recs) in lists.iter().flat_map(areas::segments) {
        if planned.contains(&rows) {
            let file = &files[&rows.path];
            parts.push(areas::read_segment(rows.slice(file, 0).unwrap(), recs.slice(file, 0).unwrap(), rows.rows as usize, index.dim, &rows.key()).unwrap());
        }
    }
    assert_eq!(parts.len(), planned.len());
    let refs: Vec<&Partition> = parts.iter().collect();
    rank_parts(&refs, q, k, filters, &[]).unwrap().iter().map(|h| (refs[h.shard].records()[h.frame].id.clone(), h.score)).collect()
}

#[test]
fn a_skypart3_plan_answers_as_the_brute_force_within_its_leaves_when_every_row_is_a_candidate() {
    let shards = months();
    for int8_leaves in [0, 1] {
        let (index, files) = build3(&shards, PROBE, int8_leaves, 10_000);
        assert_eq!(index.format, areas::FORMAT);
        index.check().unwrap();
        let back: PartitionIndex = serde_json::from_str(&serde_json::to_string(&index).unwrap()).unwrap();
        assert_eq!(back, index, "the manifest's form reads back");
        for probe in 0..6 {
            let q = QueryVector::new(&shards[probe % 3].row_f32(probe * 7)).unwrap();
            let mut log = Vec::new();
            let answer = index.fetch_plan3(&q, &Filters::default(), &[], Some(3), 10, &mut reader3(&files, &mut log)).unwrap();
            assert!(answer.warnings.is_empty(), "{:?}", answer.warnings);
            let want = brute_force3(&index, &files, &q, 10, &Filters::default(), Some(3));
            assert_eq!(hits3(&index, &answer, &q, 10, &Filters::default()), want, "int8 leaves {int8_leaves}, query {probe}");
            // Only the records of the answer's partitions are read, and they are small.
            assert!(answer.parts.iter().map(|(_, p)| p.rows()).sum::<usize>() <= 10 + 2, "{:?}", answer.parts.iter().map(|(_, p)| p.rows()).collect::<Vec<_>>());
            assert_eq!(answer.reads.requests[3], 0, "the answer's records came in round 3");
        }
    }
}

#[test]
fn a_skypart3_plan_with_few_candidates_scores_exactly_and_finds_most_of_the_top() {
    let shards = months();
    let (index, files) = build3(&shards, PROBE, 0, 30);
    let lists: Vec<ListFile> = index.lists.iter().map(|l| ListFile::from_json(&files[&l.path], "l").unwrap()).collect();
    let segs: Vec<(PartRef, PartRef)> = lists.iter().flat_map(areas::segments).collect();
    assert!(segs.iter().all(|(rows, recs)| recs.offset == rows.offset + rows.bytes), "a month's records follow its rows");
    let (mut found, mut total, mut merged) = (0, 0, 0);
    for probe in 0..8 {
        let q = QueryVector::new(&shards[probe % 3].row_f32(probe * 5)).unwrap();
        let mut log = Vec::new();
        let answer = index.fetch_plan3(&q, &Filters::default(), &[], Some(3), 10, &mut reader3(&files, &mut log)).unwrap();
        let got = hits3(&index, &answer, &q, 10, &Filters::default());
        let want = brute_force3(&index, &files, &q, 10, &Filters::default(), Some(3));
        // Every score returned is the frame's exact score (never above its brute-force score).
        for (id, s) in &got {
            if let Some((_, w)) = want.iter().find(|(w, _)| w == id) {
                assert_eq!(s, w, "{id}");
            }
        }
        found += got.iter().filter(|(id, _)| want.iter().any(|(w, _)| w == id)).count();
        total += want.len();
        // Row blocks with their records: at most two ranges per candidate, none late.
        assert!(answer.reads.requests[2] <= 2 * 30 && answer.reads.requests[3] == 0, "{:?}", answer.reads);
        // A block and the records area after its rows area: one range.
        merged += log.iter().filter(|(path, r)| r.is_some_and(|(a, e)| segs.iter().any(|(rows, recs)| rows.path == *path && a > rows.offset && a < rows.offset + rows.bytes && e >= recs.offset + recs.bytes))).count();
    }
    assert!(found as f64 >= 0.8 * total as f64, "{found} of {total}");
    assert!(merged > 0, "some row block was read with its records: {:?}", segs.iter().map(|(r, c)| (r.rows, c.bytes)).collect::<Vec<_>>());
}

#[test]
fn a_skypart3_row_block_read_alone_is_verified_and_a_corrupted_one_is_read_again_then_refused() {
    let shards = months();
    let (index, files) = build3(&shards, PROBE, 1, 30);
    let q = QueryVector::new(&shards[1].row_f32(4)).unwrap();
    let mut log = Vec::new();
    let clean = index.fetch_plan3(&q, &Filters::default(), &[], Some(3), 10, &mut reader3(&files, &mut log)).unwrap();
    let want = hits3(&index, &clean, &q, 10, &Filters::default());
    assert!(clean.reads.requests[2] > 0, "the plan reads row blocks");
    // Which reads start with a row block: ranges starting inside a rows area, not at its
    // start (a block, and maybe more blocks and the records after it).
    let lists: Vec<ListFile> = index.lists.iter().map(|l| ListFile::from_json(&files[&l.path], "l").unwrap()).collect();
    let rows_areas: Vec<PartRef> = lists.iter().flat_map(areas::segments).map(|(r, _)| r).collect();
    let is_block = |path: &str, (a, _): (u64, u64)| rows_areas.iter().any(|r| r.path == path && a > r.offset && a < r.offset + r.bytes);
    let blocks = log.iter().filter(|(p, r)| r.is_some_and(|r| is_block(p, r))).count();
    assert!(blocks > 0);
    // A byte flipped in the first answer starting with each block: that block is read again
    // alone, and the answer is the same.
    let mut seen = std::collections::HashSet::new();
    let mut flaky = |path: &str, range: Option<(u64, u64)>| -> crate::Result<Vec<u8>> {
        let mut b = reader3(&files, &mut Vec::new())(path, range)?;
        if let Some(r) = range.filter(|&r| is_block(path, r)) {
            if seen.insert((path.to_string(), r.0)) {
                b[0] ^= 1;
            }
        }
        Ok(b)
    };
    let again = index.fetch_plan3(&q, &Filters::default(), &[], Some(3), 10, &mut flaky).unwrap();
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(hits3(&index, &again, &q, 10, &Filters::default()), want);
    assert_eq!(again.reads.requests[2], clean.reads.requests[2] + blocks, "each damaged block read once more");
    // Corrupted for good: the block is left out, named, and the rest still answers.
    let mut broken = |path: &str, range: Option<(u64, u64)>| -> crate::Result<Vec<u8>> {
        let mut b = reader3(&files, &mut Vec::new())(path, range)?;
        if range.is_some_and(|r| is_block(path, r)) {
            b[0] ^= 1;
        }
        Ok(b)
    };
    let bad = index.fetch_plan3(&q, &Filters::default(), &[], Some(3), 10, &mut broken).unwrap();
    assert_eq!(bad.warnings.len(), blocks, "{:?}", bad.warnings);
    assert!(bad.warnings[0].contains(".skyleaf?bytes=") && bad.warnings[0].contains("read twice"), "{}", bad.warnings[0]);
    // The best leaf, read as int8 rows, still answers.
    let left = hits3(&index, &bad, &q, 10, &Filters::default());
    assert_eq!(left.len(), 10, "{left:?}");
}

#[test]
fn a_skypart3_month_filter_reads_only_that_months_areas() {
    let shards = months();
    let (index, files) = build3(&shards, PROBE, 1, 30);
    let lists: Vec<ListFile> = index.lists.iter().map(|l| ListFile::from_json(&files[&l.path], "l").unwrap()).collect();
    // Every area of a November partition, as byte ranges of its leaf file.
    let mut november: Vec<(String, u64, u64)> = Vec::new();
    for lf in &lists {
        for (i, (rows, recs)) in areas::segments(lf).into_iter().enumerate() {
            if index.periods[rows.period].period == "2017-11" {
                november.push((rows.path.clone(), rows.offset, rows.offset + rows.bytes));
                november.push((rows.path.clone(), lf.codes_at[i], lf.codes_at[i] + lf.codes_bytes[i]));
                november.push((recs.path.clone(), recs.offset, recs.offset + recs.bytes));
            }
        }
    }
    let q = QueryVector::new(&shards[1].row_f32(0)).unwrap();
    // As months, or as dates covering the whole month (the code pass: no records needed).
    let dates = Filters { from: Some("2017-11-01".into()), to: Some("2017-11-30".into()), ..Default::default() };
    let mut log = Vec::new();
    let by_dates = index.fetch_plan3(&q, &dates, &[], None, 10, &mut reader3(&files, &mut log)).unwrap();
    let filters = Filters { months: vec![11], ..Default::default() };
    let mut log = Vec::new();
    let answer = index.fetch_plan3(&q, &filters, &[], None, 10, &mut reader3(&files, &mut log)).unwrap();
    assert_eq!(by_dates.reads, answer.reads);
    assert_eq!(hits3(&index, &by_dates, &q, 10, &dates), hits3(&index, &answer, &q, 10, &filters));
    let ranged: Vec<_> = log.iter().filter_map(|(p, r)| r.map(|r| (p.clone(), r))).collect();
    assert!(!ranged.is_empty());
    for (path, (a, e)) in &ranged {
        // Every byte lies in a November area (a range may run from one into the next).
        let inside: u64 = november.iter().filter(|(p, ..)| p == path).map(|(_, s, t)| t.min(e).saturating_sub(*s.max(a))).sum();
        assert_eq!(inside, e - a, "{path} {a}..{e} reads outside November's areas");
    }
    let hits = hits3(&index, &answer, &q, 10, &filters);
    assert!(!hits.is_empty() && hits.iter().all(|(id, _)| id.starts_with("2017-11")), "{hits:?}");
}

#[test]
fn a_skypart3_filter_that_needs_records_or_an_exact_plan_scans_every_planned_partition() {
    let shards = months();
    for plan in [EXACT, PROBE] {
        let (index, files) = build3(&shards, plan, 0, 5);
        let q = QueryVector::new(&shards[2].row_f32(3)).unwrap();
        let filters = Filters { from: Some("2017-10-03".into()), ..Default::default() };
        let mut log = Vec::new();
        let answer = index.fetch_plan3(&q, &filters, &[], None, 10, &mut reader3(&files, &mut log)).unwrap();
        // No code pass: no range starts inside a rows area (a row block); records in round 3.
        let lists: Vec<ListFile> = index.lists.iter().map(|l| ListFile::from_json(&files[&l.path], "l").unwrap()).collect();
        let rows_areas: Vec<PartRef> = lists.iter().flat_map(areas::segments).map(|(r, _)| r).collect();
        assert!(!log.iter().any(|(p, r)| r.is_some_and(|(a, _)| rows_areas.iter().any(|x| x.path == *p && a > x.offset && a < x.offset + x.bytes))), "no code pass");
        assert_eq!(answer.reads.requests[3], 0);
        assert_eq!(hits3(&index, &answer, &q, 10, &filters), brute_force3(&index, &files, &q, 10, &filters, None));
        if plan.exact_below == u64::MAX {
            assert_eq!(hits3(&index, &answer, &q, 10, &filters), exact_ids(&shards, &q, 10, &filters), "exact plan = the shard scan");
        }
    }
}

#[test]
fn the_manifest_records_each_months_origins_and_a_plan_skips_months_the_source_rule_never_searches() {
    // October: KMA's uncalibrated PNG frames only; November: half of them; December: none.
    let mut shards = months();
    for (m, s) in shards.iter_mut().enumerate() {
        let (scales, data) = match s.vectors() {
            crate::shard::Vectors::Int8 { scales, data } => (scales.clone(), data.clone()),
            _ => panic!("int8"),
        };
        let mut records = s.records().to_vec();
        for (i, r) in records.iter_mut().enumerate() {
            r.origin = if m == 0 || (m == 1 && i % 2 == 0) { "kma" } else { "simulated" }.into();
        }
        *s = Shard::from_int8(s.period(), s.vector_names().to_vec(), records, DIM, scales, data).unwrap();
    }
    let (index, files) = build3(&shards, PROBE, 1, 30);
    let origins: Vec<&[String]> = index.periods.iter().map(|p| p.origins.as_slice()).collect();
    assert_eq!(origins, [&["kma".to_string()][..], &["kma".into(), "simulated".into()], &["simulated".into()]]);
    let all = Filters::default();
    let kma = Filters { source: Some(crate::source::SourceFilter::Origin("kma".into())), ..Default::default() };
    assert!(!index.origins_cut(2, &all) && index.origins_cut(1, &all) && index.origins_cut(1, &kma) && !index.origins_cut(0, &kma));
    for probe in 0..6 {
        let q = QueryVector::new(&shards[probe % 3].row_f32(probe * 7)).unwrap();
        for (filters, never) in [(&all, 0), (&kma, 2)] {
            let lists: Vec<ListFile> = index.plan_lists(&q, filters, &[], None).unwrap().iter().map(|&l| ListFile::from_json(&files[&index.lists[l].path], "l").unwrap()).collect();
            let planned = index.plan_parts(&q, filters, &[], &lists.iter().collect::<Vec<_>>(), None).unwrap();
            assert!(!planned.is_empty() && planned.iter().all(|p| p.period != never), "query {probe}: month {never} is never read");
            let mut log = Vec::new();
            let answer = index.fetch_plan3(&q, filters, &[], None, 10, &mut reader3(&files, &mut log)).unwrap();
            let hits = hits3(&index, &answer, &q, 10, filters);
            let want = brute_force3(&index, &files, &q, 10, filters, None);
            // The mixed month is read with its records: the planned partitions' exact answer, in full.
            assert_eq!(hits, want, "query {probe}");
            assert_eq!(hits.len(), 10);
            let from_kma = |id: &str| id.starts_with("2017-10") || (id.starts_with("2017-11") && id[8..].parse::<usize>().unwrap() % 2 == 0);
            assert!(hits.iter().all(|(id, _)| from_kma(id) == (filters == &kma)), "query {probe}: {hits:?}");
        }
    }
}

#[test]
fn a_skypart3_exact_plan_reads_a_leaf_with_its_records_by_one_range_and_a_damaged_records_area_again_alone() {
    let shards = months();
    let (index, files) = build3(&shards, EXACT, 0, 5);
    let lists: Vec<ListFile> = index.lists.iter().map(|l| ListFile::from_json(&files[&l.path], "l").unwrap()).collect();
    let segs: Vec<(PartRef, PartRef)> = lists.iter().flat_map(areas::segments).collect();
    let q = QueryVector::new(&shards[2].row_f32(4)).unwrap();
    let mut log = Vec::new();
    let answer = index.fetch_plan3(&q, &Filters::default(), &[], None, 10, &mut reader3(&files, &mut log)).unwrap();
    assert!(answer.warnings.is_empty(), "{:?}", answer.warnings);
    assert_eq!(hits3(&index, &answer, &q, 10, &Filters::default()), exact_ids(&shards, &q, 10, &Filters::default()), "exact plan = the shard scan");
    // All months allowed: a leaf's rows and records areas are one range, round 3 reads nothing.
    let mut leaves: Vec<&str> = segs.iter().map(|(r, _)| r.path.as_str()).collect();
    leaves.sort_unstable();
    leaves.dedup();
    assert!(segs.len() > leaves.len(), "some leaf holds several months");
    assert_eq!(answer.reads.requests[1], leaves.len(), "one range a leaf: {:?}", answer.reads);
    assert_eq!(answer.reads.requests[2..], [0, 0]);
    // A records area whose bytes are wrong in its leaf's range is read once more alone (round 3).
    let (_, bad) = segs.iter().find(|(r, _)| r.rows > 0).unwrap().clone();
    let mut first = true;
    let mut flaky = |path: &str, range: Option<(u64, u64)>| -> crate::Result<Vec<u8>> {
        let mut b = reader3(&files, &mut Vec::new())(path, range)?;
        let (a, e) = range.unwrap_or((0, b.len() as u64));
        if path == bad.path && a <= bad.offset && e >= bad.offset + bad.bytes && (first || e - a > bad.bytes) {
            first = false;
            b[(bad.offset - a) as usize] ^= 1;
        }
        Ok(b)
    };
    let again = index.fetch_plan3(&q, &Filters::default(), &[], None, 10, &mut flaky).unwrap();
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.reads.requests[2], 1, "{:?}", again.reads);
    assert_eq!(hits3(&index, &again, &q, 10, &Filters::default()), hits3(&index, &answer, &q, 10, &Filters::default()));
    // Wrong every time: left out, by name.
    let mut broken = |path: &str, range: Option<(u64, u64)>| -> crate::Result<Vec<u8>> {
        let mut b = reader3(&files, &mut Vec::new())(path, range)?;
        let (a, e) = range.unwrap_or((0, b.len() as u64));
        if path == bad.path && a <= bad.offset && e >= bad.offset + bad.bytes {
            b[(bad.offset - a) as usize] ^= 1;
        }
        Ok(b)
    };
    let left = index.fetch_plan3(&q, &Filters::default(), &[], None, 10, &mut broken).unwrap();
    assert!(left.warnings.iter().any(|w| w.contains(&bad.path)), "{:?}", left.warnings);
    assert_eq!(left.parts.len(), answer.parts.len() - 1);
}

#[test]
fn a_skypart3_partial_answer_ranks_the_rows_whose_records_are_at_hand_and_with_all_at_hand_is_the_answer() {
    let shards = months();
    let (index, files) = build3(&shards, PROBE, 1, 30);
    let read = |refs: &[PartRef]| -> Vec<Option<Vec<u8>>> {
        refs.iter()
            .map(|r| {
                let b = r.slice(&files[&r.path], 0).unwrap().to_vec();
                areas::verify_piece(r, &b).unwrap();
                Some(b)
            })
            .collect()
    };
    let ids = |parts: &[(PartRef, Partition)], q: &QueryVector| -> Vec<(String, f32)> {
        let parts: Vec<&Partition> = parts.iter().map(|(_, p)| p).collect();
        rank_parts(&parts, q, 10, &Filters::default(), &[]).unwrap().iter().map(|h| (parts[h.shard].records()[h.frame].id.clone(), h.score)).collect()
    };
    let (mut partial_hits, mut compared) = (0, 0);
    for probe in 0..6 {
        let q = QueryVector::new(&shards[probe % 3].row_f32(probe * 5)).unwrap();
        let lists: Vec<ListFile> = index.plan_lists(&q, &Filters::default(), &[], None).unwrap().iter().map(|&l| ListFile::from_json(&files[&index.lists[l].path], "l").unwrap()).collect();
        let refs: Vec<&ListFile> = lists.iter().collect();
        let parts = index.plan_parts(&q, &Filters::default(), &[], &refs, None).unwrap();
        let mut rounds = areas::Rounds::new(&index, &q, &Filters::default(), &[], &refs, parts).unwrap();
        assert!(!rounds.exact_scan());
        let got = read(&rounds.leaf_areas());
        let pieces = rounds.take_leaf_areas(&q, 10, got).unwrap();
        let all = read(&pieces);
        // Nothing of round 3 at hand: the int8 leaf's rows have no records yet, so no frame.
        assert!(rounds.partial(&q, 10, &pieces, &vec![None::<Vec<u8>>; pieces.len()]).unwrap().is_empty());
        let brute = brute_force3(&index, &files, &q, 10_000, &Filters::default(), None);
        for n in 1..pieces.len() {
            let some: Vec<Option<Vec<u8>>> = all.iter().enumerate().map(|(j, b)| b.clone().filter(|_| j < n)).collect();
            let partial = rounds.partial(&q, 10, &pieces, &some).unwrap();
            // Only partitions whose records came (a month's records follow its rows area), and
            // each frame's score the exact score of a row of it (never above the frame's best).
            assert!(partial.iter().all(|(p, _)| pieces[..n].iter().any(|r| r.path == p.path && r.offset == p.offset + p.bytes)), "query {probe}, {n} pieces");
            for (id, s) in ids(&partial, &q) {
                let best = brute.iter().find(|(b, _)| *b == id).unwrap_or_else(|| panic!("{id} is no planned frame")).1;
                assert!(s <= best, "{id}: {s} > {best}");
                partial_hits += 1;
            }
        }
        let whole = rounds.partial(&q, 10, &pieces, &all).unwrap();
        // Without the records of the partition holding the best frame: the best 10 frames of the others.
        let (top, _) = whole.iter().find(|(_, p)| p.records().iter().any(|r| Some(&r.id) == ids(&whole, &q).first().map(|h| &h.0))).unwrap();
        let held: Vec<Option<Vec<u8>>> = all.iter().zip(&pieces).map(|(b, r)| b.clone().filter(|_| !(r.path == top.path && r.offset == top.offset + top.bytes))).collect();
        let without = rounds.partial(&q, 10, &pieces, &held).unwrap();
        assert!(without.iter().all(|(p, _)| (&p.path, p.offset) != (&top.path, top.offset)));
        assert_eq!(ids(&without, &q).len(), 10, "query {probe}");
        let late = rounds.take_blocks(&q, 10, &pieces, all).unwrap();
        let answer = rounds.finish(&late, read(&late)).unwrap();
        if late.is_empty() {
            assert_eq!(ids(&whole, &q), ids(&answer, &q), "query {probe}: everything at hand, the partial answer is the answer");
            compared += 1;
        }
    }
    assert!(partial_hits > 0 && compared > 0, "{partial_hits} partial hits, {compared} whole answers compared");
}

#[test]
fn a_skypart3_index_is_not_read_as_skypart2_and_a_damaged_codes_entry_is_refused() {
    let shards = months();
    let (mut index, files) = build3(&shards, PROBE, 0, 5);
    let q = QueryVector::new(&shards[0].row_f32(0)).unwrap();
    let err = index.fetch_plan(&q, &Filters::default(), &[], None, &mut getter(&files)).unwrap_err().to_string();
    assert!(err.contains("skypart-3"), "{err}");
    index.codes.as_mut().unwrap().codebooks.pop();
    assert!(index.check().unwrap_err().to_string().contains("codebooks"));
    index.codes = None;
    assert!(index.check().unwrap_err().to_string().contains("without codes"));
}

// Decoded once and kept: what a query asked again (or a query over lists already held)
// reads without decoding or parsing again.

/// Hex of centroid rows (an f32 scale then `dim` int8 each) in reverse order.
fn reversed_rows(hex_text: &str, dim: usize) -> String {
    let bytes = hex::decode(hex_text).unwrap();
    hex::encode(bytes.chunks_exact(4 + dim).rev().flatten().copied().collect::<Vec<u8>>())
}

#[test]
fn centroids_and_codebooks_are_decoded_once_and_a_field_changed_since_is_decoded_again() {
    let shards = months();
    let (mut index, files) = build3(&shards, PROBE, 0, 5);
    let queries: Vec<QueryVector> = (0..8).map(|p| QueryVector::new(&shards[p % 3].row_f32(p * 13)).unwrap()).collect();
    let fresh = |index: &PartitionIndex| -> PartitionIndex { serde_json::from_str(&serde_json::to_string(index).unwrap()).unwrap() };
    let read = |index: &PartitionIndex, q: &QueryVector| {
        let mut log = Vec::new();
        let answer = index.fetch_plan3(q, &Filters::default(), &[], Some(3), 10, &mut reader3(&files, &mut log)).unwrap();
        (hits3(index, &answer, q, 10, &Filters::default()), log)
    };
    let before: Vec<_> = queries.iter().map(|q| read(&index, q)).collect();
    // The list centroids, in reverse order: the kept decoding is not used for the new text.
    let plan = |index: &PartitionIndex| -> Vec<Vec<usize>> { queries.iter().map(|q| index.plan_lists(q, &Filters::default(), &[], None).unwrap()).collect() };
    let plans_before = plan(&index);
    index.centroids = reversed_rows(&index.centroids, DIM);
    let plans = plan(&index);
    assert_eq!(plans, plan(&fresh(&index)));
    assert_ne!(plans, plans_before, "reversed centroids change some plan (else this shows nothing)");
    index.centroids = reversed_rows(&index.centroids, DIM);
    // The codebooks, every value negated: the reads follow the new codes, as a fresh index's.
    let codes = index.codes.as_mut().unwrap();
    codes.codebooks = hex::encode(hex::decode(&codes.codebooks).unwrap().chunks(4 + codes.k * DIM / codes.m).flat_map(|b| b[..4].iter().copied().chain(b[4..].iter().map(|&x| (x as i8).wrapping_neg() as u8))).collect::<Vec<u8>>());
    let after: Vec<_> = queries.iter().map(|q| read(&index, q)).collect();
    assert_eq!(after, queries.iter().map(|q| read(&fresh(&index), q)).collect::<Vec<_>>());
    assert_ne!(after.iter().map(|a| &a.1).collect::<Vec<_>>(), before.iter().map(|b| &b.1).collect::<Vec<_>>(), "other codebooks read other row blocks");
    // A list file's sub-centroids likewise.
    let mut lf = ListFile::from_json(&files[&index.lists[0].path], "l").unwrap();
    let q = &queries[0];
    let order = |lf: &ListFile| index.plan_parts(q, &Filters::default(), &[], &[lf], Some(100)).unwrap().iter().map(|p| (p.sub, p.period)).collect::<Vec<_>>();
    let kept = order(&lf);
    lf.centroids = reversed_rows(&lf.centroids, DIM);
    let mut other = ListFile::from_json(&files[&index.lists[0].path], "l").unwrap();
    other.centroids = lf.centroids.clone();
    assert_eq!(order(&lf), order(&other));
    assert_ne!(order(&lf), kept, "reversed sub-centroids order the leaves otherwise");
}

#[test]
fn a_skypart3_query_asked_again_builds_its_answer_from_the_records_kept_and_answers_the_same() {
    let shards = months();
    for int8_leaves in [0, 1] {
        let (index, files) = build3(&shards, PROBE, int8_leaves, 30);
        let queries: Vec<QueryVector> = (0..6).map(|p| QueryVector::new(&shards[p % 3].row_f32(p * 11)).unwrap()).collect();
        let read = |index: &PartitionIndex, q: &QueryVector| index.fetch_plan3(q, &Filters::default(), &[], Some(3), 10, &mut reader3(&files, &mut Vec::new())).unwrap();
        let first: Vec<_> = queries.iter().map(|q| read(&index, q)).collect();
        let used = |index: &PartitionIndex| format!("{:?}", index.kept).split(", ").last().unwrap().to_string();
        assert_eq!(used(&index), "0 partitions built from them)");
        let mut built = 0;
        for (q, a) in queries.iter().zip(&first) {
            let again = read(&index, q);
            assert_eq!(again.parts, a.parts, "int8 leaves {int8_leaves}");
            assert_eq!(again.reads, a.reads, "the same bytes are read and verified");
            let fresh: PartitionIndex = serde_json::from_str(&serde_json::to_string(&index).unwrap()).unwrap();
            assert_eq!(read(&fresh, q).parts, a.parts);
            built += a.parts.len();
        }
        assert_eq!(used(&index), format!("{built} partitions built from them)"), "every answer partition asked again came from the records kept");
    }
}

#[test]
fn the_records_kept_are_bounded_and_the_oldest_areas_go_first() {
    let dim = 2;
    let values = [1i8, 2];
    let names = vec!["a".to_string()];
    let kept = areas::KeptRecords::default();
    let per = 100;
    let areas_n = areas::KEPT_RECORDS / per + 5;
    let rows: Vec<(f32, u32, u8, &[i8])> = (0..per as u32).map(|f| (1.0, f, 0u8, &values[..])).collect();
    for a in 0..areas_n {
        let records: Vec<FrameRecord> = (0..per).map(|f| FrameRecord { id: format!("{a}-{f}"), time: String::new(), caption: String::new(), thumb: String::new(), source: String::new(), origin: String::new() }).collect();
        let p = Partition::new(dim, names.clone(), records, (0..per as u32).collect(), vec![0; per], vec![1.0; per], values.repeat(per)).unwrap();
        kept.keep([a as u8; 16], &rows, &p);
        assert_eq!(kept.partition(&[a as u8; 16], dim, &rows, "t").unwrap().unwrap(), p, "area {a} reads back as kept");
    }
    let debug = format!("{kept:?}");
    let held: usize = debug.trim_start_matches("KeptRecords(").split(' ').next().unwrap().parse().unwrap();
    assert!(held <= areas::KEPT_RECORDS && held > areas::KEPT_RECORDS - per, "{debug}");
    assert!(kept.partition(&[0; 16], dim, &rows, "t").is_none(), "the first area kept went first");
    assert!(kept.partition(&[(areas_n - 1) as u8; 16], dim, &rows[..3], "t").is_some(), "a few rows of a kept area");
    let other = [(9.0, 1000u32, 0u8, &values[..])];
    assert!(kept.partition(&[(areas_n - 1) as u8; 16], dim, &other, "t").is_none(), "a frame not kept: none");
}

#[test]
fn the_code_pass_scores_as_pq_score_bit_for_bit() {
    let mut rng = Lcg::new(11);
    for (dim, m, k) in [(16, 8, 256), (16, 4, 16), (8, 8, 256), (64, 32, 256)] {
        let pq = pq::Pq::from_codewords(dim, m, k, (0..k * dim).map(|_| rng.normal()).collect()).unwrap();
        let mut v = vec![0f32; dim];
        v.iter_mut().for_each(|x| *x = rng.normal());
        let q = QueryVector::new(&v).unwrap();
        let table = pq.query_table(&q);
        let mut out = Vec::new();
        // Row counts around the four rows summed side by side, and an all-zero table row
        // (a signed zero: the sums start as `Iterator::sum` does).
        for rows in [0, 1, 3, 4, 5, 8, 11, 200] {
            let area: Vec<u8> = (0..rows * (m + 1)).map(|i| if i % (m + 1) == m { 0 } else { rng.below(k) as u8 }).collect();
            areas::score_codes(&pq, &table, &area, &mut out);
            let want: Vec<u32> = area.chunks_exact(m + 1).map(|r| pq.score(&table, &r[..m]).to_bits()).collect();
            assert_eq!(out.iter().map(|s| s.to_bits()).collect::<Vec<_>>(), want, "{dim}/{m}/{k}, {rows} rows");
        }
        let zero = vec![-0.0f32; m * k];
        let code: Vec<u8> = vec![0; m + 1];
        areas::score_codes(&pq, &zero, &code.repeat(5), &mut out);
        assert!(out.iter().all(|s| s.to_bits() == pq.score(&zero, &code[..m]).to_bits()), "{dim}/{m}/{k}: -0.0 sums to {:?}", out);
    }
}

// A lean plan's byte budget (`Budget`).

/// The lists and leaves a plan takes for `q` (list files read from `files`).
fn plan_of(index: &PartitionIndex, files: &HashMap<String, Vec<u8>>, q: &QueryVector, filters: &Filters, nprobe: Option<usize>) -> (Vec<usize>, Vec<PartRef>) {
    let planned = index.plan_lists(q, filters, &[], nprobe).unwrap();
    let lists: Vec<ListFile> = planned.iter().map(|&l| ListFile::from_json(&files[&index.lists[l].path], "l").unwrap()).collect();
    (planned, index.plan_parts(q, filters, &[], &lists.iter().collect::<Vec<_>>(), nprobe).unwrap())
}

/// Every leaf planned (path), in plan order.
fn leaves_of(parts: &[PartRef]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        if !out.contains(&p.path) {
            out.push(p.path.clone());
        }
    }
    out
}

#[test]
fn a_budgeted_plan_reads_at_most_its_budget_of_leaf_areas_and_keeps_the_best_leaves_that_fit() {
    let shards = months();
    let plan = PlanDefaults { nprobe: 12, list_probe: 3, exact_below: 0, probe_margin: 0.0, probe_max: 12, budget: None, widen_max: None };
    for int8_leaves in [0, 2] {
        let (free, files) = build3(&shards, plan, int8_leaves, 20);
        let read = |index: &PartitionIndex, q: &QueryVector| {
            let mut log = Vec::new();
            let answer = index.fetch_plan3(q, &Filters::default(), &[], None, 10, &mut reader3(&files, &mut log)).unwrap();
            assert!(answer.warnings.is_empty(), "{:?}", answer.warnings);
            answer.reads
        };
        let queries: Vec<QueryVector> = (0..6).map(|i| QueryVector::new(&shards[i % 3].row_f32(i * 11)).unwrap()).collect();
        let free_reads: Vec<areas::Reads> = queries.iter().map(|q| read(&free, q)).collect();
        // About half of what the heaviest unbounded plan reads of leaf areas.
        let budget = Budget { bytes: free_reads.iter().map(|r| r.bytes[1]).max().unwrap() / 2, min_leaves: 0 };
        let mut bounded = free.clone();
        bounded.budget = Some(budget);
        bounded.check().unwrap();
        let back: PartitionIndex = serde_json::from_str(&serde_json::to_string(&bounded).unwrap()).unwrap();
        assert_eq!(back.budget, Some(budget), "the manifest's form keeps the budget");
        let mut cut = 0;
        for (q, free_r) in queries.iter().zip(&free_reads) {
            let r = read(&bounded, q);
            assert!(r.bytes[1] <= budget.bytes, "int8 leaves {int8_leaves}: leaf areas {} B over the budget of {} B", r.bytes[1], budget.bytes);
            assert_eq!(r.bytes[0], free_r.bytes[0], "the same list files");
            cut += usize::from(free_r.bytes[1] > budget.bytes);
            // The leaves kept are the unbounded plan's, in its order.
            let (free_leaves, kept) = (leaves_of(&plan_of(&free, &files, q, &Filters::default(), None).1), leaves_of(&plan_of(&bounded, &files, q, &Filters::default(), None).1));
            let mut at = free_leaves.iter();
            assert!(!kept.is_empty() && kept.iter().all(|l| at.any(|f| f == l)), "{kept:?} is not a subsequence of {free_leaves:?}");
            // A function of the query, the filters and the index: the same plan again.
            assert_eq!(plan_of(&bounded, &files, q, &Filters::default(), None), plan_of(&bounded, &files, q, &Filters::default(), None));
        }
        assert!(cut > 0, "some query's unbounded plan exceeds the budget");
        // The first `min_leaves` are taken whatever they cost.
        let mut least = free.clone();
        least.budget = Some(Budget { bytes: 1, min_leaves: 2 });
        for q in &queries {
            let free_leaves = leaves_of(&plan_of(&free, &files, q, &Filters::default(), None).1);
            assert_eq!(leaves_of(&plan_of(&least, &files, q, &Filters::default(), None).1), free_leaves[..2]);
            assert!(read(&least, q).bytes[1] > 1, "the minimum leaves are read");
        }
    }
}

#[test]
fn an_index_without_a_budget_and_a_plan_it_does_not_bind_plan_as_before() {
    let shards = months();
    let plan = PlanDefaults { nprobe: 12, list_probe: 3, exact_below: 0, probe_margin: 0.0, probe_max: 12, budget: None, widen_max: None };
    let (free, files) = build3(&shards, plan, 0, 20);
    let json = serde_json::to_string(&free).unwrap();
    assert!(!json.contains("budget"), "an index without a budget writes no key");
    let back: PartitionIndex = serde_json::from_str(&json).unwrap();
    assert_eq!(back.budget, None);
    let mut tight = free.clone();
    tight.budget = Some(Budget { bytes: 1, min_leaves: 1 });
    let mut loose = free.clone();
    loose.budget = Some(Budget { bytes: u64::MAX, min_leaves: 0 });
    let region = Filters { region: Some(0), ..Default::default() };
    let dated = Filters { from: Some("2017-10-01".into()), to: Some("2017-12-31".into()), ..Default::default() };
    let month = Filters { months: vec![11], ..Default::default() };
    for i in 0..6 {
        let q = QueryVector::new(&shards[i % 3].row_f32(i * 13)).unwrap();
        let unbounded = plan_of(&free, &files, &q, &Filters::default(), None);
        assert!(leaves_of(&unbounded.1).len() > 1);
        // Every leaf probed when the budget holds them all.
        assert_eq!(plan_of(&loose, &files, &q, &Filters::default(), None), unbounded);
        // A tight budget binds a lean plan, a month filter's too: its best leaf only …
        for f in [&Filters::default(), &month] {
            let (l, parts) = plan_of(&tight, &files, &q, f, None);
            let (free_l, free_parts) = plan_of(&free, &files, &q, f, None);
            assert_eq!((l, leaves_of(&parts)), (free_l, leaves_of(&free_parts)[..1].to_vec()), "{f:?}");
        }
        // … but not one whose filters read records, nor an exact one.
        for f in [&region, &dated] {
            assert_eq!(plan_of(&tight, &files, &q, f, None), plan_of(&free, &files, &q, f, None), "{f:?}");
        }
        let (mut exact, mut exact_free) = (tight.clone(), free.clone());
        (exact.exact_below, exact_free.exact_below) = (u64::MAX, u64::MAX);
        assert_eq!(plan_of(&exact, &files, &q, &Filters::default(), None), plan_of(&exact_free, &files, &q, &Filters::default(), None));
    }
}

#[test]
fn the_area_cache_stays_within_its_bytes_and_drops_the_least_recently_used_first() {
    let mut c: areas::AreaCache<Vec<u8>> = areas::AreaCache::new(100);
    for i in 0..5 {
        c.insert(format!("a{i}"), vec![i as u8; 30]);
    }
    // 5 × 30 B in 100 B: the first two went.
    assert_eq!((c.len(), c.bytes()), (3, 90));
    assert!(!c.contains("a0") && !c.contains("a1") && c.contains("a2"));
    // Used again, a2 outlives a3, which is now the least recently used.
    assert_eq!(c.get("a2"), Some(vec![2; 30]));
    c.insert("a5".into(), vec![5; 30]);
    assert!(c.contains("a2") && !c.contains("a3") && c.contains("a4") && c.contains("a5"));
    // Replacing a key counts its new size only.
    c.insert("a5".into(), vec![5; 10]);
    assert_eq!((c.len(), c.bytes()), (3, 70));
    // One piece over the limit is still kept (the last one), alone.
    c.insert("big".into(), vec![9; 500]);
    assert_eq!((c.len(), c.bytes()), (1, 500));
    assert_eq!(c.get("big").map(|b| b.len()), Some(500));
    // Many uses of one key do not grow it without bound.
    let mut d: areas::AreaCache<Vec<u8>> = areas::AreaCache::new(1000);
    d.insert("x".into(), vec![1; 10]);
    for _ in 0..10_000 {
        d.get("x").unwrap();
    }
    assert!(d.order_len() <= 2 * d.len() + 65, "{} entries kept for {} pieces", d.order_len(), d.len());
}

// The leaf directory (`leaves`): unfiltered skypart-3 queries without list files.

/// A skypart-3 index with its leaf directory loaded, as the app and `skycase search` load it.
fn build3_with_leaves(shards: &[Shard], plan: PlanDefaults, rerank: usize) -> (PartitionIndex, HashMap<String, Vec<u8>>) {
    let (mut index, files) = build3(shards, plan, 0, rerank);
    let entry = index.leaves.clone().expect("a skypart-3 index has a leaf directory");
    entry.verify(&files[&entry.path]).unwrap();
    index.load_leaves(&files[&entry.path], &entry.path).unwrap();
    (index, files)
}

#[test]
fn an_unfiltered_query_by_the_leaf_directory_reads_no_list_file_and_answers_as_the_list_files_do() {
    let shards = months();
    for rerank in [10_000, 30] {
        let (without, files) = build3(&shards, PROBE, 0, rerank);
        let (index, _) = build3_with_leaves(&shards, PROBE, rerank);
        for probe in 0..8 {
            let q = QueryVector::new(&shards[probe % 3].row_f32(probe * 5)).unwrap();
            for bound in [vec![], vec![1]] {
                let (mut by_lists, mut by_leaves) = (Vec::new(), Vec::new());
                let want = without.fetch_plan3(&q, &Filters::default(), &bound, Some(3), 10, &mut reader3(&files, &mut by_lists)).unwrap();
                let got = index.fetch_plan3(&q, &Filters::default(), &bound, Some(3), 10, &mut reader3(&files, &mut by_leaves)).unwrap();
                assert!(got.warnings.is_empty(), "{:?}", got.warnings);
                let hits = |a: &areas::Answer3| {
                    let parts: Vec<&Partition> = a.parts.iter().map(|(_, p)| p).collect();
                    rank_parts(&parts, &q, 10, &Filters::default(), &bound).unwrap().iter().map(|h| (parts[h.shard].records()[h.frame].id.clone(), h.score)).collect::<Vec<_>>()
                };
                assert_eq!(hits(&got), hits(&want), "rerank {rerank}, query {probe}, bound {bound:?}");
                // No list file; one range a leaf in round 2, each a whole tail; no more rounds
                // than before.
                assert!(by_lists.iter().any(|(p, r)| p.starts_with("parts/lists/") && r.is_none()));
                assert!(!by_leaves.iter().any(|(p, _)| p.starts_with("parts/lists/")), "{by_leaves:?}");
                assert_eq!((got.reads.requests[0], got.reads.bytes[0]), (0, 0));
                let tails = index.plan_tails(&q, &Filters::default(), &bound, Some(3)).unwrap().unwrap();
                assert_eq!(got.reads.requests[1], tails.len());
                for t in &tails {
                    assert_eq!(t.area.offset + t.area.bytes, files[&t.area.path].len() as u64, "a tail ends its leaf file");
                }
                assert_eq!(got.reads.requests[3], 0);
            }
        }
    }
}

#[test]
fn a_filter_that_leaves_a_month_out_plans_through_the_list_files_and_a_damaged_tail_is_read_again_then_left_out() {
    let shards = months();
    let (index, files) = build3_with_leaves(&shards, PROBE, 30);
    let q = QueryVector::new(&shards[1].row_f32(4)).unwrap();
    let november = Filters { months: vec![11], ..Filters::default() };
    assert!(index.plan_tails(&q, &november, &[], None).unwrap().is_none(), "a month filter reads only its months' areas");
    let dates = Filters { from: Some("2017-11-03".into()), ..Filters::default() };
    assert!(index.plan_tails(&q, &dates, &[], None).unwrap().is_none());
    let mut log = Vec::new();
    let by_month = index.fetch_plan3(&q, &november, &[], None, 10, &mut reader3(&files, &mut log)).unwrap();
    assert!(by_month.reads.requests[0] > 0, "list files read");
    // A tail whose bytes do not match its hash: read once more alone, then left out by name;
    // the other leaves answer.
    let tails = index.plan_tails(&q, &Filters::default(), &[], None).unwrap().unwrap();
    assert!(tails.len() > 1);
    let first = tails[0].area.clone();
    let mut broken = |path: &str, range: Option<(u64, u64)>| -> crate::Result<Vec<u8>> {
        let mut b = reader3(&files, &mut Vec::new())(path, range)?;
        if path == first.path && range.is_some_and(|(a, _)| a == first.offset) {
            b[0] ^= 1;
        }
        Ok(b)
    };
    let answer = index.fetch_plan3(&q, &Filters::default(), &[], None, 10, &mut broken).unwrap();
    assert_eq!(answer.warnings.len(), 1, "{:?}", answer.warnings);
    assert!(answer.warnings[0].contains(&first.key()) && answer.warnings[0].contains("read twice"), "{}", answer.warnings[0]);
    assert_eq!(answer.reads.requests[1], tails.len() + 1);
    assert!(!answer.parts.is_empty());
    assert!(answer.parts.iter().all(|(r, _)| r.path != first.path), "nothing of the damaged leaf");
}

#[test]
fn the_leaf_directory_reads_back_and_refuses_another_index_or_a_cut_file_by_name() {
    let shards = months();
    let (index, files) = build3_with_leaves(&shards, PROBE, 30);
    let entry = index.leaves.clone().unwrap();
    assert_eq!(entry.role, leaves::LEAVES_ROLE);
    assert!(entry.path.starts_with("parts/leaves-") && entry.path.ends_with(".bin"), "{}", entry.path);
    let bytes = &files[&entry.path];
    let dir = leaves::LeafDir::from_bytes(bytes, &index, &entry.path).unwrap();
    assert_eq!(&dir.to_bytes(), bytes);
    // Every leaf file has its entry, with a tail that ends it; sub-centroids as the list files'.
    for l in &index.lists {
        let lf = ListFile::from_json(&files[&l.path], &l.path).unwrap();
        let subs = lf.sub_centroids(index.dim, &l.path).unwrap();
        for (sub, name) in lf.leaves.iter().enumerate() {
            let leaf = dir.leaf(lf.list, sub).unwrap();
            assert_eq!(&leaf.name, name);
            if !name.is_empty() {
                let file = &files[&part_path(lf.list, sub, name)];
                assert_eq!(leaf.start + leaf.bytes, file.len() as u64);
                assert_eq!(leaf.hash, areas::short_hash(&file[leaf.start as usize..]));
            }
            assert_eq!(subs.row_f32(sub), dir.sub_centroid(lf.list, sub));
        }
    }
    let cut = leaves::LeafDir::from_bytes(&bytes[..bytes.len() - 1], &index, "parts/leaves-x.bin").unwrap_err().to_string();
    assert!(cut.contains("parts/leaves-x.bin") && cut.contains("bytes"), "{cut}");
    let other = PartitionIndex { subs: index.subs + 1, ..index.clone() };
    let err = leaves::LeafDir::from_bytes(bytes, &other, "parts/leaves-x.bin").unwrap_err().to_string();
    assert!(err.contains("parts/leaves-x.bin") && err.contains("manifest"), "{err}");
    let err = leaves::LeafDir::from_bytes(b"not a directory at all, no", &index, "d.bin").unwrap_err().to_string();
    assert!(err.contains("d.bin") && err.contains("magic"), "{err}");
}

#[test]
fn the_leaf_directory_is_a_startup_file_and_counts_in_the_first_load() {
    let (index, _) = build3(&months(), PROBE, 0, 30);
    let leaves = index.leaves.clone().unwrap();
    let mut plain = crate::bundle::tests::manifest();
    plain.files.push(FileEntry::describe("encoder.gguf", "encoder", b"gguf"));
    let m = crate::Manifest { partitions: Some(index), ..plain.clone() };
    let startup = crate::load::StartupFiles::of(&m).unwrap();
    let roles: Vec<&str> = startup.entries().iter().map(|f| f.role.as_str()).collect();
    assert_eq!(roles.iter().filter(|&&r| r == leaves::LEAVES_ROLE).count(), 1, "{roles:?}");
    assert_eq!(startup.leaves.as_ref(), Some(&leaves));
    assert_eq!(m.startup_bytes(), plain.startup_bytes() + leaves.bytes);
}

// Month directories (`months`): a query within one or two months without list files.

#[test]
fn a_query_within_one_or_two_months_plans_by_their_directories_as_by_the_list_files() {
    let shards = months();
    let (without, files) = build3(&shards, PROBE, 0, 30);
    let (index, _) = build3_with_leaves(&shards, PROBE, 30);
    assert!(index.periods.iter().all(|p| p.directory.as_ref().is_some_and(|d| d.path.starts_with("parts/months/") && files.contains_key(&d.path))));
    let filters = [
        Filters { months: vec![11], ..Filters::default() },
        Filters { from: Some("2017-11-03".into()), to: Some("2017-11-20".into()), ..Filters::default() },
        Filters { from: Some("2017-11-10".into()), to: Some("2017-12-05".into()), ..Filters::default() },
    ];
    for f in &filters {
        let months = index.month_dirs(f).expect("one or two months, each with its directory");
        assert!(without.month_dirs(f).is_none(), "no leaf directory loaded: the list files");
        let dirs: Vec<months::MonthDir> = months
            .iter()
            .map(|&p| {
                let e = index.periods[p].directory.as_ref().unwrap();
                e.verify(&files[&e.path]).unwrap();
                months::MonthDir::from_json(&files[&e.path], &e.path).unwrap()
            })
            .collect();
        for probe in 0..6 {
            let q = QueryVector::new(&shards[probe % 3].row_f32(probe * 7)).unwrap();
            for bound in [vec![], vec![1]] {
                let planned = index.plan_lists(&q, f, &bound, Some(3)).unwrap();
                let whole: Vec<ListFile> = planned.iter().map(|&l| ListFile::from_json(&files[&index.lists[l].path], "l").unwrap()).collect();
                let cut = index.lists_of_months(&planned, &dirs.iter().collect::<Vec<_>>()).unwrap();
                // The list files' rows of those months, in their order.
                for (c, w) in cut.iter().zip(&whole) {
                    let want = w.of_periods(&|p| months.contains(&(p as usize)));
                    let rows = |l: &ListFile| ListFile { centroids: String::new(), leaves: Vec::new(), ..l.clone() };
                    assert_eq!(rows(c), rows(&want), "list {}", w.list);
                }
                fn refs(ls: &[ListFile]) -> Vec<&ListFile> {
                    ls.iter().collect()
                }
                let plan = index.plan_parts(&q, f, &bound, &refs(&cut), Some(3)).unwrap();
                assert!(!plan.is_empty());
                assert_eq!(plan, index.plan_parts(&q, f, &bound, &refs(&whole), Some(3)).unwrap(), "filters {f:?}, query {probe}, bound {bound:?}");
                // The same answer from files, reading the directories instead of list files.
                let (mut by_lists, mut by_months) = (Vec::new(), Vec::new());
                let want = without.fetch_plan3(&q, f, &bound, Some(3), 10, &mut reader3(&files, &mut by_lists)).unwrap();
                let got = index.fetch_plan3(&q, f, &bound, Some(3), 10, &mut reader3(&files, &mut by_months)).unwrap();
                assert_eq!(hits3(&index, &got, &q, 10, f), hits3(&without, &want, &q, 10, f));
                assert!(by_lists.iter().any(|(p, _)| p.starts_with("parts/lists/")));
                assert!(!by_months.iter().any(|(p, _)| p.starts_with("parts/lists/")), "{by_months:?}");
                assert_eq!(got.reads.requests[0], months.len());
            }
        }
    }
    // Three months, or every month whole: no directories.
    let three = Filters { from: Some("2017-10-20".into()), to: Some("2017-12-05".into()), ..Filters::default() };
    assert!(index.month_dirs(&three).is_none());
    assert!(index.month_dirs(&Filters::default()).is_none());
}

#[test]
fn a_damaged_month_directory_gives_way_to_the_list_files_and_a_small_index_has_none() {
    let shards = months();
    let (index, files) = build3_with_leaves(&shards, PROBE, 30);
    let november = Filters { months: vec![11], ..Filters::default() };
    let q = QueryVector::new(&shards[1].row_f32(3)).unwrap();
    let dir = index.periods[1].directory.clone().unwrap();
    let mut damaged = files.clone();
    damaged.get_mut(&dir.path).unwrap()[0] ^= 1;
    let mut log = Vec::new();
    let got = index.fetch_plan3(&q, &november, &[], None, 10, &mut reader3(&damaged, &mut log)).unwrap();
    let want = index.fetch_plan3(&q, &november, &[], None, 10, &mut reader3(&files, &mut Vec::new())).unwrap();
    assert_eq!(hits3(&index, &got, &q, 10, &november), hits3(&index, &want, &q, 10, &november));
    assert_eq!(log.iter().filter(|(p, _)| *p == dir.path).count(), 2, "read once more, then left: {log:?}");
    assert!(log.iter().any(|(p, _)| p.starts_with("parts/lists/")));
    // A directory of another month under this month's name is refused by name, and the list
    // files answer.
    let other = index.periods[0].directory.clone().unwrap();
    let mut swapped = files.clone();
    swapped.insert(dir.path.clone(), files[&other.path].clone());
    let mut moved = index.clone();
    moved.periods[1].directory = Some(FileEntry { sha256: other.sha256.clone(), bytes: other.bytes, ..dir.clone() });
    let got = moved.fetch_plan3(&q, &november, &[], None, 10, &mut reader3(&swapped, &mut Vec::new())).unwrap();
    assert_eq!(hits3(&index, &got, &q, 10, &november), hits3(&index, &want, &q, 10, &november));
    // A directory whose columns disagree is refused by name.
    let mut short: serde_json::Value = serde_json::from_slice(&files[&dir.path]).unwrap();
    short["lists"][0]["offset"].as_array_mut().unwrap().pop();
    let err = months::MonthDir::from_json(&serde_json::to_vec(&short).unwrap(), &dir.path).unwrap_err().to_string();
    assert!(err.contains(&dir.path) && err.contains("differ in length"), "{err}");
    // An index every query scans exactly is fetched whole: no directories.
    let (small, _) = build3(&shards, EXACT, 0, 30);
    assert!(small.periods.iter().all(|p| p.directory.is_none()));
}
