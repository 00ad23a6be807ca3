//! The frame store: a folder of frames the rest of the pipeline reads.
//!
//! ```text
//! <store>/frames/<id>.json        FrameMeta (written last: its presence means "frame done")
//! <store>/frames/<id>.bt.png      BT as 16-bit grey PNG: value = round(K × 100), 0 = NaN
//! <store>/thumbs/<id>.png         thumbnail (≤ 20 kB, same look for every source)
//! <store>/grids/<grid_id>.masks.png  region bits per pixel (16-bit grey, bit k = region k)
//! ```
//! Every file is written to a temporary name and renamed into place, so a crash leaves
//! either the old state or the new one; a frame counts as stored only once its `.json`
//! exists, and the next ingest run redoes anything without it.
//!
//! A frame record that does not parse (truncated, edited by hand) is moved by
//! [`FrameStore::list`] to `<store>/quarantine/<id>.json` with a `<id>.json.reason.txt`
//! beside it and left out of the listing, so one bad record never stops every later command;
//! [`FrameStore::quarantined`] says which were moved. The next ingest of its inputs redoes
//! the frame.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::frame::{bt_checksum, grid_id, Frame, FrameMeta, MaskStatus};
use crate::nav::Navigation;
use crate::regions::{RegionMasks, Regions};

/// K × 100 per stored unit.
const BT_SCALE: f32 = 100.0;

/// A frame store folder.
#[derive(Debug)]
pub struct FrameStore {
    root: PathBuf,
    masks: Mutex<HashMap<String, RegionMasks>>,
    quarantined: Mutex<Vec<Error>>,
}

impl FrameStore {
    /// Open (creating if needed) a store at `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        for sub in ["frames", "thumbs", "grids"] {
            let d = root.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
            // Temporary files of a run that crashed before its rename: never part of a frame.
            for entry in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?.flatten() {
                let p = entry.path();
                if p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.starts_with("tmp-")) {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
        Ok(FrameStore { root, masks: Mutex::new(HashMap::new()), quarantined: Mutex::new(Vec::new()) })
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn meta_path(&self, id: &str) -> PathBuf {
        self.root.join("frames").join(format!("{id}.json"))
    }

    fn bt_path(&self, id: &str) -> PathBuf {
        self.root.join("frames").join(format!("{id}.bt.png"))
    }

    /// Path of a frame's thumbnail PNG.
    pub fn thumb_path(&self, id: &str) -> PathBuf {
        self.root.join("thumbs").join(format!("{id}.png"))
    }

    fn masks_path(&self, grid: &str) -> PathBuf {
        self.root.join("grids").join(format!("{grid}.masks.png"))
    }

    /// Whether a frame is fully stored.
    pub fn contains(&self, id: &str) -> bool {
        self.meta_path(id).is_file()
    }

    /// All stored frames' metadata, sorted by time then id.
    pub fn list(&self) -> Result<Vec<FrameMeta>> {
        let dir = self.root.join("frames");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let p = entry.path();
            if p.extension().and_then(|e| e.to_str()) == Some("json") {
                match self.read_meta_file(&p) {
                    Ok(meta) => out.push(meta),
                    Err(e @ Error::Store { .. }) => self.quarantine(&p, e),
                    Err(e) => return Err(e),
                }
            }
        }
        out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Moves a frame record that does not parse out of `frames/` (see the module header).
    fn quarantine(&self, p: &Path, why: Error) {
        let dir = self.root.join("quarantine");
        let name = p.file_name().unwrap_or_default();
        let dest = dir.join(name);
        let moved = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::rename(p, &dest))
            .and_then(|_| std::fs::write(dir.join(format!("{}.reason.txt", name.to_string_lossy())), format!("{why}\n")));
        let note = match moved {
            Ok(()) => format!("moved to {}", dest.display()),
            Err(e) => format!("left in place, could not be moved to {}: {e}", dest.display()),
        };
        let reason = format!("{why}; record quarantined ({note})");
        self.quarantined.lock().unwrap_or_else(|p| p.into_inner()).push(Error::store(p, reason));
    }

