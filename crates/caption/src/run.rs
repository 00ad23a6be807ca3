//! The physical captioning loop over a frame store, shared by `skycase caption` and the
//! evaluation example (`examples/sim_eval.rs`), so both caption frames the same way.
//!
//! [`PhysicalRun::run`] loads frames in clear-sky-composite order (grid, then time of day,
//! then time; see [`crate::composite`]), builds each frame's [`FrameView`], asks the
//! [`PhysicalCaptioner`] and hands every outcome — a [`CaptionRecord`] or the error that
//! stopped that frame — to a sink. The sink decides what to do with it (write it
//! atomically, compare it with truth); a sink error stops the run.

use std::collections::{HashMap, HashSet};

use skycase_ingest::frame::grid_id;
use skycase_ingest::{Frame, FrameMeta, FrameStore};

use crate::besttrack::BestTrack;
use crate::composite::{for_each_with_composite, Item};
use crate::error::{Error, Result};
use crate::frame::lonlat_grid;
use crate::physical::{FrameView, PhysicalCaptioner};
use crate::store::{CaptionRecord, CaptionerInfo};

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
        let storms = self.besttrack.map(|b| b.at(meta.time)).unwrap_or_default();
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
        let (cap, stats) = self.captioner.caption(&view, &storms)?;
        Ok(CaptionRecord {
            frame_id: meta.id.clone(),
            time: meta.time,
            caption: cap.to_bullets(),
            labels: cap,
            captioner: self.info.clone(),
            details: serde_json::json!({ "regions": stats, "storms": storms }),
        })
    }
}
