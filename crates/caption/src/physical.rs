//! The physical captioner: brightness-temperature statistics inside each region mask,
//! plus tropical cyclones from a JMA best track.
//!
//! Per region, from the valid (finite) pixels of its mask:
//! - **clear-sky reference** `T_ref` per pixel: a warm-pixel composite (the maximum BT at
//!   the same UTC hour over ± a few days, built by [`crate::composite`]) when one is
//!   given, else the region's [`RegionRule::fallback_percentile`] BT;
//! - **cloud fraction**: share of pixels with `BT < T_ref − cloud_delta_k`;
//! - **cold-top fraction**: share of cloudy pixels with `BT < cold_k` (deep, precipitating
//!   tops; a cold clear surface does not count);
//! - **surface temperature**: the mean `T_ref` (the clear-sky skin temperature);
//! - **texture**: mean 3 × 3 standard deviation of BT (reported, not used by default).
//!
//! Rules, in the truth's priority order (all thresholds in [`Rules`], per-region
//! overrides allowed, loadable from JSON):
//! 1. **Typhoon**: a best-track storm of grade 3, 4, 5 or 9 (tropical-storm strength or
//!    more) whose centre lies in the region, or whose core disc of radius
//!    `core_km_base + core_km_per_kt × Vmax` covers ≥ `core_share` of the region's pixels;
//! 2. **Snow / Rain**: cold-top fraction ≥ `precip_share`: Snow when the surface
//!    temperature ≤ `snow_surface_k`, else Rain. Without a composite the surface
//!    temperature is the warm percentile of the frame itself, which under an overcast
//!    sky is the warmest cloud, not the ground; Snow is then said only in the region's
//!    `snow_months` (the months its climate has snow in), else Rain;
//! 3. **Cloudy**: cloud fraction ≥ `cloudy_share`;
//! 4. **Clear** otherwise.
//!
//! Infrared alone cannot see precipitation; it sees cold, thick cloud tops. Rain from
//! warm-topped clouds (drizzle under stratus, shallow winter showers) is called Cloudy,
//! and cold non-raining anvils or cirrus may be called Rain. See docs/captioning.md.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use crate::besttrack::StormFix;
use crate::error::{Error, Result};
use crate::vocab::{Caption, Phenomenon, Region};

/// Mean Earth radius, km (great-circle distances to storm centres).
const EARTH_RADIUS_KM: f64 = 6371.0;

/// Thresholds for the non-typhoon classes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegionRule {
    /// A pixel is cloudy when its BT is this much below the clear-sky reference (K).
    pub cloud_delta_k: f32,
    /// Cloudy when at least this share of pixels is cloudy.
    pub cloudy_share: f32,
    /// A cloudy pixel has a cold (precipitating) top below this BT (K).
    pub cold_k: f32,
    /// Snow or Rain when at least this share of pixels has cold tops (> 1 disables).
    pub precip_share: f32,
    /// Snow rather than Rain when the surface temperature is at most this (K).
    pub snow_surface_k: f32,
    /// Without a composite, the clear-sky reference is this percentile of region BT.
    pub fallback_percentile: f32,
    /// Without a composite, Snow only in these months (the surface is unknown then).
    pub snow_months: Months,
}

/// A set of calendar months, written in JSON as a list of month numbers (1 = January).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Months(u16);

impl Months {
    /// Every month.
    pub const ALL: Months = Months(0xfff);

    /// Whether `month` (1–12) is in the set.
    pub fn contains(self, month: u32) -> bool {
        (1..=12).contains(&month) && self.0 & (1 << (month - 1)) != 0
    }
}

impl Serialize for Months {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq((1..=12u32).filter(|&m| self.contains(m)))
    }
}

impl<'de> Deserialize<'de> for Months {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let list = Vec::<u32>::deserialize(d)?;
        let mut bits = 0u16;
        for m in list {
            if !(1..=12).contains(&m) {
                return Err(serde::de::Error::custom(format!("month {m} is not in 1..=12")));
            }
            bits |= 1 << (m - 1);
        }
        Ok(Months(bits))
    }
}

impl Default for RegionRule {
    fn default() -> Self {
        RegionRule {
            cloud_delta_k: 10.0,
            cloudy_share: 0.45,
            cold_k: 250.0,
            precip_share: 0.4,
            snow_surface_k: 273.0,
            fallback_percentile: 0.95,
            snow_months: Months::ALL,
        }
    }
}

