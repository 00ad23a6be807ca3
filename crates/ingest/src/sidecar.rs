//! PNG archives with a navigation sidecar (`meta.json`), e.g. the simulated archive
//! `sim-nov2017`: 8-bit grey PNG frames named `..._YYYYMMDDhhmm.png` (UTC), a `meta.json`
//! beside the `frames/` folder (or beside the PNGs) giving the CGMS geostationary
//! navigation and the grey → K mapping `BT = A − gray·B / C` (the simulator's: A = 330,
//! B = 150, C = 255); grey 0 is space (NaN).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::frame::{Calibration, Frame, FrameMeta, MaskStatus, Source};
use crate::nav::{GeosNav, Navigation};

const FORMAT: &str = "PNG sidecar";

/// What a `meta.json` sidecar says about the PNGs beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sidecar {
    /// Grid navigation.
    pub nav: GeosNav,
    /// Expected PNG width.
    pub width: usize,
    /// Expected PNG height.
    pub height: usize,
    /// `BT = offset − gray·slope`.
    pub offset: f64,
    /// K per grey level.
    pub slope: f64,
    /// Grey value that marks space.
    pub space_value: u8,
    /// True for the wxsim simulated archive (`provenance: simulated`).
    pub simulated: bool,
}

impl Sidecar {
    /// The simulated archive's sidecar, without reading it (for tests and the trainer).
    pub fn sim_nov2017() -> Self {
        Sidecar {
            nav: GeosNav::sim_nov2017(),
            width: 819,
            height: 471,
            offset: 330.0,
            slope: 150.0 / 255.0,
            space_value: 0,
            simulated: true,
        }
    }

    /// Grey level → K (NaN for the space value).
    pub fn gray_to_bt(&self, g: u8) -> f32 {
        if g == self.space_value {
            f32::NAN
        } else {
            (self.offset - f64::from(g) * self.slope) as f32
        }
    }

    /// Parse a `meta.json` sidecar.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::format(path, FORMAT, reason);
        let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        let nav = &v["navigation"];
        if !nav.is_object() {
            return Err(bad("no `navigation` object".into()));
        }
        let projection = nav["projection"].as_str().unwrap_or("");
        if !projection.contains("geostationary") {
            return Err(Error::unsupported(path, format!("sidecar projection {projection:?} (only CGMS geostationary)")));
        }
        let num = |key: &str| -> Result<f64> {
            nav[key]
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(format!("navigation.{key} missing or not a number")))
        };
        let dim = |key: &str| -> Result<usize> {
            let x = nav[key].as_u64().ok_or_else(|| bad(format!("navigation.{key} missing or not a count")))?;
            let x = usize::try_from(x).map_err(|_| bad(format!("navigation.{key} = {x} too large")))?;
            if x == 0 || x > 20_000 {
                return Err(bad(format!("navigation.{key} = {x} out of range 1..=20000")));
            }
            Ok(x)
        };
        let g = GeosNav {
            sub_lon: num("sub_lon")?,
            cfac: num("CFAC")?,
            lfac: num("LFAC")?,
            coff: num("COFF")?,
            loff: num("LOFF")?,
            first_column: num("first_column")?,
            first_line: num("first_line")?,
            r_eq: num("earth_equatorial_radius_km")?,
            r_pol: num("earth_polar_radius_km")?,
            h: num("satellite_distance_from_earth_centre_km")?,
        };
        if g.cfac == 0.0 || g.lfac == 0.0 || g.r_pol <= 0.0 || g.r_eq <= 0.0 || g.h <= g.r_eq {
            return Err(bad(format!(
                "degenerate navigation: CFAC {} LFAC {} r_eq {} r_pol {} h {}",
                g.cfac, g.lfac, g.r_eq, g.r_pol, g.h
            )));
        }
        let cal = v["calibration"]["gray_to_bt"].as_str().ok_or_else(|| bad("calibration.gray_to_bt missing".into()))?;
        let (offset, slope) = parse_linear(cal).ok_or_else(|| {
            Error::unsupported(path, format!("calibration {cal:?} (expected `BT = A - gray * B / C`)"))
        })?;
        let space_value = v["image"]["space_value"].as_u64().unwrap_or(0);
        let space_value = u8::try_from(space_value).map_err(|_| bad(format!("image.space_value {space_value} > 255")))?;
        Ok(Sidecar {
            nav: g,
            width: dim("width")?,
            height: dim("height")?,
            offset,
            slope,
            space_value,
            simulated: v["provenance"].as_str() == Some("simulated"),
        })
    }

    /// Decode one PNG frame (bytes) with this sidecar.
    pub fn decode_png(&self, png: &[u8], path: &Path) -> Result<(Vec<f32>, usize, usize)> {
        let img = decode_png_gray(png, path, FORMAT)?;
        let (w, h) = (img.width() as usize, img.height() as usize);
        if (w, h) != (self.width, self.height) {
            return Err(Error::format(
                path,
                FORMAT,
                format!("PNG is {w}×{h} but the sidecar says {}×{}", self.width, self.height),
            ));
        }
        let lut: Vec<f32> = (0..=255u8).map(|g| self.gray_to_bt(g)).collect();
        let bt = img.as_raw().iter().map(|&g| lut[usize::from(g)]).collect();
        Ok((bt, w, h))
    }

    /// Read a frame file `path` (PNG) with this sidecar.
    pub fn read_frame(&self, path: &Path) -> Result<Frame> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let time = time_from_name(path, FORMAT)?;
        let (bt, width, height) = self.decode_png(&bytes, path)?;
        let source = if self.simulated { Source::SimPng } else { Source::SidecarPng };
        let nav = Navigation::Geos(self.nav.clone());
        let meta = FrameMeta {
            id: format!("{}_{}", source.short(), time.format("%Y%m%d%H%M")),
            time,
            source,
            channel: "IR 10.8um".into(),
            width,
            height,
            masks: MaskStatus::Available { grid_id: crate::frame::grid_id(width, height, &nav) },
            nav,
            calibration: Calibration::Calibrated {
                method: format!("sidecar linear: BT = {} - gray * {:.6}; gray {} = space", self.offset, self.slope, self.space_value),
            },
            complete: true,
            storm: None,
            inputs: vec![],
            checksum: crate::frame::bt_checksum(&bt),
            notes: if self.simulated { vec!["simulated imagery (wxsim), not an observation".into()] } else { vec![] },
        };
        Ok(Frame { meta, bt })
    }
}

