//! The study's 13 regions and their rasterization onto a frame grid.
//!
//! A pixel belongs to a region when its centre's (lon, lat) lies inside the region's
//! polygon (even-odd rule, holes respected): the same rule the simulator used for its
//! truth labels. Masks are stored as one `u16` per pixel, bit `k` set for region `k`
//! of [`skycase_vocab::REGIONS`].

use std::path::Path;

use serde_json::Value;
use skycase_vocab::REGIONS;

use crate::error::{Error, Result};
use crate::nav::Navigation;

/// The project's copy of `shared/data/regions.geojson` (13 polygons, lon/lat WGS84).
pub const REGIONS_GEOJSON: &str = include_str!("../data/regions.geojson");

/// One ring: closed list of (lon, lat).
type Ring = Vec<(f64, f64)>;

/// A region's polygons (each a list of rings, the first the outer boundary).
#[derive(Debug, Clone)]
pub struct Region {
    /// Name as in [`skycase_vocab::REGIONS`].
    pub name: String,
    /// Polygons: rings of (lon, lat).
    pub polygons: Vec<Vec<Ring>>,
    bbox: (f64, f64, f64, f64),
}

impl Region {
    /// Whether (lon, lat) is inside (even-odd over all rings of each polygon).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let (x0, y0, x1, y1) = self.bbox;
        if lon < x0 || lon > x1 || lat < y0 || lat > y1 {
            return false;
        }
        self.polygons.iter().any(|rings| {
            let mut inside = false;
            for ring in rings {
                if ring_contains(ring, lon, lat) {
                    inside = !inside;
                }
            }
            inside
        })
    }

    /// The region's rings (outer boundaries and holes), for drawing outlines.
    pub fn rings(&self) -> impl Iterator<Item = &Ring> {
        self.polygons.iter().flatten()
    }
}

fn ring_contains(ring: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let (xi, yi) = ring[i];
        let (xj, yj) = ring[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// The 13 regions in study order.
#[derive(Debug, Clone)]
pub struct Regions {
    regions: Vec<Region>,
}

impl Regions {
    /// The bundled regions (a copy of `shared/data/regions.geojson`).
    pub fn bundled() -> Self {
        // The bundled file is tested; a failure here is a build defect, not bad input.
        Self::from_geojson_str(REGIONS_GEOJSON, Path::new("<bundled regions.geojson>"))
            .expect("bundled regions.geojson parses")
    }

    /// Parse a regions GeoJSON; features are matched to [`skycase_vocab::REGIONS`] by `properties.name`.
    pub fn from_geojson_str(text: &str, path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::format(path, "regions GeoJSON", reason);
        let doc: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let features = doc["features"].as_array().ok_or_else(|| bad("no `features` array".into()))?;
        let mut regions = Vec::with_capacity(REGIONS.len());
        for name in REGIONS {
            let f = features
                .iter()
                .find(|f| f["properties"]["name"].as_str() == Some(name))
                .ok_or_else(|| bad(format!("region {name:?} missing")))?;
            let geom = &f["geometry"];
            let polys: Vec<&Value> = match geom["type"].as_str() {
                Some("Polygon") => vec![&geom["coordinates"]],
                Some("MultiPolygon") => geom["coordinates"]
                    .as_array()
                    .ok_or_else(|| bad(format!("{name}: bad coordinates")))?
                    .iter()
                    .collect(),
                other => return Err(bad(format!("{name}: geometry type {other:?}"))),
            };
            let polygons = polys
                .into_iter()
                .map(|p| parse_rings(p).ok_or_else(|| bad(format!("{name}: bad ring coordinates"))))
                .collect::<Result<Vec<_>>>()?;
            let mut bbox = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
            for &(x, y) in polygons.iter().flatten().flatten() {
                bbox = (bbox.0.min(x), bbox.1.min(y), bbox.2.max(x), bbox.3.max(y));
            }
            regions.push(Region { name: name.to_string(), polygons, bbox });
        }
        Ok(Regions { regions })
    }

    /// Regions in study order.
    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.regions.iter()
    }

    /// Bit word of the regions containing (lon, lat).
    pub fn bits_at(&self, lon: f64, lat: f64) -> u16 {
        let mut bits = 0u16;
        for (k, r) in self.regions.iter().enumerate() {
            if r.contains(lon, lat) {
                bits |= 1 << k;
            }
        }
        bits
    }
}

pub(crate) fn parse_rings(v: &Value) -> Option<Vec<Ring>> {
    v.as_array()?
        .iter()
        .map(|ring| {
            ring.as_array()?
                .iter()
                .map(|pt| Some((pt.get(0)?.as_f64()?, pt.get(1)?.as_f64()?)))
                .collect::<Option<Ring>>()
        })
        .collect()
}

/// Per-pixel membership of the 13 regions on one grid.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionMasks {
    width: usize,
    height: usize,
    bits: Vec<u16>,
}

