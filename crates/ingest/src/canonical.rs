//! The canonical grid: every frame, whatever its satellite, product or projection, is
//! resampled through its own navigation onto one East-Asia grid before the image model sees
//! it, so one checkpoint embeds them all.
//!
//! **The grid** ([`GridSpec::canonical`]) is the COMS East-Asia sector in the CGMS
//! geostationary projection: sub-satellite longitude 128.2°E, CFAC = −LFAC = 5106334
//! (8 km at the sub-satellite point), COFF = LOFF = 687, 819 × 471 pixels starting at CGMS
//! column 271, line 86 (the smallest box holding 10–55°N × 95–160°E). It is the grid of the
//! COMS East-Asia product the study used, and of the simulated archive, so every checkpoint
//! trained so far stays valid and simulated frames pass through unchanged.
//!
//! **Resampling** ([`resample`]), in kelvin. For every canonical pixel the source position
//! comes from the canonical navigation (pixel → lon/lat) and the source's (lon/lat →
//! pixel). When the source is finer than the canonical grid (HRIT 4 km, GK-2A 2 km, KMA
//! 4 km) each canonical pixel is the mean of `n × n` bilinear samples spread over its
//! footprint (`n` = source pixels per canonical pixel, rounded, 1..=8): an area average.
//! Otherwise `n = 1`, plain bilinear. Bilinear weights go only to finite neighbours, and a
//! sample needs half its weight on data; a pixel needs half its samples. A frame already on
//! the canonical grid is copied bit for bit.
//!
//! **Coverage.** A canonical pixel is *covered* when its centre falls inside the source
//! array (within half a pixel of its edge) and on the Earth as the source sees it, at a
//! view zenith angle of at most [`MAX_VIEW_ZENITH_DEG`] for a geostationary source. Pixels
//! not covered are NaN: the rest of a sector crop, the part of a polar-stereographic product
//! beyond its edge. [`Resampled::region_coverage`] gives, per region, the share of its
//! canonical pixels with a finite value; regions below [`MIN_REGION_COVERAGE`] get no
//! vector downstream.
//!
//! **Storm-centred frames** (Digital Typhoon) are resampled through the geometry their
//! reader gives them (a Lambert azimuthal equal-area crop about the best-track centre, see
//! `dt.rs`): they cover a 2560 km square, so most regions get no vector. A storm-centred
//! frame of unknown geometry (a store written before) has no pixel on the Earth; [`resample`]
//! refuses it with that reason instead of guessing.

use crate::error::{Error, Result};
use crate::frame::{bt_checksum, grid_id, Frame, MaskStatus};
use crate::nav::{GeosNav, Navigation};
use crate::regions::RegionMasks;

/// Canonical grid width (pixels).
pub const CANONICAL_WIDTH: usize = 819;
/// Canonical grid height (pixels).
pub const CANONICAL_HEIGHT: usize = 471;
/// A region gets a vector only when at least this share of its canonical pixels has data
/// (the captioner's rule too).
pub const MIN_REGION_COVERAGE: f64 = 0.5;
/// Geostationary sources: pixels seen at a larger view zenith angle than this (degrees)
/// are not used (near the limb one pixel spans hundreds of km; the usual product cut-off).
pub const MAX_VIEW_ZENITH_DEG: f64 = 80.0;
/// The most samples per axis an area average takes (GK-2A at 2 km needs 4).
const MAX_SUPERSAMPLE: usize = 8;

/// A target grid: size and navigation.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSpec {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Pixel ↔ lon/lat.
    pub nav: Navigation,
}

impl GridSpec {
    /// The canonical East-Asia grid (see the module docs).
    pub fn canonical() -> Self {
        GridSpec { width: CANONICAL_WIDTH, height: CANONICAL_HEIGHT, nav: Navigation::Geos(GeosNav::sim_nov2017()) }
    }

    /// The grid id, as [`grid_id`] (the key of the mask cache).
    pub fn id(&self) -> String {
        grid_id(self.width, self.height, &self.nav)
    }

    /// Whether a frame already lies on this grid.
    pub fn holds(&self, frame: &Frame) -> bool {
        frame.meta.width == self.width && frame.meta.height == self.height && frame.meta.nav == self.nav
    }
}

/// A frame resampled onto a [`GridSpec`].
#[derive(Debug, Clone)]
pub struct Resampled {
    /// The target grid.
    pub grid: GridSpec,
    /// BT (K), row-major `height × width`; NaN where not covered or no data.
    pub bt: Vec<f32>,
    /// Whether the source covers each pixel (see the module docs).
    pub covered: Vec<bool>,
    /// Samples per axis of the area average (1 = bilinear).
    pub supersample: usize,
    /// True when the frame was already on the grid and was copied unchanged.
    pub copied: bool,
}

