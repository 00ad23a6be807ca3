//! The basemap over result thumbnails: coastlines and the 13 region outlines projected onto
//! an image [`Grid`], as SVG path data in thumbnail pixels ([`GridBasemap`]). `skycase
//! export` ships them as the bundle's `overlay.json` (`skycase_core::overlay`).
//!
//! The geometry is done here, natively, once per grid: lon/lat edges are densified (a
//! straight line in degrees is a curve in the satellite's view), projected with the grid's
//! navigation, split where they leave the Earth's disk or jump across the image, clipped
//! to the thumbnail (coastlines only: region rings stay whole so they can be filled),
//! simplified (Douglas–Peucker, [`TOLERANCE_PX`]) and rounded to 0.1 px.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::coast::Coastlines;
use crate::error::{Error, Result};
use crate::nav::Navigation;
use crate::regions::Regions;
use crate::render::THUMB_SIDE;

/// How far (thumbnail pixels) a simplified line may stray from the projected one.
pub const TOLERANCE_PX: f64 = 0.25;

/// The lon/lat box (west, south, east, north) the bundled coastline extract was clipped to
/// (`skycase_ingest::coast`: Natural Earth 1:50m, 80–180E, 0–66N).
const EXTRACT_BOX: (f64, f64, f64, f64) = (80.0, 0.0, 180.0, 66.0);

/// Longest lon/lat edge (degrees) projected as a straight segment.
const DENSIFY_DEG: f64 = 0.25;

/// The grids of the frames, beside `frames.jsonl` (written by `skycase pack`): a JSON map
/// of grid id ([`Grid::id`]) → [`Grid`].
pub const GRIDS_FILE: &str = "grids.json";

/// An image grid: its size and how its pixels map to the Earth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Columns of the full-resolution frame.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Pixel ↔ lon/lat.
    pub nav: Navigation,
}

impl Grid {
    /// A name that changes whenever the grid does: kind, size and a hash of the whole.
    pub fn id(&self) -> String {
        let kind = match self.nav {
            Navigation::Geos(_) => "geos",
            Navigation::PolarStereo(_) => "polar",
            Navigation::StormCentred { .. } => "storm",
        };
        let json = serde_json::to_string(self).expect("a grid always serialises");
        format!("{kind}-{}x{}-{}", self.width, self.height, &hex::encode(Sha256::digest(json.as_bytes()))[..8])
    }

    /// The box thumbnails of this grid fill: the frame scaled to fit [`THUMB_SIDE`].
    pub fn thumb_box(&self) -> (f64, f64) {
        let (w, h) = (self.width.max(1) as f64, self.height.max(1) as f64);
        let scale = (THUMB_SIDE as f64 / w.max(h)).min(1.0);
        ((w * scale).round().max(1.0), (h * scale).round().max(1.0))
    }

    /// Thumbnail pixel of a point, or `None` when it is off the Earth's disk. Frame pixel
    /// `x` (a centre) covers `x − ½ … x + ½`, and the thumbnail covers the frame edge to edge.
    pub fn to_thumb(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let (x, y) = self.nav.lonlat_to_pixel(lon, lat)?;
        let (tw, th) = self.thumb_box();
        Some(((x + 0.5) * tw / self.width as f64, (y + 0.5) * th / self.height as f64))
    }
}

/// Reads a [`GRIDS_FILE`]: grid id → grid.
pub fn read_grids(path: &Path) -> Result<BTreeMap<String, Grid>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::format(path, "grids JSON", format!("not a map of grid id → grid: {e}")))
}

/// The basemap of one grid, in the thumbnail box of [`Grid::thumb_box`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridBasemap {
    /// Width of the SVG viewBox (thumbnail pixels).
    pub width: f64,
    /// Height of the SVG viewBox.
    pub height: f64,
    /// Coastlines as SVG path data, one path.
    pub coast: String,
    /// Region outlines as SVG path data (fill with the even-odd rule), by region name.
    pub regions: BTreeMap<String, String>,
}

