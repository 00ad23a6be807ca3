//! Lazy search of a partitioned bundle (issue 11): the manifest came at start; per query this
//! fetches the list files and partitions the plan names (`skycase_core::partition`), all at
//! once, checks each against its manifest or list entry (a cached copy too), keeps them in
//! memory and in the bundle's Cache Storage cache, and ranks exactly inside them.
//!
//! Partitions are segments of leaf files: those not cached are read by HTTP byte ranges, the
//! wanted segments of a leaf that lie back to back by one request
//! (`skycase_core::partition::spans`); a server that ignores `Range` sends the whole file,
//! which is sliced. Each segment is checked against its own sha256 and cached under its own
//! key (`PartRef::key`: the leaf's URL with `?bytes=a-b`).
//!
//! A `skypart-3` index (`skycase_core::partition::areas`) is read in rounds instead (with a leaf
//! directory and no filter that leaves a month out, without its list files: [`tails3`]; within
//! one or two months, by their month directories, read while the query is embedded:
//! [`month_dirs`]): the
//! codes or int8 rows areas of the plan's leaves, then the row blocks of the best code
//! candidates together with the records areas of their months (a leaf's at most
//! `Codes::gap` bytes apart by one range) ([`rounds3`]; an exact or record-filtered plan reads
//! the rows areas with their records areas instead, one range a leaf); each area, block and records area is
//! checked against its hash (a block or records area: against the hash its verified codes or
//! rows area gives) and kept in memory; leaf areas are also cached like a segment, row blocks
//! and their records (small and a query's own) are not, unless a period was saved offline
//! (then they are looked up there too). An exact plan whose partitions are all kept ranks
//! them without reading anything. Its answer streams as round 3's ranges arrive: a partial
//! answer ranks the best frames among the rows read so far whose records are at hand.
//!
//! Offline: the areas and blocks queries read (those still in memory: the last ~30 decade
//! queries', [`AREAS`]) are part of the offline set, each under its key ([`offline_entries`]); "make this period available offline" saves what any query within
//! the period reads (`skycase_core::partition::period`: a skypart-3 period's rows and records
//! areas, and in an index that plans lean its codes areas and row blocks too), so that such a
//! query answers from the cache alone; one whose pieces are not all there answers from those
//! that are, with the query's notice naming the rest.
//!
//! A file or segment whose bytes do not match is fetched once more from the network
//! (bypassing the HTTP cache, src/fetch.rs); if it still does not match, the query is answered
//! from the other partitions with a message naming it. A list file that fails fails the
//! query: without it the plan cannot name that list's partitions.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use skycase_core::partition::areas::{AreaCache, Rounds, AREA_CACHE_BYTES};
use skycase_core::partition::kept::{Kept, ANSWERS_KEPT};
use skycase_core::partition::months::{MonthDir, MONTHS_ROLE};
use skycase_core::partition::{spans_through, ListFile, PartRef, Partition, LIST_ROLE};
use skycase_core::rank::QueryVector;
use skycase_core::source::{SourceFilter, UNCALIBRATED};

use crate::protocol::{PeriodState, SavedPeriod};

use super::*;

thread_local! {
    static LISTS: RefCell<HashMap<usize, Rc<ListFile>>> = RefCell::new(HashMap::new());
    /// The partitions kept: whole ones under their keys (`PartRef::key`), for good, and the
    /// last answers' ones (`skycase_core::partition::kept`: bounded); a hit's `shard` is a
    /// slot of this, valid until the next answer keeps its partitions.
    static KEPT: RefCell<Kept<Rc<Partition>>> = RefCell::new(Kept::default());
    /// The number of the last answer started (`Kept::keep_answer`'s `number`).
    static ANSWERS: Cell<u64> = const { Cell::new(0) };
    /// Partitions being downloaded, by key: a query that needs one waits for it.
    static IN_FLIGHT: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
    /// The last text query embedded (encoder, text) and its prepared form: the same query
    /// again (a filter changed, or asked once more) is not embedded twice.
    static PREPARED: RefCell<Option<(TextSide, String, skycase_core::search::Prepared)>> = const { RefCell::new(None) };
    /// skypart-3: the areas, row blocks and records areas read (checked), by key
    /// (`PartRef::key`), so a query asked again reads nothing: the last ~30 decade queries'
    /// (`AREA_CACHE_BYTES`), the least recently used dropped first.
    static AREAS: RefCell<AreaCache<Rc<[u8]>>> = RefCell::new(AreaCache::new(AREA_CACHE_BYTES));
    /// A small index's prefetch ([`prefetch_if_small`]) is reading it: a skypart-3 query waits
    /// for it rather than read the same areas twice.
    static PREFETCHING: Cell<bool> = const { Cell::new(false) };
    /// A period of this bundle was saved offline: round 3's row blocks are looked up in the
    /// cache too (a saved lean period holds them), not only fetched.
    static PERIODS_SAVED: Cell<bool> = const { Cell::new(false) };
    /// skypart-3: the month directories read (checked), by period: a query within one or two
    /// months plans by them instead of list files ([`month_dirs`]); `None`: one that could
    /// not be had, not asked for again in this session (its months plan by the list files).
    static MONTHS: RefCell<HashMap<usize, Option<Rc<MonthDir>>>> = RefCell::new(HashMap::new());
}

/// The slot of the whole partition kept under `key`.
fn kept_at(key: &str) -> Option<usize> {
    KEPT.with(|k| k.borrow().whole(key))
}

/// Numbers a new answer (or fetch) whose partitions [`keep_answer`] keeps.
fn next_answer() -> u64 {
    ANSWERS.set(ANSWERS.get() + 1);
    ANSWERS.get()
}

/// Forgets the last prepared query (a new searcher may embed and anchor differently).
pub(super) fn forget_prepared() {
    PREPARED.with(|p| *p.borrow_mut() = None);
}

/// A file checked against its entry: from the cache (checked when it was stored) or the
/// download already started; src/fetch.rs retries, and downloads wrong bytes once more past
/// the HTTP cache before it gives up naming the file.
async fn fetch_checked(base: &str, entry: &FileEntry, source: Source) -> Result<Vec<u8>, String> {
    read_file(base, entry, source, |_| {}).await
}

/// skypart-3: reads the month directories a query under `filters` plans by
/// (`PartitionIndex::month_dirs`) and keeps them in [`MONTHS`]: those not there yet, checked
/// and cached as every bundle file. A directory that cannot be had is left out, with a console
/// warning: queries in its month read the list files instead, for the rest of the session.
/// The query calls this while its word chunks come, so that its plan finds them at hand;
/// [`plan_and_fetch`] calls it again (then a no-op). Not once a period was saved offline:
/// what it saved is found through the list files.
pub(super) async fn month_dirs(filters: &Filters) {
    if PERIODS_SAVED.get() {
        return;
    }
    let wanted: Vec<(usize, FileEntry)> = with_searcher(|s| {
        let Some(index) = s.partitions() else { return Ok(Vec::new()) };
        let months = index.month_dirs(filters).unwrap_or_default();
        Ok(months.into_iter().filter(|p| MONTHS.with(|m| !m.borrow().contains_key(p))).filter_map(|p| Some((p, index.periods[p].directory.clone()?))).collect())
    })
    .unwrap_or_default();
    if wanted.is_empty() {
        return;
    }
    let base = BASE.with(|b| b.borrow().clone());
    let urls: Vec<String> = wanted.iter().map(|(_, e)| format!("{base}{}", e.path)).collect();
    for ((p, entry), source) in wanted.iter().zip(sources(&urls).await) {
        let read = fetch_checked(&base, entry, source).await.and_then(|bytes| MonthDir::from_json(&bytes, &entry.path).map_err(|e| e.to_string()));
        let dir = match read {
            Ok(dir) if dir.period as usize == *p => Some(Rc::new(dir)),
            Ok(dir) => {
                web_sys::console::warn_1(&format!("{}: is the directory of month {}, the manifest lists it as month {p}; planning by the list files", entry.path, dir.period).into());
                None
            }
            Err(e) => {
                web_sys::console::warn_1(&format!("{e}; planning by the list files").into());
                None
            }
        };
        MONTHS.with(|m| m.borrow_mut().insert(*p, dir));
    }
}