impl Resampled {
    /// Share of the grid's pixels the source covers.
    pub fn coverage(&self) -> f64 {
        self.covered.iter().filter(|c| **c).count() as f64 / self.covered.len().max(1) as f64
    }

    /// Per region (order of [`skycase_vocab::REGIONS`]), the share of its pixels on this grid
    /// that have a finite value; 0 for a region with no pixel on the grid.
    pub fn region_coverage(&self, masks: &RegionMasks) -> Vec<f64> {
        let bits = masks.bits();
        let mut inside = [0usize; 16];
        let mut valid = [0usize; 16];
        for (b, v) in bits.iter().zip(&self.bt) {
            for k in 0..16 {
                if b & (1 << k) != 0 {
                    inside[k] += 1;
                    if v.is_finite() {
                        valid[k] += 1;
                    }
                }
            }
        }
        (0..skycase_vocab::REGIONS.len()).map(|k| if inside[k] == 0 { 0.0 } else { valid[k] as f64 / inside[k] as f64 }).collect()
    }

    /// Per region, whether it is covered well enough ([`MIN_REGION_COVERAGE`]) to get a vector.
    pub fn regions_covered(&self, masks: &RegionMasks) -> Vec<bool> {
        self.region_coverage(masks).into_iter().map(|c| c >= MIN_REGION_COVERAGE).collect()
    }

    /// The resampled field as a frame of the source's metadata on the new grid (checksum
    /// recomputed, a note saying how it was made).
    pub fn to_frame(&self, source: &Frame) -> Frame {
        let mut meta = source.meta.clone();
        meta.width = self.grid.width;
        meta.height = self.grid.height;
        meta.nav = self.grid.nav.clone();
        meta.masks = MaskStatus::Available { grid_id: self.grid.id() };
        meta.checksum = bt_checksum(&self.bt);
        if !self.copied {
            meta.notes.push(format!(
                "resampled from {}×{} {} onto {} ({}), coverage {:.1} %",
                source.meta.width,
                source.meta.height,
                nav_kind(&source.meta.nav),
                self.grid.id(),
                if self.supersample > 1 { format!("area mean of {0}×{0} bilinear samples", self.supersample) } else { "bilinear".into() },
                100.0 * self.coverage()
            ));
        }
        Frame { meta, bt: self.bt.clone() }
    }
}

fn nav_kind(nav: &Navigation) -> &'static str {
    match nav {
        Navigation::Geos(_) => "geostationary",
        Navigation::PolarStereo(_) => "polar stereographic",
        Navigation::StormCentred { laea: Some(_), .. } => "storm-centred Lambert azimuthal equal-area",
        Navigation::StormCentred { laea: None, .. } => "storm-centred",
    }
}

/// Resample `frame` onto `grid` (see the module docs). Errors: a frame whose navigation
/// cannot place its pixels on the Earth (storm-centred), or whose BT array does not match
/// its size.
pub fn resample(frame: &Frame, grid: &GridSpec) -> Result<Resampled> {
    let (sw, sh) = (frame.meta.width, frame.meta.height);
    let fail = |reason: String| Error::Resample { frame: frame.meta.id.clone(), reason };
    if frame.bt.len() != sw * sh {
        return Err(fail(format!("BT has {} values for a {sw}×{sh} grid", frame.bt.len())));
    }
    if let Navigation::StormCentred { centre_lon, centre_lat, laea: None } = frame.meta.nav {
        return Err(fail(format!(
            "storm-centred frame (centre {centre_lon:.1}°E {centre_lat:.1}°N) of unknown geometry: no projection or pixel size, so its pixels cannot be placed on the canonical grid (re-ingest it: the Digital Typhoon reader now gives its crops their geometry)"
        )));
    }
    if grid.holds(frame) {
        let covered = (0..grid.height)
            .flat_map(|y| (0..grid.width).map(move |x| (x, y)))
            .map(|(x, y)| grid.nav.pixel_to_lonlat(x as f64, y as f64).is_some())
            .collect();
        return Ok(Resampled { grid: grid.clone(), bt: frame.bt.clone(), covered, supersample: 1, copied: true });
    }
    let n = supersample_factor(frame, grid);
    let mut bt = vec![f32::NAN; grid.width * grid.height];
    let mut covered = vec![false; grid.width * grid.height];
    let threads = std::thread::available_parallelism().map(|t| t.get()).unwrap_or(1).clamp(1, 8);
    let rows_per = grid.height.div_ceil(threads);
    std::thread::scope(|s| {
        for (t, (bt_rows, cov_rows)) in bt.chunks_mut(rows_per * grid.width).zip(covered.chunks_mut(rows_per * grid.width)).enumerate() {
            s.spawn(move || {
                for (r, (bt_row, cov_row)) in bt_rows.chunks_mut(grid.width).zip(cov_rows.chunks_mut(grid.width)).enumerate() {
                    let y = t * rows_per + r;
                    for x in 0..grid.width {
                        let (v, c) = sample_pixel(frame, grid, x as f64, y as f64, n);
                        bt_row[x] = v;
                        cov_row[x] = c;
                    }
                }
            });
        }
    });
    Ok(Resampled { grid: grid.clone(), bt, covered, supersample: n, copied: false })
}