/// Find the sidecar for a PNG: `meta.json` in its folder or the folder above.
pub fn find_sidecar(png: &Path) -> Option<PathBuf> {
    let dir = png.parent()?;
    [dir.join("meta.json"), dir.parent()?.join("meta.json")].into_iter().find(|p| p.is_file())
}

/// Read a simulated-archive frame: finds `meta.json` and decodes the PNG.
pub fn read_sim_frame(png: &Path) -> Result<Frame> {
    let side = find_sidecar(png).ok_or_else(|| Error::unsupported(png, "no meta.json sidecar beside it or one folder up"))?;
    let bytes = std::fs::read(&side).map_err(|e| Error::io(&side, e))?;
    Sidecar::parse(&bytes, &side)?.read_frame(png)
}

/// Parse `BT = A - gray * B / C` (or `* B` without `/ C`) into (A, B/C).
fn parse_linear(s: &str) -> Option<(f64, f64)> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let s = s.split('(').next()?; // drop "(gray 1..255)" remarks
    let rhs = s.strip_prefix("BT=")?;
    let (a, rest) = rhs.split_once("-gray*")?;
    let a: f64 = a.parse().ok()?;
    let slope = match rest.split_once('/') {
        Some((b, c)) => b.parse::<f64>().ok()? / c.parse::<f64>().ok()?,
        None => rest.parse().ok()?,
    };
    (a.is_finite() && slope.is_finite() && slope != 0.0).then_some((a, slope))
}