/// A partial [`RegionRule`] for one region; unset fields come from the default rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionRuleOverride {
    /// See [`RegionRule::cloud_delta_k`].
    pub cloud_delta_k: Option<f32>,
    /// See [`RegionRule::cloudy_share`].
    pub cloudy_share: Option<f32>,
    /// See [`RegionRule::cold_k`].
    pub cold_k: Option<f32>,
    /// See [`RegionRule::precip_share`].
    pub precip_share: Option<f32>,
    /// See [`RegionRule::snow_surface_k`].
    pub snow_surface_k: Option<f32>,
    /// See [`RegionRule::fallback_percentile`].
    pub fallback_percentile: Option<f32>,
    /// See [`RegionRule::snow_months`].
    pub snow_months: Option<Months>,
}

/// When a storm makes a region "Typhoon".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TyphoonRule {
    /// JMA grades that count (3 TS, 4 STS, 5 TY, 9 TS or more).
    pub grades: Vec<u8>,
    /// Core radius = `core_km_base + core_km_per_kt × Vmax` (km).
    pub core_km_base: f64,
    /// See `core_km_base`.
    pub core_km_per_kt: f64,
    /// Share of region pixels the core disc must cover when the centre is outside.
    pub core_share: f64,
}

impl Default for TyphoonRule {
    fn default() -> Self {
        TyphoonRule { grades: vec![3, 4, 5, 9], core_km_base: 70.0, core_km_per_kt: 2.3, core_share: 0.25 }
    }
}

/// All rules of the physical captioner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Free text: where these numbers come from.
    pub comment: String,
    /// Typhoon rule.
    pub typhoon: TyphoonRule,
    /// Rule for every region without an override.
    pub default: RegionRule,
    /// Per-region overrides, keyed by region name.
    pub regions: BTreeMap<String, RegionRuleOverride>,
    /// A region needs at least this share of valid (finite) pixels.
    pub min_valid_share: f32,
    /// The clear-sky composite is used only when at least this many frames (the frame
    /// itself included) went into it; otherwise each region falls back to its
    /// [`RegionRule::fallback_percentile`]. A lone frame is its own "composite" and
    /// would make every pixel look clear.
    pub min_composite_frames: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            comment: String::new(),
            typhoon: TyphoonRule::default(),
            default: RegionRule::default(),
            regions: BTreeMap::new(),
            min_valid_share: 0.5,
            min_composite_frames: 3,
        }
    }
}

/// The rules shipped with the crate (`rules/physical.json`).
pub const DEFAULT_RULES_JSON: &str = include_str!("../rules/physical.json");

impl Rules {
    /// The shipped rules.
    pub fn shipped() -> Result<Self> {
        Self::from_json(DEFAULT_RULES_JSON)
    }

    /// Parse rules from JSON and check them.
    pub fn from_json(text: &str) -> Result<Self> {
        let r: Rules = serde_json::from_str(text).map_err(|e| Error::Config(format!("rules JSON: {e}")))?;
        r.validate()?;
        Ok(r)
    }

    /// Read rules from a file.
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Check region names and ranges.
    pub fn validate(&self) -> Result<()> {
        for name in self.regions.keys() {
            if Region::from_name(name).is_none() {
                return Err(Error::Config(format!("unknown region '{name}' in rules")));
            }
        }
        for r in Region::ALL {
            let rule = self.rule(r);
            let share_ok = |v: f32| (0.0..=1.01).contains(&v);
            if !share_ok(rule.cloudy_share) || !share_ok(rule.precip_share) || !(0.0..=1.0).contains(&rule.fallback_percentile)
            {
                return Err(Error::Config(format!("{r}: shares and percentiles must lie in 0..=1.01")));
            }
        }
        Ok(())
    }

    /// The effective rule of a region.
    pub fn rule(&self, r: Region) -> RegionRule {
        let mut out = self.default;
        if let Some(o) = self.regions.get(r.name()) {
            macro_rules! take {
                ($($f:ident),*) => { $( if let Some(v) = o.$f { out.$f = v; } )* };
            }
            take!(cloud_delta_k, cloudy_share, cold_k, precip_share, snow_surface_k, fallback_percentile, snow_months);
        }
        out
    }

    /// SHA-256 (first 16 hex digits) of the rules' canonical JSON.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let j = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&j))[..16].to_string()
    }
}

