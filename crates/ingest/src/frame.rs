//! A frame: one image of brightness temperature on a navigated grid, with its metadata.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::nav::Navigation;

/// Where a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The simulated archive (PNG + meta.json sidecar, wxsim).
    SimPng,
    /// A PNG archive with a navigation sidecar that is not the known simulator.
    SidecarPng,
    /// COMS MI HRIT segments (10-bit counts).
    ComsHrit,
    /// COMS MI LRIT segments (8-bit counts).
    ComsLrit,
    /// GK-2A AMI L1B netCDF.
    Gk2aAmiL1b,
    /// KMA COMS image product PNG (`coms_mi_le1b_ir01_ea040ps_*.png`).
    KmaPng,
    /// Digital Typhoon storm-centred HDF5 (kelvin).
    DigitalTyphoon,
}

impl Source {
    /// Short name used in frame ids.
    pub fn short(self) -> &'static str {
        match self {
            Source::SimPng => "sim",
            Source::SidecarPng => "png",
            Source::ComsHrit => "coms-hrit",
            Source::ComsLrit => "coms-lrit",
            Source::Gk2aAmiL1b => "gk2a",
            Source::KmaPng => "kma-png",
            Source::DigitalTyphoon => "dt",
        }
    }
}

/// How the kelvin values were obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Calibration {
    /// From the file's own calibration (table, coefficients) or a documented mapping.
    Calibrated {
        /// How: e.g. "image data function table (1024 entries)".
        method: String,
    },
    /// The file carries no calibration; `mapping` is an assumption, values are a proxy.
    Uncalibrated {
        /// The assumed grey → K mapping.
        mapping: String,
    },
}

impl Calibration {
    /// Whether the kelvin values come from a real calibration.
    pub fn is_calibrated(&self) -> bool {
        matches!(self, Calibration::Calibrated { .. })
    }
}

/// Whether region masks apply to a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MaskStatus {
    /// Masks were rasterized on the frame's grid (cached per grid under this id).
    Available {
        /// Grid id (hash of dims + navigation).
        grid_id: String,
    },
    /// No masks: the grid has no lon/lat mapping.
    NotApplicable {
        /// Why.
        reason: String,
    },
}

/// A storm a storm-centred frame follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StormInfo {
    /// Storm id, e.g. `200717` (year + number).
    pub id: String,
    /// Centre latitude from the track (degrees north).
    pub lat: f64,
    /// Centre longitude from the track (degrees east; may exceed 180).
    pub lon: f64,
    /// JMA grade at this time, when the track has it.
    pub grade: Option<u8>,
}

/// One input file that went into a frame (to skip it on a rerun).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    /// Path as given (canonicalized when possible).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
}

/// Everything about a frame except its pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameMeta {
    /// Unique id in a store: `<source>_<YYYYMMDDhhmm>[_<extra>]`.
    pub id: String,
    /// Observation time (UTC).
    pub time: DateTime<Utc>,
    /// Reader that produced it.
    pub source: Source,
    /// Channel, e.g. `IR1 10.8um`.
    pub channel: String,
    /// Grid width (columns).
    pub width: usize,
    /// Grid height (rows).
    pub height: usize,
    /// Pixel ↔ lon/lat.
    pub nav: Navigation,
    /// How kelvin values were obtained.
    pub calibration: Calibration,
    /// False when parts are missing (e.g. xRIT segments): those rows are NaN.
    pub complete: bool,
    /// Region masks status.
    pub masks: MaskStatus,
    /// Storm-centred frames: the storm.
    pub storm: Option<StormInfo>,
    /// Files read.
    pub inputs: Vec<InputFile>,
    /// SHA-256 (hex) of the BT array as little-endian f32 bytes.
    pub checksum: String,
    /// Free-form notes (time source choice, masked pixels, ...).
    pub notes: Vec<String>,
}

/// A frame: metadata plus brightness temperature.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Metadata.
    pub meta: FrameMeta,
    /// Brightness temperature (K), row-major `height × width`; NaN = no data or space.
    pub bt: Vec<f32>,
}

impl Frame {
    /// BT at pixel (x, y), NaN outside.
    pub fn bt_at(&self, x: usize, y: usize) -> f32 {
        if x < self.meta.width && y < self.meta.height {
            self.bt[y * self.meta.width + x]
        } else {
            f32::NAN
        }
    }
}

impl Frame {
    /// The part of the frame inside a lon/lat box (pixel bounding box of the box's edges),
    /// with navigation adjusted; `None` when the box is not on the grid.
    pub fn crop_lonlat(&self, lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> Option<Frame> {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for k in 0..=40 {
            let t = f64::from(k) / 40.0;
            for (lon, lat) in [(lon0 + t * (lon1 - lon0), lat0), (lon0 + t * (lon1 - lon0), lat1), (lon0, lat0 + t * (lat1 - lat0)), (lon1, lat0 + t * (lat1 - lat0))] {
                if let Some((x, y)) = self.meta.nav.lonlat_to_pixel(lon, lat) {
                    (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                }
            }
        }
        let (w, h) = (self.meta.width as f64, self.meta.height as f64);
        let (x0, y0) = (x0.floor().clamp(0.0, w) as usize, y0.floor().clamp(0.0, h) as usize);
        let (x1, y1) = (x1.ceil().clamp(0.0, w - 1.0) as usize + 1, y1.ceil().clamp(0.0, h - 1.0) as usize + 1);
        if x1 <= x0 + 1 || y1 <= y0 + 1 {
            return None;
        }
        let mut bt = Vec::with_capacity((x1 - x0) * (y1 - y0));
        for y in y0..y1 {
            bt.extend_from_slice(&self.bt[y * self.meta.width + x0..y * self.meta.width + x1]);
        }
        let mut meta = self.meta.clone();
        meta.nav = self.meta.nav.cropped(x0, y0);
        meta.width = x1 - x0;
        meta.height = y1 - y0;
        meta.masks = MaskStatus::Available { grid_id: grid_id(meta.width, meta.height, &meta.nav) };
        meta.checksum = bt_checksum(&bt);
        Some(Frame { meta, bt })
    }
}

/// SHA-256 of a BT array's little-endian bytes (NaN canonicalized).
pub fn bt_checksum(bt: &[f32]) -> String {
    let mut h = Sha256::new();
    for v in bt {
        let v = if v.is_nan() { f32::NAN } else { *v };
        h.update(v.to_le_bytes());
    }
    hex::encode(h.finalize())
}

/// Id of a grid: SHA-256 prefix of its dims and navigation, for the mask cache.
pub fn grid_id(width: usize, height: usize, nav: &Navigation) -> String {
    let mut h = Sha256::new();
    // serde_json of plain numbers and strings cannot fail.
    let nav_json = serde_json::to_string(nav).unwrap_or_default();
    h.update(format!("{width}x{height}:{nav_json}").as_bytes());
    let hexed = hex::encode(h.finalize());
    format!("{width}x{height}-{}", &hexed[..16])
}