/// Decode a PNG into 8-bit grey (RGB must be grey already; the caller checks).
pub(crate) fn decode_png_gray(bytes: &[u8], path: &Path, format: &'static str) -> Result<image::GrayImage> {
    use image::ImageDecoder;
    let mut dec = image::codecs::png::PngDecoder::new(std::io::Cursor::new(bytes))
        .map_err(|e| Error::format(path, format, format!("PNG: {e}")))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    dec.set_limits(limits).map_err(|e| Error::format(path, format, format!("PNG: {e}")))?;
    // PNG optimisers (wxsim runs oxipng) may store a grey frame as an indexed PNG with a grey
    // palette, which the decoder expands to RGB: accepted when every pixel is grey (R = G = B),
    // so nothing is lost; real colour is refused.
    let colour = dec.color_type();
    if !matches!(colour, image::ColorType::L8 | image::ColorType::Rgb8) {
        return Err(Error::format(path, format, format!("PNG colour type {colour:?}, expected 8-bit grey")));
    }
    let img = image::DynamicImage::from_decoder(dec).map_err(|e| Error::format(path, format, format!("PNG: {e}")))?;
    if let image::DynamicImage::ImageRgb8(rgb) = &img {
        if let Some((x, y, _)) = rgb.enumerate_pixels().find(|(_, _, p)| p.0[0] != p.0[1] || p.0[1] != p.0[2]) {
            return Err(Error::format(path, format, format!("PNG colour type {colour:?} with a coloured pixel at ({x}, {y}), expected 8-bit grey")));
        }
    }
    Ok(img.into_luma8())
}

/// Time `YYYYMMDDhhmm` (UTC) from the last `_`-separated part of a file stem.
pub(crate) fn time_from_name(path: &Path, format: &'static str) -> Result<DateTime<Utc>> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let last = stem.rsplit('_').next().unwrap_or("");
    NaiveDateTime::parse_from_str(last, "%Y%m%d%H%M")
        .map(|t| t.and_utc())
        .map_err(|_| Error::format(path, format, format!("no _YYYYMMDDhhmm time at the end of the name {stem:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_frames_stored_as_rgb_or_palette_decode_and_colour_is_refused() {
        let png = |img: image::DynamicImage| {
            let mut buf = std::io::Cursor::new(Vec::new());
            img.write_to(&mut buf, image::ImageFormat::Png).unwrap();
            buf.into_inner()
        };
        let grey = image::RgbImage::from_fn(3, 2, |x, y| image::Rgb([(x * 40 + y) as u8; 3]));
        let got = decode_png_gray(&png(grey.into()), Path::new("g.png"), FORMAT).unwrap();
        assert_eq!(got.as_raw(), &[0, 40, 80, 1, 41, 81]);
        let mut colour = image::RgbImage::from_fn(3, 2, |_, _| image::Rgb([9, 9, 9]));
        colour.put_pixel(2, 1, image::Rgb([9, 9, 10]));
        let err = decode_png_gray(&png(colour.into()), Path::new("c.png"), FORMAT).unwrap_err().to_string();
        assert!(err.contains("c.png") && err.contains("coloured pixel at (2, 1)"), "{err}");
    }

    #[test]
    fn linear_calibration_parses() {
        assert_eq!(parse_linear("BT = 330.0 - gray * 150.0 / 255   (gray 1..255)"), Some((330.0, 150.0 / 255.0)));
        assert_eq!(parse_linear("BT = 300 - gray * 0.5"), Some((300.0, 0.5)));
        assert_eq!(parse_linear("BT = table[gray]"), None);
        assert_eq!(parse_linear("BT = 1 - gray * 1 / 0"), None);
    }

    #[test]
    fn sim_gray_mapping() {
        let s = Sidecar::sim_nov2017();
        assert!(s.gray_to_bt(0).is_nan());
        assert!((s.gray_to_bt(1) - 329.41177).abs() < 1e-4); // 330 - 150/255
        assert!((s.gray_to_bt(255) - 180.0).abs() < 1e-4);
    }

    #[test]
    fn bad_sidecars_are_errors_not_panics() {
        let p = Path::new("meta.json");
        for text in ["", "{}", "[]", r#"{"navigation": {"projection": "geostationary"}}"#, r#"{"navigation": 3}"#] {
            assert!(Sidecar::parse(text.as_bytes(), p).is_err(), "{text}");
        }
    }

    #[test]
    fn time_from_sim_name() {
        let t = time_from_name(Path::new("frames/coms_mi_le1b_ir1_ea_201711301700.png"), FORMAT).unwrap();
        assert_eq!(t.to_rfc3339(), "2017-11-30T17:00:00+00:00");
        assert!(time_from_name(Path::new("x_2017.png"), FORMAT).is_err());
    }
}
