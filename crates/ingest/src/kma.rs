//! KMA COMS IR1 East-Asia image products as PNG (`coms_mi_le1b_ir01_ea040ps_YYYYMMDDhhmm.png`).
//!
//! * 1500 × 1300 RGB. Rows 0–19 are a header bar (yellow text on black): masked.
//! * Coastlines, borders, a 5° graticule and labels are burned in pure yellow
//!   (255, 255, 0): masked. Any other non-grey pixel in the body is masked too.
//! * Navigation: a product profile — ellipsoidal (WGS84) north polar stereographic —
//!   fitted by least squares to the 115 measured graticule control points
//!   (`data/kma_ea040ps_control_points.csv`); [`KmaProfile::fitted`] reports the residual.
//! * Grey → K: **no legend exists in these files**. We assume the linear IR rendering
//!   `BT = 330 − grey·150/255` (grey 0 → 330 K, 255 → 180 K; the same convention as the
//!   simulated COMS-like archive) and mark every such frame [`Calibration::Uncalibrated`].

use std::path::Path;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::frame::{bt_checksum, grid_id, Calibration, Frame, FrameMeta, MaskStatus, Source};
use crate::nav::{Navigation, PolarStereoNav};
use crate::sidecar::time_from_name;

const FORMAT: &str = "KMA COMS PNG";
/// Product size.
pub const WIDTH: usize = 1500;
/// Product size.
pub const HEIGHT: usize = 1300;
/// Header bar rows.
pub const HEADER_ROWS: usize = 20;
/// The assumed mapping, stated in every frame's calibration status.
pub const ASSUMED_MAPPING: &str = "assumed BT = 330 - grey * 150 / 255 (no legend in the file; grey is a monotone proxy)";

const CONTROL_POINTS: &str = include_str!("../data/kma_ea040ps_control_points.csv");
const WGS84_ECC: f64 = 0.0818191908426215;

/// The fitted `ea040ps` product profile.
#[derive(Debug, Clone)]
pub struct KmaProfile {
    /// Fitted navigation.
    pub nav: PolarStereoNav,
    /// RMS residual over the control points (px).
    pub rms_px: f64,
    /// Largest residual (px).
    pub max_px: f64,
    /// Control points used.
    pub points: usize,
}

/// (lon, lat, column, row) control points.
pub fn control_points() -> Vec<(f64, f64, f64, f64)> {
    CONTROL_POINTS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let v: Vec<f64> = l.split(',').filter_map(|x| x.trim().parse().ok()).collect();
            (v.len() == 4).then(|| (v[0], v[1], v[2], v[3]))
        })
        .collect()
}

impl KmaProfile {
    /// Fit (once per process) pole column/row, scale and central meridian to the control
    /// points by Gauss–Newton with numeric derivatives.
    pub fn fitted() -> &'static KmaProfile {
        static PROFILE: OnceLock<KmaProfile> = OnceLock::new();
        PROFILE.get_or_init(|| fit(&control_points()))
    }
}

fn residuals(p: &[f64; 4], pts: &[(f64, f64, f64, f64)]) -> Vec<f64> {
    let nav = PolarStereoNav { pole_x: p[0], pole_y: p[1], scale: p[2], lon0: p[3], ecc: WGS84_ECC };
    let mut r = Vec::with_capacity(pts.len() * 2);
    for &(lon, lat, c, row) in pts {
        let (x, y) = nav.lonlat_to_pixel(lon, lat).unwrap_or((f64::NAN, f64::NAN));
        r.push(x - c);
        r.push(y - row);
    }
    r
}

