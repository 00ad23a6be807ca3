//! The PNG figures of docs/evaluation.md, drawn with `plotters` on an RGB buffer.
//!
//! - [`figure_two`]: the top frames of one query side by side, each thumbnail with the
//!   matched region outlined, its rank, time, score and matched region written on it and the
//!   truth under it (the study's Figure II).
//! - [`figure_three`]: 2-D maps of query embeddings (colour = phenomenon, marker = region,
//!   template queries large with an outline, paraphrases small) over a pale background of
//!   image-region embeddings (the study's Figure III).
//!
//! Text uses the public-domain 8 × 8 glyphs of `font8x8` (ASCII; other characters are
//! replaced), so no font file or system font is needed. Output goes through
//! [`write_png`] (atomic). Contracts: panel sizes and pixel buffers must agree (else
//! [`Error::Usage`]); coordinates outside the canvas are clipped.

use std::path::Path;

use plotters::prelude::*;
use skycase_vocab::{PHENOMENA, REGIONS};

use crate::error::{write_atomic, Error, Result};

/// Colour of each phenomenon (Snow, Clear, Cloudy, Rain, Typhoon), colour-blind safe (Okabe–Ito).
pub const PHENOMENON_COLOURS: [RGBColor; 5] =
    [RGBColor(0, 114, 178), RGBColor(230, 159, 0), RGBColor(120, 120, 120), RGBColor(0, 158, 115), RGBColor(213, 94, 0)];

/// The same, pale, for background points.
fn pale(c: RGBColor) -> RGBColor {
    RGBColor(((c.0 as u16 + 3 * 235) / 4) as u8, ((c.1 as u16 + 3 * 235) / 4) as u8, ((c.2 as u16 + 3 * 235) / 4) as u8)
}

/// A drawing error as text.
fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Usage(format!("drawing a figure: {e}"))
}

/// An RGB image being drawn.
#[derive(Debug, Clone)]
pub struct Canvas {
    /// Width, px.
    pub width: u32,
    /// Height, px.
    pub height: u32,
    /// `height × width × 3` bytes.
    pub rgb: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `bg`.
    pub fn new(width: u32, height: u32, bg: RGBColor) -> Self {
        let rgb = (0..width as usize * height as usize).flat_map(|_| [bg.0, bg.1, bg.2]).collect();
        Self { width, height, rgb }
    }

    /// Draws with plotters on the whole canvas.
    pub fn draw<F>(&mut self, f: F) -> Result<()>
    where
        F: FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> std::result::Result<(), String>,
    {
        let (w, h) = (self.width, self.height);
        let area = BitMapBackend::with_buffer(&mut self.rgb, (w, h)).into_drawing_area();
        f(&area).map_err(err)?;
        area.present().map_err(err)
    }

    fn put(&mut self, x: i64, y: i64, c: RGBColor) {
        if x >= 0 && y >= 0 && (x as u32) < self.width && (y as u32) < self.height {
            let at = (y as usize * self.width as usize + x as usize) * 3;
            self.rgb[at..at + 3].copy_from_slice(&[c.0, c.1, c.2]);
        }
    }

