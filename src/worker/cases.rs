//! Weather cases in the worker (issue 13): episodes folded from ranked hits
//! (`skycase_core::episodes`, as `skycase search --episodes`), "more like this" by a frame's
//! id, and a case: the frame, its loop (the frames of the same source around it) and how each
//! of its regions answers the query. Works on the shard scan and on a partitioned index (whose
//! partitions of the case's days are fetched first, as a query fetches its plan).

use std::rc::Rc;

use skycase_core::bundle::{medium_path, MEDIUM_ROLE};
use skycase_core::episodes::{day_of, group, hours_since_epoch, EpisodeKey, POOL_FACTOR};
use skycase_core::partition::Partition;
use skycase_core::rank::score_row;
use skycase_core::FrameRecord;
use skycase_vocab::{phenomenon_of, region_index};

use super::*;
use crate::protocol::{CaseOut, EpisodeOut, LoopFrame, RegionScore};

/// Frames to rank for `k` results: a pool of [`POOL_FACTOR`]·k when folding episodes.
pub(super) fn pool(k: usize, episodes: Option<f64>) -> usize {
    if episodes.is_some() {
        k.saturating_mul(POOL_FACTOR)
    } else {
        k
    }
}

/// The `k` best episodes of ranked `hits` (their best frames, each carrying its episode), or
/// the hits as they are when `episodes` is `None`.
pub(super) fn fold(hits: Vec<HitOut>, k: usize, episodes: Option<f64>) -> Vec<HitOut> {
    let Some(gap) = episodes else { return hits };
    let keys: Vec<EpisodeKey> = hits.iter().map(|h| episode_key(&h.time, h.region.as_deref(), &h.origin, &h.caption)).collect();
    fold_keys(&keys, k, gap, |i| hits[i].clone())
}

/// What [`group`] tells a ranked hit's episode by: its time, matched region, origin, and the
/// phenomenon its caption gives that region.
pub(super) fn episode_key<'a>(time: &'a str, region: Option<&str>, origin: &'a str, caption: &'a str) -> EpisodeKey<'a> {
    let region = region.and_then(region_index);
    EpisodeKey { time, region, origin, phenomenon: region.and_then(|r| phenomenon_of(caption, r)) }
}

/// [`fold`] from the ranked hits' `keys`, building only the hits shown: `hit(i)` is hit i in
/// the page's form. A pool of 200 hits folds to 20 without the other 180 records copied
/// (their captions most of the bytes).
pub(super) fn fold_keys(keys: &[EpisodeKey], k: usize, gap: f64, hit: impl Fn(usize) -> HitOut) -> Vec<HitOut> {
    group(keys, gap)
        .into_iter()
        .take(k)
        .map(|e| {
            let mut best = hit(e.best);
            best.episode = Some(EpisodeOut { frames: e.frames(), start: e.start, end: e.end });
            best
        })
        .collect()
}

/// A frame of a case's loop, with its medium image where the manifest lists one.
fn loop_frame(r: &FrameRecord) -> LoopFrame {
    let medium = medium_path(&r.thumb);
    let medium = PAGE_FILES.with(|p| p.borrow().get(&medium).is_some_and(|f| f.role == MEDIUM_ROLE)).then_some(medium);
    LoopFrame { id: r.id.clone(), time: r.time.clone(), thumb: r.thumb.clone(), medium, caption: r.caption.clone() }
}

/// Where a frame's vectors are: a shard (index, frame) or loaded partitions.
enum Place {
    Shard(usize, usize),
    Parts(Vec<(usize, Rc<Partition>, usize)>),
}

fn partitioned() -> bool {
    with_searcher(|s| Ok(s.partitions().is_some())).unwrap_or(false)
}