fn fit(pts: &[(f64, f64, f64, f64)]) -> KmaProfile {
    // Start: 127°E, true scale at 35°N, 4 km pixels (≈ 2503 px per unit t), pole above the image.
    let mut p = [749.5, -658.0, 2503.0, 127.0];
    for _ in 0..20 {
        let r0 = residuals(&p, pts);
        let steps = [1e-3, 1e-3, 1e-3, 1e-5];
        let jac: Vec<Vec<f64>> = (0..4)
            .map(|k| {
                let mut q = p;
                q[k] += steps[k];
                residuals(&q, pts).iter().zip(&r0).map(|(a, b)| (a - b) / steps[k]).collect()
            })
            .collect();
        // Normal equations (4×4), solved by Gaussian elimination.
        let mut a = [[0.0f64; 5]; 4];
        for i in 0..4 {
            for j in 0..4 {
                a[i][j] = jac[i].iter().zip(&jac[j]).map(|(x, y)| x * y).sum();
            }
            a[i][4] = -jac[i].iter().zip(&r0).map(|(x, y)| x * y).sum::<f64>();
        }
        for c in 0..4 {
            let piv = (c..4).max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs())).unwrap_or(c);
            a.swap(c, piv);
            for r in 0..4 {
                if r != c && a[c][c] != 0.0 {
                    let f = a[r][c] / a[c][c];
                    let pivot_row = a[c];
                    for (x, p) in a[r].iter_mut().zip(pivot_row).skip(c) {
                        *x -= f * p;
                    }
                }
            }
        }
        let delta: Vec<f64> = (0..4).map(|i| if a[i][i] != 0.0 { a[i][4] / a[i][i] } else { 0.0 }).collect();
        for k in 0..4 {
            p[k] += delta[k];
        }
        if delta.iter().map(|d| d.abs()).fold(0.0, f64::max) < 1e-9 {
            break;
        }
    }
    let r = residuals(&p, pts);
    let d: Vec<f64> = r.chunks(2).map(|c| c[0].hypot(c[1])).collect();
    let rms = (d.iter().map(|x| x * x).sum::<f64>() / d.len().max(1) as f64).sqrt();
    KmaProfile {
        nav: PolarStereoNav { pole_x: p[0], pole_y: p[1], scale: p[2], lon0: p[3], ecc: WGS84_ECC },
        rms_px: rms,
        max_px: d.iter().copied().fold(0.0, f64::max),
        points: pts.len(),
    }
}

/// Whether a file name is a KMA `ea040ps` IR1 product.
pub fn is_kma_name(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("coms_mi_le1b_ir01_ea040ps_") && n.ends_with(".png"))
}

/// Decode a KMA PNG (bytes).
pub fn decode(bytes: &[u8], path: &Path) -> Result<Frame> {
    let time = time_from_name(path, FORMAT)?;
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .map_err(|e| Error::format(path, FORMAT, format!("PNG: {e}")))?;
    if (img.width() as usize, img.height() as usize) != (WIDTH, HEIGHT) {
        return Err(Error::unsupported(path, format!("{}×{} image; the ea040ps profile is {WIDTH}×{HEIGHT}", img.width(), img.height())));
    }
    let rgb = img.into_rgb8();
    let mut bt = vec![f32::NAN; WIDTH * HEIGHT];
    let (mut overlay, mut other) = (0usize, 0usize);
    for (i, px) in rgb.pixels().enumerate() {
        if i < HEADER_ROWS * WIDTH {
            continue;
        }
        let [r, g, b] = px.0;
        if (r, g, b) == (255, 255, 0) {
            overlay += 1;
        } else if r == g && g == b {
            bt[i] = 330.0 - f32::from(r) * 150.0 / 255.0;
        } else {
            other += 1;
        }
    }
    let profile = KmaProfile::fitted();
    let nav = Navigation::PolarStereo(profile.nav.clone());
    let mut notes = vec![
        format!("header rows 0-{} and {overlay} yellow overlay pixels (coastlines, graticule, labels) masked", HEADER_ROWS - 1),
        format!(
            "navigation: WGS84 polar stereographic fitted to {} graticule control points, RMS {:.2} px, max {:.2} px",
            profile.points, profile.rms_px, profile.max_px
        ),
    ];
    if other > 0 {
        notes.push(format!("{other} non-grey body pixels masked"));
    }
    let source = Source::KmaPng;
    let meta = FrameMeta {
        id: format!("{}_{}", source.short(), time.format("%Y%m%d%H%M")),
        time,
        source,
        channel: "IR1 10.8um".into(),
        width: WIDTH,
        height: HEIGHT,
        masks: MaskStatus::Available { grid_id: grid_id(WIDTH, HEIGHT, &nav) },
        nav,
        calibration: Calibration::Uncalibrated { mapping: ASSUMED_MAPPING.into() },
        complete: true,
        storm: None,
        inputs: vec![],
        checksum: bt_checksum(&bt),
        notes,
    };
    Ok(Frame { meta, bt })
}

/// Read a KMA PNG product file.
pub fn read_frame(path: &Path) -> Result<Frame> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_fit_matches_provenance() {
        let p = KmaProfile::fitted();
        assert_eq!(p.points, 115);
        eprintln!("KMA profile: {:?} rms {:.3} max {:.3}", p.nav, p.rms_px, p.max_px);
        // PROVENANCE: pole (749.84, −658.44), λ0 127.014°E, RMS 0.21 px, max 0.48 px.
        assert!((p.nav.pole_x - 749.84).abs() < 0.05, "{:?}", p.nav);
        assert!((p.nav.pole_y + 658.44).abs() < 0.05, "{:?}", p.nav);
        assert!((p.nav.lon0 - 127.014).abs() < 0.002, "{:?}", p.nav);
        assert!(p.rms_px < 0.25 && p.max_px < 0.55, "rms {} max {}", p.rms_px, p.max_px);
    }
}