    /// Writes `text` with its top-left corner at (`x`, `y`), glyphs `8 × scale` px.
    pub fn text(&mut self, x: i64, y: i64, text: &str, c: RGBColor, scale: i64) {
        let mut cx = x;
        for ch in text.chars() {
            let ch = match ch {
                '×' => 'x',
                '–' | '—' | '−' => '-',
                '≥' => '>',
                '·' => '.',
                c if c.is_ascii() => c,
                _ => '?',
            };
            let glyph = font8x8::legacy::BASIC_LEGACY[ch as usize];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                self.put(cx + col * scale + dx, y + row as i64 * scale + dy, c);
                            }
                        }
                    }
                }
            }
            cx += 8 * scale;
        }
    }

    /// Copies an 8-bit grey image of `(w, h)` scaled (nearest) to `(out_w, out_h)` with its
    /// top-left corner at `(x, y)`.
    pub fn blit_gray(&mut self, (x, y): (i64, i64), gray: &[u8], (w, h): (usize, usize), (out_w, out_h): (usize, usize)) -> Result<()> {
        if gray.len() != w * h || w == 0 || h == 0 {
            return Err(Error::Usage(format!("a {w}×{h} image needs {} pixels, got {}", w * h, gray.len())));
        }
        for oy in 0..out_h {
            for ox in 0..out_w {
                let g = gray[(oy * h / out_h) * w + ox * w / out_w];
                self.put(x + ox as i64, y + oy as i64, RGBColor(g, g, g));
            }
        }
        Ok(())
    }

    /// The canvas as PNG bytes.
    pub fn png(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out).write_image(&self.rgb, self.width, self.height, image::ExtendedColorType::Rgb8).map_err(err)?;
        Ok(out)
    }
}

use image::ImageEncoder as _;

/// Writes the canvas to `path` as PNG (atomically).
pub fn write_png(canvas: &Canvas, path: &Path) -> Result<()> {
    write_atomic(path, &canvas.png()?)
}

/// Nearest-neighbour resampling of a `w × h` mask to `out_w × out_h`, then its edge: mask
/// pixels with a 4-neighbour outside the mask (or on the border).
pub fn mask_edge(mask: &[bool], w: usize, h: usize, out_w: usize, out_h: usize) -> Vec<bool> {
    let m: Vec<bool> = (0..out_w * out_h).map(|i| mask.get((i / out_w * h / out_h) * w + (i % out_w) * w / out_w).copied().unwrap_or(false)).collect();
    (0..out_w * out_h)
        .map(|i| {
            let (x, y) = (i % out_w, i / out_w);
            m[i] && (x == 0 || y == 0 || x + 1 == out_w || y + 1 == out_h || !m[i - 1] || !m[i + 1] || !m[i - out_w] || !m[i + out_w])
        })
        .collect()
}

/// One frame of Figure II.
pub struct Panel {
    /// The frame (or its thumbnail), 8-bit grey, cold = bright.
    pub gray: Vec<u8>,
    /// Its width.
    pub width: usize,
    /// Its height.
    pub height: usize,
    /// The matched region's mask at the same size (`None`: nothing outlined).
    pub matched_mask: Option<Vec<bool>>,
    /// Lines written on the thumbnail (top left, white on a black box).
    pub overlay: Vec<String>,
    /// Lines under the thumbnail.
    pub lines: Vec<String>,
    /// Whether the frame is relevant (the last line is drawn green, else red).
    pub relevant: Option<bool>,
}