    /// Frame records [`Self::list`] found unreadable and quarantined, each naming its file
    /// and the reason.
    pub fn quarantined(&self) -> Vec<String> {
        self.quarantined.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|e| e.to_string()).collect()
    }

    fn read_meta_file(&self, p: &Path) -> Result<FrameMeta> {
        let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::store(p, format!("bad frame metadata: {e}")))
    }

    /// One frame's metadata.
    pub fn meta(&self, id: &str) -> Result<FrameMeta> {
        let p = self.meta_path(id);
        if !p.is_file() {
            return Err(Error::store(&p, format!("no frame {id:?} in this store")));
        }
        self.read_meta_file(&p)
    }

    /// Load a frame (metadata + BT).
    pub fn load(&self, id: &str) -> Result<Frame> {
        let meta = self.meta(id)?;
        let p = self.bt_path(id);
        let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
            .map_err(|e| Error::store(&p, format!("bad BT PNG: {e}")))?
            .into_luma16();
        if (img.width() as usize, img.height() as usize) != (meta.width, meta.height) {
            return Err(Error::store(&p, format!("BT PNG is {}×{}, metadata says {}×{}", img.width(), img.height(), meta.width, meta.height)));
        }
        let bt: Vec<f32> = img.as_raw().iter().map(|&v| if v == 0 { f32::NAN } else { f32::from(v) / BT_SCALE }).collect();
        if bt_checksum(&bt) != meta.checksum {
            return Err(Error::store(&p, "BT checksum does not match the metadata"));
        }
        Ok(Frame { meta, bt })
    }

    /// Region masks of a frame's grid; `None` for grids without lon/lat mapping.
    /// Computed on first use and cached (in memory and under `grids/`).
    pub fn masks(&self, meta: &FrameMeta) -> Result<Option<RegionMasks>> {
        match &meta.masks {
            MaskStatus::NotApplicable { .. } => Ok(None),
            MaskStatus::Available { .. } => self.masks_for_grid(meta.width, meta.height, &meta.nav).map(Some),
        }
    }

    /// Region masks for any grid (cached by [`grid_id`]).
    pub fn masks_for_grid(&self, width: usize, height: usize, nav: &Navigation) -> Result<RegionMasks> {
        let gid = grid_id(width, height, nav);
        if let Some(m) = self.masks.lock().map_err(|_| Error::store(&self.root, "mask cache poisoned"))?.get(&gid) {
            return Ok(m.clone());
        }
        let p = self.masks_path(&gid);
        let m = match std::fs::read(&p) {
            Ok(bytes) => {
                let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
                    .map_err(|e| Error::store(&p, format!("bad mask PNG: {e}")))?
                    .into_luma16();
                RegionMasks::from_bits(width, height, img.into_raw())
                    .ok_or_else(|| Error::store(&p, "mask PNG size does not match its grid"))?
            }
            Err(_) => {
                let m = RegionMasks::rasterize(&Regions::bundled(), nav, width, height);
                let img = image::ImageBuffer::<image::Luma<u16>, _>::from_raw(width as u32, height as u32, m.bits().to_vec())
                    .ok_or_else(|| Error::store(&p, "mask buffer size"))?;
                write_png16(&p, &img)?;
                m
            }
        };
        self.masks.lock().map_err(|_| Error::store(&self.root, "mask cache poisoned"))?.insert(gid, m.clone());
        Ok(m)
    }

    /// Store a frame (BT quantized to 0.01 K; the metadata checksum is of the stored values)
    /// with an optional thumbnail PNG. Returns the stored metadata.
    pub fn put(&self, frame: &Frame, thumbnail_png: Option<&[u8]>) -> Result<FrameMeta> {
        let mut meta = frame.meta.clone();
        let id = meta.id.clone();
        if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
            return Err(Error::store(&self.root, format!("invalid frame id {id:?}")));
        }
        let q: Vec<u16> = frame
            .bt
            .iter()
            .map(|&v| if v.is_finite() { (v * BT_SCALE).round().clamp(1.0, 65535.0) as u16 } else { 0 })
            .collect();
        let stored: Vec<f32> = q.iter().map(|&v| if v == 0 { f32::NAN } else { f32::from(v) / BT_SCALE }).collect();
        meta.checksum = bt_checksum(&stored);
        let p = self.bt_path(&id);
        let img = image::ImageBuffer::<image::Luma<u16>, _>::from_raw(meta.width as u32, meta.height as u32, q)
            .ok_or_else(|| Error::store(&p, format!("BT has {} values for {}×{}", frame.bt.len(), meta.width, meta.height)))?;
        write_png16(&p, &img)?;
        if let Some(t) = thumbnail_png {
            write_atomic(&self.thumb_path(&id), t)?;
        }
        if let MaskStatus::Available { .. } = meta.masks {
            self.masks_for_grid(meta.width, meta.height, &meta.nav)?;
        }
        let json = serde_json::to_vec_pretty(&meta).map_err(|e| Error::store(&self.meta_path(&id), e.to_string()))?;
        write_atomic(&self.meta_path(&id), &json)?;
        Ok(meta)
    }

    /// Map (input path, size, mtime) → frame id, for skipping work on reruns.
    pub fn input_index(&self) -> Result<HashMap<(String, u64, i64), String>> {
        let mut idx = HashMap::new();
        for m in self.list()? {
            for i in &m.inputs {
                idx.insert((i.path.clone(), i.size, i.mtime), m.id.clone());
            }
        }
        Ok(idx)
    }
}