/// Fetches what the plan names for `q` (lists, then partitions, each set in parallel) and
/// returns the slots in [`KEPT`] of the plan's partitions (`bound`: the vectors the
/// ranking scores, `Searcher::bound_vectors`; the plan prefers leaves holding them), with a message for those
/// that could not be had. `arrived(done, total, at_hand)` is called each time part of the plan
/// is at hand, `done` of `total` (skypart-2: partitions; skypart-3: round 3's row blocks and
/// records areas), so an answer can stream: `at_hand()` (computed only when asked) gives the
/// partitions to rank for it, slots in [`KEPT`]. A partition that another query (or the
/// prefetch) is fetching already is waited for, not fetched twice. `number`: the answer's
/// ([`next_answer`]), under which [`keep_answer`] keeps its partitions.
async fn plan_and_fetch(number: u64, q: &QueryVector, filters: &Filters, bound: &[usize], k: usize, arrived: &mut dyn FnMut(usize, usize, &dyn Fn() -> Vec<usize>)) -> Result<(Vec<usize>, Option<String>), String> {
    let base = BASE.with(|b| b.borrow().clone());
    let t = now_ms();
    // skypart-3 with a leaf directory and no filter that leaves a month out: the leaves'
    // tails, no list files (`skycase_core::partition::leaves`). Not once a period was saved
    // offline: what it saved is areas by month, found through the list files (saved with them).
    let tails = if PERIODS_SAVED.get() { None } else { with_searcher(|s| s.partitions().ok_or("the bundle is not partitioned")?.plan_tails(q, filters, bound, None).map_err(|e| e.to_string()))? };
    if let Some(tails) = tails {
        phase("plan", now_ms() - t);
        return tails3(&base, number, q, bound, k, &tails, arrived).await;
    }
    // skypart-3 within one or two months: their directories instead of list files
    // (`skycase_core::partition::months`), read while the query's word chunks came.
    let months = with_searcher(|s| Ok(s.partitions().ok_or("the bundle is not partitioned")?.month_dirs(filters)))?.filter(|_| !PERIODS_SAVED.get());
    if months.is_some() {
        let t = now_ms();
        month_dirs(filters).await;
        phase("month directories", now_ms() - t);
    }
    let dirs: Option<Vec<Rc<MonthDir>>> = months.and_then(|ms| ms.iter().map(|p| MONTHS.with(|m| m.borrow().get(p).cloned().flatten())).collect());
    let (planned, entries) = with_searcher(|s| {
        let index = s.partitions().ok_or("the bundle is not partitioned")?;
        let planned = index.plan_lists(q, filters, bound, None).map_err(|e| e.to_string())?;
        let entries: Vec<(usize, FileEntry)> = planned
            .iter()
            .filter(|_| dirs.is_none())
            .filter(|l| LISTS.with(|m| !m.borrow().contains_key(l)))
            .map(|&l| {
                let e = &index.lists[l];
                (l, FileEntry { path: e.path.clone(), role: LIST_ROLE.into(), sha256: e.sha256.clone(), bytes: e.bytes })
            })
            .collect();
        Ok((planned, entries))
    })?;
    phase("plan", now_ms() - t);
    let urls: Vec<String> = entries.iter().map(|(_, e)| format!("{base}{}", e.path)).collect();
    let t = now_ms();
    let looked = sources(&urls).await;
    phase("list lookups", now_ms() - t);
    for ((l, entry), source) in entries.iter().zip(looked) {
        let t1 = now_ms();
        let bytes = fetch_checked(&base, entry, source).await?;
        phase("list download", now_ms() - t1);
        let t1 = now_ms();
        let list = ListFile::from_json(&bytes, &entry.path).map_err(|e| e.to_string())?;
        phase("list parse", now_ms() - t1);
        if list.list != *l {
            return Err(format!("{}: is list {}, the manifest lists it as {l}", entry.path, list.list));
        }
        LISTS.with(|m| m.borrow_mut().insert(*l, Rc::new(list)));
    }
    phase("lists", now_ms() - t);
    let t = now_ms();
    let lists: Vec<Rc<ListFile>> = match &dirs {
        Some(dirs) => with_searcher(|s| {
            let index = s.partitions().ok_or("the bundle is not partitioned")?;
            index.lists_of_months(&planned, &dirs.iter().map(|d| d.as_ref()).collect::<Vec<_>>()).map_err(|e| e.to_string())
        })?
        .into_iter()
        .map(Rc::new)
        .collect(),
        None => planned.iter().filter_map(|l| LISTS.with(|m| m.borrow().get(l).cloned())).collect(),
    };
    let mut refs = with_searcher(|s| {
        let index = s.partitions().ok_or("the bundle is not partitioned")?;
        index.plan_parts(q, filters, bound, &lists.iter().map(|l| l.as_ref()).collect::<Vec<_>>(), None).map_err(|e| e.to_string())
    })?;
    let rounds = with_searcher(|s| {
        let index = s.partitions().ok_or("the bundle is not partitioned")?;
        match index.codes {
            // skypart-3: the rounds take the plan's partitions (only skypart-2 reads `refs` below).
            Some(_) => Rounds::new(index, q, filters, bound, &lists.iter().map(|l| l.as_ref()).collect::<Vec<_>>(), std::mem::take(&mut refs)).map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    })?;
    if let Some(rounds) = rounds {
        phase("plan", now_ms() - t);
        // An exact plan whose partitions are all kept (a small index once read, the demo's)
        // ranks them as they are: nothing to read, check or parse again.
        if rounds.exact_scan() {
            let kept: Option<Vec<usize>> = rounds.parts().iter().map(|r| kept_at(&r.key())).collect();
            if let Some(ids) = kept {
                return Ok((ids, None));
            }
        }
        return rounds3(&base, number, q, k, rounds, arrived).await;
    }
    let total = refs.len();
    phase("plan", now_ms() - t);
    let at_hand = || -> Vec<usize> { refs.iter().filter_map(|r| kept_at(&r.key())).collect() };
    let missing: Vec<PartRef> = refs.iter().filter(|r| kept_at(&r.key()).is_none()).cloned().collect();
    let (theirs, mine): (Vec<PartRef>, Vec<PartRef>) = missing.into_iter().partition(|r| IN_FLIGHT.with(|f| f.borrow().contains(&r.key())));
    let mut failed = Vec::new();
    fetch_parts(&base, &mine, &mut failed, || arrived(at_hand().len(), total, &at_hand)).await;
    // Those another query is fetching: wait for them; any it could not get, try here once.
    let mut seen = at_hand().len();
    while theirs.iter().any(|r| IN_FLIGHT.with(|f| f.borrow().contains(&r.key()))) {
        fetch::sleep(10).await;
        let now = at_hand();
        if now.len() > seen {
            seen = now.len();
            arrived(now.len(), total, &|| now.clone());
        }
    }
    let again: Vec<PartRef> = theirs.into_iter().filter(|r| kept_at(&r.key()).is_none()).collect();
    fetch_parts(&base, &again, &mut failed, || arrived(at_hand().len(), total, &at_hand)).await;
    let ids = at_hand();
    let warning = (!failed.is_empty()).then(|| {
        format!("{} of {} parts of the index could not be loaded; these results leave them out: {}", failed.len(), refs.len(), failed.join("; "))
    });
    Ok((ids, warning))
}

/// skypart-3: gets `refs` (areas, row blocks, records) checked, from memory, the cache or
/// the network ([`get_parts_gap`]: a leaf's areas at most `gap.0` bytes apart, through months
/// `gap.1` allows, are one request); `None` for one that could not be had, with its message
/// added to `failed`. `cached`: look them up in Cache Storage and store what the network
/// sent; without it, only memory and the network (row blocks and the records read with
/// them: small, a query's own, and many, so a Cache Storage lookup and store for each would
/// cost more than they save). `arrived(got)` after each range from the network (`got`: what
/// is at hand so far, as returned), so an answer can stream.
///
/// The bytes are shared with [`AREAS`] (a query asked again copies none of them). A piece
/// with no hash (a records area read with its rows area, checked by the rounds) is neither
/// kept in memory nor stored here: its key is returned among those to keep once checked
/// (fetched from the network, so not in the cache yet: [`keep_checked`]).
async fn get_areas(base: &str, refs: &[PartRef], gap: (u64, &[bool]), cached: bool, failed: &mut Vec<String>, arrived: &mut dyn FnMut(&[Option<Rc<[u8]>>])) -> (Vec<Option<Rc<[u8]>>>, HashSet<String>) {
    let out: RefCell<Vec<Option<Rc<[u8]>>>> = RefCell::new(AREAS.with(|a| {
        let mut a = a.borrow_mut();
        // Each key written into one buffer (a warm decade query looks up ~800 areas).
        let mut key = String::new();
        refs.iter()
            .map(|r| {
                key.clear();
                skycase_core::partition::write_segment_key(&mut key, &r.path, r.offset, r.bytes);
                a.get(key.as_str())
            })
            .collect()
    }));
    let missing: Vec<usize> = (0..refs.len()).filter(|&i| out.borrow()[i].is_none()).collect();
    let wanted: Vec<PartRef> = missing.iter().map(|&i| refs[i].clone()).collect();
    let mut unchecked = HashSet::new();
    let mut keep = |j: usize, bytes: Vec<u8>, fresh: bool| {
        let bytes: Rc<[u8]> = Rc::from(bytes);
        if wanted[j].sha256.is_empty() {
            if fresh {
                unchecked.insert(wanted[j].key());
            }
        } else {
            AREAS.with(|a| a.borrow_mut().insert(wanted[j].key(), bytes.clone()));
        }
        out.borrow_mut()[missing[j]] = Some(bytes);
    };
    let span_end = || arrived(&out.borrow());
    if cached {
        let mut errors = get_parts_gap(base, &wanted, true, gap, &mut keep, span_end).await;
        failed.append(&mut errors);
    } else {
        let mut errors = Vec::new();
        read_spans_gap(base, &wanted, gap, &mut errors, |j, bytes| keep(j, bytes, true), span_end).await;
        failed.extend(errors.into_iter().map(|(_, e)| e));
    }
    (out.into_inner(), unchecked)
}

/// Keeps the records areas an exact or record-filtered plan read unchecked with their rows
/// areas, now checked (`Rounds::round2_records`), in memory, and stores in the cache those
/// among `fresh` (from the network).
fn keep_checked(base: &str, records: Vec<(PartRef, &[u8])>, fresh: &HashSet<String>) {
    let cache = cache();
    for (r, bytes) in records {
        let key = r.key();
        if fresh.contains(&key) {
            cache.put_later(&format!("{base}{key}"), bytes);
        }
        AREAS.with(|a| {
            let mut a = a.borrow_mut();
            if !a.contains(&key) {
                a.insert(key, Rc::from(bytes));
            }
        });
    }
}

/// skypart-3: the rounds after the plan (`skycase_core::partition::areas`, the same steps
/// as `skycase search`): leaf areas (an exact or record-filtered plan: with their records
/// areas), row blocks with their records, records still missing (usually none); the answer's
/// partitions are kept in [`KEPT`] (not under their keys: they hold only the answer's rows;
/// as answer `number`'s) and their slots returned, with a message for what could not be
/// had. While round 3's ranges arrive (from [`PARTIAL_AFTER_MS`] on, while the worker waits for the next range),
/// `arrived` is told (pieces at hand of all, and the partitions of a partial answer: the best
/// frames among the rows read whose records are at hand, `Rounds::partial`), so that the
/// answer streams; the whole answer does not depend on it.
async fn rounds3(base: &str, number: u64, q: &QueryVector, k: usize, rounds: Rounds, arrived: &mut dyn FnMut(usize, usize, &dyn Fn() -> Vec<usize>)) -> Result<(Vec<usize>, Option<String>), String> {
    let mut failed = Vec::new();
    let t = now_ms();
    let areas = rounds.leaf_areas();
    let (got, fresh) = get_areas(base, &areas, (0, &[]), true, &mut failed, &mut |_| {}).await;
    phase("leaf areas", now_ms() - t);
    after_areas(base, number, q, k, rounds, got, &fresh, failed, arrived).await
}

/// skypart-3 by the leaf directory (`PartitionIndex::plan_tails`): the plan's leaf tails,
/// checked and cached like any area, in one round without list files; then as [`rounds3`].
async fn tails3(base: &str, number: u64, q: &QueryVector, bound: &[usize], k: usize, tails: &[skycase_core::partition::leaves::Tail], arrived: &mut dyn FnMut(usize, usize, &dyn Fn() -> Vec<usize>)) -> Result<(Vec<usize>, Option<String>), String> {
    let mut failed = Vec::new();
    let t = now_ms();
    let refs: Vec<PartRef> = tails.iter().map(|t| t.area.clone()).collect();
    let (got, fresh) = get_areas(base, &refs, (0, &[]), true, &mut failed, &mut |_| {}).await;
    phase("leaf tails", now_ms() - t);
    let (rounds, areas) = with_searcher(|s| Rounds::from_tails(s.partitions().ok_or("the bundle is not partitioned")?, bound, tails, &got).map_err(|e| e.to_string()))?;
    after_areas(base, number, q, k, rounds, areas, &fresh, failed, arrived).await
}

/// skypart-3 from round 2's answers on (`got`: the leaf areas, as the rounds named them;
/// `fresh`: keys of those from the network): the code pass, row blocks with their records,
/// records still missing, the answer's partitions.
#[allow(clippy::too_many_arguments)]
async fn after_areas(base: &str, number: u64, q: &QueryVector, k: usize, mut rounds: Rounds, got: Vec<Option<impl AsRef<[u8]>>>, fresh: &HashSet<String>, mut failed: Vec<String>, arrived: &mut dyn FnMut(usize, usize, &dyn Fn() -> Vec<usize>)) -> Result<(Vec<usize>, Option<String>), String> {
    let t = now_ms();
    let blocks = rounds.take_leaf_areas(q, k, got).map_err(|e| e.to_string())?;
    keep_checked(base, rounds.round2_records(), fresh);
    phase("code pass", now_ms() - t);
    let t = now_ms();
    let gap = rounds.gap();
    let cached = rounds.exact_scan() || PERIODS_SAVED.get();
    let total = blocks.len();
    let mut at_hand = |got: &[Option<Rc<[u8]>>]| {
        if now_ms() - t < PARTIAL_AFTER_MS {
            return;
        }
        let done = got.iter().filter(|b| b.is_some()).count();
        arrived(done, total, &|| rounds.partial(q, k, &blocks, got).map(|p| keep_answer(number, p, false)).unwrap_or_default());
    };
    let (got, _) = get_areas(base, &blocks, (gap.0, &gap.1.to_vec()), cached, &mut failed, &mut at_hand).await;
    phase("row blocks + records", now_ms() - t);
    let t = now_ms();
    let recs = rounds.take_blocks(q, k, &blocks, got).map_err(|e| e.to_string())?;
    phase("exact scores", now_ms() - t);
    let t = now_ms();
    let got = if recs.is_empty() { Vec::new() } else { get_areas(base, &recs, (0, &[]), cached, &mut failed, &mut |_| {}).await.0 };
    phase("late records", now_ms() - t);
    let t = now_ms();
    let parts = rounds.finish(&recs, got).map_err(|e| e.to_string())?;
    let ids = keep_answer(number, parts, true);
    phase("answer's partitions", now_ms() - t);
    let warning = (!failed.is_empty()).then(|| format!("{} parts of the index could not be loaded; these results leave them out: {}", failed.len(), failed.join("; ")));
    Ok((ids, warning))
}

/// A skypart-3 answer streams only once round 3 has run this long (and only while the worker
/// waits for a range): drawing a partial answer costs the page a render (50–100 ms of its
/// thread on the shared test machine, docs/benchmarks.md "~14:15–15:00Z (h-speed)"), worth it
/// only when the whole answer is not about to come; on localhost decade F's round 3 takes
/// 40–200 ms, and a partial answer drawn in its first milliseconds delayed the painted whole
/// one (docs/benchmarks.md, "~20:30–21:00Z (h-index)").
const PARTIAL_AFTER_MS: f64 = 150.0;

/// Keeps answer `number`'s partitions (skypart-3; `whole`: its whole answer, else a partial
/// one) in [`KEPT`] and returns their slots there: a whole partition (an exact or
/// record-filtered plan) under its key, for good, reused when kept already; an answer's
/// partition (a few rows of a segment) while the answer is among the last ones
/// (`skycase_core::partition::kept`: an older answer's are released, so that memory stays
/// bounded however long one searches).
fn keep_answer(number: u64, parts: Vec<(PartRef, Partition)>, whole: bool) -> Vec<usize> {
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        let mut slots: Vec<Option<usize>> = Vec::with_capacity(parts.len());
        let mut rows = Vec::new();
        for (r, p) in parts {
            if p.rows() == r.rows as usize {
                slots.push(Some(k.keep_whole(&r.key(), Rc::new(p))));
            } else {
                slots.push(None);
                rows.push(Rc::new(p));
            }
        }
        let mut answer = k.keep_answer(number, rows, whole).into_iter();
        slots.into_iter().map(|s| s.or_else(|| answer.next()).unwrap_or_default()).collect()
    })
}

