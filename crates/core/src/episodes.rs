//! Weather cases, not frames: consecutive matching frames collapse into one episode.
//!
//! A query ranks frames; neighbouring hours of one weather situation answer it almost
//! equally well, so the top 20 frames are often three mornings. [`group`] folds ranked hits
//! into episodes, the unit a forecaster looks for:
//!
//! ```text
//! same episode  ⇔  same matched region, same origin, the same phenomenon in that region's
//!                  caption line, and a chain of hits in time order with no step longer
//!                  than `gap_hours` (single linkage over time)
//! episode score = its best hit's score;   episodes ordered by their best hit's rank
//! ```
//!
//! An episode is one spell of one weather in one region: a card says "Manchuria and
//! Primorsky Krai - Snow" and the span it shows holds snow there throughout. Chaining on the
//! region alone joined a clear night, a cloudy morning and a snowy evening of the region into
//! one card labelled with the best frame's line (docs/benchmarks.md, "Episodes": 3 of the 65
//! template queries fell short of 15 distinct cases that way, all by such chains).
//!
//! The hits come from ranking a pool of [`POOL_FACTOR`] × k frames, so the k episodes shown
//! are distinct cases and each episode's span and frame count cover the frames of that pool.
//! The browser worker and `skycase search --episodes` both call [`group`] on the same ranked
//! hits, so both show the same episodes.
//!
//! ```
//! use skycase_core::episodes::{group, EpisodeKey};
//! let key = |time, region| EpisodeKey { time, region, origin: "simulated", phenomenon: Some("Clear") };
//! // Ranked best first: 03 and 05 UTC of one morning over Mongolia, 04 UTC over Honshu.
//! let hits = [key("2017-11-03T03:00Z", Some(1)), key("2017-11-03T04:00Z", Some(6)), key("2017-11-03T05:00Z", Some(1))];
//! let episodes = group(&hits, 3.0);
//! assert_eq!(episodes.len(), 2);
//! assert_eq!((episodes[0].best, episodes[0].members.clone()), (0, vec![0, 2]));
//! assert_eq!((episodes[0].start.as_str(), episodes[0].end.as_str()), ("2017-11-03T03:00Z", "2017-11-03T05:00Z"));
//! ```

use serde::{Deserialize, Serialize};

/// Largest step between two frames of one episode, in hours, unless asked otherwise: the
/// archives are hourly or denser, so 3 h bridges a missing frame or two but not a new day.
pub const DEFAULT_GAP_HOURS: f64 = 3.0;

/// Frames ranked per episode shown: k episodes are grouped from the best `POOL_FACTOR · k`
/// frames.
pub const POOL_FACTOR: usize = 10;

/// What [`group`] reads of one ranked hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeKey<'a> {
    /// UTC time, ISO 8601 (`2017-11-03T05:00Z`, seconds optional).
    pub time: &'a str,
    /// The matched region (index into the 13), `None` for an index of one vector per frame.
    pub region: Option<usize>,
    /// Where the frame comes from (`simulated`, `kma`, …): frames of different sources are
    /// different cases even at the same hour.
    pub origin: &'a str,
    /// The phenomenon the frame's caption gives the matched region (`skycase_vocab::phenomenon_of`),
    /// `None` without a region or a caption line for it: a change of weather is a new case.
    pub phenomenon: Option<&'a str>,
}

/// One weather case: hits of the same region, source and captioned phenomenon, chained in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// Index of its best hit (the lowest rank) in the hits given to [`group`].
    pub best: usize,
    /// Indices of all its hits, in time order.
    pub members: Vec<usize>,
    /// Time of its first frame.
    pub start: String,
    /// Time of its last frame.
    pub end: String,
}

