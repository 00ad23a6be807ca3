//! JMA RSMC Tokyo best-track files and tropical-cyclone positions at any time.
//!
//! Format (JMA, "Format of RSMC Best Track Data"; 1-based columns):
//! ```text
//! header: AAAAA BBBB  CCC DDDD EEEE F G HHHHHHHHHHHHHHHHHHHH              IIIIIIII
//!         66666 1501  032 0001 1501 0 6             MEKKHALA              20150217
//!         1-5 '66666', 7-10 international id (yy + serial), 13-15 number of data
//!         lines, 31-50 name
//! data:   AAAAAAAA BBB C DDD EEEE FFFF     GGG     HIIII JJJJ KLLLL MMMM         P
//!         15011312 002 3 086 1417 1002     035     00000 0000 80210 0150
//!         1-8 time yymmddhh (UTC), 14 grade (2 TD, 3 TS, 4 STS, 5 TY, 6 L,
//!         7 entering the area, 9 TS or stronger), 16-18 lat (0.1 deg N),
//!         20-23 lon (0.1 deg E), 25-28 pressure (hPa), 34-36 max wind (kt, blank
//!         for weak systems)
//! ```
//! Positions between the 6-hourly records are interpolated with monotone cubic
//! Hermite splines (Fritsch–Carlson PCHIP), maximum wind linearly, and the grade is
//! the latest record's at or before the time — the same choices as the simulator
//! that made sim-nov2017, so captions of that archive see the storms where it drew
//! them. A storm is only reported between its first and last record.

use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One best-track record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    /// Analysis time.
    pub time: DateTime<Utc>,
    /// JMA grade (2 TD, 3 TS, 4 STS, 5 TY, 6 extratropical, 7 entering, 9 TS or more).
    pub grade: u8,
    /// Centre latitude, degrees north.
    pub lat: f64,
    /// Centre longitude, degrees east (may exceed 180).
    pub lon: f64,
    /// Central pressure, hPa.
    pub pressure_hpa: f64,
    /// Maximum sustained wind, kt (`None` when the record leaves it blank).
    pub vmax_kt: Option<f64>,
}

/// One storm of a best-track file.
#[derive(Debug, Clone, PartialEq)]
pub struct Storm {
    /// International number id, e.g. `1723`.
    pub id: String,
    /// Name, e.g. `DAMREY` (`UNNAMED` when blank).
    pub name: String,
    /// Records in time order, duplicates removed (the last one wins).
    pub track: Vec<TrackPoint>,
}

/// A storm's state interpolated at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StormFix {
    /// International number id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Centre latitude, degrees north.
    pub lat: f64,
    /// Centre longitude, degrees east.
    pub lon: f64,
    /// Maximum sustained wind, kt (blank records count as 25 kt, a weak TD).
    pub vmax_kt: f64,
    /// JMA grade of the latest record at or before the time.
    pub grade: u8,
}

/// Wind assumed for records with a blank wind field (tropical depressions).
pub const BLANK_WIND_KT: f64 = 25.0;

/// All storms of a best-track file.
#[derive(Debug, Clone, Default)]
pub struct BestTrack {
    storms: Vec<Storm>,
}

fn field(line: &str, from: usize, to: usize) -> &str {
    // 1-based inclusive columns; short lines give empty fields.
    line.get(from - 1..to.min(line.len())).unwrap_or("").trim()
}