/// Checks a segment, area or row block against its reference: a 64-digit hash as a file
/// entry (the message names the leaf file), a 32-digit one (skypart-3) by its prefix; none (a
/// skypart-3 records area read with its rows area) its size only: the rounds check it
/// against the hash its rows area gives before it is used or kept (`areas::verify_piece`).
fn check(p: &PartRef, bytes: &[u8]) -> Result<(), skycase_core::Error> {
    if p.sha256.len() == 64 {
        p.file().verify(bytes)
    } else {
        skycase_core::partition::areas::verify_piece(p, bytes)
    }
}

thread_local! {
    /// Milliseconds spent per phase of the current answer (logged by [`answer`] with `console.debug`).
    static PHASES: RefCell<Vec<(&'static str, f64)>> = const { RefCell::new(Vec::new()) };
}

/// Whether to log each answer's phases (`skycase phases: …`, `console.debug`): only when the
/// page's address has `phases` among its parameters (index.html passes it to the worker), for
/// benchmarks (tests/e2e/bench-decade.mjs; also the worker's `skycase answer: …` line); a user's
/// console stays quiet.
pub(super) fn log_phases() -> bool {
    thread_local! {
        static WANTED: bool = js_sys::global()
            .dyn_into::<web_sys::WorkerGlobalScope>()
            .is_ok_and(|g| g.location().search().trim_start_matches('?').split('&').any(|p| p == "phases" || p.starts_with("phases=")));
    }
    WANTED.with(|w| *w)
}

/// Adds `ms` to phase `name` of the current answer.
fn phase(name: &'static str, ms: f64) {
    PHASES.with(|p| {
        let mut p = p.borrow_mut();
        match p.iter_mut().find(|(n, _)| *n == name) {
            Some((_, t)) => *t += ms,
            None => p.push((name, ms)),
        }
    });
}

/// Partitions of a leaf at most this far apart are read by one request (the gap read and
/// dropped). 0: only segments back to back, so a filter never reads a month it drops (a
/// leaf's wanted months are back to back anyway when unfiltered or for a season).
const SPAN_GAP: u64 = 0;

/// Gets partitions `parts` checked: from the cache or the network ([`read_spans`]); calls
/// `got(index into parts, bytes)` for each as it is at hand, in order of arrival, and returns
/// a message for each that could not be had. `store`: cache what the network sent (in the
/// background; awaited by the caller of [`keep_parts`] instead).
///
/// The cache is asked first for the first segment of each leaf span only: a span whose first
/// segment is not there is read from the network whole, without looking up the rest (a cold
/// query looks up 16 segments instead of ~700, each lookup a round trip to the browser's
/// storage); the other spans are looked up segment by segment. Should the network fail for a
/// segment that was not looked up, the cache is asked for it then (a period saved offline
/// from a later month of the leaf than its first).
async fn get_parts(base: &str, parts: &[PartRef], store: bool, mut got: impl FnMut(usize, Vec<u8>)) -> Vec<String> {
    get_parts_gap(base, parts, store, (SPAN_GAP, &[]), |i, bytes, _| got(i, bytes), || {}).await
}

/// [`get_parts`] with segments of a leaf at most `gap.0` bytes apart, through months `gap.1`
/// allows, read by one request (the gap read and dropped; `spans_through`); `span_end()` after
/// the cache lookups and after each range from the network; `got`'s third argument: whether
/// the bytes came from the network. A piece with no hash (checked by its reader later) is not
/// stored.
async fn get_parts_gap(base: &str, parts: &[PartRef], store: bool, gap: (u64, &[bool]), mut got: impl FnMut(usize, Vec<u8>, bool), mut span_end: impl FnMut()) -> Vec<String> {
    let cache = cache();
    let keys: Vec<String> = parts.iter().map(|p| format!("{base}{}", p.key())).collect();
    let t = now_ms();
    let ranges = spans_through(parts, gap.0, gap.1);
    // Only spans whose first segment the cache may hold are looked up (`BundleCache::may_hold`).
    let firsts: Vec<Option<Promise>> = ranges.iter().map(|s| cache.may_hold(&keys[s.parts[0]]).then(|| cache.lookup(&keys[s.parts[0]]))).collect();
    // Per part: whether the cache was asked for it.
    let mut asked = vec![false; parts.len()];
    let mut probe = Vec::new();
    let mut misses = Vec::new();
    for (span, lookup) in ranges.iter().zip(firsts) {
        let Some(lookup) = lookup else {
            misses.extend_from_slice(&span.parts);
            continue;
        };
        asked[span.parts[0]] = true;
        match cache.get(&keys[span.parts[0]], parts[span.parts[0]].bytes, lookup).await {
            Some(bytes) => {
                got(span.parts[0], bytes, false);
                probe.extend_from_slice(&span.parts[1..]);
            }
            None => misses.extend_from_slice(&span.parts),
        }
    }
    let lookups: Vec<Promise> = probe.iter().map(|&i| cache.lookup(&keys[i])).collect();
    for (&i, lookup) in probe.iter().zip(lookups) {
        asked[i] = true;
        match cache.get(&keys[i], parts[i].bytes, lookup).await {
            Some(bytes) => got(i, bytes, false),
            None => misses.push(i),
        }
    }
    misses.sort_unstable();
    misses.dedup();
    phase("cache lookups", now_ms() - t);
    if misses.len() < parts.len() {
        span_end();
    }
    let wanted: Vec<PartRef> = misses.iter().map(|&i| parts[i].clone()).collect();
    let mut failed = Vec::new();
    read_spans_gap(
        base,
        &wanted,
        gap,
        &mut failed,
        |j, bytes| {
            let i = misses[j];
            let t = now_ms();
            if store && !parts[i].sha256.is_empty() {
                cache.put_later(&keys[i], &bytes);
            }
            phase("cache put start", now_ms() - t);
            got(i, bytes, true);
        },
        span_end,
    )
    .await;
    // What the network could not give and the cache was not asked for: ask it now.
    let mut out = Vec::new();
    for (j, message) in failed {
        let i = misses[j];
        if !asked[i] {
            if let Some(bytes) = cache.get(&keys[i], parts[i].bytes, cache.lookup(&keys[i])).await {
                got(i, bytes, false);
                continue;
            }
        }
        out.push(message);
    }
    out
}

/// Reads partitions from the network by byte ranges of their leaf files ([`spans`]; all
/// requests started at once, answers read in order), checks each against its sha256 (a
/// mismatch: that segment once more by itself, past the HTTP cache) and calls `got(index
/// into parts, bytes)`; failures are added to `failed` (index into parts, a message naming
/// the segment).
async fn read_spans(base: &str, parts: &[PartRef], failed: &mut Vec<(usize, String)>, got: impl FnMut(usize, Vec<u8>)) {
    read_spans_gap(base, parts, (SPAN_GAP, &[]), failed, got, || {}).await
}

/// [`read_spans`] with segments of a leaf at most `gap.0` bytes apart, through months `gap.1`
/// allows, read by one request; `span_end()` after a range's pieces when the next range's
/// answer has not come yet (so an answer can stream while the worker would wait anyway, and
/// a query whose ranges are all at hand is not slowed by it).
async fn read_spans_gap(base: &str, parts: &[PartRef], gap: (u64, &[bool]), failed: &mut Vec<(usize, String)>, mut got: impl FnMut(usize, Vec<u8>), mut span_end: impl FnMut()) {
    let ranges = spans_through(parts, gap.0, gap.1);
    let started: Vec<Promise> = ranges.iter().map(|s| fetch::start_range(&format!("{base}{}", s.path), s.start, s.end, false)).collect();
    for (at, span) in ranges.iter().enumerate() {
        let first = started[at].clone();
        let url = format!("{base}{}", span.path);
        let t = now_ms();
        let body = fetch::download_span(&url, span.start, span.end, Some(first), false).await;
        phase("network wait", now_ms() - t);
        for &i in &span.parts {
            let t = now_ms();
            let p = &parts[i];
            let first = match &body {
                Ok((bytes, at)) => p.slice(bytes, *at).map(<[u8]>::to_vec).ok_or_else(|| format!("{base}{}: not in the answer", p.key())),
                Err(e) => Err(e.clone()),
            };
            let checked = first.and_then(|b| check(p, &b).map(|_| b).map_err(|e| format!("{base}{}: {e}", p.key())));
            let checked = match checked {
                Ok(b) => Ok(b),
                // Wrong bytes (or a short answer): once more, this segment alone, past the HTTP cache.
                Err(e) if body.is_ok() => {
                    web_sys::console::warn_1(&format!("{e}; downloading it again").into());
                    match fetch::download_span(&url, p.offset, p.offset + p.bytes, None, true).await {
                        Ok((bytes, at)) => match p.slice(&bytes, at) {
                            Some(b) => check(p, b).map(|_| b.to_vec()).map_err(|e| format!("{base}{}: {e} (also after downloading it again); not used", p.key())),
                            None => Err(format!("{base}{}: not in the answer (also after downloading it again)", p.key())),
                        },
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            phase("slice + sha256", now_ms() - t);
            match checked {
                Ok(b) => got(i, b),
                Err(e) => failed.push((i, e)),
            }
        }
        if let Some(next) = started.get(at + 1) {
            if !fetch::settled(next).await {
                span_end();
            }
        }
    }
}

/// Downloads a partition named by its cache key (`entry.path`: a leaf path with
/// `?bytes=a-b`, as [`offline_entries`] lists it) by a byte range of its leaf file, checked
/// against `entry` (wrong bytes: once more past the HTTP cache); `None` for any other entry.
pub(super) async fn download_segment(base: &str, entry: &FileEntry) -> Option<Result<Vec<u8>, String>> {
    let (path, range) = entry.path.split_once("?bytes=")?;
    let (a, b) = range.split_once('-')?;
    let (start, last) = (a.parse::<u64>().ok()?, b.parse::<u64>().ok()?);
    let part = PartRef { list: 0, sub: 0, period: 0, path: path.to_string(), offset: start, sha256: entry.sha256.clone(), bytes: last + 1 - start, rows: 0, days: (1, 1) };
    let mut got = None;
    let mut failed = Vec::new();
    read_spans(base, std::slice::from_ref(&part), &mut failed, |_, bytes| got = Some(bytes)).await;
    Some(got.ok_or_else(|| failed.into_iter().map(|(_, e)| e).collect::<Vec<_>>().join("; ")))
}

/// Fetches partitions, keeps each in [`KEPT`] under its key as it arrives and calls `each`; failures are
/// added to `failed`. Marked in flight meanwhile.
async fn fetch_parts(base: &str, parts: &[PartRef], failed: &mut Vec<String>, mut each: impl FnMut()) {
    IN_FLIGHT.with(|f| f.borrow_mut().extend(parts.iter().map(PartRef::key)));
    let mut bad = Vec::new();
    let mut failures = get_parts(base, parts, true, |i, bytes| {
        let key = parts[i].key();
        IN_FLIGHT.with(|f| f.borrow_mut().remove(&key));
        let t = now_ms();
        let parsed = Partition::from_bytes(&bytes, &key);
        phase("parse (inflate + json)", now_ms() - t);
        match parsed {
            Ok(p) => {
                KEPT.with(|k| k.borrow_mut().keep_whole(&key, Rc::new(p)));
                let t = now_ms();
                each();
                phase("arrived (at_hand + partial ranks)", now_ms() - t);
            }
            Err(e) => bad.push(e.to_string()),
        }
    })
    .await;
    IN_FLIGHT.with(|f| parts.iter().for_each(|p| _ = f.borrow_mut().remove(&p.key())));
    failures.append(&mut bad);
    failed.append(&mut failures);
}

/// The page's form of hits on partitions `ids`: all of them, or with `episodes` (k, gap
/// hours) folded as [`cases::fold`] folds them, building only the k hits shown.
fn to_out_parts(parts: &[Rc<Partition>], ids: &[usize], hits: Vec<Hit>, strengths: &[f32], episodes: Option<(usize, f64)>) -> Vec<HitOut> {
    let record = |h: &Hit| &parts[h.shard].records()[h.frame];
    let region = |h: &Hit| {
        let names = parts[h.shard].vector_names();
        (names.len() > 1).then(|| names.get(h.vector)).flatten()
    };
    let out = |i: usize| {
        let h = &hits[i];
        hit_out(ids[h.shard], h, record(h), region(h).cloned(), strengths.get(i).copied())
    };
    let Some((k, gap)) = episodes else { return (0..hits.len()).map(out).collect() };
    let keys: Vec<_> = hits
        .iter()
        .map(|h| {
            let rec = record(h);
            cases::episode_key(&rec.time, region(h).map(String::as_str), &rec.origin, &rec.caption)
        })
        .collect();
    cases::fold_keys(&keys, k, gap, out)
}

/// Ranks `prepared` on partitions `ids` (slots in [`KEPT`]), `k` hits; with `episodes` (k
/// shown, gap hours) folded into episodes.
fn rank_on(prepared: skycase_core::search::Prepared, ids: &[usize], k: usize, episodes: Option<(usize, f64)>, filters: &Filters) -> Result<(Vec<HitOut>, skycase_core::search::Answer), String> {
    let parts: Vec<Rc<Partition>> = KEPT.with(|k| ids.iter().map(|&i| k.borrow().get(i).cloned().ok_or_else(|| format!("no partition {i} is loaded"))).collect::<Result<Vec<_>, String>>())?;
    with_searcher(|s| {
        let refs: Vec<&Partition> = parts.iter().map(|p| p.as_ref()).collect();
        let mut a = s.answer_parts(prepared, &refs, k, filters, now_ms).map_err(|e| e.to_string())?;
        let hits = to_out_parts(&parts, ids, std::mem::take(&mut a.hits), &a.strengths, episodes);
        Ok((hits, a))
    })
}

/// While partitions arrive, a partial answer at most this often.
const PARTIAL_EVERY_MS: f64 = 100.0;

/// Ranks a prepared query on the partitions its plan names. With `id` (a query from the
/// page), the answer streams: [`FromWorker::Partial`] with the best hits among the
/// partitions at hand, as they arrive, before the whole answer. With `episodes` (k shown, gap
/// hours), every answer (partial or whole) is folded from the `k` ranked. `quiet`: a
/// rehearsal (`worker::rehearse`), whose phases are neither counted nor logged.
async fn answer(id: Option<u32>, prepared: skycase_core::search::Prepared, k: usize, episodes: Option<(usize, f64)>, filters: &Filters, quiet: bool) -> Result<Answered, String> {
    let t0 = now_ms();
    // (when the last partial answer ended, what it cost)
    let mut last: Option<(f64, f64)> = None;
    let mut stream = |done: usize, total: usize, at_hand: &dyn Fn() -> Vec<usize>| {
        let Some(id) = id else { return };
        // A partial answer ranks what is at hand: at most one per PARTIAL_EVERY_MS, and never
        // more than a fifth of the time, so that streaming stays linear.
        if done >= total || last.is_some_and(|(t, cost)| now_ms() - t < PARTIAL_EVERY_MS.max(4.0 * cost)) {
            return;
        }
        let t = now_ms();
        let ids = at_hand();
        if ids.is_empty() {
            return;
        }
        match rank_on(prepared.clone(), &ids, k, episodes, filters) {
            Ok((hits, _)) if !hits.is_empty() => post(&FromWorker::Partial { id, hits, done, total }),
            _ => {}
        }
        last = Some((now_ms(), now_ms() - t));
        phase("partial ranks", now_ms() - t);
    };
    if !quiet {
        PHASES.with(|p| p.borrow_mut().clear());
    }
    let bound = with_searcher(|s| Ok(s.bound_vectors(&prepared, filters)))?;
    // skypart-3 has no per-partition "in flight" (skypart-2's wait): a query that comes while a
    // small index's prefetch reads it waits for the prefetch, then ranks what it kept.
    if with_searcher(|s| Ok(s.partitions().is_some_and(|p| p.codes.is_some())))? {
        while PREFETCHING.get() {
            fetch::sleep(10).await;
        }
    }
    // A rehearsal keeps the partitions it ranks as an answer of its own, forgotten once it has
    // ranked; it is not run where that answer would release an older one's (shown cards').
    if quiet && KEPT.with(|k| k.borrow().answers()) >= ANSWERS_KEPT {
        return Err("no rehearsal: as many answers kept as the worker keeps".into());
    }
    let number = next_answer();
    let planned = plan_and_fetch(number, &prepared.query, filters, &bound, k, &mut stream).await;
    let forget = || {
        if quiet {
            KEPT.with(|k| k.borrow_mut().forget_answer(number));
        }
    };
    let (ids, warning) = planned.inspect_err(|_| forget())?;
    let fetched_ms = now_ms() - t0;
    let (side, encode) = (prepared.side, prepared.encode.as_secs_f64() * 1e3);
    let t = now_ms();
    let ranked = rank_on(prepared, &ids, k, episodes, filters);
    forget();
    let (hits, a) = ranked?;
    phase("final rank", now_ms() - t);
    if log_phases() && !quiet {
        let phases = PHASES.with(|p| p.borrow().iter().map(|(n, t)| format!("{n} {t:.1}")).collect::<Vec<_>>().join(", "));
        let kept = KEPT.with(|k| k.borrow().answer_slots());
        web_sys::console::debug_1(&format!("skycase phases: {} partitions in {:.0} ms ({kept} answers' partitions kept): {phases}", ids.len(), now_ms() - t0).into());
    }
    // "rank" here is fetching what the plan needs plus ranking inside it.
    let rank = fetched_ms + a.rank.as_secs_f64() * 1e3;
    Ok(Answered { hits, encode_ms: encode, rank_ms: rank, nothing_close: a.nothing_close, side, warning, outside: a.outside, storm: None, period: None, unread: Vec::new() })
}

/// A text query on a partitioned bundle (the word chunks it needs are loaded already);
/// `id`: the page's query, whose answer streams (none: a rehearsal, quiet); `k` hits ranked,
/// with `episodes` (k shown, gap hours) folded.
pub(super) async fn query(id: Option<u32>, side: TextSide, text: &str, k: usize, episodes: Option<(usize, f64)>, filters: &Filters) -> Result<Answered, String> {
    let again = PREPARED.with(|p| p.borrow().as_ref().filter(|(s, t, _)| *s == side && t == text).map(|(_, _, q)| q.clone()));
    let prepared = match again {
        // Embedding is deterministic: the same vector, with no time spent embedding.
        Some(q) => skycase_core::search::Prepared { encode: std::time::Duration::ZERO, ..q },
        None => {
            let q = with_searcher(|s| s.prepare(side, text, now_ms).map_err(|e| e.to_string()))?;
            PREPARED.with(|p| *p.borrow_mut() = Some((side, text.to_string(), q.clone())));
            q
        }
    };
    answer(id, prepared, k, episodes, filters, id.is_none()).await
}

/// "More like this" on a partitioned bundle: the stored vector of hit `(shard, frame, vector)`.
pub(super) async fn similar(shard: usize, frame: usize, vector: usize, k: usize, filters: &Filters) -> Result<(Vec<HitOut>, f64), String> {
    let part = KEPT.with(|k| k.borrow().get(shard).cloned()).ok_or_else(|| format!("no partition {shard} is loaded"))?;
    let row = part.find_row(frame, vector).ok_or_else(|| format!("partition {shard} has no vector {vector} of frame {frame}"))?;
    let prepared = with_searcher(|s| s.prepare_vector(&part.row_f32(row)).map_err(|e| e.to_string()))?;
    let a = answer(None, prepared, k, None, filters, false).await?;
    Ok((a.hits, a.rank_ms))
}

/// Fetches (when the plan allows: a small index whole, else the leaves a neutral query
/// reaches) the partitions of the days `from`..=`to`, so a case's loop and its frame's
/// vectors are at hand.
pub(super) async fn fetch_days(from: &str, to: &str) -> Result<(), String> {
    let dim = with_searcher(|s| s.partitions().map(|p| p.dim).ok_or_else(|| "the bundle is not partitioned".to_string()))?;
    let q = QueryVector::new(&vec![0.0; dim]).map_err(|e| e.to_string())?;
    for days in every_origin(Filters { from: Some(from.to_string()), to: Some(to.to_string()), ..Filters::default() }) {
        plan_and_fetch(next_answer(), &q, &days, &[], usize::MAX, &mut |_, _, _: &dyn Fn() -> Vec<usize>| {}).await?;
    }
    Ok(())
}

/// Filters whose plans together reach every frame that `base` (no source filter) allows:
/// `base` itself (the calibrated origins) and `base` for each origin searched only when named
/// (`skycase_core::source::UNCALIBRATED`) that the manifest lists in a month.
fn every_origin(base: Filters) -> Vec<Filters> {
    let listed = |o: &str| with_searcher(|s| Ok(s.partitions().is_some_and(|p| p.periods.iter().any(|m| m.origins.iter().any(|x| x == o))))).unwrap_or(false);
    let named: Vec<Filters> = UNCALIBRATED.iter().filter(|o| listed(o)).map(|o| Filters { source: Some(SourceFilter::Origin(o.to_string())), ..base.clone() }).collect();
    std::iter::once(base).chain(named).collect()
}

/// Every loaded partition with its slot in [`KEPT`] (what hits' `shard` names; valid until
/// the next answer keeps its partitions).
pub(super) fn loaded() -> Vec<(usize, Rc<Partition>)> {
    KEPT.with(|k| k.borrow().iter().map(|(i, p)| (i, p.clone())).collect())
}

/// Frames and months of a partitioned bundle, for the ready message.
pub(super) fn summary(index: &skycase_core::partition::PartitionIndex) -> (usize, Vec<String>) {
    (index.frames, index.periods.iter().map(|p| p.period.clone()).collect())
}

/// Fetches every partition (and list) when the whole index is at most the manifest's
/// `exact_below` bytes: what any query would fetch anyway (those of the months searched only
/// under a source filter too).
pub(super) async fn prefetch_if_small() -> Result<(), String> {
    let small = with_searcher(|s| Ok(s.partitions().map(|p| (p.dim, p.lists.iter().map(|l| l.part_bytes).sum::<u64>() <= p.exact_below))))?;
    let Some((dim, true)) = small else { return Ok(()) };
    // With everything allowed and small, the plan is every partition whatever the query.
    let q = QueryVector::new(&vec![0.0; dim]).map_err(|e| e.to_string())?;
    PREFETCHING.set(true);
    let mut read = Ok((Vec::new(), None));
    for filters in every_origin(Filters::default()) {
        read = plan_and_fetch(next_answer(), &q, &filters, &[], usize::MAX, &mut |_, _, _: &dyn Fn() -> Vec<usize>| {}).await;
        if !matches!(read, Ok((_, None))) {
            break;
        }
    }
    PREFETCHING.set(false);
    match read? {
        (_, Some(warning)) => Err(warning),
        _ => Ok(()),
    }
}

/// The list and partition files held in memory and the thumbnails of their frames: the
/// partitioned part of the offline set (all of it after [`prefetch_if_small`]). skypart-3:
/// every area and row block read so far, under its key, by the hash of its bytes (each was
/// checked against its list file or a verified area when it came).
pub(super) fn offline_entries(s: &Searcher, page_files: &HashMap<String, FileEntry>) -> Vec<FileEntry> {
    let Some(index) = s.partitions() else { return Vec::new() };
    let mut out = Vec::new();
    LISTS.with(|m| {
        for (&l, list) in m.borrow().iter() {
            if let Some(e) = index.lists.get(l) {
                out.push(FileEntry { path: e.path.clone(), role: LIST_ROLE.into(), sha256: e.sha256.clone(), bytes: e.bytes });
            }
            for i in (0..list.sub.len()).filter(|_| list.hash_hex() == 64) {
                let (sub, sha) = (list.sub[i] as usize, &list.sha256[i * 64..(i + 1) * 64]);
                let Some(name) = list.leaves.get(sub) else { continue };
                // Cached under its key: the entry's path is that key.
                let key = skycase_core::partition::segment_key(&skycase_core::partition::part_path(l, sub, name), list.offset[i], list.bytes[i]);
                if kept_at(&key).is_some() {
                    out.push(FileEntry { path: key, role: skycase_core::partition::PART_ROLE.into(), sha256: sha.to_string(), bytes: list.bytes[i] });
                }
            }
        }
    });
    MONTHS.with(|m| {
        let mut months: Vec<usize> = m.borrow().iter().filter(|(_, d)| d.is_some()).map(|(&p, _)| p).collect();
        months.sort_unstable();
        out.extend(months.into_iter().filter_map(|p| index.periods.get(p)?.directory.clone()).map(|e| FileEntry { role: MONTHS_ROLE.into(), ..e }));
    });
    AREAS.with(|a| {
        let a = a.borrow();
        let mut kept: Vec<(&String, &Rc<[u8]>)> = a.iter().collect();
        kept.sort_unstable_by_key(|(key, _)| *key);
        for (key, bytes) in kept {
            let sha256 = skycase_core::bundle::sha256_hex(bytes)[..32].to_string();
            out.push(FileEntry { path: key.clone(), role: skycase_core::partition::PART_ROLE.into(), sha256, bytes: bytes.len() as u64 });
        }
    });
    let mut thumbs: Vec<String> = KEPT.with(|k| k.borrow().iter().flat_map(|(_, p)| p.records().iter().map(|r| r.thumb.clone()).collect::<Vec<_>>()).collect());
    thumbs.sort_unstable();
    thumbs.dedup();
    out.extend(thumbs.iter().filter_map(|t| page_files.get(t).cloned()));
    out
}

/// Files in flight at once while saving a period.
const PERIOD_BATCH: usize = 8;
/// Partitions per batch while saving a period (read by byte ranges: a leaf's months are one
/// request).
const PERIOD_PARTS_BATCH: usize = 64;

/// Stores partitions `parts` checked in the bundle cache (those it lacks read by byte ranges,
/// each write awaited so that a full quota stops saving with its reason); returns their bytes.
async fn keep_parts(base: &str, cache: &BundleCache, parts: &[PartRef]) -> Result<Vec<Vec<u8>>, String> {
    let mut out: Vec<Option<Vec<u8>>> = vec![None; parts.len()];
    let mut fresh = Vec::new();
    let failed = get_parts(base, parts, false, |i, bytes| {
        fresh.push(i);
        out[i] = Some(bytes);
    })
    .await;
    if let Some(e) = failed.into_iter().next() {
        return Err(e);
    }
    for i in fresh {
        let url = format!("{base}{}", parts[i].key());
        if !cache.holds(&url).await {
            cache.put(&url, out[i].as_deref().unwrap_or_default()).await?;
        }
    }
    out.into_iter().enumerate().map(|(i, b)| b.ok_or_else(|| format!("{base}{}: not fetched", parts[i].key()))).collect()
}

/// The filters of a period to save: its dates only.
fn period_filters(from: Option<String>, to: Option<String>) -> Filters {
    Filters { from, to, ..Default::default() }
}

/// Sizes "make this period available offline" from the manifest alone: the list files of
/// every list with a month in it, what its months need (`PartitionIndex::period_size`: each
/// month records its partitions' number and bytes; skypart-3 areas and row blocks follow
/// from them) and their thumbnails (each month records how many; at the bundle's average
/// thumbnail size, at most all of them). A bound: a period of a few days counts whole months.
pub(super) fn estimate_period(from: Option<String>, to: Option<String>) -> Result<PeriodState, String> {
    let filters = period_filters(from, to);
    let page_files = PAGE_FILES.with(|p| p.borrow().clone());
    with_searcher(|s| {
        let index = s.partitions().ok_or("this index is not partitioned: all of it is saved for offline use after the first answer")?;
        let periods = index.periods_in(&filters);
        if periods.is_empty() {
            return Err("the index holds no month in these dates".to_string());
        }
        let lists = index.lists_in(&filters);
        let list_bytes: u64 = lists.iter().map(|&l| index.lists[l].bytes).sum();
        let (parts, part_bytes) = index.period_size(&periods).unwrap_or_else(|| {
            // An index written before months recorded their sizes: each list's partitions
            // in proportion to the share of its months that are in the period.
            let share = |l: usize| {
                let e = &index.lists[l];
                let n = e.periods.iter().filter(|&&p| periods.contains(&(p as usize))).count() as u64;
                (e.part_bytes * n).div_ceil(e.periods.len().max(1) as u64)
            };
            (0, lists.iter().map(|&l| share(l)).sum())
        });
        let thumbs: Vec<u64> = page_files.values().filter(|f| f.role == "thumbnail").map(|f| f.bytes).collect();
        let n_thumbs = periods.iter().map(|&p| index.periods[p].thumbs).sum::<usize>().min(thumbs.len());
        let thumb_bytes = (thumbs.iter().sum::<u64>() * n_thumbs as u64).div_ceil(thumbs.len().max(1) as u64);
        Ok(PeriodState::Estimate {
            months: periods.iter().map(|&p| index.periods[p].period.clone()).collect(),
            files: lists.len() + parts + n_thumbs,
            bytes: list_bytes + part_bytes + thumb_bytes,
        })
    })
}

/// Stores `entries` checked in the bundle cache, those it lacks downloaded in parallel, each
/// write awaited so that a full quota stops saving with its reason; returns their bytes when
/// `want` (from the cache when it holds them whole).
async fn keep(base: &str, cache: &BundleCache, entries: &[FileEntry], want: bool) -> Result<Vec<Vec<u8>>, String> {
    let urls: Vec<String> = entries.iter().map(|e| format!("{base}{}", e.path)).collect();
    let lookups: Vec<Promise> = urls.iter().map(|u| cache.lookup(u)).collect();
    let mut cached = Vec::with_capacity(urls.len());
    for lookup in lookups {
        cached.push(JsFuture::from(lookup).await.ok().filter(|h| h.is_instance_of::<Response>()).map(|h| h.unchecked_into::<Response>()));
    }
    let started: Vec<Option<Promise>> = urls.iter().zip(&cached).map(|(u, c)| c.is_none().then(|| request(u))).collect();
    let mut out = Vec::with_capacity(if want { urls.len() } else { 0 });
    for ((entry, url), (hit, started)) in entries.iter().zip(&urls).zip(cached.into_iter().zip(started)) {
        if let Some(resp) = hit {
            if !want {
                continue;
            }
            if let Ok(bytes) = read_cached(url, &resp).await {
                if bytes.len() as u64 == entry.bytes {
                    out.push(bytes);
                    continue;
                }
            }
        }
        let bytes = fetch::download(url, entry, started, &BundleCache::NONE, |_| {}).await?;
        cache.put(url, &bytes).await?;
        if want {
            out.push(bytes);
        }
    }
    Ok(out)
}

/// "Make this period available offline": the files every search needs offline (the set the
/// app saves after its first answer), then the period's list files, what any query within
/// its months and days reads (`PartitionIndex::period_parts`: every partition, or skypart-3
/// areas and row blocks) and the thumbnails of their frames, each checked against the
/// manifest, its list file or a verified area and stored; then every one is looked up in the
/// cache. Reports progress in bytes; resolves to the months, files and bytes saved.
pub(super) async fn save_period(from: Option<String>, to: Option<String>) -> Result<PeriodState, String> {
    let filters = period_filters(from.clone(), to.clone());
    let PeriodState::Estimate { months, bytes: estimate, .. } = estimate_period(from.clone(), to.clone())? else {
        return Err("no estimate for this period".into());
    };
    post(&FromWorker::OfflinePeriod(PeriodState::Saving { done: 0, total: estimate }));
    // The encoder, word chunks and the rest that any search needs offline.
    let files = super::save_offline().await?;
    post(&FromWorker::Offline(OfflineState::Ready { files }));
    let base = BASE.with(|b| b.borrow().clone());
    let cache = cache();
    let _ = fetch::take_store_error();
    let (list_entries, thumb_estimate, dim) = with_searcher(|s| {
        let index = s.partitions().ok_or("the bundle is not partitioned")?;
        let lists: Vec<(usize, FileEntry)> = index
            .lists_in(&filters)
            .into_iter()
            .map(|l| {
                let e = &index.lists[l];
                (l, FileEntry { path: e.path.clone(), role: LIST_ROLE.into(), sha256: e.sha256.clone(), bytes: e.bytes })
            })
            .collect();
        let parts = index.period_size(&index.periods_in(&filters)).map_or(0, |(_, b)| b);
        let lists_bytes: u64 = lists.iter().map(|(_, e)| e.bytes).sum();
        Ok((lists, estimate.saturating_sub(parts + lists_bytes), index.dim))
    })?;
    let mut done = 0u64;
    let mut total = estimate;
    let report = |done: u64, total: u64| post(&FromWorker::OfflinePeriod(PeriodState::Saving { done, total }));
    let mut lists = Vec::with_capacity(list_entries.len());
    for batch in list_entries.chunks(PERIOD_BATCH) {
        let entries: Vec<FileEntry> = batch.iter().map(|(_, e)| e.clone()).collect();
        for ((l, entry), bytes) in batch.iter().zip(keep(&base, &cache, &entries, true).await?) {
            let list = ListFile::from_json(&bytes, &entry.path).map_err(|e| e.to_string())?;
            if list.list != *l {
                return Err(format!("{}: is list {}, the manifest lists it as {l}", entry.path, list.list));
            }
            let list = Rc::new(list);
            LISTS.with(|m| m.borrow_mut().insert(*l, list.clone()));
            lists.push(list);
            done += entry.bytes;
        }
        report(done, total);
    }
    let period = with_searcher(|s| {
        let index = s.partitions().ok_or("the bundle is not partitioned")?;
        index.period_parts(&filters, &lists.iter().map(|l| l.as_ref()).collect::<Vec<_>>()).map_err(|e| e.to_string())
    })?;
    // Row blocks repeat their rows area's bytes (less its 16-byte header).
    let blocks: u64 = if period.blocks { period.rows.iter().map(|p| p.bytes.saturating_sub(16)).sum() } else { 0 };
    let sum = |v: &[PartRef]| v.iter().map(|p| p.bytes).sum::<u64>();
    total = done + sum(&period.rows) + sum(&period.codes) + sum(&period.records) + blocks + thumb_estimate;
    let mut thumbs: Vec<String> = Vec::new();
    // Every piece saved, by its key, for the check below.
    let mut saved: Vec<FileEntry> = Vec::new();
    let index_of: Vec<usize> = (0..period.rows.len()).collect();
    for batch in index_of.chunks(PERIOD_PARTS_BATCH) {
        let pick = |v: &[PartRef]| -> Vec<PartRef> { if v.is_empty() { Vec::new() } else { batch.iter().map(|&i| v[i].clone()).collect() } };
        let rows = pick(&period.rows);
        let rows_bytes = keep_parts(&base, &cache, &rows).await?;
        saved.extend(rows.iter().map(|p| FileEntry { path: p.key(), ..p.file() }));
        if period.records.is_empty() {
            // skypart-2: a partition holds its records.
            for (p, bytes) in rows.iter().zip(&rows_bytes) {
                let part = Partition::from_bytes(bytes, &p.key()).map_err(|e| e.to_string())?;
                thumbs.extend(part.records().iter().map(|r| r.thumb.clone()));
                done += p.bytes;
            }
        } else {
            let codes = pick(&period.codes);
            let codes_bytes = if codes.is_empty() { Vec::new() } else { keep_parts(&base, &cache, &codes).await? };
            let recs = pick(&period.records)
                .iter()
                .zip(&rows_bytes)
                .map(|(r, area)| skycase_core::partition::period::records_ref(r, area).ok_or_else(|| format!("{base}{}: a rows area without its records hash", r.key())))
                .collect::<Result<Vec<_>, _>>()?;
            let recs_bytes = keep_parts(&base, &cache, &recs).await?;
            for (j, p) in rows.iter().enumerate() {
                let part = skycase_core::partition::areas::read_segment(&rows_bytes[j], &recs_bytes[j], p.rows as usize, dim, &p.key()).map_err(|e| e.to_string())?;
                thumbs.extend(part.records().iter().map(|r| r.thumb.clone()));
                done += p.bytes + recs[j].bytes;
                let Some(code) = codes.get(j) else { continue };
                done += code.bytes;
                // Its row blocks, each cut from the verified rows area and checked against the
                // hash its verified codes area gives.
                for b in skycase_core::partition::period::row_blocks(p, dim, Some(&codes_bytes[j])).map_err(|e| e.to_string())? {
                    let bytes = b.slice(&rows_bytes[j], p.offset).ok_or_else(|| format!("{base}{}: not in its rows area", b.key()))?;
                    b.verify(bytes).map_err(|e| format!("{base}{}: {e}", b.key()))?;
                    let url = format!("{base}{}", b.key());
                    if !cache.holds(&url).await {
                        cache.put(&url, bytes).await?;
                    }
                    done += b.bytes;
                    saved.push(FileEntry { path: b.key(), ..b.file() });
                }
            }
            saved.extend(codes.iter().chain(&recs).map(|p| FileEntry { path: p.key(), ..p.file() }));
        }
        thumbs.sort_unstable();
        thumbs.dedup();
        report(done, total);
    }
    let page_files = PAGE_FILES.with(|p| p.borrow().clone());
    let thumb_entries: Vec<FileEntry> = thumbs.iter().filter_map(|t| page_files.get(t).cloned()).collect();
    total = done + thumb_entries.iter().map(|e| e.bytes).sum::<u64>();
    for batch in thumb_entries.chunks(PERIOD_BATCH) {
        keep(&base, &cache, batch, false).await?;
        done += batch.iter().map(|e| e.bytes).sum::<u64>();
        report(done, total);
    }
    if let Some(e) = fetch::take_store_error() {
        return Err(e);
    }
    // Claimed only when verified: every file must be found in the cache.
    let all: Vec<FileEntry> = list_entries.into_iter().map(|(_, e)| e).chain(saved).chain(thumb_entries).collect();
    for entry in &all {
        let url = format!("{base}{}", entry.path);
        if !cache.holds(&url).await {
            return Err(format!("{url}: not in the offline cache after saving it"));
        }
    }
    let saved = SavedPeriod { from, to, months: months.clone(), files: all.len(), bytes: done, missing: 0 };
    let mut record: Vec<SavedPeriod> = read_saved(&base, &cache).await.into_iter().filter(|p| (&p.from, &p.to) != (&saved.from, &saved.to)).collect();
    record.push(saved);
    let json = serde_json::to_vec(&record).map_err(|e| e.to_string())?;
    cache.put(&format!("{base}{SAVED_PERIODS}"), &json).await?;
    PERIODS_SAVED.set(true);
    Ok(PeriodState::Saved { months, files: all.len(), bytes: done })
}

/// Where the bundle's cache records the periods saved for offline use (beside the bundle's
/// files, under a name no bundle file has; it goes with the cache when a new bundle replaces it).
pub(super) const SAVED_PERIODS: &str = ".saved-periods.json";

/// Cache lookups in flight at once while checking the saved periods.
const LOOKUP_BATCH: usize = 256;

/// The periods recorded as saved (none if there is no record or it does not read).
async fn read_saved(base: &str, cache: &BundleCache) -> Vec<SavedPeriod> {
    let url = format!("{base}{SAVED_PERIODS}");
    let Some(resp) = JsFuture::from(cache.lookup(&url)).await.ok().filter(|h| h.is_instance_of::<Response>()) else { return Vec::new() };
    let Ok(bytes) = read_cached(&url, &resp.unchecked_into()).await else { return Vec::new() };
    let saved: Vec<SavedPeriod> = serde_json::from_slice(&bytes).unwrap_or_default();
    if !saved.is_empty() {
        PERIODS_SAVED.set(true);
    }
    saved
}

/// The periods saved for offline use in this bundle's cache, oldest first, each checked:
/// its list files and what they name for its dates (partitions, or skypart-3 areas and row
/// blocks: `PartitionIndex::period_parts`) are looked up in the cache (`missing` counts those
/// that are not there any more).
pub(super) async fn saved_periods() -> Vec<SavedPeriod> {
    let (base, cache) = (BASE.with(|b| b.borrow().clone()), cache());
    let mut out = read_saved(&base, &cache).await;
    for period in &mut out {
        let filters = period_filters(period.from.clone(), period.to.clone());
        let Ok((entries, dim)) = with_searcher(|s| {
            let index = s.partitions().ok_or("the bundle is not partitioned")?;
            Ok((index.lists_in(&filters).into_iter().map(|l| (l, index.lists[l].clone())).collect::<Vec<_>>(), index.dim))
        }) else {
            continue;
        };
        let mut missing = 0;
        let mut lists = Vec::new();
        for (l, e) in entries {
            let url = format!("{base}{}", e.path);
            match cache.get(&url, e.bytes, cache.lookup(&url)).await.and_then(|b| ListFile::from_json(&b, &e.path).ok()).filter(|f| f.list == l) {
                Some(list) => lists.push(list),
                None => missing += 1,
            }
        }
        let parts = with_searcher(|s| s.partitions().ok_or_else(String::new)?.period_parts(&filters, &lists.iter().collect::<Vec<_>>()).map_err(|e| e.to_string())).unwrap_or_default();
        let blocks: Vec<PartRef> = if parts.blocks { parts.rows.iter().flat_map(|p| skycase_core::partition::period::row_blocks(p, dim, None).unwrap_or_default()).collect() } else { Vec::new() };
        let keys: Vec<String> = parts.rows.iter().chain(&parts.codes).chain(&parts.records).chain(&blocks).map(PartRef::key).collect();
        // Looked up a batch at a time, all of a batch at once (a saved decade has ~10^5).
        for batch in keys.chunks(LOOKUP_BATCH) {
            let lookups: Vec<Promise> = batch.iter().map(|k| cache.lookup(&format!("{base}{k}"))).collect();
            for lookup in lookups {
                missing += !JsFuture::from(lookup).await.is_ok_and(|hit| hit.is_instance_of::<Response>()) as usize;
            }
        }
        period.missing = missing;
    }
    out
}
