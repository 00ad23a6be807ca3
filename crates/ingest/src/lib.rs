//! skycase-ingest: satellite archive files → navigated brightness-temperature frames.
//!
//! * [`Frame`] / [`FrameMeta`]: BT in kelvin (`f32`, NaN = no data or space) on the
//!   satellite's grid, with time, [`Source`], [`Calibration`] status and [`Navigation`].
//! * [`Navigation`]: pixel ↔ lon/lat ([`GeosNav`] for the CGMS geostationary projection,
//!   [`PolarStereoNav`] for KMA polar-stereographic products, storm-centred crops).
//! * [`canonical`]: the one East-Asia grid every frame is resampled onto ([`resample`],
//!   [`GridSpec::canonical`]) before the image model, with a coverage mask.
//! * [`RegionMasks`]: the 13 study regions ([`skycase_vocab::REGIONS`]) rasterized on a grid.
//! * [`FrameStore`]: the on-disk catalog (list, load BT, load masks), written atomically.
//! * Readers: [`xrit`] (COMS HRIT/LRIT), [`gk2a`] (GK-2A AMI L1B netCDF), [`kma`] (KMA
//!   `ea040ps` PNG products), [`dt`] (Digital Typhoon HDF5), [`sidecar`] (PNG + `meta.json`,
//!   the simulated archive). [`batch`] plans and runs an ingest; [`render`] makes
//!   thumbnails and overlay images; [`coast`] holds coastlines and a navigation check;
//!   [`basemap`] projects coastlines and region outlines onto a thumbnail as SVG paths.
//!
//! ```no_run
//! use skycase_ingest::FrameStore;
//! use skycase_vocab::REGIONS;
//! let store = FrameStore::open("store")?;
//! for meta in store.list()? {
//!     let frame = store.load(&meta.id)?;
//!     if let Some(masks) = store.masks(&meta)? {
//!         let korea = masks.mask(0); // REGIONS[0] == "Korean Peninsula"
//!         let n = frame.bt.iter().zip(&korea).filter(|(t, m)| **m && t.is_finite()).count();
//!         println!("{} {}: {n} px", meta.time, REGIONS[0]);
//!     }
//! }
//! # Ok::<(), skycase_ingest::Error>(())
//! ```
#![warn(missing_docs)]

pub mod artefacts;
pub mod basemap;
pub mod batch;
pub mod canonical;
pub mod coast;
pub mod dt;
pub mod error;
pub mod frame;
pub mod fuzz;
pub mod gk2a;
pub mod kma;
pub mod nav;
pub mod regions;
pub mod render;
pub mod sidecar;
pub mod store;
pub mod xrit;

pub use canonical::{resample, GridSpec, Resampled};
pub use error::{Error, Result};
pub use frame::{Calibration, Frame, FrameMeta, InputFile, MaskStatus, Source, StormInfo};
pub use nav::{GeosNav, Navigation, PolarStereoNav, StormLaea};
pub use regions::{RegionMasks, Regions};
pub use sidecar::{read_sim_frame, Sidecar};
pub use store::FrameStore;