impl BestTrack {
    /// Read a best-track file. A missing file or a malformed line is an error naming
    /// the file and line.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Parse best-track text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let bad = |line: usize, reason: String| Error::BestTrack { path: path.to_path_buf(), line, reason };
        let mut storms: Vec<Storm> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            if line.starts_with("66666") {
                let id = field(line, 7, 10).to_string();
                if id.is_empty() {
                    return Err(bad(n, "header without an international id".into()));
                }
                let name = field(line, 31, 50);
                let name = if name.is_empty() { "UNNAMED" } else { name };
                storms.push(Storm { id, name: name.to_string(), track: Vec::new() });
                continue;
            }
            let Some(storm) = storms.last_mut() else {
                return Err(bad(n, "data line before the first 66666 header".into()));
            };
            let num = |from, to, what: &str| -> Result<f64> {
                let f = field(line, from, to);
                f.parse::<f64>().map_err(|_| bad(n, format!("{what} '{f}' is not a number")))
            };
            let t = field(line, 1, 8);
            if t.len() != 8 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(n, format!("time '{t}' is not yymmddhh")));
            }
            let d = |a: usize| t[a..a + 2].parse::<u32>().unwrap_or(99);
            let yy = d(0) as i32;
            let year = if yy > 50 { 1900 + yy } else { 2000 + yy };
            let time = NaiveDate::from_ymd_opt(year, d(2), d(4))
                .and_then(|day| day.and_hms_opt(d(6), 0, 0))
                .map(|dt| Utc.from_utc_datetime(&dt))
                .ok_or_else(|| bad(n, format!("time '{t}' is not a valid date")))?;
            let grade = num(14, 14, "grade")? as u8;
            let lat = num(16, 18, "latitude")? / 10.0;
            let lon = num(20, 23, "longitude")? / 10.0;
            let pressure_hpa = num(25, 28, "pressure")?;
            let w = field(line, 34, 36);
            let vmax_kt = if w.is_empty() {
                None
            } else {
                let v = num(34, 36, "wind")?;
                (v > 0.0).then_some(v)
            };
            if !(-90.0..=90.0).contains(&lat) || !(0.0..=360.0).contains(&lon) {
                return Err(bad(n, format!("position {lat} N {lon} E out of range")));
            }
            storm.track.push(TrackPoint { time, grade, lat, lon, pressure_hpa, vmax_kt });
        }
        for s in &mut storms {
            s.track.sort_by_key(|p| p.time);
            // Keep the last of records with equal times.
            let mut dedup: Vec<TrackPoint> = Vec::with_capacity(s.track.len());
            for p in s.track.drain(..) {
                match dedup.last_mut() {
                    Some(last) if last.time == p.time => *last = p,
                    _ => dedup.push(p),
                }
            }
            s.track = dedup;
        }
        Ok(BestTrack { storms })
    }

    /// The storms, in file order.
    pub fn storms(&self) -> &[Storm] {
        &self.storms
    }

    /// First and last record time over all storms.
    pub fn span(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let first = self.storms.iter().filter_map(|s| s.track.first()).map(|p| p.time).min()?;
        let last = self.storms.iter().filter_map(|s| s.track.last()).map(|p| p.time).max()?;
        Some((first, last))
    }

    /// Every storm alive at `t` (between its first and last record), interpolated.
    pub fn at(&self, t: DateTime<Utc>) -> Vec<StormFix> {
        self.storms.iter().filter_map(|s| s.at(t)).collect()
    }
}

impl Storm {
    /// The storm's state at `t`, or `None` outside its track.
    pub fn at(&self, t: DateTime<Utc>) -> Option<StormFix> {
        let tr = &self.track;
        let (first, last) = (tr.first()?, tr.last()?);
        if t < first.time || t > last.time {
            return None;
        }
        let hours = |x: DateTime<Utc>| (x - first.time).num_seconds() as f64 / 3600.0;
        let xs: Vec<f64> = tr.iter().map(|p| hours(p.time)).collect();
        let x = hours(t);
        let lats: Vec<f64> = tr.iter().map(|p| p.lat).collect();
        let lons: Vec<f64> = tr.iter().map(|p| p.lon).collect();
        let winds: Vec<f64> = tr.iter().map(|p| p.vmax_kt.unwrap_or(BLANK_WIND_KT)).collect();
        let k = xs.iter().rposition(|&xi| xi <= x).unwrap_or(0);
        let vmax_kt = if k + 1 < xs.len() {
            let w = (x - xs[k]) / (xs[k + 1] - xs[k]);
            winds[k] + w * (winds[k + 1] - winds[k])
        } else {
            winds[k]
        };
        Some(StormFix {
            id: self.id.clone(),
            name: self.name.clone(),
            lat: pchip(&xs, &lats, x),
            lon: pchip(&xs, &lons, x),
            vmax_kt,
            grade: tr[k].grade,
        })
    }
}

