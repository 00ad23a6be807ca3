//! Frames to embed, from either kind of archive the companion reads: a simulated archive
//! (`meta.json` + PNG frames, as [`crate::load_archive`] trains on) or a frame store written by
//! `skycase ingest`. [`Archive::locate`] finds a listed frame id, [`Archive::load_many`]
//! decodes frames on all cores, [`Archive::masks`] gives the region masks of a frame's grid:
//! for a simulated archive the same masks as training ([`sidecar_masks`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use skycase_ingest::canonical::{resample, GridSpec};
use skycase_ingest::{FrameStore, Navigation, RegionMasks, Regions, Sidecar};

use crate::error::{Error, Result};
use crate::model::{ModelConfig, N_REGIONS};

/// Where a listed frame is in an [`Archive`].
#[derive(Debug, Clone)]
pub enum Location {
    /// A PNG of a simulated / sidecar archive.
    Png(PathBuf),
    /// A frame id in a frame store.
    Stored(String),
}

/// A decoded frame and the key of its grid (frames on one grid share region masks).
#[derive(Debug, Clone)]
pub struct LoadedFrame {
    /// Brightness temperature in kelvin, row-major, NaN = no data.
    pub bt: Vec<f32>,
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Frames with the same key share their region masks.
    pub grid: String,
    /// The frame's navigation (frame stores only).
    pub nav: Option<Navigation>,
}

/// An archive of frames to embed.
#[derive(Debug)]
pub enum Archive {
    /// `meta.json` + PNG frames (the simulated archive).
    Sidecar {
        /// The archive's `meta.json`.
        sidecar: Sidecar,
        /// PNG path by `YYYYMMDDhhmm` stamp.
        pngs: HashMap<String, PathBuf>,
        /// Region masks of the archive's one grid.
        masks: Vec<Vec<bool>>,
    },
    /// A `skycase ingest` frame store.
    Store(FrameStore),
}

/// The `YYYYMMDDhhmm` stamp of a frame id (`sim-201711010000`) or PNG stem
/// (`coms_mi_le1b_ir1_ea_201711010000`): the part after the last `-` or `_`.
fn stamp(s: &str) -> &str {
    s.rsplit(['-', '_']).next().unwrap_or(s)
}

/// The region masks of a simulated archive's grid (`masks[k]` = region k, row-major): its
/// `regions.geojson` when present, else the bundled regions. Training and embedding use
/// these same masks.
pub fn sidecar_masks(root: &Path, sidecar: &Sidecar) -> Result<Vec<Vec<bool>>> {
    let regions_path = root.join("regions.geojson");
    let regions = if regions_path.is_file() {
        let text = std::fs::read_to_string(&regions_path).map_err(|e| Error::io(&regions_path, e))?;
        Regions::from_geojson_str(&text, &regions_path)?
    } else {
        Regions::bundled()
    };
    let nav = Navigation::Geos(sidecar.nav.clone());
    let rm = RegionMasks::rasterize(&regions, &nav, sidecar.width, sidecar.height);
    Ok((0..N_REGIONS).map(|k| rm.mask(k)).collect())
}

impl Archive {
    /// Opens a simulated archive (a folder with `meta.json`) or a frame store (a folder with
    /// `frames/`); anything else is an error saying which of the two was expected.
    pub fn open(root: &Path) -> Result<Self> {
        let meta_path = root.join("meta.json");
        if meta_path.is_file() {
            let meta = std::fs::read(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
            let sidecar = Sidecar::parse(&meta, &meta_path)?;
            let mut pngs = HashMap::new();
            for dir in [root.join("frames"), root.to_path_buf()] {
                let Ok(entries) = std::fs::read_dir(&dir) else { continue };
                for e in entries {
                    let p = e.map_err(|e| Error::io(&dir, e))?.path();
                    if p.extension().and_then(|x| x.to_str()) == Some("png") {
                        if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                            pngs.entry(stamp(stem).to_string()).or_insert(p.clone());
                        }
                    }
                }
            }
            let masks = sidecar_masks(root, &sidecar)?;
            return Ok(Self::Sidecar { sidecar, pngs, masks });
        }
        if root.join("frames").is_dir() {
            return Ok(Self::Store(FrameStore::open(root)?));
        }
        Err(Error::dataset(
            root,
            "not an archive: no meta.json (simulated PNG archive) and no frames/ folder (frame store from `skycase ingest`)",
        ))
    }

