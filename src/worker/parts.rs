//! Lazy search of a partitioned bundle (issue 11): the manifest came at start; per query this
//! fetches the list files and partitions the plan names (`skycase_core::partition`), all at
//! once, checks each against its manifest or list entry (a cached copy too), keeps them in
//! memory and in the bundle's Cache Storage cache, and ranks exactly inside them.
//!
//! A file whose bytes do not match is fetched once more from the network (bypassing the
//! HTTP cache, src/fetch.rs); if it still does not match, the query is answered from the other
//! partitions with a message naming the file. A list file that fails fails the query: without it the
//! plan cannot name that list's partitions.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use skycase_core::partition::{ListFile, Partition, LIST_ROLE};
use skycase_core::rank::QueryVector;

use super::*;

thread_local! {
    static LISTS: RefCell<HashMap<usize, Rc<ListFile>>> = RefCell::new(HashMap::new());
    /// Every partition fetched so far, in fetch order; a hit's `shard` indexes this.
    static PARTS: RefCell<Vec<Rc<Partition>>> = const { RefCell::new(Vec::new()) };
    static PART_AT: RefCell<HashMap<String, usize>> = RefCell::new(HashMap::new());
}

/// A file checked against its entry: from the cache (checked when it was stored) or the
/// download already started; src/fetch.rs retries, and downloads wrong bytes once more past
/// the HTTP cache before it gives up naming the file.
async fn fetch_checked(base: &str, entry: &FileEntry, source: Source) -> Result<Vec<u8>, String> {
    read_file(base, entry, source, |_| {}).await
}

/// Fetches what the plan names for `q` (lists, then partitions, each set in parallel) and
/// returns the indices into [`PARTS`] of the plan's partitions, with a message for those
/// that could not be had.
async fn plan_and_fetch(q: &QueryVector, filters: &Filters) -> Result<(Vec<usize>, Option<String>), String> {
    let base = BASE.with(|b| b.borrow().clone());
    let (planned, entries) = with_searcher(|s| {
        let index = s.partitions().ok_or("the bundle is not partitioned")?;
        let planned = index.plan_lists(q, filters, None).map_err(|e| e.to_string())?;
        let entries: Vec<(usize, FileEntry)> = planned
            .iter()
            .filter(|l| LISTS.with(|m| !m.borrow().contains_key(l)))
            .map(|&l| {
                let e = &index.lists[l];
                (l, FileEntry { path: e.path.clone(), role: LIST_ROLE.into(), sha256: e.sha256.clone(), bytes: e.bytes })
            })
            .collect();
        Ok((planned, entries))
    })?;
    let urls: Vec<String> = entries.iter().map(|(_, e)| format!("{base}{}", e.path)).collect();
    for ((l, entry), source) in entries.iter().zip(sources(&urls).await) {
        let bytes = fetch_checked(&base, entry, source).await?;
        let list = ListFile::from_json(&bytes, &entry.path).map_err(|e| e.to_string())?;
        if list.list != *l {
            return Err(format!("{}: is list {}, the manifest lists it as {l}", entry.path, list.list));
        }
        LISTS.with(|m| m.borrow_mut().insert(*l, Rc::new(list)));
    }
    let lists: Vec<Rc<ListFile>> = planned.iter().filter_map(|l| LISTS.with(|m| m.borrow().get(l).cloned())).collect();
    let refs = with_searcher(|s| {
        let index = s.partitions().ok_or("the bundle is not partitioned")?;
        index.plan_parts(q, filters, &lists.iter().map(|l| l.as_ref()).collect::<Vec<_>>(), None).map_err(|e| e.to_string())
    })?;
    let missing: Vec<FileEntry> = refs.iter().filter(|r| PART_AT.with(|m| !m.borrow().contains_key(&r.path))).map(|r| r.file()).collect();
    let urls: Vec<String> = missing.iter().map(|e| format!("{base}{}", e.path)).collect();
    let mut failed = Vec::new();
    for (entry, source) in missing.iter().zip(sources(&urls).await) {
        match fetch_checked(&base, entry, source).await.and_then(|b| Partition::from_bytes(&b, &entry.path).map_err(|e| e.to_string())) {
            Ok(p) => {
                let i = PARTS.with(|v| {
                    v.borrow_mut().push(Rc::new(p));
                    v.borrow().len() - 1
                });
                PART_AT.with(|m| m.borrow_mut().insert(entry.path.clone(), i));
            }
            Err(e) => failed.push(e),
        }
    }
    let ids = refs.iter().filter_map(|r| PART_AT.with(|m| m.borrow().get(&r.path).copied())).collect();
    let warning = (!failed.is_empty()).then(|| {
        format!("{} of {} parts of the index could not be loaded; these results leave them out: {}", failed.len(), refs.len(), failed.join("; "))
    });
    Ok((ids, warning))
}

