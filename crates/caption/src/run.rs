//! The captioning loops over a frame store: the physical one, shared by `skycase caption`
//! and the evaluation example (`examples/sim_eval.rs`) so both caption frames the same way,
//! and the MLLM one ([`MllmRun`]).
//!
//! [`PhysicalRun::run`] loads frames in clear-sky-composite order (grid, then time of day,
//! then time; see [`crate::composite`]), builds each frame's [`FrameView`], asks the
//! [`PhysicalCaptioner`] and hands every outcome — a [`CaptionRecord`] or the error that
//! stopped that frame — to a sink. The sink decides what to do with it (write it
//! atomically, compare it with truth); a sink error stops the run.
//!
//! [`MllmRun::run`] sends each frame as an image with the filled prompt on a few threads,
//! parses the answers and hands every [`MllmOutcome`] to a sink on the calling thread; it
//! stops starting frames after [`MAX_ENDPOINT_FAILURES`] endpoint errors in a row.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use skycase_ingest::canonical::{resample, GridSpec, MIN_REGION_COVERAGE};
use skycase_ingest::frame::grid_id;
use skycase_ingest::{Frame, FrameMeta, FrameStore};

use crate::besttrack::{BestTrack, StormFix};
use crate::composite::{for_each_with_composite, Item};
use crate::error::{chain, Error, Result};
use crate::frame::{image_png, lonlat_grid, satellite_name};
use crate::mllm::{cache_key, fill_prompt, MllmClient};
use crate::parse::parse_answer;
use crate::physical::{FrameView, PhysicalCaptioner, RegionStats};
use crate::vocab::{Caption, Region};
use crate::store::{CaptionRecord, CaptionerInfo, FailureReason, FailureRecord};

/// Everything one physical captioning pass needs.
#[derive(Debug)]
pub struct PhysicalRun<'a> {
    /// The frame store (frames, region masks).
    pub store: &'a FrameStore,
    /// The captioner with its rules.
    pub captioner: &'a PhysicalCaptioner,
    /// Best track for typhoons; without it no region is ever Typhoon.
    pub besttrack: Option<&'a BestTrack>,
    /// Recorded in every caption.
    pub info: CaptionerInfo,
    /// Clear-sky composite window, ± days (0: no composite, per-frame fallback).
    pub composite_days: i64,
}

