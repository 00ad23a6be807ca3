//! Rendering frames: thumbnails (same look for every source) and overlay images with
//! coastlines and region outlines (`skycase show`).
//!
//! Grey scale for every source: cold = bright, `grey = 255·(310 K − BT)/(310 K − 190 K)`
//! clipped to 0..255; NaN (no data, space, masked overlay) is black.

use image::{GrayImage, Luma, Rgb, RgbImage};

use crate::coast::Coastlines;
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::regions::Regions;

/// Warm end of the display scale (K → black).
pub const DISPLAY_WARM_K: f32 = 310.0;
/// Cold end of the display scale (K → white).
pub const DISPLAY_COLD_K: f32 = 190.0;
/// Longest side of a thumbnail (before any shrinking for size).
pub const THUMB_SIDE: usize = 256;
/// Largest thumbnail file.
pub const THUMB_MAX_BYTES: usize = 20_000;
/// Width of the medium image a case view shows large (`skycase export`, `skycase pack`):
/// twice a thumbnail, so the large view and its loop are not a thumbnail scaled up.
pub const MEDIUM_WIDTH: usize = 512;

fn grey(bt: f32) -> u8 {
    if !bt.is_finite() {
        return 0;
    }
    let g = 255.0 * (DISPLAY_WARM_K - bt) / (DISPLAY_WARM_K - DISPLAY_COLD_K);
    g.clamp(1.0, 255.0) as u8
}

/// Box-downsample BT by an integer factor (NaN-aware mean) and map to grey.
fn downsample(frame: &Frame, out_w: usize, out_h: usize) -> GrayImage {
    let (w, h) = (frame.meta.width, frame.meta.height);
    let mut img = GrayImage::new(out_w as u32, out_h as u32);
    for oy in 0..out_h {
        let y0 = oy * h / out_h;
        let y1 = ((oy + 1) * h / out_h).max(y0 + 1);
        for ox in 0..out_w {
            let x0 = ox * w / out_w;
            let x1 = ((ox + 1) * w / out_w).max(x0 + 1);
            let (mut s, mut n) = (0.0f64, 0usize);
            for y in y0..y1 {
                for &v in &frame.bt[y * w + x0..y * w + x1] {
                    if v.is_finite() {
                        s += f64::from(v);
                        n += 1;
                    }
                }
            }
            // A block counts as data when at least half of it is data.
            let v = if n * 2 >= (y1 - y0) * (x1 - x0) { (s / n as f64) as f32 } else { f32::NAN };
            img.put_pixel(ox as u32, oy as u32, Luma([grey(v)]));
        }
    }
    img
}

fn encode_png<P: image::PixelWithColorType, C: std::ops::Deref<Target = [P::Subpixel]>>(
    img: &image::ImageBuffer<P, C>,
) -> Vec<u8>
where
    [P::Subpixel]: image::EncodableLayout,
{
    let mut buf = Vec::new();
    let enc = image::codecs::png::PngEncoder::new_with_quality(
        &mut buf,
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::Adaptive,
    );
    // Encoding into a Vec cannot fail for a well-formed buffer.
    let _ = img.write_with_encoder(enc);
    buf
}

/// Thumbnail PNG: the frame scaled to fit 256 px (shrunk further until ≤ 20 kB).
pub fn thumbnail_png(frame: &Frame) -> Vec<u8> {
    let (w, h) = (frame.meta.width.max(1), frame.meta.height.max(1));
    let mut side = THUMB_SIDE;
    loop {
        let scale = (side as f64 / w.max(h) as f64).min(1.0);
        let (tw, th) = (((w as f64 * scale).round() as usize).max(1), ((h as f64 * scale).round() as usize).max(1));
        let png = encode_png(&downsample(frame, tw, th));
        if png.len() <= THUMB_MAX_BYTES || side <= 32 {
            return png;
        }
        side = side * 4 / 5;
    }
}

/// Medium image PNG: the frame `width` px wide (never wider than the frame), the thumbnail's
/// grey scale, no size cap (512×294 for a simulated frame; the test fixtures' three frames,
/// simulated, KMA and COMS LRIT, are 233 kB together at 512 px).
pub fn medium_png(frame: &Frame, width: usize) -> Vec<u8> {
    let (w, h) = (frame.meta.width.max(1), frame.meta.height.max(1));
    let mw = width.clamp(1, w);
    let mh = ((h as f64 * mw as f64 / w as f64).round() as usize).max(1);
    encode_png(&downsample(frame, mw, mh))
}

/// Overlay colours.
const COAST: Rgb<u8> = Rgb([255, 220, 0]);
const REGION_COLOURS: [Rgb<u8>; 4] = [Rgb([255, 64, 64]), Rgb([64, 200, 255]), Rgb([80, 255, 80]), Rgb([255, 90, 255])];