/// The page's form of hits on partitions `ids`.
fn to_out_parts(parts: &[Rc<Partition>], ids: &[usize], hits: Vec<Hit>, strengths: &[f32]) -> Vec<HitOut> {
    hits.into_iter()
        .enumerate()
        .map(|(i, h)| {
            let part = &parts[h.shard];
            let rec = &part.records()[h.frame];
            let names = part.vector_names();
            HitOut {
                shard: ids[h.shard],
                frame: h.frame,
                vector: h.vector,
                id: rec.id.clone(),
                time: rec.time.clone(),
                caption: rec.caption.clone(),
                thumb: rec.thumb.clone(),
                score: h.score,
                region: (names.len() > 1).then(|| names.get(h.vector).cloned()).flatten(),
                strength: strengths.get(i).copied(),
                source: rec.source.clone(),
                origin: rec.origin.clone(),
                episode: None,
            }
        })
        .collect()
}

/// Ranks a prepared query on the partitions its plan names.
async fn answer(prepared: skycase_core::search::Prepared, k: usize, filters: &Filters) -> Result<(Vec<HitOut>, f64, f64, bool, TextSide, Option<String>), String> {
    let t0 = now_ms();
    let (ids, warning) = plan_and_fetch(&prepared.query, filters).await?;
    let fetched_ms = now_ms() - t0;
    let parts: Vec<Rc<Partition>> = PARTS.with(|v| ids.iter().map(|&i| v.borrow()[i].clone()).collect());
    let side = prepared.side;
    with_searcher(|s| {
        let refs: Vec<&Partition> = parts.iter().map(|p| p.as_ref()).collect();
        let encode = prepared.encode.as_secs_f64() * 1e3;
        let a = s.answer_parts(prepared, &refs, k, filters, now_ms).map_err(|e| e.to_string())?;
        // "rank" here is fetching what the plan needs plus ranking inside it.
        let rank = fetched_ms + a.rank.as_secs_f64() * 1e3;
        Ok((to_out_parts(&parts, &ids, a.hits, &a.strengths), encode, rank, a.nothing_close, side, warning))
    })
}

/// A text query on a partitioned bundle (the word chunks it needs are loaded already).
pub(super) async fn query(side: TextSide, text: &str, k: usize, filters: &Filters) -> Result<(Vec<HitOut>, f64, f64, bool, TextSide, Option<String>), String> {
    let prepared = with_searcher(|s| s.prepare(side, text, now_ms).map_err(|e| e.to_string()))?;
    answer(prepared, k, filters).await
}

/// "More like this" on a partitioned bundle: the stored vector of hit `(shard, frame, vector)`.
pub(super) async fn similar(shard: usize, frame: usize, vector: usize, k: usize, filters: &Filters) -> Result<(Vec<HitOut>, f64), String> {
    let part = PARTS.with(|v| v.borrow().get(shard).cloned()).ok_or_else(|| format!("no partition {shard} is loaded"))?;
    let row = part.find_row(frame, vector).ok_or_else(|| format!("partition {shard} has no vector {vector} of frame {frame}"))?;
    let prepared = with_searcher(|s| s.prepare_vector(&part.row_f32(row)).map_err(|e| e.to_string()))?;
    let (hits, _, rank, _, _, _) = answer(prepared, k, filters).await?;
    Ok((hits, rank))
}