impl RegionMasks {
    /// Rasterize `regions` onto a `width × height` grid with `nav` (pixel centres).
    /// A grid without a lon/lat mapping (storm-centred) gets empty masks.
    pub fn rasterize(regions: &Regions, nav: &Navigation, width: usize, height: usize) -> Self {
        let mut bits = vec![0u16; width * height];
        if nav.is_mapped() {
            for y in 0..height {
                for x in 0..width {
                    if let Some((lon, lat)) = nav.pixel_to_lonlat(x as f64, y as f64) {
                        bits[y * width + x] = regions.bits_at(lon, lat);
                    }
                }
            }
        }
        RegionMasks { width, height, bits }
    }

    /// Build from raw bit words (row-major, `width × height`).
    pub fn from_bits(width: usize, height: usize, bits: Vec<u16>) -> Option<Self> {
        (bits.len() == width * height).then_some(RegionMasks { width, height, bits })
    }

    /// Grid width.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Grid height.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Raw bit words, bit `k` = region `k`.
    pub fn bits(&self) -> &[u16] {
        &self.bits
    }

    /// Whether pixel (x, y) is in region `k`.
    pub fn contains(&self, k: usize, x: usize, y: usize) -> bool {
        k < REGIONS.len() && x < self.width && y < self.height && self.bits[y * self.width + x] & (1 << k) != 0
    }

    /// Region `k` as a row-major boolean mask.
    pub fn mask(&self, k: usize) -> Vec<bool> {
        self.bits.iter().map(|b| k < 16 && b & (1 << k) != 0).collect()
    }

    /// Pixels in region `k`.
    pub fn count(&self, k: usize) -> usize {
        self.bits.iter().filter(|b| k < 16 && *b & (1 << k) != 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nav::GeosNav;

    #[test]
    fn bundled_regions_parse_in_order() {
        let r = Regions::bundled();
        let names: Vec<_> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, REGIONS);
        // Seoul is in the Korean Peninsula, Tokyo in Honshu, the open Pacific nowhere.
        assert_eq!(r.bits_at(126.978, 37.5665), 1 << 0);
        assert_eq!(r.bits_at(139.65, 35.68), 1 << 6);
        assert_eq!(r.bits_at(175.0, 5.0), 0);
    }

    #[test]
    fn masks_on_sim_grid_match_simulator_pixel_counts() {
        // meta.json `regions.pixels`, computed by the simulator with the same rule.
        let expected = [2248, 10759, 15008, 11807, 11538, 11939, 2362, 675, 433, 8508, 69732, 25594, 8852];
        let nav = Navigation::Geos(GeosNav::sim_nov2017());
        let m = RegionMasks::rasterize(&Regions::bundled(), &nav, 819, 471);
        for (k, &n) in expected.iter().enumerate() {
            let got = m.count(k) as i64;
            // Allow a pixel or two for points exactly on polygon edges.
            assert!((got - n).abs() <= 2, "{}: {got} vs {n}", REGIONS[k]);
        }
    }
}