fn write_png16(p: &Path, img: &image::ImageBuffer<image::Luma<u16>, Vec<u16>>) -> Result<()> {
    let mut buf = Vec::new();
    let enc = image::codecs::png::PngEncoder::new_with_quality(
        &mut buf,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Sub,
    );
    img.write_with_encoder(enc).map_err(|e| Error::store(p, format!("PNG encode: {e}")))?;
    write_atomic(p, &buf)
}

/// Write `bytes` to `p` via a temporary file and a rename (atomic on one filesystem).
pub fn write_atomic(p: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = p.with_extension(format!("tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, p).map_err(|e| Error::io(p, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Calibration, Source};
    use crate::nav::GeosNav;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("skycase-ingest-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn tiny_frame() -> Frame {
        let nav = Navigation::Geos(GeosNav { first_column: 650.0, first_line: 200.0, ..GeosNav::sim_nov2017() });
        let (w, h) = (40, 30);
        let bt: Vec<f32> = (0..w * h).map(|i| if i == 5 { f32::NAN } else { 200.0 + (i % 97) as f32 * 0.37 }).collect();
        Frame {
            meta: FrameMeta {
                id: "test_201711010000".into(),
                time: "2017-11-01T00:00:00Z".parse().unwrap(),
                source: Source::SimPng,
                channel: "IR".into(),
                width: w,
                height: h,
                masks: MaskStatus::Available { grid_id: grid_id(w, h, &nav) },
                nav,
                calibration: Calibration::Calibrated { method: "test".into() },
                complete: true,
                storm: None,
                inputs: vec![],
                checksum: String::new(),
                notes: vec![],
            },
            bt,
        }
    }

    #[test]
    fn put_load_round_trip() {
        let d = tmpdir("rt");
        let store = FrameStore::open(&d).unwrap();
        let f = tiny_frame();
        let meta = store.put(&f, Some(b"thumb")).unwrap();
        assert!(store.contains(&meta.id));
        let g = store.load(&meta.id).unwrap();
        assert!(g.bt[5].is_nan());
        for (a, b) in f.bt.iter().zip(&g.bt).filter(|(a, _)| a.is_finite()) {
            assert!((a - b).abs() <= 0.005 + 1e-4, "{a} vs {b}");
        }
        let list = store.list().unwrap();
        assert_eq!(list.len(), 1);
        // Masks are cached on disk and reload identically in a fresh store handle.
        let m1 = store.masks(&meta).unwrap().unwrap();
        let store2 = FrameStore::open(&d).unwrap();
        assert_eq!(store2.masks(&meta).unwrap().unwrap(), m1);
        assert!(m1.count(0) > 0, "the grid covers Korea");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_corrupt_record_is_quarantined_and_the_others_still_list() {
        // See issue 12: one truncated frame .json made every later ingest and show --list fail.
        let root = tmpdir("quarantine");
        let store = FrameStore::open(&root).unwrap();
        let f = tiny_frame();
        store.put(&f, None).unwrap();
        let bad = root.join("frames/broken_201701010000.json");
        let good = std::fs::read(root.join(format!("frames/{}.json", f.meta.id))).unwrap();
        std::fs::write(&bad, &good[..good.len() / 2]).unwrap();
        let listed = store.list().unwrap();
        assert_eq!(listed.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [f.meta.id.as_str()]);
        let q = store.quarantined();
        assert_eq!(q.len(), 1);
        assert!(q[0].contains("broken_201701010000.json") && q[0].contains("bad frame metadata") && q[0].contains("quarantine"), "{q:?}");
        assert!(!bad.exists());
        assert!(root.join("quarantine/broken_201701010000.json").is_file());
        assert!(std::fs::read_to_string(root.join("quarantine/broken_201701010000.json.reason.txt")).unwrap().contains("bad frame metadata"));
        // Later commands work without noticing.
        let again = FrameStore::open(&root).unwrap();
        assert_eq!(again.list().unwrap().len(), 1);
        assert!(again.quarantined().is_empty());
        assert_eq!(again.input_index().unwrap().len(), listed[0].inputs.len());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn missing_frame_is_a_store_error() {
        let d = tmpdir("missing");
        let store = FrameStore::open(&d).unwrap();
        let e = store.load("nope").unwrap_err();
        assert!(e.to_string().contains("no frame \"nope\""), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