/// Monotone piecewise-cubic Hermite interpolation (Fritsch & Carlson 1980, with the
/// harmonic-mean interior slopes and one-sided three-point end slopes used by SciPy's
/// `PchipInterpolator`). `xs` strictly increasing, `x` within range.
pub fn pchip(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n == 1 {
        return ys[0];
    }
    let h: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
    let delta: Vec<f64> = (0..n - 1).map(|i| (ys[i + 1] - ys[i]) / h[i]).collect();
    let slope = |i: usize| -> f64 {
        if n == 2 {
            return delta[0];
        }
        if i == 0 || i == n - 1 {
            // Three-point end formula, shape-preserving.
            let (h0, h1, d0, d1) = if i == 0 {
                (h[0], h[1], delta[0], delta[1])
            } else {
                (h[n - 2], h[n - 3], delta[n - 2], delta[n - 3])
            };
            let mut d = ((2.0 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
            if d.signum() != d0.signum() {
                d = 0.0;
            } else if d0.signum() != d1.signum() && d.abs() > 3.0 * d0.abs() {
                d = 3.0 * d0;
            }
            return d;
        }
        let (d0, d1) = (delta[i - 1], delta[i]);
        if d0 == 0.0 || d1 == 0.0 || d0.signum() != d1.signum() {
            return 0.0;
        }
        let w1 = 2.0 * h[i] + h[i - 1];
        let w2 = h[i] + 2.0 * h[i - 1];
        (w1 + w2) / (w1 / d0 + w2 / d1)
    };
    let k = xs.iter().rposition(|&xi| xi <= x).unwrap_or(0).min(n - 2);
    let t = (x - xs[k]) / h[k];
    let (m0, m1) = (slope(k), slope(k + 1));
    let (t2, t3) = (t * t, t * t * t);
    let h00 = 2.0 * t3 - 3.0 * t2 + 1.0;
    let h10 = t3 - 2.0 * t2 + t;
    let h01 = -2.0 * t3 + 3.0 * t2;
    let h11 = t3 - t2;
    h00 * ys[k] + h10 * h[k] * m0 + h01 * ys[k + 1] + h11 * h[k] * m1
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
66666 1501  032 0001 1501 0 6             MEKKHALA              20150217
15011300 002 2 087 1429 1006     000
15011306 002 2 085 1424 1004     000
15011312 002 3 086 1417 1002     035     00000 0000 80210 0150
15011318 002 3 092 1407 1002     035     00000 0000 80210 0150
15011400 002 3 101 1395 1002     035     00000 0000 80180 0150
";

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_header_and_records() {
        let bt = BestTrack::parse(SAMPLE, Path::new("sample")).unwrap();
        let s = &bt.storms()[0];
        assert_eq!((s.id.as_str(), s.name.as_str(), s.track.len()), ("1501", "MEKKHALA", 5));
        assert_eq!(s.track[0].vmax_kt, None); // "000"
        assert_eq!(s.track[2].vmax_kt, Some(35.0));
        assert_eq!((s.track[2].lat, s.track[2].lon, s.track[2].grade), (8.6, 141.7, 3));
    }

    #[test]
    fn interpolates_between_records() {
        let bt = BestTrack::parse(SAMPLE, Path::new("sample")).unwrap();
        let at_rec = bt.at(utc("2015-01-13T12:00:00Z"));
        assert_eq!(at_rec.len(), 1);
        assert!((at_rec[0].lat - 8.6).abs() < 1e-9 && (at_rec[0].lon - 141.7).abs() < 1e-9);
        let mid = &bt.at(utc("2015-01-13T15:00:00Z"))[0];
        assert!(mid.lat > 8.6 && mid.lat < 9.2, "{}", mid.lat);
        assert!(mid.lon < 141.7 && mid.lon > 140.7, "{}", mid.lon);
        assert_eq!(mid.grade, 3);
        assert!((mid.vmax_kt - 35.0).abs() < 1e-9);
        // 09 UTC: between a blank-wind TD (25 kt) and a 35 kt TS -> 30 kt, grade 2.
        let early = &bt.at(utc("2015-01-13T09:00:00Z"))[0];
        assert!((early.vmax_kt - 30.0).abs() < 1e-9);
        assert_eq!(early.grade, 2);
        assert!(bt.at(utc("2015-01-14T01:00:00Z")).is_empty());
        assert!(bt.at(utc("2015-01-12T23:00:00Z")).is_empty());
    }

    #[test]
    fn pchip_is_monotone_and_exact_at_knots() {
        let xs = [0.0, 6.0, 12.0, 18.0];
        let ys = [1.0, 2.0, 2.0, 5.0];
        for (x, y) in xs.iter().zip(ys) {
            assert!((pchip(&xs, &ys, *x) - y).abs() < 1e-12);
        }
        // flat segment stays flat (monotone: no overshoot)
        for k in 0..=12 {
            let v = pchip(&xs, &ys, 6.0 + k as f64 * 0.5);
            assert!((v - 2.0).abs() < 1e-12, "{v}");
        }
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let text = "66666 1501  032 0001 1501 0 6             X\n15011300 002 2 0x7 1429 1006     000\n";
        let err = BestTrack::parse(text, Path::new("bst.txt")).unwrap_err().to_string();
        assert!(err.starts_with("bst.txt:2:"), "{err}");
        assert!(err.contains("latitude"), "{err}");
        let err = BestTrack::parse("15011300 002 2 087 1429 1006\n", Path::new("b")).unwrap_err();
        assert!(err.to_string().contains("before the first 66666"));
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let err = BestTrack::open("/nonexistent/bst_all.txt").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/bst_all.txt"), "{err}");
    }
}
