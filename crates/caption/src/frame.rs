//! Glue from `skycase-ingest` frames to the captioners: per-pixel lon/lat, the
//! satellite name for the prompt, and the image an MLLM is shown.

use std::io::Cursor;

use skycase_ingest::{Frame, FrameMeta, Source};

use crate::error::{Error, Result};

/// (lon, lat) of every pixel centre of a frame's grid (NaN where unmapped).
pub fn lonlat_grid(meta: &FrameMeta) -> Vec<(f32, f32)> {
    let mut out = Vec::with_capacity(meta.width * meta.height);
    for y in 0..meta.height {
        for x in 0..meta.width {
            out.push(match meta.nav.pixel_to_lonlat(x as f64, y as f64) {
                Some((lon, lat)) => (lon as f32, lat as f32),
                None => (f32::NAN, f32::NAN),
            });
        }
    }
    out
}

/// The satellite named in the prompt for a frame's source.
pub fn satellite_name(source: Source) -> &'static str {
    match source {
        Source::SimPng | Source::SidecarPng | Source::ComsHrit | Source::ComsLrit | Source::KmaPng => "COMS",
        Source::Gk2aAmiL1b => "GK-2A",
        Source::DigitalTyphoon => "MTSAT-1R",
    }
}

/// BT → 8-bit grey as in the simulated archive and KMA products: cold is bright,
/// `gray = clip(round((330 − BT) × 255 / 150), 1, 255)`, no data = 0.
pub fn bt_to_gray(bt: f32) -> u8 {
    if !bt.is_finite() {
        return 0;
    }
    ((330.0 - bt) * 255.0 / 150.0).round().clamp(1.0, 255.0) as u8
}

/// The frame as an 8-bit grey PNG (what the MLLM is shown).
pub fn image_png(frame: &Frame) -> Result<Vec<u8>> {
    let (w, h) = (frame.meta.width as u32, frame.meta.height as u32);
    let gray: Vec<u8> = frame.bt.iter().map(|&b| bt_to_gray(b)).collect();
    let img = image::GrayImage::from_raw(w, h, gray).ok_or_else(|| Error::Image {
        frame: frame.meta.id.clone(),
        reason: format!("{} values for a {w}×{h} grid", frame.bt.len()),
    })?;
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| Error::Image { frame: frame.meta.id.clone(), reason: e.to_string() })?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_matches_sim_calibration() {
        assert_eq!(bt_to_gray(180.0), 255);
        assert_eq!(bt_to_gray(330.0 - 150.0 / 255.0), 1);
        assert_eq!(bt_to_gray(f32::NAN), 0);
        assert_eq!(bt_to_gray(400.0), 1);
    }
}