impl Episode {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.members.len()
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Hours since 1970-01-01T00:00Z of an ISO 8601 UTC time `YYYY-MM-DDTHH:MM[:SS]Z`;
/// `None` for anything else.
///
/// ```
/// use skycase_core::episodes::hours_since_epoch;
/// assert_eq!(hours_since_epoch("1970-01-02T03:30Z"), Some(27.5));
/// // 2016 is a leap year: Feb 28 → Mar 1 is 48 hours.
/// let step = hours_since_epoch("2016-03-01T00:00Z").unwrap() - hours_since_epoch("2016-02-28T00:00Z").unwrap();
/// assert_eq!(step, 48.0);
/// assert_eq!(hours_since_epoch("2017-11-03"), None);
/// ```
pub fn hours_since_epoch(time: &str) -> Option<f64> {
    let t = time.strip_suffix('Z')?;
    let (date, clock) = t.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut c = clock.split(':');
    let h: f64 = c.next()?.parse().ok()?;
    let min: f64 = c.next()?.parse().ok()?;
    let sec: f64 = c.next().map_or(Some(0.0), |s| s.parse().ok())?;
    if c.next().is_some() || !(0.0..24.0).contains(&h) || !(0.0..60.0).contains(&min) || !(0.0..61.0).contains(&sec) {
        return None;
    }
    Some(days_from_civil(y, m, day) as f64 * 24.0 + h + min / 60.0 + sec / 3600.0)
}

/// The UTC date `YYYY-MM-DD` of a time given in hours since 1970-01-01T00:00Z (the inverse
/// of [`hours_since_epoch`] for the date part; Howard Hinnant's `civil_from_days`).
///
/// ```
/// use skycase_core::episodes::{day_of, hours_since_epoch};
/// assert_eq!(day_of(hours_since_epoch("2017-11-03T05:00Z").unwrap() - 12.0), "2017-11-02");
/// assert_eq!(day_of(hours_since_epoch("2016-02-28T20:00Z").unwrap() + 12.0), "2016-02-29");
/// ```
pub fn day_of(hours: f64) -> String {
    let z = (hours / 24.0).floor() as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Folds hits (best first) into episodes (module docs). A hit whose time cannot be read is
/// an episode of its own. Episodes come back best first; every hit is in exactly one.
pub fn group(hits: &[EpisodeKey<'_>], gap_hours: f64) -> Vec<Episode> {
    let gap = if gap_hours.is_finite() { gap_hours.max(0.0) } else { 0.0 };
    let mut order: Vec<(usize, Option<f64>)> = hits.iter().enumerate().map(|(i, h)| (i, hours_since_epoch(h.time))).collect();
    // Same region, origin and phenomenon together, then by time; unreadable times last, each alone.
    order.sort_by(|(a, ta), (b, tb)| {
        let (ka, kb) = (&hits[*a], &hits[*b]);
        ka.region
            .cmp(&kb.region)
            .then_with(|| ka.origin.cmp(kb.origin))
            .then_with(|| ka.phenomenon.cmp(&kb.phenomenon))
            .then_with(|| ta.is_none().cmp(&tb.is_none()))
            .then_with(|| ta.unwrap_or(0.0).total_cmp(&tb.unwrap_or(0.0)))
            .then(a.cmp(b))
    });
    let mut episodes: Vec<Episode> = Vec::new();
    let mut last: Option<(usize, f64)> = None;
    for (i, t) in order {
        let joins = match (last, t) {
            (Some((j, tj)), Some(t)) => {
                let (a, b) = (&hits[j], &hits[i]);
                a.region == b.region && a.origin == b.origin && a.phenomenon == b.phenomenon && t - tj <= gap
            }
            _ => false,
        };
        match episodes.last_mut().filter(|_| joins) {
            Some(e) => {
                e.members.push(i);
                e.best = e.best.min(i);
                e.end = hits[i].time.to_string();
            }
            None => episodes.push(Episode { best: i, members: vec![i], start: hits[i].time.to_string(), end: hits[i].time.to_string() }),
        }
        last = t.map(|t| (i, t));
    }
    episodes.sort_by_key(|e| e.best);
    episodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(time: &str, region: usize) -> EpisodeKey<'_> {
        EpisodeKey { time, region: Some(region), origin: "simulated", phenomenon: Some("Snow") }
    }

    #[test]
    fn neighbouring_hours_of_one_region_are_one_episode() {
        // See: issue 13 ("03, 04 and 05 UTC of the same morning").
        let hits = [key("2017-11-03T04:00Z", 0), key("2017-11-03T03:00Z", 0), key("2017-11-03T05:00Z", 0), key("2017-11-09T04:00Z", 0)];
        let e = group(&hits, 3.0);
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].best, &e[0].members[..], e[0].frames()), (0, &[1, 0, 2][..], 3));
        assert_eq!((e[0].start.as_str(), e[0].end.as_str()), ("2017-11-03T03:00Z", "2017-11-03T05:00Z"));
        assert_eq!((e[1].best, &e[1].members[..]), (3, &[3][..]));
    }

    #[test]
    fn the_gap_is_inclusive_and_configurable() {
        // 3 h apart: one episode at gap 3, two at gap 2.9; a chain bridges 3 + 3 hours.
        let hits = [key("2017-11-03T00:00Z", 0), key("2017-11-03T03:00Z", 0), key("2017-11-03T06:00Z", 0)];
        assert_eq!(group(&hits, 3.0).len(), 1);
        assert_eq!(group(&hits, 2.9).len(), 3);
        assert_eq!(group(&hits, 0.0).len(), 3);
        // Across a month's end.
        assert_eq!(group(&[key("2017-11-30T23:00Z", 0), key("2017-12-01T01:00Z", 0)], 3.0).len(), 1);
    }

    #[test]
    fn regions_and_origins_split_episodes() {
        let hits = [
            key("2017-11-03T03:00Z", 0),
            key("2017-11-03T04:00Z", 1),
            EpisodeKey { time: "2017-11-03T05:00Z", region: Some(0), origin: "kma", phenomenon: Some("Snow") },
            key("2017-11-03T05:00Z", 0),
        ];
        let e = group(&hits, 3.0);
        assert_eq!(e.iter().map(|e| e.members.clone()).collect::<Vec<_>>(), [vec![0, 3], vec![1], vec![2]]);
    }

    #[test]
    fn a_change_of_weather_is_a_new_case() {
        // See: issue 13 (Manchuria snow: a clear night, a cloudy morning and a snowy evening of
        // the region chained into one card). Hourly frames: Clear 10–11, Cloudy 12, Snow 13–14,
        // Clear again at 15 (4 h after 11: one more case), and at 16 a frame without a caption
        // line for the region, which joins neither.
        const T: [&str; 7] = ["2017-11-22T10:00Z", "2017-11-22T11:00Z", "2017-11-22T12:00Z", "2017-11-22T13:00Z", "2017-11-22T14:00Z", "2017-11-22T15:00Z", "2017-11-22T16:00Z"];
        let at = |h: usize, p: Option<&'static str>| EpisodeKey { time: T[h - 10], region: Some(5), origin: "simulated", phenomenon: p };
        let hits = [at(13, Some("Snow")), at(10, Some("Clear")), at(12, Some("Cloudy")), at(14, Some("Snow")), at(11, Some("Clear")), at(15, Some("Clear")), at(16, None)];
        let e = group(&hits, 3.0);
        let members: Vec<Vec<usize>> = e.iter().map(|e| e.members.clone()).collect();
        assert_eq!(members, [vec![0, 3], vec![1, 4], vec![2], vec![5], vec![6]]);
        assert_eq!((e[0].start.as_str(), e[0].end.as_str()), ("2017-11-22T13:00Z", "2017-11-22T14:00Z"));
        // Without the phenomenon (a caption with no line for the region), the chain is the region's.
        let bare: Vec<EpisodeKey> = hits.iter().map(|h| EpisodeKey { phenomenon: None, ..*h }).collect();
        assert_eq!(group(&bare, 3.0).len(), 1);
    }

    #[test]
    fn episodes_are_ordered_by_their_best_hit_and_cover_every_hit() {
        let hits = [key("2017-11-09T00:00Z", 2), key("2017-11-01T00:00Z", 2), key("2017-11-09T01:00Z", 2), key("garbage", 2), key("garbage", 2)];
        let e = group(&hits, 3.0);
        assert_eq!(e.iter().map(|e| e.best).collect::<Vec<_>>(), [0, 1, 3, 4]);
        let mut all: Vec<usize> = e.iter().flat_map(|e| e.members.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4]);
        assert!(group(&[], 3.0).is_empty());
    }

    #[test]
    fn times_are_read_strictly() {
        assert_eq!(hours_since_epoch("1970-01-01T00:00Z"), Some(0.0));
        assert_eq!(hours_since_epoch("2017-11-03T05:00:00Z"), hours_since_epoch("2017-11-03T05:00Z"));
        // 2017-11-03 is day 17473 since 1970-01-01.
        assert_eq!(hours_since_epoch("2017-11-03T05:00Z"), Some(17473.0 * 24.0 + 5.0));
        for bad in ["2017-11-03T05:00", "2017-13-03T05:00Z", "2017-11-03T25:00Z", "2017-11-03 05:00Z", ""] {
            assert_eq!(hours_since_epoch(bad), None, "{bad}");
        }
    }
}