/// The basemap of one grid; `None` for a grid without a lon/lat mapping.
pub fn grid_basemap(grid: &Grid, coast: &Coastlines, regions: &Regions) -> Option<GridBasemap> {
    if !grid.nav.is_mapped() {
        return None;
    }
    let (width, height) = grid.thumb_box();
    let mut coast_path = String::new();
    for line in coast.coast.iter().flat_map(|line| without_extract_edges(line, EXTRACT_BOX)) {
        for run in project(grid, &line) {
            for part in clip_to_box(&run, width, height) {
                push_path(&mut coast_path, &simplify(&part, TOLERANCE_PX), false);
            }
        }
    }
    let regions = regions
        .iter()
        .map(|region| {
            let mut d = String::new();
            for ring in region.rings() {
                let runs = project(grid, ring);
                // A ring seen whole stays closed; one cut by the disk's edge is drawn open.
                let closed = runs.len() == 1 && is_whole(grid, ring);
                for run in runs {
                    push_path(&mut d, &simplify(&run, TOLERANCE_PX), closed);
                }
            }
            (region.name.clone(), d)
        })
        .collect();
    Some(GridBasemap { width, height, coast: coast_path, regions })
}

/// The parts of a land outline that are coast: clipping the extract closed its polygons
/// along the box's edges (e.g. the 80°E meridian), which are not coastlines.
fn without_extract_edges(line: &[(f64, f64)], (x0, y0, x1, y1): (f64, f64, f64, f64)) -> Vec<Vec<(f64, f64)>> {
    let on_edge = |a: (f64, f64), b: (f64, f64)| {
        [(a.0, b.0, x0), (a.0, b.0, x1), (a.1, b.1, y0), (a.1, b.1, y1)].iter().any(|&(u, v, edge)| u == edge && v == edge)
    };
    let mut parts = vec![Vec::new()];
    for (i, &p) in line.iter().enumerate() {
        if i > 0 && on_edge(line[i - 1], p) {
            parts.push(Vec::new());
        }
        parts.last_mut().expect("never empty").push(p);
    }
    parts.retain(|p| p.len() >= 2);
    parts
}

/// Whether every point of a ring is on the disk.
fn is_whole(grid: &Grid, ring: &[(f64, f64)]) -> bool {
    ring.iter().all(|&(lon, lat)| grid.to_thumb(lon, lat).is_some())
}

/// Densifies a lon/lat line, projects it and splits it where it leaves the disk or jumps
/// more than a quarter of the image (a wrap in longitude, or the far side of a crop).
fn project(grid: &Grid, line: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let (w, h) = grid.thumb_box();
    let max_jump = w.max(h) / 4.0;
    let mut runs = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    let mut finish = |run: &mut Vec<(f64, f64)>| {
        if run.len() >= 2 {
            runs.push(std::mem::take(run));
        }
        run.clear();
    };
    for (i, &(lon, lat)) in line.iter().enumerate() {
        let steps = match i.checked_sub(1).map(|j| line[j]) {
            Some((lon0, lat0)) => ((lon - lon0).abs().max((lat - lat0).abs()) / DENSIFY_DEG).ceil().max(1.0) as usize,
            None => 1,
        };
        for k in 1..=steps {
            let (lon, lat) = match i.checked_sub(1).map(|j| line[j]) {
                Some((lon0, lat0)) => {
                    let t = k as f64 / steps as f64;
                    (lon0 + t * (lon - lon0), lat0 + t * (lat - lat0))
                }
                None => (lon, lat),
            };
            match grid.to_thumb(lon, lat) {
                Some(p) => {
                    if run.last().is_some_and(|q: &(f64, f64)| (p.0 - q.0).hypot(p.1 - q.1) > max_jump) {
                        finish(&mut run);
                    }
                    run.push(p);
                }
                None => finish(&mut run),
            }
        }
    }
    finish(&mut run);
    runs
}