/// A frame as the physical captioner sees it: plain slices, row-major `height × width`.
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a> {
    /// Frame id (for messages).
    pub id: &'a str,
    /// Observation time.
    pub time: DateTime<Utc>,
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Brightness temperature, K (NaN = no data).
    pub bt: &'a [f32],
    /// Region membership, bit `k` = region `k` in prompt order.
    pub region_bits: &'a [u16],
    /// (lon, lat) of every pixel centre (NaN where unmapped).
    pub lonlat: &'a [(f32, f32)],
    /// Clear-sky reference BT per pixel (a warm composite), if available.
    pub clear_sky: Option<&'a [f32]>,
}

/// Why a region became Typhoon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TyphoonHit {
    /// Storm id.
    pub id: String,
    /// Storm name.
    pub name: String,
    /// Max wind, kt.
    pub vmax_kt: f64,
    /// JMA grade.
    pub grade: u8,
    /// Centre inside the region mask.
    pub centre_inside: bool,
    /// Share of region pixels within the core disc.
    pub core_share: f64,
}

/// The numbers behind one region's label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionStats {
    /// Pixels in the mask.
    pub n_pixels: usize,
    /// Of which finite.
    pub n_valid: usize,
    /// Mean BT, K.
    pub mean_bt_k: f32,
    /// 5th percentile BT, K.
    pub p05_bt_k: f32,
    /// Median BT, K.
    pub p50_bt_k: f32,
    /// Mean clear-sky reference (surface temperature estimate), K.
    pub surface_k: f32,
    /// Share of cloudy pixels.
    pub cloud_fraction: f32,
    /// Share of cold-topped pixels.
    pub cold_fraction: f32,
    /// Mean 3 × 3 BT standard deviation, K.
    pub texture_k: f32,
    /// Mean latitude.
    pub mean_lat: f32,
    /// The clear-sky reference came from the composite (else from the percentile fallback).
    pub clear_sky_composite: bool,
    /// Storm that made it Typhoon, if any.
    pub typhoon: Option<TyphoonHit>,
    /// The label.
    pub phenomenon: Phenomenon,
}

/// The physical captioner.
#[derive(Debug, Clone)]
pub struct PhysicalCaptioner {
    rules: Rules,
}

fn percentile(sorted: &[f32], q: f32) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    let i = ((q.clamp(0.0, 1.0)) * (sorted.len() - 1) as f32).round() as usize;
    sorted[i]
}

fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

/// Mean 3 × 3 standard deviation of BT at pixel `i` (finite neighbours only).
fn local_std(v: &FrameView, i: usize) -> f32 {
    let (x, y) = ((i % v.width) as i64, (i / v.width) as i64);
    let (mut s, mut s2, mut n) = (0f64, 0f64, 0f64);
    for dy in -1..=1 {
        for dx in -1..=1 {
            let (xx, yy) = (x + dx, y + dy);
            if xx < 0 || yy < 0 || xx >= v.width as i64 || yy >= v.height as i64 {
                continue;
            }
            let b = v.bt[yy as usize * v.width + xx as usize];
            if b.is_finite() {
                s += b as f64;
                s2 += (b as f64) * (b as f64);
                n += 1.0;
            }
        }
    }
    if n < 2.0 {
        return 0.0;
    }
    ((s2 / n - (s / n).powi(2)).max(0.0)).sqrt() as f32
}

impl PhysicalCaptioner {
    /// A captioner with these rules.
    pub fn new(rules: Rules) -> Result<Self> {
        rules.validate()?;
        Ok(PhysicalCaptioner { rules })
    }

    /// The rules.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Caption a frame; `storms` are the best-track fixes at the frame time.
    /// Errors when the view is inconsistent or a region has too few valid pixels.
    pub fn caption(&self, v: &FrameView, storms: &[StormFix]) -> Result<(Caption, Vec<RegionStats>)> {
        self.caption_regions(v, storms, None)
    }

    /// Caption only the regions `covered` marks (a storm-centred or sector frame resampled
    /// onto a grid that holds every region); the others get no line. The returned
    /// [`Caption`] holds [`Phenomenon::Clear`] for them as a placeholder only: callers keep
    /// the list of uncovered regions beside it ([`crate::store::CaptionRecord::uncovered`])
    /// and write [`Caption::bullets_of`] the covered ones.
    pub fn caption_covered(&self, v: &FrameView, storms: &[StormFix], covered: &[bool; 13]) -> Result<(Caption, Vec<RegionStats>)> {
        if !covered.contains(&true) {
            return Err(Error::Frame { frame: v.id.to_string(), reason: "the frame covers none of the 13 regions".into() });
        }
        self.caption_regions(v, storms, Some(covered))
    }