impl PhysicalRun<'_> {
    /// Caption the frames `todo` (all from this store). Their neighbours in the store
    /// (same grid, captioned or not) feed the clear-sky composite. `sink` gets each
    /// frame's outcome once, in composite order, not in `todo`'s order.
    pub fn run<S>(&self, todo: &[FrameMeta], mut sink: S) -> Result<()>
    where
        S: FnMut(&FrameMeta, Result<CaptionRecord>) -> Result<()>,
    {
        let window = self.composite_days.max(0);
        let todo_ids: HashSet<&str> = todo.iter().map(|m| m.id.as_str()).collect();
        let metas: Vec<FrameMeta> = if window > 0 {
            let grids: HashSet<String> = todo.iter().map(|m| grid_id(m.width, m.height, &m.nav)).collect();
            let mut all: Vec<FrameMeta> = self
                .store
                .list()?
                .into_iter()
                .filter(|m| grids.contains(&grid_id(m.width, m.height, &m.nav)))
                .collect();
            // A frame given in `todo` but not (yet) listed still gets captioned.
            let listed: HashSet<String> = all.iter().map(|m| m.id.clone()).collect();
            all.extend(todo.iter().filter(|m| !listed.contains(&m.id)).cloned());
            all
        } else {
            todo.to_vec()
        };
        let items: Vec<Item> = metas
            .iter()
            .map(|m| Item {
                time: m.time,
                // Without a composite window every frame is its own group.
                grid: if window > 0 { grid_id(m.width, m.height, &m.nav) } else { m.id.clone() },
            })
            .collect();
        let mut lonlat: HashMap<String, Vec<(f32, f32)>> = HashMap::new();
        for_each_with_composite(
            &items,
            window,
            |i| self.store.load(&metas[i].id).map_err(Error::from),
            |f: &Frame| f.bt.as_slice(),
            |i, loaded| {
                let meta = &metas[i];
                if !todo_ids.contains(meta.id.as_str()) {
                    return Ok(());
                }
                let min_frames = self.captioner.rules().min_composite_frames.max(1);
                let outcome = loaded.and_then(|(frame, composite, used)| {
                    let composite = (window > 0 && used >= min_frames).then_some(composite);
                    self.caption_one(meta, frame, composite, &mut lonlat)
                });
                sink(meta, outcome)
            },
        )
    }

    fn caption_one(
        &self,
        meta: &FrameMeta,
        frame: &Frame,
        composite: Option<&[f32]>,
        lonlat: &mut HashMap<String, Vec<(f32, f32)>>,
    ) -> Result<CaptionRecord> {
        let masks = self.store.masks(meta)?.ok_or_else(|| Error::Frame {
            frame: meta.id.clone(),
            reason: "no region masks (its grid has no lon/lat mapping)".into(),
        })?;
        let ll = lonlat.entry(grid_id(meta.width, meta.height, &meta.nav)).or_insert_with(|| lonlat_grid(meta));
        let mut storms = self.besttrack.map(|b| b.at(meta.time)).unwrap_or_default();
        storms.extend(own_storm(meta, &storms));
        let view = FrameView {
            id: &meta.id,
            time: meta.time,
            width: meta.width,
            height: meta.height,
            bt: &frame.bt,
            region_bits: masks.bits(),
            lonlat: ll,
            clear_sky: composite,
        };
        let covers_all = (0..13).all(|k| masks.bits().iter().any(|b| b & (1 << k) != 0));
        let (cap, stats, covered) = if covers_all {
            let (cap, stats) = self.captioner.caption(&view, &storms)?;
            (cap, stats, [true; 13])
        } else {
            self.caption_part(meta, frame, &storms)?
        };
        Ok(CaptionRecord {
            frame_id: meta.id.clone(),
            time: meta.time,
            caption: cap.bullets_of(&covered),
            labels: cap,
            uncovered: Region::ALL.iter().filter(|r| !covered[r.index()]).map(|r| r.name().to_string()).collect(),
            captioner: self.info.clone(),
            details: serde_json::json!({ "regions": stats, "storms": storms }),
        })
    }

    /// A frame that holds part of the map (a storm-centred crop, a sector): resampled onto
    /// the canonical East-Asia grid, where every region is whole, and captioned for the
    /// regions it covers to [`MIN_REGION_COVERAGE`], the share that gets a region an image
    /// vector, so a caption line exists exactly where the index can match.
    fn caption_part(&self, meta: &FrameMeta, frame: &Frame, storms: &[StormFix]) -> Result<(Caption, Vec<RegionStats>, [bool; 13])> {
        let grid = GridSpec::canonical();
        let on_grid = resample(frame, &grid)?;
        let masks = self.store.masks_for_grid(grid.width, grid.height, &grid.nav)?;
        let cov = on_grid.region_coverage(&masks);
        let covered: [bool; 13] = std::array::from_fn(|k| cov[k] >= MIN_REGION_COVERAGE);
        if !covered.contains(&true) {
            return Err(Error::Frame {
                frame: meta.id.clone(),
                reason: format!("covers none of the 13 regions to {:.0} %", 100.0 * MIN_REGION_COVERAGE),
            });
        }
        let canonical = on_grid.to_frame(frame);
        let lonlat = lonlat_grid(&canonical.meta);
        let view = FrameView {
            id: &meta.id,
            time: meta.time,
            width: grid.width,
            height: grid.height,
            bt: &on_grid.bt,
            region_bits: masks.bits(),
            lonlat: &lonlat,
            clear_sky: None,
        };
        let (cap, stats) = self.captioner.caption_covered(&view, storms, &covered)?;
        Ok((cap, stats, covered))
    }
}

/// The storm a storm-centred frame follows (its own track, e.g. Digital Typhoon's), as a
/// fix, when the best track given has none within 2° of it (no best track for its year, or
/// none given). Its wind is the lower bound of its JMA grade (TS 34 kt, STS 48 kt, TY 64 kt;
/// 25 kt otherwise), since these tracks carry the grade but not always the wind.
fn own_storm(meta: &FrameMeta, storms: &[StormFix]) -> Option<StormFix> {
    let s = meta.storm.as_ref()?;
    let grade = s.grade?;
    if storms.iter().any(|f| (f.lat - s.lat).abs() < 2.0 && (f.lon - s.lon).abs() < 2.0) {
        return None;
    }
    let vmax_kt = match grade {
        3 => 34.0,
        4 => 48.0,
        5 => 64.0,
        _ => crate::besttrack::BLANK_WIND_KT,
    };
    Some(StormFix { id: s.id.clone(), name: String::new(), lat: s.lat, lon: s.lon, vmax_kt, grade })
}

/// Consecutive endpoint failures after which an [`MllmRun`] stops taking frames (the
/// endpoint is down or refuses us; retrying each remaining frame would only wait).
pub const MAX_ENDPOINT_FAILURES: usize = 3;

/// Everything one MLLM captioning pass needs.
#[derive(Debug)]
pub struct MllmRun<'a> {
    /// The frame store (frames to send as images).
    pub store: &'a FrameStore,
    /// The chat-completions client (retries and answer cache are its business).
    pub client: &'a MllmClient,
    /// Prompt template, filled per frame by [`fill_prompt`] (satellite, time).
    pub template: &'a str,
    /// Requests in flight at once (at least one).
    pub concurrency: usize,
}