/// Fetches (when the plan allows: a small index whole, else the leaves a neutral query
/// reaches) the partitions of the days `from`..=`to`, so a case's loop and its frame's
/// vectors are at hand.
pub(super) async fn fetch_days(from: &str, to: &str) -> Result<(), String> {
    let dim = with_searcher(|s| s.partitions().map(|p| p.dim).ok_or_else(|| "the bundle is not partitioned".to_string()))?;
    let q = QueryVector::new(&vec![0.0; dim]).map_err(|e| e.to_string())?;
    let days = Filters { from: Some(from.to_string()), to: Some(to.to_string()), ..Filters::default() };
    plan_and_fetch(&q, &days).await.map(|_| ())
}

/// Every loaded partition with its index in [`PARTS`] (what hits' `shard` names).
pub(super) fn loaded() -> Vec<(usize, Rc<Partition>)> {
    PARTS.with(|v| v.borrow().iter().cloned().enumerate().collect())
}

/// Frames and months of a partitioned bundle, for the ready message.
pub(super) fn summary(index: &skycase_core::partition::PartitionIndex) -> (usize, Vec<String>) {
    (index.frames, index.periods.iter().map(|p| p.period.clone()).collect())
}

/// Fetches every partition (and list) when the whole index is at most the manifest's
/// `exact_below` bytes: what any query would fetch anyway.
pub(super) async fn prefetch_if_small() -> Result<(), String> {
    let small = with_searcher(|s| Ok(s.partitions().map(|p| (p.dim, p.lists.iter().map(|l| l.part_bytes).sum::<u64>() <= p.exact_below))))?;
    let Some((dim, true)) = small else { return Ok(()) };
    // With everything allowed and small, the plan is every partition whatever the query.
    let q = QueryVector::new(&vec![0.0; dim]).map_err(|e| e.to_string())?;
    match plan_and_fetch(&q, &Filters::default()).await? {
        (_, Some(warning)) => Err(warning),
        _ => Ok(()),
    }
}

/// The list and partition files held in memory and the thumbnails of their frames: the
/// partitioned part of the offline set (all of it after [`prefetch_if_small`]).
pub(super) fn offline_entries(s: &Searcher, page_files: &HashMap<String, FileEntry>) -> Vec<FileEntry> {
    let Some(index) = s.partitions() else { return Vec::new() };
    let mut out = Vec::new();
    LISTS.with(|m| {
        for (&l, list) in m.borrow().iter() {
            if let Some(e) = index.lists.get(l) {
                out.push(FileEntry { path: e.path.clone(), role: LIST_ROLE.into(), sha256: e.sha256.clone(), bytes: e.bytes });
            }
            for i in 0..list.sub.len() {
                let (period, sha) = (list.period[i] as usize, &list.sha256[i * 64..(i + 1) * 64]);
                let Some(p) = index.periods.get(period) else { continue };
                let path = skycase_core::partition::part_path(&p.period, l, list.sub[i] as usize, sha);
                if PART_AT.with(|a| a.borrow().contains_key(&path)) {
                    out.push(FileEntry { path, role: skycase_core::partition::PART_ROLE.into(), sha256: sha.to_string(), bytes: list.bytes[i] });
                }
            }
        }
    });
    let mut thumbs: Vec<String> = PARTS.with(|v| v.borrow().iter().flat_map(|p| p.records().iter().map(|r| r.thumb.clone()).collect::<Vec<_>>()).collect());
    thumbs.sort_unstable();
    thumbs.dedup();
    out.extend(thumbs.iter().filter_map(|t| page_files.get(t).cloned()));
    out
}