/// Figure II for one query: `title`, then the panels left to right, each `thumb_w` px wide.
pub fn figure_two(title: &str, panels: &[Panel], thumb_w: usize) -> Result<Canvas> {
    let thumb_h = panels.iter().map(|p| p.height * thumb_w / p.width.max(1)).max().unwrap_or(thumb_w / 2);
    let lines = panels.iter().map(|p| p.lines.len()).max().unwrap_or(0);
    let (pad, line_h) = (12usize, 12usize);
    let width = pad + panels.len().max(1) * (thumb_w + pad);
    let height = 36 + thumb_h + 8 + lines * line_h + pad;
    let mut c = Canvas::new(width as u32, height as u32, WHITE);
    c.text(pad as i64, 10, title, BLACK, 2);
    for (i, p) in panels.iter().enumerate() {
        let x0 = (pad + i * (thumb_w + pad)) as i64;
        let y0 = 36i64;
        let h = p.height * thumb_w / p.width.max(1);
        c.blit_gray((x0, y0), &p.gray, (p.width, p.height), (thumb_w, h))?;
        if let Some(mask) = &p.matched_mask {
            if mask.len() != p.width * p.height {
                return Err(Error::Usage(format!("mask of {} pixels for a {}×{} frame", mask.len(), p.width, p.height)));
            }
            let edge = mask_edge(mask, p.width, p.height, thumb_w, h);
            let yellow = RGBColor(255, 215, 0);
            for (k, _) in edge.iter().enumerate().filter(|(_, e)| **e) {
                let (x, y) = ((k % thumb_w) as i64, (k / thumb_w) as i64);
                c.put(x0 + x, y0 + y, yellow);
                c.put(x0 + x + 1, y0 + y, yellow);
            }
        }
        if !p.overlay.is_empty() {
            let w = p.overlay.iter().map(|l| l.chars().count()).max().unwrap_or(0) as i32 * 8 + 8;
            let h = p.overlay.len() as i32 * line_h as i32 + 6;
            c.draw(|area| area.draw(&Rectangle::new([(x0 as i32 + 3, y0 as i32 + 3), (x0 as i32 + 3 + w, y0 as i32 + 3 + h)], BLACK.filled())).map_err(s))?;
            for (l, line) in p.overlay.iter().enumerate() {
                c.text(x0 + 7, y0 + 7 + (l * line_h) as i64, line, WHITE, 1);
            }
        }
        for (l, line) in p.lines.iter().enumerate() {
            let colour = match (l + 1 == p.lines.len(), p.relevant) {
                (true, Some(true)) => RGBColor(0, 130, 60),
                (true, Some(false)) => RGBColor(200, 30, 30),
                _ => BLACK,
            };
            c.text(x0, y0 + h as i64 + 8 + (l * line_h) as i64, line, colour, 1);
        }
    }
    Ok(c)
}

/// A query point of Figure III.
#[derive(Debug, Clone)]
pub struct QueryPoint {
    /// 2-D position.
    pub at: [f32; 2],
    /// Region index (marker).
    pub region: usize,
    /// Phenomenon index (colour).
    pub phenomenon: usize,
    /// A study template (large, outlined) rather than a paraphrase.
    pub template: bool,
}

/// A background point of Figure III (an image-region vector).
#[derive(Debug, Clone)]
pub struct BackPoint {
    /// 2-D position.
    pub at: [f32; 2],
    /// The truth phenomenon of that region in that frame (pale colour).
    pub phenomenon: usize,
}

/// One map of Figure III.
pub struct Map {
    /// Title over the map.
    pub title: String,
    /// Queries.
    pub queries: Vec<QueryPoint>,
    /// Image regions (may be empty).
    pub background: Vec<BackPoint>,
}

/// Draws region marker `region` (13 kinds: 7 shapes, filled for 0–6, hollow for 7–12).
fn marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    region: usize,
    x: i32,
    y: i32,
    s: i32,
    colour: RGBColor,
    outline: bool,
) -> std::result::Result<(), String> {
    let filled = region < 7;
    let kind = region % 7;
    let style = if filled { colour.filled() } else { colour.stroke_width(2) };
    let pts: Vec<(i32, i32)> = match kind {
        0 => Vec::new(),
        1 => vec![(x - s, y - s), (x + s, y - s), (x + s, y + s), (x - s, y + s)],
        2 => vec![(x, y - s - 1), (x + s + 1, y + s), (x - s - 1, y + s)],
        3 => vec![(x - s - 1, y - s), (x + s + 1, y - s), (x, y + s + 1)],
        4 => vec![(x, y - s - 1), (x + s + 1, y), (x, y + s + 1), (x - s - 1, y)],
        _ => Vec::new(),
    };
    let e = |e: plotters::drawing::DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    match kind {
        0 => area.draw(&Circle::new((x, y), s, style)).map_err(e)?,
        5 | 6 => {
            let (a, b) = if kind == 5 { ((x - s - 1, y), (x + s + 1, y)) } else { ((x - s, y - s), (x + s, y + s)) };
            let (c2, d) = if kind == 5 { ((x, y - s - 1), (x, y + s + 1)) } else { ((x - s, y + s), (x + s, y - s)) };
            let w = if filled { 3 } else { 1 };
            area.draw(&PathElement::new(vec![a, b], colour.stroke_width(w))).map_err(e)?;
            area.draw(&PathElement::new(vec![c2, d], colour.stroke_width(w))).map_err(e)?;
        }
        _ if filled => area.draw(&Polygon::new(pts.clone(), style)).map_err(e)?,
        _ => {
            let mut closed = pts.clone();
            closed.push(pts[0]);
            area.draw(&PathElement::new(closed, style)).map_err(e)?;
        }
    }
    if outline && kind <= 4 {
        if kind == 0 {
            area.draw(&Circle::new((x, y), s + 1, BLACK.stroke_width(1))).map_err(e)?;
        } else {
            let mut closed = pts.clone();
            closed.push(pts[0]);
            area.draw(&PathElement::new(closed, BLACK.stroke_width(1))).map_err(e)?;
        }
    }
    Ok(())
}

