//! Archive artefacts that pass a plausible-range check but are not weather: isolated hot
//! pixels and grey calibration step wedges. Both are masked (set to NaN) before a frame is
//! stored, and the frame's notes say how many pixels were masked and why.
//!
//! **Hot pixels.** Digital Typhoon's MTSAT-1R crops carry single pixels far warmer than
//! anything around them: `2007100618-200717` has 315.5 K where its neighbours' median is
//! 278 K, `2007101118-200718` 309.6 K beside 271 K (../shared/data/real/digital-typhoon,
//! PROVENANCE.md). A pixel is a spike when it is at least [`SPIKE_FLOOR_K`], at least
//! [`SPIKE_EXCESS_K`] warmer than the median of its valid 8-neighbours (fill excluded, so a
//! spike beside missing scan lines is caught too), and at most one neighbour is within
//! [`SPIKE_PEER_K`] of it (one, because these archives repeat scan lines, so a spike can
//! have a twin above or below it). Over the 88 real frames the rule masks 6 pixels, the 5
//! above 305 K that PROVENANCE.md lists and one 301.8 K pixel beside them; a cloud-free
//! pixel in a gap between cold clouds is below the floor or has warm neighbours.
//!
//! **Step wedges.** Frames of older geostationary satellites carry a grey calibration wedge
//! along one edge: a strip of lines, each made of a few long runs of one exact value that
//! step monotonically (a staircase of grey levels). A line along an edge is wedge when it
//! holds at least [`WEDGE_MIN_STEPS`] runs, every run at least [`WEDGE_MIN_RUN`] pixels
//! long, of exactly equal values, monotonic from one end to the other. Imagery never does
//! that over a whole line (its values vary from pixel to pixel, and a uniform sea makes one
//! run, not a staircase). Lines are taken from the edge inward while they qualify. No such
//! frame is among the real files at hand: the test paints a wedge onto a real frame and
//! checks that exactly the wedge is masked and that the 88 real frames lose nothing to it.

/// A spike is at least this warm (K).
pub const SPIKE_FLOOR_K: f32 = 300.0;
/// … and at least this much warmer than the median of its valid neighbours (K).
pub const SPIKE_EXCESS_K: f32 = 20.0;
/// … with at most one neighbour within this of it (K).
pub const SPIKE_PEER_K: f32 = 5.0;
/// A wedge line is a staircase of at least this many runs …
pub const WEDGE_MIN_STEPS: usize = 4;
/// … each at least this many pixels long.
pub const WEDGE_MIN_RUN: usize = 8;

/// What [`mask_artefacts`] masked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Masked {
    /// Isolated hot pixels set to NaN.
    pub spikes: usize,
    /// Wedge lines per edge (top, bottom, left, right) set to NaN.
    pub wedge_lines: [usize; 4],
}

impl Masked {
    /// Pixels masked in all.
    pub fn pixels(&self, width: usize, height: usize) -> usize {
        let [t, b, l, r] = self.wedge_lines;
        self.spikes + (t + b) * width + (l + r) * height
    }

    /// A line for the frame's notes, or None when nothing was masked.
    pub fn note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.spikes > 0 {
            parts.push(format!(
                "{} isolated hot pixel(s) (≥ {SPIKE_FLOOR_K} K and ≥ {SPIKE_EXCESS_K} K above their neighbours' median)",
                self.spikes
            ));
        }
        let edges = ["top", "bottom", "left", "right"];
        for (n, edge) in self.wedge_lines.iter().zip(edges) {
            if *n > 0 {
                parts.push(format!("a grey step wedge of {n} line(s) along the {edge} edge"));
            }
        }
        (!parts.is_empty()).then(|| format!("artefacts masked (NaN): {}", parts.join("; ")))
    }
}

/// Masks wedges, then spikes, in a row-major `width × height` frame of kelvin (NaN = fill).
pub fn mask_artefacts(bt: &mut [f32], width: usize, height: usize) -> Masked {
    assert_eq!(bt.len(), width * height, "frame size");
    let mut masked = Masked { wedge_lines: mask_wedges(bt, width, height), ..Masked::default() };
    masked.spikes = mask_spikes(bt, width, height);
    masked
}

fn mask_spikes(bt: &mut [f32], width: usize, height: usize) -> usize {
    let spikes: Vec<usize> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .filter(|&(x, y)| is_spike(bt, width, height, x, y))
        .map(|(x, y)| y * width + x)
        .collect();
    for &i in &spikes {
        bt[i] = f32::NAN;
    }
    spikes.len()
}

fn is_spike(bt: &[f32], width: usize, height: usize, x: usize, y: usize) -> bool {
    let v = bt[y * width + x];
    if !(v >= SPIKE_FLOOR_K) {
        return false;
    }
    let mut around = [0f32; 8];
    let mut n = 0;
    for dy in -1i64..=1 {
        for dx in -1i64..=1 {
            let (nx, ny) = (x as i64 + dx, y as i64 + dy);
            if (dx, dy) == (0, 0) || nx < 0 || ny < 0 || nx >= width as i64 || ny >= height as i64 {
                continue;
            }
            let w = bt[ny as usize * width + nx as usize];
            if w.is_finite() {
                around[n] = w;
                n += 1;
            }
        }
    }
    if n < 3 {
        return false;
    }
    let around = &mut around[..n];
    let peers = around.iter().filter(|&&w| w >= v - SPIKE_PEER_K).count();
    around.sort_by(f32::total_cmp);
    let median = if n % 2 == 1 { around[n / 2] } else { 0.5 * (around[n / 2 - 1] + around[n / 2]) };
    peers <= 1 && v - median >= SPIKE_EXCESS_K
}

