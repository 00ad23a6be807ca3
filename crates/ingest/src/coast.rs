//! Coastlines and borders (Natural Earth 1:50m, public domain, clipped to 80–180E, 0–66N)
//! for overlays, and a navigation check that slides the coastline over an image's
//! brightness-temperature gradient.

use std::path::Path;

use serde_json::Value;

use crate::frame::Frame;
use crate::regions::parse_rings;

/// The bundled Natural Earth extract (`data/ne50m_domain.geojson`).
pub const COAST_GEOJSON: &str = include_str!("../data/ne50m_domain.geojson");

/// Polylines of (lon, lat).
#[derive(Debug, Clone)]
pub struct Coastlines {
    /// Land outlines (the `land` feature): true coastlines.
    pub coast: Vec<Vec<(f64, f64)>>,
    /// Country outlines (include borders).
    pub countries: Vec<Vec<(f64, f64)>>,
}

impl Coastlines {
    /// The bundled extract.
    pub fn bundled() -> Self {
        let v: Value = serde_json::from_str(COAST_GEOJSON).unwrap_or(Value::Null);
        let mut coast = Vec::new();
        let mut countries = Vec::new();
        for f in v["features"].as_array().into_iter().flatten() {
            let geom = &f["geometry"];
            let polys: Vec<&Value> = match geom["type"].as_str() {
                Some("Polygon") => vec![&geom["coordinates"]],
                Some("MultiPolygon") => geom["coordinates"].as_array().map(|a| a.iter().collect()).unwrap_or_default(),
                _ => vec![],
            };
            let target = if f["properties"]["name"].as_str() == Some("land") { &mut coast } else { &mut countries };
            for p in polys {
                target.extend(parse_rings(p).unwrap_or_default());
            }
        }
        Coastlines { coast, countries }
    }
}

/// Result of sliding the coastline over a frame.
#[derive(Debug, Clone)]
pub struct Alignment {
    /// Best shift (pixels) to add to the navigation's pixel position, x.
    pub dx: i32,
    /// Best shift, y.
    pub dy: i32,
    /// Mean |∇BT| along the coastline at zero shift.
    pub score_at_zero: f64,
    /// Mean |∇BT| at the best shift.
    pub best_score: f64,
    /// Coastline samples used.
    pub samples: usize,
}

/// Slide the navigated coastline by integer shifts in `-range..=range` and report where
/// the mean BT gradient magnitude along it peaks. A correct navigation peaks at (0, 0).
pub fn coastline_alignment(frame: &Frame, coast: &Coastlines, range: i32, bbox: (f64, f64, f64, f64)) -> Alignment {
    let (w, h) = (frame.meta.width, frame.meta.height);
    let grad = |x: i64, y: i64| -> Option<f64> {
        if x < 1 || y < 1 || x + 1 >= w as i64 || y + 1 >= h as i64 {
            return None;
        }
        let at = |x: i64, y: i64| f64::from(frame.bt[y as usize * w + x as usize]);
        let gx = at(x + 1, y) - at(x - 1, y);
        let gy = at(x, y + 1) - at(x, y - 1);
        let g = gx.hypot(gy);
        g.is_finite().then_some(g)
    };
    // Coastline samples every ~0.5 px (densified segments), inside the bbox.
    let mut pts = Vec::new();
    for line in &coast.coast {
        for s in line.windows(2) {
            let (a, b) = (s[0], s[1]);
            let inside = |p: (f64, f64)| p.0 >= bbox.0 && p.0 <= bbox.2 && p.1 >= bbox.1 && p.1 <= bbox.3;
            if !inside(a) || !inside(b) {
                continue;
            }
            let (Some(pa), Some(pb)) = (frame.meta.nav.lonlat_to_pixel(a.0, a.1), frame.meta.nav.lonlat_to_pixel(b.0, b.1)) else { continue };
            let n = ((pb.0 - pa.0).hypot(pb.1 - pa.1) * 2.0).ceil().max(1.0) as usize;
            for k in 0..n {
                let t = k as f64 / n as f64;
                pts.push((pa.0 + t * (pb.0 - pa.0), pa.1 + t * (pb.1 - pa.1)));
            }
        }
    }
    let score = |dx: i32, dy: i32| -> f64 {
        let (mut s, mut n) = (0.0, 0usize);
        for &(x, y) in &pts {
            if let Some(g) = grad(x.round() as i64 + i64::from(dx), y.round() as i64 + i64::from(dy)) {
                s += g;
                n += 1;
            }
        }
        if n == 0 { 0.0 } else { s / n as f64 }
    };
    let mut best = (0, 0, f64::MIN);
    for dy in -range..=range {
        for dx in -range..=range {
            let s = score(dx, dy);
            if s > best.2 {
                best = (dx, dy, s);
            }
        }
    }
    Alignment { dx: best.0, dy: best.1, score_at_zero: score(0, 0), best_score: best.2, samples: pts.len() }
}

/// Convenience for docs/tests: path-free check on a frame.
pub fn describe(a: &Alignment, what: &Path) -> String {
    format!(
        "{}: coastline gradient peaks at shift ({}, {}) px; mean |∇BT| {:.2} K/2px at (0,0) vs {:.2} at best ({} samples)",
        what.display(),
        a.dx,
        a.dy,
        a.score_at_zero,
        a.best_score,
        a.samples
    )
}

/// Fraction of coastline samples (inside `bbox`) that land within one pixel of a NaN pixel.
/// For products with burned-in coastlines that the reader masked (KMA PNG), a correct
/// navigation puts nearly every sample on the masked line.
pub fn masked_hit_fraction(frame: &Frame, coast: &Coastlines, dx: i32, dy: i32, bbox: (f64, f64, f64, f64)) -> f64 {
    let (w, h) = (frame.meta.width as i64, frame.meta.height as i64);
    let (mut hit, mut n) = (0usize, 0usize);
    for line in &coast.coast {
        for &(lon, lat) in line {
            if lon < bbox.0 || lon > bbox.2 || lat < bbox.1 || lat > bbox.3 {
                continue;
            }
            let Some((x, y)) = frame.meta.nav.lonlat_to_pixel(lon, lat) else { continue };
            let (x, y) = (x.round() as i64 + i64::from(dx), y.round() as i64 + i64::from(dy));
            if x < 1 || y < 1 || x + 1 >= w || y + 1 >= h {
                continue;
            }
            n += 1;
            let near = (-1..=1).any(|j| (-1..=1).any(|i| frame.bt[((y + j) * w + x + i) as usize].is_nan()));
            if near {
                hit += 1;
            }
        }
    }
    if n == 0 { 0.0 } else { hit as f64 / n as f64 }
}