/// Source pixel coordinates of a target position, if on the Earth for both grids and, for a
/// geostationary source, within [`MAX_VIEW_ZENITH_DEG`].
fn source_xy(frame: &Frame, grid: &GridSpec, x: f64, y: f64) -> Option<(f64, f64)> {
    let (lon, lat) = grid.nav.pixel_to_lonlat(x, y)?;
    if let Navigation::Geos(g) = &frame.meta.nav {
        if view_zenith_deg(g, lon, lat) > MAX_VIEW_ZENITH_DEG {
            return None;
        }
    }
    frame.meta.nav.lonlat_to_pixel(lon, lat)
}

/// Satellite view zenith angle (degrees) of a point seen from a geostationary satellite
/// (spherical Earth of the equatorial radius: good to a few tenths of a degree).
pub fn view_zenith_deg(g: &GeosNav, lon: f64, lat: f64) -> f64 {
    let cos_gamma = lat.to_radians().cos() * (lon - g.sub_lon).to_radians().cos();
    let gamma = cos_gamma.clamp(-1.0, 1.0).acos();
    gamma.sin().atan2(cos_gamma - g.r_eq / g.h).to_degrees()
}

fn inside(frame: &Frame, (sx, sy): (f64, f64)) -> bool {
    let (w, h) = (frame.meta.width as f64, frame.meta.height as f64);
    sx >= -0.5 && sy >= -0.5 && sx <= w - 0.5 && sy <= h - 0.5
}

/// Area-average factor: median, over a sparse lattice of covered target pixels, of the
/// longer side of one target pixel's footprint in source pixels.
fn supersample_factor(frame: &Frame, grid: &GridSpec) -> usize {
    let mut sizes = Vec::new();
    let step = (grid.width.max(grid.height) / 40).max(1);
    for y in (0..grid.height).step_by(step) {
        for x in (0..grid.width).step_by(step) {
            let (xf, yf) = (x as f64, y as f64);
            let (Some(a), Some(b), Some(c)) =
                (source_xy(frame, grid, xf, yf), source_xy(frame, grid, xf + 1.0, yf), source_xy(frame, grid, xf, yf + 1.0))
            else {
                continue;
            };
            if !inside(frame, a) {
                continue;
            }
            let dx = (b.0 - a.0).hypot(b.1 - a.1);
            let dy = (c.0 - a.0).hypot(c.1 - a.1);
            sizes.push(dx.max(dy));
        }
    }
    if sizes.is_empty() {
        return 1;
    }
    sizes.sort_by(f64::total_cmp);
    let median = sizes[sizes.len() / 2];
    (median.round() as usize).clamp(1, MAX_SUPERSAMPLE)
}

/// One target pixel: (value, covered).
fn sample_pixel(frame: &Frame, grid: &GridSpec, x: f64, y: f64, n: usize) -> (f32, bool) {
    let covered = source_xy(frame, grid, x, y).is_some_and(|p| inside(frame, p));
    if !covered {
        return (f32::NAN, false);
    }
    if n == 1 {
        let v = source_xy(frame, grid, x, y).map_or(f32::NAN, |p| bilinear(frame, p));
        return (v, true);
    }
    let (mut sum, mut count) = (0f64, 0usize);
    for j in 0..n {
        for i in 0..n {
            let (ox, oy) = ((i as f64 + 0.5) / n as f64 - 0.5, (j as f64 + 0.5) / n as f64 - 0.5);
            if let Some(p) = source_xy(frame, grid, x + ox, y + oy).filter(|p| inside(frame, *p)) {
                let v = bilinear(frame, p);
                if v.is_finite() {
                    sum += f64::from(v);
                    count += 1;
                }
            }
        }
    }
    let v = if count * 2 >= n * n { (sum / count as f64) as f32 } else { f32::NAN };
    (v, true)
}