/// Lines masked per edge (top, bottom, left, right).
fn mask_wedges(bt: &mut [f32], width: usize, height: usize) -> [usize; 4] {
    let row = |y: usize| -> Vec<usize> { (0..width).map(|x| y * width + x).collect() };
    let col = |x: usize| -> Vec<usize> { (0..height).map(|y| y * width + x).collect() };
    let edges: [Vec<Vec<usize>>; 4] = [
        (0..height / 4).map(row).collect(),
        (0..height / 4).map(|k| row(height - 1 - k)).collect(),
        (0..width / 4).map(col).collect(),
        (0..width / 4).map(|k| col(width - 1 - k)).collect(),
    ];
    let mut out = [0; 4];
    for (e, lines) in edges.iter().enumerate() {
        let n = lines.iter().take_while(|line| is_wedge_line(bt, line)).count();
        for line in &lines[..n] {
            for &i in line {
                bt[i] = f32::NAN;
            }
        }
        out[e] = n;
    }
    out
}

/// A staircase of long runs of exactly one value each, monotonic along the line.
fn is_wedge_line(bt: &[f32], line: &[usize]) -> bool {
    let mut runs: Vec<(f32, usize)> = Vec::new();
    for &i in line {
        let v = bt[i];
        if !v.is_finite() {
            return false;
        }
        match runs.last_mut() {
            Some((w, len)) if *w == v => *len += 1,
            _ => runs.push((v, 1)),
        }
    }
    let rising = runs.windows(2).all(|p| p[1].0 > p[0].0);
    let falling = runs.windows(2).all(|p| p[1].0 < p[0].0);
    runs.len() >= WEDGE_MIN_STEPS && runs.iter().all(|&(_, len)| len >= WEDGE_MIN_RUN) && (rising || falling)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth field with a little texture, no artefact.
    fn scene(width: usize, height: usize) -> Vec<f32> {
        (0..width * height).map(|i| 260.0 + ((i % width) as f32 * 0.37).sin() * 8.0 + ((i / width) as f32 * 0.23).cos() * 5.0).collect()
    }

    #[test]
    fn a_spike_and_its_twin_are_masked_and_a_warm_patch_is_not() {
        let (w, h) = (32, 24);
        let mut bt = scene(w, h);
        bt[5 * w + 7] = 315.0;
        bt[6 * w + 7] = 315.0; // a repeated scan line gives the spike a twin
        for y in 14..18 {
            for x in 20..24 {
                bt[y * w + x] = 304.0; // a warm patch: real, its pixels have peers
            }
        }
        bt[10 * w + 3] = 303.0; // beside fill: the median is taken over valid neighbours only
        bt[10 * w + 2] = f32::NAN;
        bt[9 * w + 2] = f32::NAN;
        let m = mask_artefacts(&mut bt, w, h);
        assert_eq!(m.spikes, 3);
        assert!(bt[5 * w + 7].is_nan() && bt[6 * w + 7].is_nan() && bt[10 * w + 3].is_nan());
        assert!((14..18).all(|y| (20..24).all(|x| bt[y * w + x] == 304.0)));
        assert!(m.note().unwrap().contains("3 isolated hot pixel"));
    }

    #[test]
    fn a_cold_outlier_or_a_cool_spike_is_weather_not_an_artefact() {
        let (w, h) = (16, 16);
        let mut bt = scene(w, h);
        bt[3 * w + 3] = 190.0; // an overshooting top
        bt[8 * w + 8] = 295.0; // a warm pixel in a gap between clouds, below the floor
        let before = bt.clone();
        assert_eq!(mask_artefacts(&mut bt, w, h), Masked::default());
        assert_eq!(bt, before);
    }

    #[test]
    fn a_step_wedge_along_an_edge_is_masked_line_by_line() {
        let (w, h) = (40, 64);
        let mut bt = scene(w, h);
        for x in w - 3..w {
            for y in 0..h {
                bt[y * w + x] = 180.0 + 20.0 * (y / 16) as f32; // 4 steps of 16 px
            }
        }
        let m = mask_artefacts(&mut bt, w, h);
        assert_eq!(m.wedge_lines, [0, 0, 0, 3]);
        assert_eq!(m.pixels(w, h), 3 * h);
        assert!((0..h).all(|y| bt[y * w + w - 4].is_finite() && bt[y * w + w - 1].is_nan()));
        assert!(m.note().unwrap().contains("3 line(s) along the right edge"));
    }

    #[test]
    fn uniform_or_short_stepped_lines_are_not_wedges() {
        let (w, h) = (40, 40);
        let mut bt = scene(w, h);
        for x in 0..w {
            bt[x] = 290.0; // a uniform top row: one run, not a staircase
            bt[w + x] = 200.0 + 10.0 * (x / 4) as f32; // steps of 4 px: too short
        }
        for y in 0..h {
            bt[y * w] = if y < 20 { 250.0 + (y / 5) as f32 } else { 240.0 }; // not monotonic
        }
        assert_eq!(mask_artefacts(&mut bt, w, h).wedge_lines, [0, 0, 0, 0]);
    }
}