/// Render a frame with coastlines (yellow) and the 13 region outlines (coloured), scaled so
/// the longer side is at most `max_side` pixels. Storm-centred frames get a centre cross.
pub fn overlay_png(frame: &Frame, max_side: usize) -> Result<Vec<u8>> {
    let (w, h) = (frame.meta.width, frame.meta.height);
    if w == 0 || h == 0 {
        return Err(Error::store(std::path::Path::new(&frame.meta.id), "empty frame"));
    }
    let scale = (max_side as f64 / w.max(h) as f64).min(1.0);
    let (ow, oh) = (((w as f64 * scale).round() as usize).max(1), ((h as f64 * scale).round() as usize).max(1));
    let g = downsample(frame, ow, oh);
    let mut img = RgbImage::from_fn(ow as u32, oh as u32, |x, y| {
        let v = g.get_pixel(x, y).0[0];
        Rgb([v, v, v])
    });
    let nav = &frame.meta.nav;
    // Pixel-centre mapping between the frame grid and the scaled image.
    let sx = ow as f64 / w as f64;
    let sy = oh as f64 / h as f64;
    let to_img = |lon: f64, lat: f64| -> Option<(f64, f64)> {
        let (x, y) = nav.lonlat_to_pixel(lon, lat)?;
        Some(((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5))
    };
    let draw_line = |line: &[(f64, f64)], colour: Rgb<u8>, img: &mut RgbImage| {
        let pts: Vec<Option<(f64, f64)>> = line.iter().map(|&(lon, lat)| to_img(lon, lat)).collect();
        for s in pts.windows(2) {
            if let (Some(a), Some(b)) = (s[0], s[1]) {
                if (a.0 - b.0).hypot(a.1 - b.1) < ow.max(oh) as f64 / 4.0 {
                    segment(img, a, b, colour);
                }
            }
        }
    };
    if nav.is_mapped() {
        let coast = Coastlines::bundled();
        for line in coast.coast.iter().chain(&coast.countries) {
            draw_line(line, COAST, &mut img);
        }
        for (k, region) in Regions::bundled().iter().enumerate() {
            for ring in region.rings() {
                draw_line(ring, REGION_COLOURS[k % REGION_COLOURS.len()], &mut img);
            }
        }
    } else {
        let (cx, cy) = ((ow as f64 - 1.0) / 2.0, (oh as f64 - 1.0) / 2.0);
        segment(&mut img, (cx - 8.0, cy), (cx + 8.0, cy), REGION_COLOURS[0]);
        segment(&mut img, (cx, cy - 8.0), (cx, cy + 8.0), REGION_COLOURS[0]);
    }
    Ok(encode_png(&img))
}

fn segment(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), c: Rgb<u8>) {
    let n = (a.0 - b.0).abs().max((a.1 - b.1).abs()).ceil().max(1.0) as usize;
    for k in 0..=n {
        let t = k as f64 / n as f64;
        let (x, y) = ((a.0 + t * (b.0 - a.0)).round(), (a.1 + t * (b.1 - a.1)).round());
        if x >= 0.0 && y >= 0.0 && (x as u32) < img.width() && (y as u32) < img.height() {
            img.put_pixel(x as u32, y as u32, c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Calibration, FrameMeta, MaskStatus, Source};
    use crate::nav::{GeosNav, Navigation};

    #[test]
    fn thumbnails_stay_under_20_kb_even_for_noise() {
        let (w, h) = (819, 471);
        // Worst case for PNG: pseudo-random values.
        let mut s = 12345u32;
        let bt: Vec<f32> = (0..w * h)
            .map(|_| {
                s = s.wrapping_mul(1103515245).wrapping_add(12345);
                190.0 + (s >> 16) as f32 % 120.0
            })
            .collect();
        let nav = Navigation::Geos(GeosNav::sim_nov2017());
        let f = Frame {
            meta: FrameMeta {
                id: "noise".into(),
                time: "2017-11-01T00:00:00Z".parse().unwrap(),
                source: Source::SimPng,
                channel: String::new(),
                width: w,
                height: h,
                masks: MaskStatus::Available { grid_id: String::new() },
                nav,
                calibration: Calibration::Calibrated { method: String::new() },
                complete: true,
                storm: None,
                inputs: vec![],
                checksum: String::new(),
                notes: vec![],
            },
            bt,
        };
        let t = thumbnail_png(&f);
        assert!(t.len() <= THUMB_MAX_BYTES, "{}", t.len());
        assert!(overlay_png(&f, 400).unwrap().len() > 1000);
    }
}