    fn caption_regions(&self, v: &FrameView, storms: &[StormFix], only: Option<&[bool; 13]>) -> Result<(Caption, Vec<RegionStats>)> {
        let n = v.width * v.height;
        let bad = |reason: String| Error::Frame { frame: v.id.to_string(), reason };
        if v.bt.len() != n || v.region_bits.len() != n || v.lonlat.len() != n {
            return Err(bad(format!(
                "array sizes disagree: {}×{} grid, {} BT, {} mask, {} lon/lat values",
                v.width,
                v.height,
                v.bt.len(),
                v.region_bits.len(),
                v.lonlat.len()
            )));
        }
        if let Some(cs) = v.clear_sky {
            if cs.len() != n {
                return Err(bad(format!("clear-sky composite has {} values for {n} pixels", cs.len())));
            }
        }
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); 13];
        for (i, &b) in v.region_bits.iter().enumerate() {
            if b != 0 {
                for (k, m) in members.iter_mut().enumerate() {
                    if b & (1 << k) != 0 {
                        m.push(i);
                    }
                }
            }
        }
        let wanted = |r: &Region| only.is_none_or(|c| c[r.index()]);
        let empty: Vec<&str> = Region::ALL.iter().filter(|r| wanted(r) && members[r.index()].is_empty()).map(|r| r.name()).collect();
        if empty.len() == 13 {
            return Err(bad("no region masks (the frame has no pixel in any of the 13 regions)".into()));
        }
        if !empty.is_empty() {
            return Err(bad(format!("the frame does not cover: {}", empty.join(", "))));
        }
        let strong: Vec<&StormFix> = storms.iter().filter(|s| self.rules.typhoon.grades.contains(&s.grade)).collect();
        let mut labels = [Phenomenon::Clear; 13];
        let mut stats = Vec::with_capacity(13);
        for r in Region::ALL.into_iter().filter(wanted) {
            let idx = &members[r.index()];
            let st = self.region(v, r, idx, &strong)?;
            labels[r.index()] = st.phenomenon;
            stats.push(st);
        }
        Ok((Caption::new(labels), stats))
    }

    fn region(&self, v: &FrameView, r: Region, idx: &[usize], storms: &[&StormFix]) -> Result<RegionStats> {
        let rule = self.rules.rule(r);
        let valid: Vec<usize> = idx.iter().copied().filter(|&i| v.bt[i].is_finite()).collect();
        let share = valid.len() as f32 / idx.len() as f32;
        if share < self.rules.min_valid_share {
            return Err(Error::Frame {
                frame: v.id.to_string(),
                reason: format!(
                    "{r}: only {} of {} pixels have data (need {:.0} %)",
                    valid.len(),
                    idx.len(),
                    self.rules.min_valid_share * 100.0
                ),
            });
        }
        let mut sorted: Vec<f32> = valid.iter().map(|&i| v.bt[i]).collect();
        sorted.sort_by(f32::total_cmp);
        let m = valid.len() as f32;
        let fallback = percentile(&sorted, rule.fallback_percentile);
        let composite_at = |i: usize| v.clear_sky.map(|cs| cs[i]).filter(|t| t.is_finite());
        let tref = |i: usize| composite_at(i).unwrap_or(fallback);
        let surface_measured = 2 * valid.iter().filter(|&&i| composite_at(i).is_some()).count() >= valid.len();
        let mut cloudy = 0usize;
        let mut cold = 0usize;
        let mut tsum = 0f64;
        let mut texsum = 0f64;
        let mut latsum = 0f64;
        for &i in &valid {
            let b = v.bt[i];
            let t = tref(i);
            tsum += t as f64;
            if b < t - rule.cloud_delta_k {
                cloudy += 1;
            }
            // A cold pixel must also be cloudy: a frozen clear surface (Mongolia on a
            // winter night) is colder than many cloud tops.
            if b < rule.cold_k && b < t - rule.cloud_delta_k {
                cold += 1;
            }
            texsum += local_std(v, i) as f64;
            latsum += v.lonlat[i].1 as f64;
        }
        let cloud_fraction = cloudy as f32 / m;
        let cold_fraction = cold as f32 / m;
        let surface_k = (tsum / m as f64) as f32;
        let typhoon = self.typhoon_hit(v, idx, storms);
        let phenomenon = if typhoon.is_some() {
            Phenomenon::Typhoon
        } else if cold_fraction >= rule.precip_share {
            let snow_possible = surface_measured || rule.snow_months.contains(v.time.month());
            if surface_k <= rule.snow_surface_k && snow_possible {
                Phenomenon::Snow
            } else {
                Phenomenon::Rain
            }
        } else if cloud_fraction >= rule.cloudy_share {
            Phenomenon::Cloudy
        } else {
            Phenomenon::Clear
        };
        Ok(RegionStats {
            n_pixels: idx.len(),
            n_valid: valid.len(),
            mean_bt_k: (sorted.iter().map(|&b| b as f64).sum::<f64>() / m as f64) as f32,
            p05_bt_k: percentile(&sorted, 0.05),
            p50_bt_k: percentile(&sorted, 0.5),
            surface_k,
            cloud_fraction,
            cold_fraction,
            texture_k: (texsum / m as f64) as f32,
            mean_lat: (latsum / m as f64) as f32,
            clear_sky_composite: v.clear_sky.is_some(),
            typhoon,
            phenomenon,
        })
    }

    fn typhoon_hit(&self, v: &FrameView, idx: &[usize], storms: &[&StormFix]) -> Option<TyphoonHit> {
        let rule = &self.rules.typhoon;
        let mut best: Option<TyphoonHit> = None;
        for s in storms {
            let radius = rule.core_km_base + rule.core_km_per_kt * s.vmax_kt;
            let mut inside_disc = 0usize;
            let mut nearest = (f64::INFINITY, false);
            for &i in idx {
                let (lon, lat) = v.lonlat[i];
                if !lon.is_finite() || !lat.is_finite() {
                    continue;
                }
                let d = haversine_km(s.lat, s.lon, lat as f64, lon as f64);
                if d <= radius {
                    inside_disc += 1;
                }
                if d < nearest.0 {
                    nearest.0 = d;
                }
            }
            // The centre is inside when the region holds the pixel nearest to it: the
            // closest region pixel lies within half a pixel diagonal of the centre.
            let pixel_km = self.pixel_size_km(v, idx);
            nearest.1 = nearest.0 <= pixel_km * 0.75;
            let core_share = inside_disc as f64 / idx.len() as f64;
            if nearest.1 || core_share >= rule.core_share {
                let hit = TyphoonHit {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    vmax_kt: s.vmax_kt,
                    grade: s.grade,
                    centre_inside: nearest.1,
                    core_share,
                };
                if best.as_ref().is_none_or(|b| hit.vmax_kt > b.vmax_kt) {
                    best = Some(hit);
                }
            }
        }
        best
    }

    /// Rough pixel size (km) near a region: distance between two horizontally
    /// neighbouring pixels of its first mapped member.
    fn pixel_size_km(&self, v: &FrameView, idx: &[usize]) -> f64 {
        for &i in idx {
            if i % v.width + 1 < v.width {
                let (a, b) = (v.lonlat[i], v.lonlat[i + 1]);
                if a.0.is_finite() && b.0.is_finite() {
                    return haversine_km(a.1 as f64, a.0 as f64, b.1 as f64, b.0 as f64).max(1.0);
                }
            }
        }
        10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 13 × 10 grid: column k belongs to region k; lon = 120 + x, lat = 20 + y.
    struct Grid {
        bt: Vec<f32>,
        bits: Vec<u16>,
        lonlat: Vec<(f32, f32)>,
    }

    const W: usize = 13;
    const H: usize = 10;

    fn grid(bt_of: impl Fn(usize, usize) -> f32) -> Grid {
        let mut g = Grid { bt: vec![], bits: vec![], lonlat: vec![] };
        for y in 0..H {
            for x in 0..W {
                g.bt.push(bt_of(x, y));
                g.bits.push(1 << x);
                g.lonlat.push((120.0 + x as f32, 20.0 + y as f32));
            }
        }
        g
    }

    fn view<'a>(g: &'a Grid, cs: Option<&'a [f32]>) -> FrameView<'a> {
        FrameView {
            id: "test",
            time: "2017-11-10T00:00:00Z".parse().unwrap(),
            width: W,
            height: H,
            bt: &g.bt,
            region_bits: &g.bits,
            lonlat: &g.lonlat,
            clear_sky: cs,
        }
    }

    fn rules() -> Rules {
        Rules::default()
    }

    #[test]
    fn clear_cloudy_rain_snow_from_bt() {
        // Clear sky is 285 K (composite), region 0 all clear, region 1 cloudy at 270 K
        // (15 K below), region 2 cold tops 230 K over a warm surface, region 3 cold tops
        // over a frozen surface (composite 265 K).
        let g = grid(|x, _| match x {
            1 => 270.0,
            2 | 3 => 230.0,
            _ => 285.0,
        });
        let cs: Vec<f32> = (0..W * H).map(|i| if i % W == 3 { 265.0 } else { 285.0 }).collect();
        let c = PhysicalCaptioner::new(rules()).unwrap();
        let (cap, stats) = c.caption(&view(&g, Some(&cs)), &[]).unwrap();
        assert_eq!(cap.get(Region::KoreanPeninsula), Phenomenon::Clear);
        assert_eq!(cap.get(Region::Mongolia), Phenomenon::Cloudy);
        assert_eq!(cap.get(Region::NorthernChina), Phenomenon::Rain);
        assert_eq!(cap.get(Region::EasternChina), Phenomenon::Snow);
        assert_eq!(stats[1].cloud_fraction, 1.0);
        assert_eq!(stats[2].cold_fraction, 1.0);
    }

    #[test]
    fn a_frozen_clear_surface_is_not_a_cold_top() {
        // Region 0: 235 K everywhere, but so is its clear-sky composite (a winter night
        // over Mongolia): below cold_k, yet not cloudy, so Clear rather than Snow.
        let g = grid(|x, _| if x == 0 { 235.0 } else { 285.0 });
        let cs: Vec<f32> = (0..W * H).map(|i| if i % W == 0 { 236.0 } else { 285.0 }).collect();
        let (cap, stats) = PhysicalCaptioner::new(rules()).unwrap().caption(&view(&g, Some(&cs)), &[]).unwrap();
        assert_eq!(cap.get(Region::KoreanPeninsula), Phenomenon::Clear);
        assert_eq!(stats[0].cold_fraction, 0.0);
    }

    #[test]
    fn without_a_composite_snow_only_in_the_regions_snow_months() {
        // Region 0 overcast with cold tops (215–242 K), no composite: the warm percentile
        // (242 K, the warmest cloud) stands in for the surface and reads frozen. Snow in January; Rain in October, a month
        // the rules leave out for this region; with a composite the measured surface decides.
        let g = grid(|x, y| if x == 0 { 215.0 + 3.0 * y as f32 } else { 285.0 });
        let mut r = rules();
        let only_winter: Months = serde_json::from_str("[12, 1, 2]").unwrap();
        r.regions.insert(
            "Korean Peninsula".into(),
            RegionRuleOverride { snow_months: Some(only_winter), ..Default::default() },
        );
        let c = PhysicalCaptioner::new(r).unwrap();
        let at = |time: &str| FrameView { time: time.parse().unwrap(), ..view(&g, None) };
        assert_eq!(c.caption(&at("2012-01-15T00:00:00Z"), &[]).unwrap().0.get(Region::KoreanPeninsula), Phenomenon::Snow);
        let (cap, stats) = c.caption(&at("2012-10-27T00:00:00Z"), &[]).unwrap();
        assert_eq!(cap.get(Region::KoreanPeninsula), Phenomenon::Rain);
        assert!(stats[0].surface_k <= 273.0 && !stats[0].clear_sky_composite);
        let cs = vec![265.0f32; W * H];
        let frozen = FrameView { time: "2012-10-27T00:00:00Z".parse().unwrap(), ..view(&g, Some(&cs)) };
        assert_eq!(c.caption(&frozen, &[]).unwrap().0.get(Region::KoreanPeninsula), Phenomenon::Snow);
    }

    #[test]
    fn thresholds_are_inclusive_shares() {
        // Region 0: 5 of 10 rows cloudy -> share 0.5 >= 0.45 -> Cloudy; region 1: 4 of 10 -> Clear.
        let g = grid(|x, y| if (x == 0 && y < 5) || (x == 1 && y < 4) { 260.0 } else { 285.0 });
        let cs = vec![285.0f32; W * H];
        let (cap, _) = PhysicalCaptioner::new(rules()).unwrap().caption(&view(&g, Some(&cs)), &[]).unwrap();
        assert_eq!(cap.get(Region::KoreanPeninsula), Phenomenon::Cloudy);
        assert_eq!(cap.get(Region::Mongolia), Phenomenon::Clear);
    }

    #[test]
    fn per_region_override_applies() {
        let g = grid(|x, _| if x == 0 { 275.0 } else { 285.0 });
        let cs = vec![285.0f32; W * H];
        let mut r = rules();
        r.regions.insert(
            "Korean Peninsula".into(),
            RegionRuleOverride { cloud_delta_k: Some(12.0), ..Default::default() },
        );
        let (cap, _) = PhysicalCaptioner::new(r).unwrap().caption(&view(&g, Some(&cs)), &[]).unwrap();
        assert_eq!(cap.get(Region::KoreanPeninsula), Phenomenon::Clear); // 10 K < 12 K
    }

    #[test]
    fn typhoon_by_centre_and_by_core_share() {
        let g = grid(|_, _| 285.0);
        let cs = vec![285.0f32; W * H];
        let storm = |lon: f64, grade: u8, vmax: f64| StormFix {
            id: "1723".into(),
            name: "DAMREY".into(),
            lat: 25.0,
            lon,
            vmax_kt: vmax,
            grade,
        };
        let c = PhysicalCaptioner::new(rules()).unwrap();
        // Centre on column 5 (lon 125): region 5 by centre. Core radius 70 + 2.3*65 = 219.5 km
        // (about 2 grid degrees), so neighbours get only a few rows: share < 0.25 there.
        let (cap, stats) = c.caption(&view(&g, Some(&cs)), &[storm(125.0, 5, 65.0)]).unwrap();
        assert_eq!(cap.get(Region::Manchuria), Phenomenon::Typhoon);
        assert!(stats[5].typhoon.as_ref().unwrap().centre_inside);
        assert_eq!(cap.get(Region::Mongolia), Phenomenon::Clear);
        // A tropical depression (grade 2) never counts.
        let (cap, _) = c.caption(&view(&g, Some(&cs)), &[storm(125.0, 2, 30.0)]).unwrap();
        assert_eq!(cap.get(Region::Manchuria), Phenomenon::Clear);
        // A huge core covering a neighbour's column for >= 25 % of its rows.
        let (cap, _) = c.caption(&view(&g, Some(&cs)), &[storm(125.5, 4, 300.0)]).unwrap();
        assert_eq!(cap.get(Region::Honshu), Phenomenon::Typhoon);
    }

    #[test]
    fn missing_regions_and_no_data_are_errors() {
        let mut g = grid(|_, _| 285.0);
        for b in g.bits.iter_mut() {
            if *b == 1 << 12 {
                *b = 0;
            }
        }
        let err = PhysicalCaptioner::new(rules()).unwrap().caption(&view(&g, None), &[]).unwrap_err();
        assert!(err.to_string().contains("does not cover: Pacific coast of Japan"), "{err}");
        let g2 = Grid { bits: vec![0; W * H], ..grid(|_, _| 285.0) };
        let err = PhysicalCaptioner::new(rules()).unwrap().caption(&view(&g2, None), &[]).unwrap_err();
        assert!(err.to_string().contains("no region masks"), "{err}");
        let g3 = grid(|x, _| if x == 4 { f32::NAN } else { 285.0 });
        let err = PhysicalCaptioner::new(rules()).unwrap().caption(&view(&g3, None), &[]).unwrap_err();
        assert!(err.to_string().contains("Southern China: only 0 of 10"), "{err}");
    }

    #[test]
    fn rules_json_round_trip_and_validation() {
        let r = Rules::shipped().unwrap();
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(Rules::from_json(&j).unwrap(), r);
        assert!(Rules::from_json(r#"{"regions":{"Atlantis":{}}}"#).is_err());
        assert!(Rules::from_json(r#"{"default":{"cloudy_share":3.0}}"#).is_err());
        assert!(Rules::from_json(r#"{"bogus":1}"#).is_err());
        let err = Rules::from_json(r#"{"default":{"snow_months":[1,13]}}"#).unwrap_err();
        assert!(err.to_string().contains("month 13 is not in 1..=12"), "{err}");
        assert!(r.rule(Region::SouthChinaSea).snow_months == Months(0) && !r.rule(Region::Kyushu).snow_months.contains(10));
    }
}