/// Figure III: the maps side by side (`size` px square each) with a shared legend on the right.
pub fn figure_three(title: &str, maps: &[Map], size: u32, note: &str) -> Result<Canvas> {
    let (pad, legend_w, top) = (16u32, 260u32, 40u32);
    let width = pad + maps.len() as u32 * (size + pad) + legend_w;
    let height = top + 20 + size + 30;
    let mut c = Canvas::new(width, height, WHITE);
    let mut labels: Vec<(i64, i64, String)> = Vec::new();
    for (m, map) in maps.iter().enumerate() {
        let x0 = (pad + m as u32 * (size + pad)) as i32;
        let y0 = (top + 20) as i32;
        labels.push((x0 as i64, (top + 4) as i64, map.title.clone()));
        let all: Vec<[f32; 2]> = map.queries.iter().map(|q| q.at).chain(map.background.iter().map(|b| b.at)).collect();
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for p in &all {
            for d in 0..2 {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        let inner = size as f32 - 24.0;
        let span = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1e-6);
        let to_px = |p: [f32; 2]| -> (i32, i32) {
            let cx = (p[0] - (lo[0] + hi[0]) / 2.0) / span * inner;
            let cy = (p[1] - (lo[1] + hi[1]) / 2.0) / span * inner;
            (x0 + size as i32 / 2 + cx as i32, y0 + size as i32 / 2 - cy as i32)
        };
        c.draw(|area| {
            area.draw(&Rectangle::new([(x0, y0), (x0 + size as i32, y0 + size as i32)], BLACK.stroke_width(1))).map_err(s)?;
            for b in &map.background {
                let (x, y) = to_px(b.at);
                area.draw(&Circle::new((x, y), 2, pale(PHENOMENON_COLOURS[b.phenomenon % 5]).filled())).map_err(s)?;
            }
            // Paraphrases first, templates on top.
            for q in map.queries.iter().filter(|q| !q.template).chain(map.queries.iter().filter(|q| q.template)) {
                let (x, y) = to_px(q.at);
                let s = if q.template { 6 } else { 3 };
                marker(area, q.region, x, y, s, PHENOMENON_COLOURS[q.phenomenon % 5], q.template)?;
            }
            Ok(())
        })?;
    }
    // Legend.
    let lx = (pad + maps.len() as u32 * (size + pad)) as i32;
    let mut ly = (top + 24) as i32;
    c.draw(|area| {
        for (p, _) in PHENOMENA.iter().enumerate() {
            area.draw(&Rectangle::new([(lx, ly + p as i32 * 14), (lx + 10, ly + p as i32 * 14 + 10)], PHENOMENON_COLOURS[p].filled())).map_err(s)?;
        }
        let y = ly + 5 * 14 + 24;
        for r in 0..REGIONS.len() {
            marker(area, r, lx + 6, y + r as i32 * 16 + 5, 5, BLACK, false)?;
        }
        Ok(())
    })?;
    c.text(pad as i64, 10, title, BLACK, 2);
    for (x, y, t) in labels {
        c.text(x, y, &t, BLACK, 1);
    }
    for (p, name) in PHENOMENA.iter().enumerate() {
        c.text(lx as i64 + 16, ly as i64 + p as i64 * 14 + 1, name, BLACK, 1);
    }
    ly += 5 * 14 + 24;
    c.text(lx as i64, ly as i64 - 16, "marker = region:", BLACK, 1);
    for (r, name) in REGIONS.iter().enumerate() {
        c.text(lx as i64 + 16, ly as i64 + r as i64 * 16 + 1, name, BLACK, 1);
    }
    c.text(pad as i64, (height - 20) as i64, note, RGBColor(60, 60, 60), 1);
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(c: &Canvas, x: usize, y: usize) -> [u8; 3] {
        let at = (y * c.width as usize + x) * 3;
        [c.rgb[at], c.rgb[at + 1], c.rgb[at + 2]]
    }

    #[test]
    fn text_sets_glyph_pixels_only() {
        let mut c = Canvas::new(40, 10, WHITE);
        c.text(0, 0, "I", BLACK, 1);
        let black = c.rgb.chunks(3).filter(|p| p == &[0, 0, 0]).count();
        // font8x8's 'I' has 3 + 2 × 5 + 3 = 16 set pixels in rows 0–6.
        let want: u32 = font8x8::legacy::BASIC_LEGACY[b'I' as usize].iter().map(|b| b.count_ones()).sum();
        assert_eq!(black as u32, want);
        assert!(want > 0);
    }

    #[test]
    fn mask_edges_are_the_rim_of_the_mask() {
        // A 4 × 4 block inside an 8 × 8 mask: 12 edge pixels, 4 inner.
        let mask: Vec<bool> = (0..64).map(|i| (2..6).contains(&(i % 8)) && (2..6).contains(&(i / 8))).collect();
        let edge = mask_edge(&mask, 8, 8, 8, 8);
        assert_eq!(edge.iter().filter(|e| **e).count(), 12);
        assert!(!edge[3 * 8 + 3] && edge[2 * 8 + 2]);
    }

    #[test]
    fn figure_two_outlines_the_matched_region_and_writes_a_png() {
        let gray = vec![40u8; 20 * 10];
        let mask: Vec<bool> = (0..200).map(|i| (5..15).contains(&(i % 20))).collect();
        let p = Panel { gray, width: 20, height: 10, matched_mask: Some(mask), overlay: vec![], lines: vec!["#1".into(), "yes".into()], relevant: Some(true) };
        let c = figure_two("q", &[p], 40).unwrap();
        // The mask's left edge, at 2× scale: column 10 of the thumbnail, which starts at x = 12, y = 36.
        assert_eq!(pixel(&c, 12 + 10, 36 + 5), [255, 215, 0]);
        assert_eq!(pixel(&c, 12 + 2, 36 + 5), [40, 40, 40]);
        let png = c.png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let bad = Panel { gray: vec![0; 3], width: 20, height: 10, matched_mask: None, overlay: vec!["x".into()], lines: vec![], relevant: None };
        assert!(figure_two("q", &[bad], 40).is_err());
    }

    #[test]
    fn figure_three_draws_every_marker_kind() {
        let queries = (0..13).map(|r| QueryPoint { at: [r as f32, (r % 3) as f32], region: r, phenomenon: r % 5, template: r % 2 == 0 }).collect();
        let background = vec![BackPoint { at: [0.5, 0.5], phenomenon: 4 }];
        let c = figure_three("t", &[Map { title: "a".into(), queries, background }], 200, "note").unwrap();
        // Some pixels carry each phenomenon colour.
        for col in PHENOMENON_COLOURS {
            assert!(c.rgb.chunks(3).any(|p| p == [col.0, col.1, col.2]), "{col:?}");
        }
    }
}