/// The parts of a polyline that touch the box `0..w × 0..h` (one pixel of margin), each
/// reaching just past the edge so the line meets it.
fn clip_to_box(line: &[(f64, f64)], w: f64, h: f64) -> Vec<Vec<(f64, f64)>> {
    let inside = |p: (f64, f64)| p.0 >= -1.0 && p.0 <= w + 1.0 && p.1 >= -1.0 && p.1 <= h + 1.0;
    let mut parts = Vec::new();
    let mut part: Vec<(f64, f64)> = Vec::new();
    for s in line.windows(2) {
        if inside(s[0]) || inside(s[1]) {
            if part.is_empty() {
                part.push(s[0]);
            }
            part.push(s[1]);
        } else if !part.is_empty() {
            parts.push(std::mem::take(&mut part));
        }
    }
    if part.len() >= 2 {
        parts.push(part);
    }
    parts
}

/// Douglas–Peucker: the fewest of the line's points that keep it within `tol` of itself.
fn simplify(line: &[(f64, f64)], tol: f64) -> Vec<(f64, f64)> {
    if line.len() <= 2 {
        return line.to_vec();
    }
    let mut keep = vec![false; line.len()];
    keep[0] = true;
    keep[line.len() - 1] = true;
    let mut stack = vec![(0, line.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        let (pa, pb) = (line[a], line[b]);
        let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
        let len = dx.hypot(dy);
        let dist = |p: (f64, f64)| {
            if len == 0.0 {
                (p.0 - pa.0).hypot(p.1 - pa.1)
            } else {
                ((p.0 - pa.0) * dy - (p.1 - pa.1) * dx).abs() / len
            }
        };
        let (i, d) = (a + 1..b).map(|i| (i, dist(line[i]))).fold((a, 0.0), |best, x| if x.1 > best.1 { x } else { best });
        if d > tol {
            keep[i] = true;
            stack.push((a, i));
            stack.push((i, b));
        }
    }
    line.iter().zip(keep).filter_map(|(p, k)| k.then_some(*p)).collect()
}

/// Appends `M x,y x,y …` (implicit line-tos; `Z` when closed), rounded to 0.1 px, with
/// points that round to the same place dropped.
fn push_path(d: &mut String, line: &[(f64, f64)], closed: bool) {
    let mut points: Vec<(String, String)> = line.iter().map(|&(x, y)| (tenth(x), tenth(y))).collect();
    points.dedup();
    if points.len() < 2 {
        return;
    }
    for (i, (x, y)) in points.iter().enumerate() {
        let _ = write!(d, "{}{x},{y}", if i == 0 { "M" } else { " " });
    }
    if closed {
        d.push('Z');
    }
}

/// `v` rounded to 0.1, without a trailing `.0` or a negative zero.
fn tenth(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    let s = format!("{:.1}", if r == 0.0 { 0.0 } else { r });
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nav::GeosNav;

    fn sim() -> Grid {
        Grid { width: 819, height: 471, nav: Navigation::Geos(GeosNav::sim_nov2017()) }
    }

    /// Every (x, y) of a path.
    fn points(d: &str) -> Vec<(f64, f64)> {
        d.split(['M', ' ', 'Z'])
            .filter(|s| !s.is_empty())
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn seoul_lands_where_the_thumbnail_shows_it() {
        // Seoul is frame pixel (403.011, 137.346) (nav.rs); the thumbnail is 256×147 for
        // 819×471: (403.011 + 0.5)·256/819 = 126.13, (137.346 + 0.5)·147/471 = 43.02.
        let g = sim();
        assert_eq!(g.thumb_box(), (256.0, 147.0));
        let (x, y) = g.to_thumb(126.978, 37.5665).unwrap();
        assert!((x - 126.13).abs() < 0.01 && (y - 43.02).abs() < 0.01, "({x}, {y})");
        assert!(g.to_thumb(128.2 + 180.0, 0.0).is_none(), "the far side of the Earth");
    }

    #[test]
    fn paths_are_rounded_and_deduplicated() {
        let mut d = String::new();
        push_path(&mut d, &[(1.24, 2.96), (1.21, 3.04), (-0.04, 10.0)], true);
        assert_eq!(d, "M1.2,3 0,10Z");
        let mut d = String::new();
        push_path(&mut d, &[(1.0, 1.0), (1.01, 1.02)], false);
        assert_eq!(d, "", "a line that rounds to one point is dropped");
    }

    #[test]
    fn simplify_drops_points_within_tolerance_only() {
        let line = [(0.0, 0.0), (1.0, 0.1), (2.0, 0.0), (3.0, 2.0)];
        assert_eq!(simplify(&line, 0.25), [(0.0, 0.0), (2.0, 0.0), (3.0, 2.0)]);
        assert_eq!(simplify(&line, 0.05), line);
    }

    #[test]
    fn clipping_keeps_what_touches_the_box() {
        let line = [(-50.0, 5.0), (-20.0, 5.0), (-0.5, 5.0), (5.0, 5.0), (20.0, 5.0), (40.0, 5.0), (60.0, 5.0)];
        // Box 10×10: the part from the last point outside on the left to the first outside on the right.
        assert_eq!(clip_to_box(&line, 10.0, 10.0), vec![vec![(-20.0, 5.0), (-0.5, 5.0), (5.0, 5.0), (20.0, 5.0)]]);
    }

    #[test]
    fn extract_edges_are_not_coastline() {
        // A square of land cut by the box's north edge (y = 66): the edge piece goes.
        let line = [(100.0, 60.0), (100.0, 66.0), (110.0, 66.0), (110.0, 60.0), (100.0, 60.0)];
        let parts = without_extract_edges(&line, (80.0, 0.0, 180.0, 66.0));
        assert_eq!(parts, vec![vec![(100.0, 60.0), (100.0, 66.0)], vec![(110.0, 66.0), (110.0, 60.0), (100.0, 60.0)]]);
        // The bundled extract lies in its box and was cut along the 80°E meridian.
        let coast = Coastlines::bundled();
        let (x0, y0, x1, y1) = EXTRACT_BOX;
        assert!(coast.coast.iter().flatten().all(|&(x, y)| (x0..=x1).contains(&x) && (y0..=y1).contains(&y)));
        let cut = coast.coast.iter().flat_map(|l| l.windows(2)).filter(|s| s[0].0 == x0 && s[1].0 == x0).count();
        assert!(cut > 0, "no segment along 80°E");
    }

    #[test]
    fn sim_grid_basemap_outlines_each_region_where_it_is() {
        let o = grid_basemap(&sim(), &Coastlines::bundled(), &Regions::bundled()).unwrap();
        assert_eq!((o.width, o.height), (256.0, 147.0));
        assert_eq!(o.regions.len(), 13);
        for (name, d) in &o.regions {
            assert!(d.starts_with('M') && d.ends_with('Z'), "{name}: {d:.40}");
        }
        let g = sim();
        // Each city lies inside the bounding box of its region's outline.
        for (region, lon, lat) in [("Korean Peninsula", 126.978, 37.5665), ("Hokkaido (Japan)", 141.3545, 43.0618), ("Honshu (Japan)", 139.65, 35.68)] {
            let (x, y) = g.to_thumb(lon, lat).unwrap();
            let pts = points(&o.regions[region]);
            let (x0, x1) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
            let (y0, y1) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
            assert!(x0 < x && x < x1 && y0 < y && y < y1, "{region}: ({x}, {y}) outside {x0}..{x1} × {y0}..{y1}");
        }
        // Coastlines stay within a pixel of the box (clipped), and are many.
        let coast = points(&o.coast);
        assert!(coast.len() > 1000, "{} coast points", coast.len());
        assert!(coast.iter().all(|&(x, y)| (-20.0..=276.0).contains(&x) && (-20.0..=167.0).contains(&y)));
        // Small enough to ship to every browser.
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.len() < 80_000, "overlay.json is {} bytes", json.len());
    }

    #[test]
    fn an_unmapped_grid_has_no_basemap() {
        let storm = Grid { width: 512, height: 512, nav: Navigation::StormCentred { centre_lon: 130.0, centre_lat: 25.0, laea: None } };
        assert!(grid_basemap(&storm, &Coastlines::bundled(), &Regions::bundled()).is_none());
        assert!(storm.id().starts_with("storm-512x512-"));
        assert_ne!(sim().id(), Grid { width: 818, ..sim() }.id());
    }
}