    /// Where frame `id` is, if the archive has it.
    pub fn locate(&self, id: &str) -> Option<Location> {
        match self {
            Self::Sidecar { pngs, .. } => pngs.get(stamp(id)).cloned().map(Location::Png),
            Self::Store(store) => {
                // Demo ids are `sim-<stamp>`; store ids `sim_<stamp>`.
                [id.to_string(), id.replacen('-', "_", 1)].into_iter().find(|c| store.contains(c)).map(Location::Stored)
            }
        }
    }

    /// Decodes `locs` on all cores, checking each frame's size against the model.
    pub fn load_many(&self, locs: &[Location], cfg: &ModelConfig) -> Result<Vec<LoadedFrame>> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(locs.len().max(1));
        let mut slots: Vec<Option<Result<LoadedFrame>>> = (0..locs.len()).map(|_| None).collect();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        (t..locs.len()).step_by(threads).map(|i| (i, self.load(&locs[i], cfg))).collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                match h.join() {
                    Ok(done) => done.into_iter().for_each(|(i, r)| slots[i] = Some(r)),
                    Err(_) => slots
                        .iter_mut()
                        .filter(|x| x.is_none())
                        .for_each(|x| *x = Some(Err(Error::Usage("a decoding thread panicked".into())))),
                }
            }
        });
        slots.into_iter().map(|s| s.unwrap_or_else(|| Err(Error::Usage("frame not decoded".into())))).collect()
    }

    fn load(&self, loc: &Location, cfg: &ModelConfig) -> Result<LoadedFrame> {
        let (bt, w, h, grid, nav, what) = match (self, loc) {
            (Self::Sidecar { sidecar, .. }, Location::Png(p)) => {
                let png = std::fs::read(p).map_err(|e| Error::io(p, e))?;
                let (bt, w, h) = sidecar.decode_png(&png, p)?;
                (bt, w, h, "sidecar".to_string(), None, p.display().to_string())
            }
            (Self::Store(store), Location::Stored(id)) => {
                let mut f = store.load(id)?;
                // A model on the canonical grid embeds frames of any grid, resampled onto it.
                let canon = GridSpec::canonical();
                if (cfg.frame_width, cfg.frame_height) == (canon.width, canon.height) && !canon.holds(&f) {
                    f = resample(&f, &canon)?.to_frame(&f);
                }
                let grid = skycase_ingest::frame::grid_id(f.meta.width, f.meta.height, &f.meta.nav);
                (f.bt, f.meta.width, f.meta.height, grid, Some(f.meta.nav), format!("{} frame {id}", store.root().display()))
            }
            _ => return Err(Error::Usage("internal: frame location of another archive kind".into())),
        };
        if (w, h) != (cfg.frame_width, cfg.frame_height) {
            return Err(Error::Usage(format!(
                "{what}: dimension mismatch: the frame is {w}×{h} px, the model was trained on {}×{} px frames",
                cfg.frame_width, cfg.frame_height
            )));
        }
        Ok(LoadedFrame { bt, width: w, height: h, grid, nav })
    }

    /// Region masks of a loaded frame's grid (`masks[k]` = region k, row-major).
    pub fn masks(&self, frame: &LoadedFrame) -> Result<Vec<Vec<bool>>> {
        match self {
            Self::Sidecar { masks, .. } => Ok(masks.clone()),
            Self::Store(store) => {
                let nav = frame.nav.as_ref().ok_or_else(|| Error::Usage("internal: stored frame without navigation".into()))?;
                let rm = store.masks_for_grid(frame.width, frame.height, nav)?;
                Ok((0..N_REGIONS).map(|k| rm.mask(k)).collect())
            }
        }
    }
}
