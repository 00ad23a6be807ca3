//! `overlay.json`: the basemap drawn over result thumbnails — coastlines and the 13 region
//! outlines as SVG path data, projected at export time onto each image grid the frames use.
//!
//! ```text
//! { "grids": { "<grid id>": {
//!     "width": 256, "height": 147,                 SVG viewBox (the thumbnail box)
//!     "coast": "M12.3 45.6L13 46.1…",              coastlines, one path
//!     "regions": { "Kyushu (Japan)": "M…Z", … },   outlines, even-odd rings
//!     "frames": ["sim-201711010000", …] } } }      frames on this grid
//! ```
//! Coordinates are thumbnail pixels (x right, y down, the box `0 0 width height`), so a
//! path drawn in an `<svg viewBox="0 0 width height">` stretched over the `<img>` lines up
//! with it, whatever size the thumbnail file itself has. A frame on no listed grid (an
//! unmapped storm-centred crop, or one exported without navigation) has no overlay.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Bundle-relative path of the overlay file.
pub const OVERLAY_PATH: &str = "overlay.json";

/// Manifest role of the overlay file.
pub const OVERLAY_ROLE: &str = "overlay";

/// The basemap of one image grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridOverlay {
    /// Width of the SVG viewBox (thumbnail pixels).
    pub width: f64,
    /// Height of the SVG viewBox.
    pub height: f64,
    /// Coastlines as SVG path data.
    pub coast: String,
    /// Region outlines as SVG path data (fill with the even-odd rule), by region name.
    pub regions: BTreeMap<String, String>,
    /// Ids of the frames on this grid.
    pub frames: Vec<String>,
}

/// `overlay.json`, with a frame → grid index built on load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overlay {
    /// Grids by id.
    pub grids: BTreeMap<String, GridOverlay>,
    #[serde(skip)]
    grid_of_frame: HashMap<String, String>,
}

impl Overlay {
    /// An overlay of these grids.
    pub fn new(grids: BTreeMap<String, GridOverlay>) -> Self {
        let mut overlay = Overlay { grids, grid_of_frame: HashMap::new() };
        overlay.index();
        overlay
    }

    /// Parses `overlay.json`; a frame listed under two grids is an error.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let overlay: Overlay = serde_json::from_slice(bytes).map_err(|e| Error::format(OVERLAY_PATH, e.to_string()))?;
        let mut seen = HashMap::new();
        for (id, grid) in &overlay.grids {
            for frame in &grid.frames {
                if let Some(other) = seen.insert(frame, id) {
                    return Err(Error::format(OVERLAY_PATH, format!("frame {frame} is listed under grids {other} and {id}")));
                }
            }
        }
        Ok(Overlay::new(overlay.grids))
    }

    /// Compact JSON (the file ships to every browser).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an overlay always serialises")
    }

    /// The basemap of a frame's grid, if the frame is on a listed grid.
    pub fn for_frame(&self, frame_id: &str) -> Option<&GridOverlay> {
        self.grids.get(self.grid_of_frame.get(frame_id)?)
    }

    fn index(&mut self) {
        self.grid_of_frame =
            self.grids.iter().flat_map(|(id, g)| g.frames.iter().map(move |f| (f.clone(), id.clone()))).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(frames: &[&str]) -> GridOverlay {
        GridOverlay {
            width: 256.0,
            height: 147.0,
            coast: "M0 0L10 10".into(),
            regions: [("Kyushu (Japan)".to_string(), "M1 1L2 2L1 2Z".to_string())].into(),
            frames: frames.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn finds_a_frames_grid_after_a_round_trip() {
        let o = Overlay::new([("geos".to_string(), grid(&["a", "b"]))].into());
        let back = Overlay::from_json(o.to_json().as_bytes()).unwrap();
        assert_eq!(back, o);
        assert_eq!(back.for_frame("b").map(|g| g.coast.as_str()), Some("M0 0L10 10"));
        assert!(back.for_frame("c").is_none());
    }

    #[test]
    fn refuses_a_frame_on_two_grids() {
        let o = Overlay::new([("g1".to_string(), grid(&["a"])), ("g2".to_string(), grid(&["a"]))].into());
        let err = Overlay::from_json(o.to_json().as_bytes()).unwrap_err().to_string();
        assert_eq!(err, "overlay.json: frame a is listed under grids g1 and g2");
        assert!(Overlay::from_json(b"[]").unwrap_err().to_string().starts_with("overlay.json: "));
    }
}