/// Bilinear interpolation over the finite neighbours; NaN when less than half the weight
/// is on data. Positions within half a pixel outside the array use the edge pixels.
fn bilinear(frame: &Frame, (sx, sy): (f64, f64)) -> f32 {
    let (w, h) = (frame.meta.width, frame.meta.height);
    let sx = sx.clamp(0.0, (w - 1) as f64);
    let sy = sy.clamp(0.0, (h - 1) as f64);
    let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
    let mut num = 0f64;
    let mut den = 0f64;
    for (xx, yy, wt) in [(x0, y0, (1.0 - fx) * (1.0 - fy)), (x1, y0, fx * (1.0 - fy)), (x0, y1, (1.0 - fx) * fy), (x1, y1, fx * fy)] {
        let v = frame.bt[yy * w + xx];
        if v.is_finite() && wt > 0.0 {
            num += wt * f64::from(v);
            den += wt;
        }
    }
    if den >= 0.5 - 1e-9 {
        (num / den) as f32
    } else {
        f32::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Calibration, FrameMeta, Source};
    use crate::nav::PolarStereoNav;
    use crate::regions::Regions;

    /// A frame on `grid` whose BT is an analytic function of lon/lat.
    fn analytic(grid: &GridSpec, f: impl Fn(f64, f64) -> f32) -> Frame {
        let mut bt = vec![f32::NAN; grid.width * grid.height];
        for y in 0..grid.height {
            for x in 0..grid.width {
                if let Some((lon, lat)) = grid.nav.pixel_to_lonlat(x as f64, y as f64) {
                    bt[y * grid.width + x] = f(lon, lat);
                }
            }
        }
        Frame {
            meta: FrameMeta {
                id: "analytic_201711010000".into(),
                time: "2017-11-01T00:00:00Z".parse().unwrap(),
                source: Source::SimPng,
                channel: "IR".into(),
                width: grid.width,
                height: grid.height,
                nav: grid.nav.clone(),
                calibration: Calibration::Calibrated { method: "test".into() },
                complete: true,
                masks: MaskStatus::Available { grid_id: grid.id() },
                storm: None,
                inputs: vec![],
                checksum: String::new(),
                notes: vec![],
            },
            bt,
        }
    }

    /// A smooth "weather" field in lon/lat (K).
    fn field(lon: f64, lat: f64) -> f32 {
        (260.0 + 25.0 * (lon.to_radians() * 9.0).sin() * (lat.to_radians() * 7.0).cos() + 0.3 * (lat - 30.0)) as f32
    }

    /// The KMA `ea040ps` polar-stereographic grid (1500 × 1300 px, 4 km).
    fn kma_grid() -> GridSpec {
        GridSpec {
            width: 1500,
            height: 1300,
            nav: Navigation::PolarStereo(PolarStereoNav { pole_x: 749.84, pole_y: -658.44, scale: 2502.85, lon0: 127.014, ecc: 0.0818191908426 }),
        }
    }

    #[test]
    fn a_canonical_frame_is_copied_unchanged() {
        let g = GridSpec::canonical();
        let f = analytic(&g, field);
        let r = resample(&f, &g).unwrap();
        assert!(r.copied);
        assert_eq!(bt_checksum(&r.bt), bt_checksum(&f.bt));
        assert_eq!(r.to_frame(&f).meta.checksum, bt_checksum(&f.bt));
        // The grid's far north-west corner lies beyond the Earth's limb.
        assert!(r.coverage() > 0.98, "{}", r.coverage());
        assert_eq!(r.covered[0], g.nav.pixel_to_lonlat(0.0, 0.0).is_some());
    }

    #[test]
    fn the_general_path_onto_the_same_grid_is_the_identity() {
        // Same grid under another description: GEOS with the array offset moved into COFF.
        let g = GridSpec::canonical();
        let f = analytic(&g, field);
        let Navigation::Geos(n) = &g.nav else { unreachable!() };
        let same = GridSpec { nav: Navigation::Geos(GeosNav { coff: n.coff - 1.0, first_column: n.first_column - 1.0, ..n.clone() }), ..g.clone() };
        let r = resample(&f, &same).unwrap();
        assert!(!r.copied);
        assert_eq!(r.supersample, 1);
        let worst = f.bt.iter().zip(&r.bt).filter(|(a, _)| a.is_finite()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-3, "worst {worst} K");
    }

    #[test]
    fn the_same_field_on_other_grids_lands_in_the_same_place() {
        let canon = GridSpec::canonical();
        let truth = analytic(&canon, field);
        // A coarser, shifted geostationary grid (Himawari-like position, 10 km) and the KMA
        // polar-stereographic grid (4 km: area mean of 2×2 samples).
        let Navigation::Geos(n) = &canon.nav else { unreachable!() };
        let geos = GridSpec {
            width: 700,
            height: 420,
            nav: Navigation::Geos(GeosNav { sub_lon: 140.7, cfac: n.cfac * 0.8, lfac: n.lfac * 0.8, coff: 550.0, loff: 550.0, first_column: 130.0, first_line: 80.0, ..n.clone() }),
        };
        // A Digital Typhoon-like storm-centred crop: 512 × 512 px of 5 km about 25°N 128°E.
        let storm = GridSpec {
            width: 512,
            height: 512,
            nav: Navigation::StormCentred {
                centre_lon: 128.0,
                centre_lat: 25.0,
                laea: Some(crate::nav::StormLaea { pixel_km: 5.0, centre_x: 255.5, centre_y: 255.5 }),
            },
        };
        for (name, grid, tol, min_valid) in [
            ("geos", geos, 1.0f32, canon.width * canon.height / 2),
            ("polar", kma_grid(), 0.4, canon.width * canon.height / 2),
            // 2560 km square ≈ 320 × 320 canonical pixels of 8 km, minus the slant.
            ("storm", storm, 0.4, 60_000),
        ] {
            let src = analytic(&grid, field);
            let r = resample(&src, &canon).unwrap();
            let (mut worst, mut sum, mut n_valid) = (0f32, 0f64, 0usize);
            for (a, b) in truth.bt.iter().zip(&r.bt) {
                if b.is_finite() {
                    worst = worst.max((a - b).abs());
                    sum += f64::from((a - b).abs());
                    n_valid += 1;
                }
            }
            let mean = sum / n_valid.max(1) as f64;
            eprintln!("{name}: worst {worst} K, mean {mean:.4} K over {n_valid} px");
            assert!(mean < 0.05, "{name}: mean error {mean} K");
            assert!(n_valid > min_valid, "{name}: {n_valid} valid");
            assert!(worst < tol, "{name}: worst {worst} K (supersample {})", r.supersample);
        }
    }

    #[test]
    fn view_zenith_angle_at_known_points() {
        let g = GeosNav::sim_nov2017();
        assert!(view_zenith_deg(&g, 128.2, 0.0).abs() < 1e-9);
        // Seoul from 128.2°E: 37.6° of arc, 43.6° zenith; the limb (81.3° of arc) is at 90°.
        assert!((view_zenith_deg(&g, 126.978, 37.5665) - 43.56).abs() < 0.05, "{}", view_zenith_deg(&g, 126.978, 37.5665));
        assert!((view_zenith_deg(&g, 128.2 + 81.3, 0.0) - 90.0).abs() < 0.2);
    }

    #[test]
    fn partial_coverage_is_masked_and_regions_counted() {
        let canon = GridSpec::canonical();
        // A sector: only the western half of the canonical grid.
        let f = analytic(&canon, field);
        let sector = f.crop_lonlat(95.0, 10.0, 120.0, 55.0).unwrap();
        let r = resample(&sector, &canon).unwrap();
        let cov = r.coverage();
        assert!(cov > 0.2 && cov < 0.6, "{cov}");
        // Covered pixels have the field's values; others are NaN and marked uncovered.
        for (i, (&c, &v)) in r.covered.iter().zip(&r.bt).enumerate() {
            if c {
                assert!((v - f.bt[i]).abs() < 1e-3, "pixel {i}: {v} vs {}", f.bt[i]);
            } else {
                assert!(v.is_nan());
            }
        }
        let masks = RegionMasks::rasterize(&Regions::bundled(), &canon.nav, canon.width, canon.height);
        let rc = r.region_coverage(&masks);
        let ok = r.regions_covered(&masks);
        // Honshu (6) lies east of 120°E, Southern China (4) west of it.
        assert!(rc[6] == 0.0 && !ok[6], "Honshu {}", rc[6]);
        assert!(rc[4] > 0.5 && ok[4], "Southern China {}", rc[4]);
    }

    #[test]
    fn storm_centred_frames_are_refused_with_the_reason() {
        let canon = GridSpec::canonical();
        let mut f = analytic(&canon, field);
        f.meta.nav = Navigation::StormCentred { centre_lon: 135.0, centre_lat: 20.0, laea: None };
        f.meta.id = "dt-200718_200710151200".into();
        let e = resample(&f, &canon).unwrap_err().to_string();
        assert!(e.contains("dt-200718_200710151200") && e.contains("storm-centred") && e.contains("cannot be placed"), "{e}");
    }
}