/// The record of frame `id` and where its vectors are, among what is loaded.
fn find(s: &Searcher, id: &str) -> Option<(FrameRecord, Place)> {
    if s.partitions().is_none() {
        return s.shards().iter().enumerate().find_map(|(si, sh)| {
            let f = sh.records().iter().position(|r| r.id == id)?;
            Some((sh.records()[f].clone(), Place::Shard(si, f)))
        });
    }
    let found: Vec<(usize, Rc<Partition>, usize)> =
        parts::loaded().into_iter().filter_map(|(i, p)| p.records().iter().position(|r| r.id == id).map(|f| (i, p, f))).collect();
    let (_, p, f) = found.first()?;
    Some((p.records()[*f].clone(), Place::Parts(found)))
}

/// Finds frame `id`; on a partitioned index not holding it yet, fetches the index whole if it
/// is small (a link to a case opened cold).
async fn locate(id: &str) -> Result<FrameRecord, String> {
    if let Some((rec, _)) = with_searcher(|s| Ok(find(s, id)))? {
        return Ok(rec);
    }
    if partitioned() {
        parts::prefetch_if_small().await?;
    }
    with_searcher(|s| Ok(find(s, id)))?.map(|(r, _)| r).ok_or_else(|| format!("frame {id} is not in the loaded index (open it from a search)"))
}

/// "More like this" for frame `frame_id`, compared by its vector of `region` (its first
/// vector without one); the frame itself is left out.
pub(super) async fn similar(frame_id: &str, region: Option<&str>, k: usize, filters: &Filters, episodes: Option<f64>) -> Result<(Vec<HitOut>, f64), String> {
    locate(frame_id).await?;
    let n = pool(k, episodes) + 1;
    let place = with_searcher(|s| Ok(find(s, frame_id)))?.map(|(_, p)| p).ok_or_else(|| format!("frame {frame_id} is not loaded"))?;
    let (hits, ms) = match place {
        Place::Shard(si, f) => {
            let v = with_searcher(|s| Ok(region.and_then(|r| s.shards()[si].vector_names().iter().position(|n| n == r)).unwrap_or(0)))?;
            super::similar(si, f, v, n, filters)?
        }
        Place::Parts(found) => {
            let at = found.iter().find_map(|(i, p, f)| {
                let v = region.and_then(|r| p.vector_names().iter().position(|n| n == r)).unwrap_or(0);
                p.find_row(*f, v).map(|_| (*i, *f, v))
            });
            let (i, f, v) = at.ok_or_else(|| format!("the vector of {} of frame {frame_id} is not loaded", region.unwrap_or("the frame")))?;
            parts::similar(i, f, v, n, filters).await?
        }
    };
    let hits: Vec<HitOut> = hits.into_iter().filter(|h| h.id != frame_id).collect();
    let mut hits = fold(hits, k, episodes);
    hits.truncate(k);
    Ok((hits, ms))
}