/// What an [`MllmRun`] gives for one frame.
#[derive(Debug)]
pub enum MllmOutcome {
    /// A parsed caption, and whether the answer came from the cache.
    Captioned {
        /// The caption, with the raw answer in its details.
        record: CaptionRecord,
        /// The answer was served from the client's cache.
        cached: bool,
    },
    /// The frame failed (endpoint, parse or load error); `record` is what goes to `failed/`.
    Failed {
        /// The reason, as one line.
        message: String,
        /// The failure record, with the raw answer for parse errors.
        record: FailureRecord,
    },
}

impl MllmRun<'_> {
    /// Caption the frames `todo` on `concurrency` threads. `sink` runs on the calling thread
    /// and gets each frame's outcome once, in the order they finish; a sink error stops the
    /// run. After [`MAX_ENDPOINT_FAILURES`] endpoint errors in a row no new frame is started,
    /// and the result is the message of the first failure reported after that point (the
    /// caller says why it stopped); `None` when the run went through.
    pub fn run<S>(&self, todo: &[FrameMeta], mut sink: S) -> Result<Option<String>>
    where
        S: FnMut(&FrameMeta, MllmOutcome) -> Result<()>,
    {
        let next = AtomicUsize::new(0);
        let abort = AtomicBool::new(false);
        let endpoint_failures = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<(usize, MllmOutcome)>();
        let mut fatal: Option<String> = None;
        std::thread::scope(|s| -> Result<()> {
            for _ in 0..self.concurrency.max(1) {
                let tx = tx.clone();
                let (next, abort, endpoint_failures) = (&next, &abort, &endpoint_failures);
                s.spawn(move || loop {
                    if abort.load(Ordering::SeqCst) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(meta) = todo.get(i) else { return };
                    let outcome = self.caption_one(meta, abort, endpoint_failures);
                    let _ = tx.send((i, outcome));
                });
            }
            drop(tx);
            for (i, outcome) in rx {
                if let MllmOutcome::Failed { message, .. } = &outcome {
                    if abort.load(Ordering::SeqCst) && fatal.is_none() {
                        fatal = Some(message.clone());
                    }
                }
                sink(&todo[i], outcome)?;
            }
            Ok(())
        })?;
        Ok(fatal)
    }

    fn caption_one(&self, meta: &FrameMeta, abort: &AtomicBool, endpoint_failures: &AtomicUsize) -> MllmOutcome {
        let cfg = self.client.config();
        let prompt = fill_prompt(self.template, satellite_name(meta.source), meta.time);
        let info = CaptionerInfo::Mllm {
            base_url: cfg.public_base_url(),
            model: cfg.model.clone(),
            prompt_sha256: cache_key(b"", &prompt, "")[..16].to_string(),
        };
        let result = (|| -> Result<MllmOutcome> {
            let frame = self.store.load(&meta.id)?;
            let png = image_png(&frame)?;
            let answer = match self.client.ask(&png, &prompt) {
                Ok(a) => {
                    endpoint_failures.store(0, Ordering::SeqCst);
                    a
                }
                Err(e) => {
                    if matches!(e, Error::Endpoint { .. }) && endpoint_failures.fetch_add(1, Ordering::SeqCst) + 1 >= MAX_ENDPOINT_FAILURES {
                        abort.store(true, Ordering::SeqCst);
                    }
                    return Err(e);
                }
            };
            Ok(match parse_answer(&answer.text) {
                Ok(cap) => MllmOutcome::Captioned {
                    record: CaptionRecord {
                        frame_id: meta.id.clone(),
                        time: meta.time,
                        caption: cap.to_bullets(),
                        labels: cap,
                        uncovered: Vec::new(),
                        captioner: info.clone(),
                        details: serde_json::json!({ "raw_answer": answer.text }),
                    },
                    cached: answer.cached,
                },
                Err(pe) => MllmOutcome::Failed {
                    message: format!("answer does not parse: {pe}"),
                    record: FailureRecord {
                        frame_id: meta.id.clone(),
                        time: meta.time,
                        captioner: info.clone(),
                        error: FailureReason::Parse { message: pe.to_string(), error: pe.clone() },
                        raw_answer: Some(answer.text),
                    },
                },
            })
        })();
        result.unwrap_or_else(|e| {
            let message = chain(&e);
            MllmOutcome::Failed {
                record: FailureRecord {
                    frame_id: meta.id.clone(),
                    time: meta.time,
                    captioner: info,
                    error: FailureReason::Other { message: message.clone() },
                    raw_answer: None,
                },
                message,
            }
        })
    }
}