/// A case: frame `frame_id`, the frames of its source within `hours` of it, and its regions'
/// scores and strengths for `query`.
pub(super) async fn case(frame_id: &str, query: Option<&str>, korean: bool, filters: &Filters, hours: f64) -> Result<CaseOut, String> {
    let rec = locate(frame_id).await?;
    let hours = if hours.is_finite() { hours.clamp(0.0, 24.0 * 7.0) } else { 12.0 };
    let t0 = hours_since_epoch(&rec.time);
    if let (true, Some(t)) = (partitioned(), t0) {
        parts::fetch_days(&day_of(t - hours), &day_of(t + hours)).await?;
    }
    let query = query.map(str::trim).filter(|q| !q.is_empty());
    let side = match query {
        Some(q) => Some(ready_to_embed(q, korean).await?),
        None => None,
    };
    with_searcher(|s| {
        let prepared = match (side, query) {
            (Some(side), Some(q)) => Some(s.prepare(side, q, now_ms).map_err(|e| e.to_string())?),
            _ => None,
        };
        // The loop: every loaded frame of the same source within `hours`, once each.
        let records: Vec<&FrameRecord> = match s.partitions() {
            None => s.shards().iter().flat_map(|sh| sh.records().iter()).collect(),
            Some(_) => Vec::new(),
        };
        let loaded = parts::loaded();
        let part_records: Vec<&FrameRecord> = loaded.iter().flat_map(|(_, p)| p.records().iter()).collect();
        let mut frames: Vec<(f64, LoopFrame)> = records
            .into_iter()
            .chain(part_records)
            .filter(|r| r.origin == rec.origin)
            .filter_map(|r| {
                let t = hours_since_epoch(&r.time)?;
                (t0.is_some_and(|t0| (t - t0).abs() <= hours) || r.id == rec.id).then(|| (t, loop_frame(r)))
            })
            .collect();
        frames.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        frames.dedup_by(|a, b| a.1.id == b.1.id);
        let frames: Vec<LoopFrame> = frames.into_iter().map(|(_, f)| f).collect();
        if frames.is_empty() {
            frames_missing(&rec)?;
        }
        // Per region: (name, score, stored vector).
        let mut regions: Vec<(String, f32, Vec<f32>)> = Vec::new();
        if let Some(p) = &prepared {
            match find(s, frame_id).map(|(_, place)| place) {
                Some(Place::Shard(si, f)) => {
                    let sh = &s.shards()[si];
                    let vpf = sh.vectors_per_frame();
                    for (v, name) in sh.vector_names().iter().enumerate() {
                        if let Some(score) = score_row(sh, f * vpf + v, &p.query) {
                            regions.push((name.clone(), score, sh.row_f32(f * vpf + v)));
                        }
                    }
                }
                Some(Place::Parts(found)) => {
                    for (_, part, f) in &found {
                        for row in 0..part.rows() {
                            let (rf, v) = part.row_ref(row);
                            let name = &part.vector_names()[v];
                            if rf != *f || regions.iter().any(|(n, _, _)| n == name) {
                                continue;
                            }
                            if let Some(score) = part.score_row(row, &p.query) {
                                regions.push((name.clone(), score, part.row_f32(row)));
                            }
                        }
                    }
                }
                None => {}
            }
        }
        let region_aware = regions.iter().all(|(n, _, _)| region_index(n).is_some());
        if !region_aware {
            regions.clear();
        }
        // The match: the best region the filters allow among those the query is bound to.
        let bound = prepared.as_ref().map(|p| filters.bind(&p.regions)).unwrap_or_default();
        let matched = regions
            .iter()
            .filter(|(n, _, _)| filters.allows_vector(&rec, n))
            .filter(|(n, _, _)| bound.is_empty() || region_index(n).is_some_and(|r| bound.contains(&r)))
            .fold(None, |best: Option<&(String, f32, Vec<f32>)>, x| if best.is_none_or(|b| x.1 > b.1) { Some(x) } else { best })
            .map(|(n, _, _)| n.clone());
        let regions = regions
            .into_iter()
            .map(|(name, score, v)| {
                let strength = prepared.as_ref().and_then(|p| s.strength_for(region_index(&name)?, &v, p, filters));
                RegionScore { region: name, score, strength }
            })
            .collect();
        // The matched region's "nothing close" threshold for the phenomenon asked (its own,
        // when the calibration holds that phenomenon to one); the shared one without a query.
        let threshold = match (&prepared, matched.as_deref().and_then(region_index)) {
            (Some(p), Some(r)) => s.notice_threshold_for(r, p, filters),
            _ => s.calibration().map(|c| c.threshold),
        };
        Ok(CaseOut {
            frame: loop_frame(&rec),
            caption: rec.caption.clone(),
            source: rec.source.clone(),
            origin: rec.origin.clone(),
            frames,
            regions,
            matched,
            threshold,
            strong: threshold.map(|th| skycase_core::strength::STRONG.max(th)),
        })
    })
}

fn frames_missing(rec: &FrameRecord) -> Result<(), String> {
    Err(format!("frame {} has no readable time ({:?})", rec.id, rec.time))
}
