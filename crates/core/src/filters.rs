//! Which frames a query may return, and the one parser that reads filters as people type
//! them: `skycase search` flags and the app's URL parameters go through [`Filters::parse`],
//! so both accept and refuse the same values.
//!
//! Contract:
//! - Dates are real calendar dates written `YYYY-MM-DD` (`2017-02-30` and `2017-11-3` are
//!   refused; the message for the latter suggests `2017-11-03`), compared as dates, both
//!   bounds inclusive. A range whose end is before its start is refused.
//! - Months: seasons, month numbers or names ([`parse_months`]); a months value that names
//!   no month at all (`""`) is refused.
//! - Region and phenomenon names are matched without regard to ASCII case and stored in
//!   their canonical spelling (`typhoon` → `Typhoon`).
//! - Source: `real` or an origin key ([`crate::source`]), any ASCII case.
//! - Region and phenomenon mean "this region has this phenomenon" and decide which of a
//!   frame's region vectors may be its match ([`Filters::allows_vector`]): a region filter
//!   ranks that region only (whatever regions the query names, [`Filters::bind`]); a
//!   phenomenon filter alone lets a frame match only through a region whose caption line
//!   gives that phenomenon; both together, only through that region, if it has it. A frame
//!   with no such vector is not a result.
//! - Strict for the CLI ([`Filters::parse`]: the first bad value is an error naming the
//!   parameter and the value); lenient for links ([`Filters::from_params`]: the same parser
//!   decides, and a value it refuses is dropped so the page still opens).

use std::cmp::Ordering;

use crate::error::{Error, Result};
use skycase_vocab::{parse_bullet, phenomenon_of, PHENOMENA, REGIONS};
use crate::shard::FrameRecord;
use crate::source::{parse_source, SourceFilter};

/// Which frames a query may return. Values built by [`Filters::parse`] or
/// [`Filters::from_params`] are canonical: dates valid and in order, names spelled as in
/// [`REGIONS`] and [`PHENOMENA`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Filters {
    /// Earliest UTC date, `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub from: Option<String>,
    /// Latest UTC date, `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub to: Option<String>,
    /// Months (1–12) to keep; empty keeps all.
    #[serde(default)]
    pub months: Vec<u32>,
    /// Rank this region only (index into the study's 13): a frame matches through this
    /// region's vector, and its caption must give the region …
    #[serde(default)]
    pub region: Option<usize>,
    /// … with this phenomenon; without `region`, a frame matches only through a region
    /// whose caption line gives this phenomenon.
    #[serde(default)]
    pub phenomenon: Option<String>,
    /// Keep frames of this origin (`real`: every origin but the simulator).
    #[serde(default)]
    pub source: Option<SourceFilter>,
}

/// Filters as typed: each value as given on the command line or in a link, `None` when
/// the parameter is absent. [`Filters::parse`] checks them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterArgs {
    /// `from`: earliest date.
    pub from: Option<String>,
    /// `to`: latest date.
    pub to: Option<String>,
    /// `months`: seasons, month numbers or names, comma-separated.
    pub months: Option<String>,
    /// `region`: a region name.
    pub region: Option<String>,
    /// `phenomenon`: a phenomenon name.
    pub phenomenon: Option<String>,
    /// `source`: `real` or an origin key.
    pub source: Option<String>,
}

/// A calendar date (proleptic Gregorian), ordered as dates are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// Reads `YYYY-MM-DD` (exactly four, two and two digits) and checks that the day exists
    /// in that month (leap years included).
    ///
    /// ```
    /// use skycase_core::filters::Date;
    /// assert!(Date::parse("2016-02-29").is_ok());
    /// assert!(Date::parse("2017-02-29").is_err());
    /// let err = Date::parse("2017-11-3").unwrap_err();
    /// assert_eq!(err, "not a date in YYYY-MM-DD form (did you mean 2017-11-03?)");
    /// ```
    pub fn parse(s: &str) -> std::result::Result<Date, String> {
        let b = s.as_bytes();
        let shape_ok = b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
        if !shape_ok {
            // `2017-11-3` or `2017-1-03`: say the canonical spelling if it is a real date.
            let parts: Vec<&str> = s.split('-').collect();
            let hint = match parts[..] {
                [y, m, d] if y.len() == 4 && [y, m, d].iter().all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|c| c.is_ascii_digit())) => {
                    match (y.parse::<u16>(), m.parse::<u8>(), d.parse::<u8>()) {
                        (Ok(y), Ok(m), Ok(d)) => Date::new(y, m, d).ok().map(|d| format!(" (did you mean {d}?)")),
                        _ => None,
                    }
                }
                _ => None,
            };
            return Err(format!("not a date in YYYY-MM-DD form{}", hint.unwrap_or_default()));
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u16>().unwrap_or(0);
        Date::new(num(0..4), num(5..7) as u8, num(8..10) as u8)
    }

    fn new(year: u16, month: u8, day: u8) -> std::result::Result<Date, String> {
        if !(1..=12).contains(&month) {
            return Err(format!("month {month} is not between 1 and 12"));
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if day == 0 || day > days {
            return Err(format!("{year:04}-{month:02} has no day {day}"));
        }
        Ok(Date { year, month, day })
    }

    /// The month, 1–12.
    pub fn month(&self) -> u32 {
        self.month.into()
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Meteorological seasons of the northern hemisphere, as the month filter offers them.
pub const SEASONS: [(&str, [u32; 3]); 4] = [("DJF", [12, 1, 2]), ("MAM", [3, 4, 5]), ("JJA", [6, 7, 8]), ("SON", [9, 10, 11])];

/// English month names, January first.
pub const MONTH_NAMES: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/// Parses a month filter: comma-separated seasons (`DJF`, `MAM`, `JJA`, `SON`), month
/// numbers (`11`) or month names (`nov`, `November`), case-insensitive. The months come
/// back sorted and without repeats; an empty spec gives no months (the app's "any"; the
/// strict [`Filters::parse`] refuses it).
///
/// ```
/// use skycase_core::search::parse_months;
/// assert_eq!(parse_months("DJF").unwrap(), [1, 2, 12]);
/// assert_eq!(parse_months("nov, 3").unwrap(), [3, 11]);
/// assert!(parse_months("winter").is_err());
/// ```
pub fn parse_months(spec: &str) -> Result<Vec<u32>> {
    let mut months = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((_, season)) = SEASONS.iter().find(|(code, _)| code.eq_ignore_ascii_case(part)) {
            months.extend(season);
        } else if let Ok(m) = part.parse::<u32>() {
            if !(1..=12).contains(&m) {
                return Err(Error::Usage(format!("month {m} is not between 1 and 12")));
            }
            months.push(m);
        } else if let Some(i) = MONTH_NAMES.iter().position(|name| part.len() >= 3 && name.to_lowercase().starts_with(&part.to_lowercase())) {
            months.push(i as u32 + 1);
        } else {
            return Err(Error::Usage(format!("month '{part}' is not a season (DJF, MAM, JJA, SON), a month number or a month name")));
        }
    }
    months.sort_unstable();
    months.dedup();
    Ok(months)
}

/// The shortest spec [`parse_months`] reads back as `months`: a season code where the
/// months are exactly one season, else the month numbers.
pub fn months_spec(months: &[u32]) -> String {
    let mut sorted = months.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for (code, season) in SEASONS {
        let mut s = season.to_vec();
        s.sort_unstable();
        if s == sorted {
            return code.to_string();
        }
    }
    sorted.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// Index of a region by name, ignoring ASCII case.
pub fn find_region(name: &str) -> Option<usize> {
    REGIONS.iter().position(|r| r.eq_ignore_ascii_case(name.trim()))
}

/// The canonical spelling of a phenomenon, ignoring ASCII case.
pub fn find_phenomenon(name: &str) -> Option<&'static str> {
    PHENOMENA.iter().copied().find(|p| p.eq_ignore_ascii_case(name.trim()))
}

fn bad(key: &'static str, value: &str, reason: impl Into<String>) -> Error {
    Error::Filter { key, value: value.to_string(), reason: reason.into() }
}

fn date(key: &'static str, value: &str) -> Result<Date> {
    Date::parse(value.trim()).map_err(|reason| bad(key, value, reason))
}

impl Filters {
    /// Checks filters as typed; the first bad value is an [`Error::Filter`] naming the
    /// parameter (`from`, `to`, `months`, `region`, `phenomenon`) and the value.
    ///
    /// ```
    /// use skycase_core::filters::{FilterArgs, Filters};
    /// let args = FilterArgs { phenomenon: Some("typhoon".into()), ..Default::default() };
    /// assert_eq!(Filters::parse(&args).unwrap().phenomenon.as_deref(), Some("Typhoon"));
    /// let args = FilterArgs { from: Some("garbage".into()), ..Default::default() };
    /// assert_eq!(Filters::parse(&args).unwrap_err().to_string(), "from \"garbage\": not a date in YYYY-MM-DD form");
    /// ```
    pub fn parse(args: &FilterArgs) -> Result<Filters> {
        let from = args.from.as_deref().map(|v| date("from", v)).transpose()?;
        let to = args.to.as_deref().map(|v| date("to", v)).transpose()?;
        if let (Some(from), Some(to), Some(raw)) = (from, to, args.to.as_deref()) {
            if to < from {
                return Err(bad("to", raw, format!("the range ends before it starts (from {from})")));
            }
        }
        let months = match args.months.as_deref() {
            Some(spec) => {
                let months = parse_months(spec).map_err(|e| bad("months", spec, e.to_string()))?;
                if months.is_empty() {
                    return Err(bad("months", spec, "names no month (give a season such as SON, month numbers or names)"));
                }
                months
            }
            None => vec![],
        };
        let region = match args.region.as_deref() {
            Some(name) => Some(find_region(name).ok_or_else(|| bad("region", name, format!("not one of: {}", REGIONS.join(", "))))?),
            None => None,
        };
        let phenomenon = match args.phenomenon.as_deref() {
            Some(name) => Some(find_phenomenon(name).ok_or_else(|| bad("phenomenon", name, format!("not one of: {}", PHENOMENA.join(", "))))?),
            None => None,
        };
        let source = args.source.as_deref().map(|v| parse_source(v).map_err(|reason| bad("source", v, reason))).transpose()?;
        Ok(Filters { from: from.map(|d| d.to_string()), to: to.map(|d| d.to_string()), months, region, phenomenon: phenomenon.map(str::to_string), source })
    }

    /// Whether frames of `origin` may be ranked: those the source filter keeps, or without
    /// one those of a calibrated origin ([`crate::source::calibrated`]).
    pub fn searches_origin(&self, origin: &str) -> bool {
        match &self.source {
            Some(s) => s.keeps(origin),
            None => crate::source::calibrated(origin),
        }
    }

    /// True if the frame passes every filter. Dates are compared as dates; a bound that is
    /// not a date (only possible in a value built by hand, not by [`Filters::parse`]) keeps
    /// nothing rather than something arbitrary. Without a source filter, frames of an
    /// uncalibrated origin are not kept ([`crate::source::calibrated`]).
    pub fn keeps(&self, rec: &FrameRecord) -> bool {
        if !self.searches_origin(&rec.origin) {
            return false;
        }
        let bound = |b: &Option<String>| b.as_deref().map(|s| Date::parse(s).ok());
        let (from, to) = (bound(&self.from), bound(&self.to));
        if from.is_some() || to.is_some() || !self.months.is_empty() {
            let Some(date) = rec.time.get(..10).and_then(|d| Date::parse(d).ok()) else { return false };
            let before = |b: Option<Option<Date>>, ord: Ordering| b.is_some_and(|b| b.is_none_or(|b| date.cmp(&b) == ord));
            if before(from, Ordering::Less) || before(to, Ordering::Greater) {
                return false;
            }
            if !self.months.is_empty() && !self.months.contains(&date.month()) {
                return false;
            }
        }
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match (self.region, self.phenomenon.as_deref()) {
            (Some(r), Some(p)) => phenomenon_of(&rec.caption, r).is_some_and(|q| same(q, p)),
            (Some(r), None) => phenomenon_of(&rec.caption, r).is_some(),
            (None, Some(p)) => rec.caption.lines().filter_map(parse_bullet).any(|(_, q)| PHENOMENA.contains(&q) && same(q, p)),
            (None, None) => true,
        }
    }

    /// Whether the vector named `name` (a region name, or `global` for an index with one
    /// vector per frame) may be the match of frame `rec`: with a region filter only that
    /// region's; with a phenomenon filter only a region whose caption line gives that
    /// phenomenon. A vector that is no region's is decided by [`keeps`](Self::keeps) alone.
    ///
    /// ```
    /// use skycase_core::filters::Filters;
    /// use skycase_core::FrameRecord;
    /// let rec = FrameRecord { caption: "- Mongolia - Clear\n- Kyushu (Japan) - Rain".into(), ..Default::default() };
    /// let kyushu = Filters { region: Some(8), ..Default::default() };
    /// assert!(kyushu.allows_vector(&rec, "Kyushu (Japan)") && !kyushu.allows_vector(&rec, "Mongolia"));
    /// let clear = Filters { phenomenon: Some("Clear".into()), ..Default::default() };
    /// assert!(clear.allows_vector(&rec, "Mongolia") && !clear.allows_vector(&rec, "Kyushu (Japan)"));
    /// ```
    pub fn allows_vector(&self, rec: &FrameRecord, name: &str) -> bool {
        let Some(r) = skycase_vocab::region_index(name) else { return true };
        if self.region.is_some_and(|want| want != r) {
            return false;
        }
        match self.phenomenon.as_deref() {
            Some(p) => phenomenon_of(&rec.caption, r).is_some_and(|q| q.eq_ignore_ascii_case(p)),
            None => true,
        }
    }

    /// The regions a query is scored on: the region filter if set (it overrides the regions
    /// the query names, so "typhoon near Kyushu" with Region = Honshu ranks Honshu), else
    /// `named`.
    pub fn bind(&self, named: &[usize]) -> Vec<usize> {
        match self.region {
            Some(r) => vec![r],
            None => named.to_vec(),
        }
    }

    /// True if the filters restrict which region may match (region or phenomenon set).
    pub fn restricts_regions(&self) -> bool {
        self.region.is_some() || self.phenomenon.is_some()
    }

    /// The filters as URL query parameters (`from`, `to`, `months`, `region` by name,
    /// `phenomenon`), unset ones left out, so a search can be shared as a link.
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        let mut put = |key, value: Option<String>| params.extend(value.map(|v| (key, v)));
        put("from", self.from.clone());
        put("to", self.to.clone());
        put("months", (!self.months.is_empty()).then(|| months_spec(&self.months)));
        put("region", self.region.and_then(|r| REGIONS.get(r)).map(|r| r.to_string()));
        put("phenomenon", self.phenomenon.clone());
        put("source", self.source.as_ref().map(|s| s.key().to_string()));
        params
    }

    /// Reads the filters back from URL parameters (`get` returns a parameter's value).
    /// A link is typed or edited by people, so each value goes through [`Filters::parse`]
    /// on its own and one it refuses is dropped, not an error: the page still opens, with
    /// that filter unset. A reversed date range drops both dates.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |key: &str| get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let one = |args: FilterArgs| Filters::parse(&args).ok();
        let from = one(FilterArgs { from: get("from"), ..Default::default() }).and_then(|f| f.from);
        let to = one(FilterArgs { to: get("to"), ..Default::default() }).and_then(|f| f.to);
        let (from, to) = match one(FilterArgs { from: from.clone(), to: to.clone(), ..Default::default() }) {
            Some(_) => (from, to),
            None => (None, None),
        };
        Filters {
            from,
            to,
            months: one(FilterArgs { months: get("months"), ..Default::default() }).map(|f| f.months).unwrap_or_default(),
            region: one(FilterArgs { region: get("region"), ..Default::default() }).and_then(|f| f.region),
            phenomenon: one(FilterArgs { phenomenon: get("phenomenon"), ..Default::default() }).and_then(|f| f.phenomenon),
            source: one(FilterArgs { source: get("source"), ..Default::default() }).and_then(|f| f.source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(time: &str, caption: &str) -> FrameRecord {
        FrameRecord { id: time.into(), time: time.into(), caption: caption.into(), thumb: String::new(), source: String::new(), origin: String::new() }
    }

    fn args(pairs: &[(&str, &str)]) -> FilterArgs {
        let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string());
        FilterArgs { from: get("from"), to: get("to"), months: get("months"), region: get("region"), phenomenon: get("phenomenon"), source: get("source") }
    }

    fn parse_err(pairs: &[(&str, &str)]) -> String {
        Filters::parse(&args(pairs)).unwrap_err().to_string()
    }

    #[test]
    fn filters_by_date_month_region_and_phenomenon() {
        let r = rec("2017-11-20T03:00Z", "- Korean Peninsula - Snow\n- Mongolia - Clear");
        assert!(Filters::default().keeps(&r));
        assert!(Filters { from: Some("2017-11-20".into()), to: Some("2017-11-20".into()), ..Default::default() }.keeps(&r));
        assert!(!Filters { from: Some("2017-11-21".into()), ..Default::default() }.keeps(&r));
        assert!(!Filters { months: vec![12, 1], ..Default::default() }.keeps(&r));
        assert!(Filters { region: Some(0), phenomenon: Some("Snow".into()), ..Default::default() }.keeps(&r));
        assert!(!Filters { region: Some(1), phenomenon: Some("Snow".into()), ..Default::default() }.keeps(&r));
        assert!(Filters { phenomenon: Some("Clear".into()), ..Default::default() }.keeps(&r));
        assert!(!Filters { phenomenon: Some("Typhoon".into()), ..Default::default() }.keeps(&r));
    }

    #[test]
    fn region_and_phenomenon_decide_which_vector_may_match() {
        // See: issue 13 ("Region = Kyushu still lists 'Mongolia - Clear'", "Typhoon keeps
        // frames with a typhoon anywhere, so cards read 'Kyushu - Rain'").
        let r = rec("2017-11-20T03:00Z", "- Mongolia - Clear\n- Kyushu (Japan) - Rain\n- Philippine Sea - Typhoon");
        let kyushu = Filters { region: Some(8), ..Default::default() };
        assert!(kyushu.keeps(&r));
        assert!(kyushu.allows_vector(&r, "Kyushu (Japan)"));
        assert!(!kyushu.allows_vector(&r, "Mongolia"));
        let typhoon = Filters { phenomenon: Some("typhoon".into()), ..Default::default() };
        assert!(typhoon.keeps(&r));
        assert!(typhoon.allows_vector(&r, "Philippine Sea"));
        assert!(!typhoon.allows_vector(&r, "Kyushu (Japan)"));
        assert!(!typhoon.allows_vector(&r, "Mongolia"));
        let kyushu_typhoon = Filters { region: Some(8), phenomenon: Some("Typhoon".into()), ..Default::default() };
        assert!(!kyushu_typhoon.keeps(&r));
        assert!(!kyushu_typhoon.allows_vector(&r, "Philippine Sea") && !kyushu_typhoon.allows_vector(&r, "Kyushu (Japan)"));
        // A global vector is the frame's: the frame-level check decides.
        assert!(typhoon.allows_vector(&r, "global"));
        // The region filter overrides the regions the query names.
        assert_eq!(kyushu.bind(&[1, 2]), [8]);
        assert_eq!(Filters::default().bind(&[1, 2]), [1, 2]);
    }

    #[test]
    fn calendar_dates_are_checked() {
        assert_eq!(Date::parse("2017-11-03").unwrap().to_string(), "2017-11-03");
        assert!(Date::parse("2016-02-29").is_ok());
        assert!(Date::parse("2000-02-29").is_ok());
        assert_eq!(Date::parse("1900-02-29").unwrap_err(), "1900-02 has no day 29");
        assert_eq!(Date::parse("2017-02-30").unwrap_err(), "2017-02 has no day 30");
        assert_eq!(Date::parse("2017-04-31").unwrap_err(), "2017-04 has no day 31");
        assert_eq!(Date::parse("2017-13-01").unwrap_err(), "month 13 is not between 1 and 12");
        assert_eq!(Date::parse("2017-11-00").unwrap_err(), "2017-11 has no day 0");
        assert_eq!(Date::parse("2017-11-3").unwrap_err(), "not a date in YYYY-MM-DD form (did you mean 2017-11-03?)");
        assert_eq!(Date::parse("2017-1-3").unwrap_err(), "not a date in YYYY-MM-DD form (did you mean 2017-01-03?)");
        assert_eq!(Date::parse("2017-2-30").unwrap_err(), "not a date in YYYY-MM-DD form");
        for bad in ["garbage", "", "2017/11/03", "20171103", "2017-11-03T00:00Z", "+017-11-03", "2017-11--3", "٢٠١٧-١١-٠٣"] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_compare_as_dates_not_text() {
        // Text comparison would keep 2017-11-30 for "from 2017-11-3" and drop 2017-11-05.
        let f = Filters { from: Some("2017-11-03".into()), ..Default::default() };
        assert!(f.keeps(&rec("2017-11-05T00:00Z", "")));
        assert!(f.keeps(&rec("2017-11-30T00:00Z", "")));
        assert!(!f.keeps(&rec("2017-11-02T21:00Z", "")));
        // A hand-built bound that is not a date keeps nothing instead of comparing text.
        let f = Filters { from: Some("2017-11-3".into()), ..Default::default() };
        assert!(!f.keeps(&rec("2017-11-30T00:00Z", "")));
        // A frame whose time has no date cannot pass a date or month filter.
        assert!(!Filters { months: vec![11], ..Default::default() }.keeps(&rec("garbage", "")));
    }

    #[test]
    fn strict_parse_names_the_parameter_and_value() {
        assert_eq!(parse_err(&[("from", "garbage")]), "from \"garbage\": not a date in YYYY-MM-DD form");
        assert_eq!(parse_err(&[("to", "2017-02-30")]), "to \"2017-02-30\": 2017-02 has no day 30");
        assert_eq!(parse_err(&[("from", "2017-11-3")]), "from \"2017-11-3\": not a date in YYYY-MM-DD form (did you mean 2017-11-03?)");
        assert_eq!(parse_err(&[("from", "2017-11-20"), ("to", "2017-11-01")]), "to \"2017-11-01\": the range ends before it starts (from 2017-11-20)");
        assert_eq!(parse_err(&[("months", "")]), "months \"\": names no month (give a season such as SON, month numbers or names)");
        assert_eq!(parse_err(&[("months", " , ")]), "months \" , \": names no month (give a season such as SON, month numbers or names)");
        assert!(parse_err(&[("months", "winter")]).starts_with("months \"winter\": month 'winter' is not a season"));
        assert!(parse_err(&[("region", "Atlantis")]).starts_with("region \"Atlantis\": not one of: Korean Peninsula, "));
        assert_eq!(parse_err(&[("phenomenon", "Hail")]), "phenomenon \"Hail\": not one of: Snow, Clear, Cloudy, Rain, Typhoon");
    }

    #[test]
    fn names_match_without_regard_to_case() {
        let f = Filters::parse(&args(&[("phenomenon", "typhoon"), ("region", "south china sea")])).unwrap();
        assert_eq!((f.phenomenon.as_deref(), f.region), (Some("Typhoon"), Some(11)));
        let typhoon = rec("2017-11-10T12:00Z", "- South China Sea - Typhoon");
        assert!(f.keeps(&typhoon));
        // Hand-built lower-case values match too.
        assert!(Filters { phenomenon: Some("typhoon".into()), ..Default::default() }.keeps(&typhoon));
        let same_day = Filters::parse(&args(&[("from", "2017-11-10"), ("to", "2017-11-10"), ("months", "nov")])).unwrap();
        assert_eq!(same_day, Filters { from: Some("2017-11-10".into()), to: Some("2017-11-10".into()), months: vec![11], ..Default::default() });
    }

    #[test]
    fn month_specs_parse_seasons_numbers_and_names() {
        assert_eq!(parse_months("").unwrap(), Vec::<u32>::new());
        assert_eq!(parse_months("djf").unwrap(), [1, 2, 12]);
        assert_eq!(parse_months("SON").unwrap(), [9, 10, 11]);
        assert_eq!(parse_months("11").unwrap(), [11]);
        assert_eq!(parse_months("Dec, jan,dec").unwrap(), [1, 12]);
        assert_eq!(parse_months("november,MAM").unwrap(), [3, 4, 5, 11]);
        let err = parse_months("13").unwrap_err().to_string();
        assert_eq!(err, "month 13 is not between 1 and 12");
        let err = parse_months("11,winter").unwrap_err().to_string();
        assert!(err.starts_with("month 'winter' is not a season"), "{err}");
        // Two letters are too few to name a month ("ma": March or May?).
        assert!(parse_months("ma").is_err());
    }

    #[test]
    fn month_specs_round_trip() {
        for spec in ["DJF", "MAM", "JJA", "SON", "11", "1,12", "3,4,5,11"] {
            assert_eq!(months_spec(&parse_months(spec).unwrap()), spec);
        }
    }

    #[test]
    fn season_filter_keeps_frames_of_its_months() {
        let nov = rec("2017-11-20T03:00Z", "- Korean Peninsula - Snow");
        let jan = rec("2018-01-05T00:00Z", "- Korean Peninsula - Snow");
        let son = Filters { months: parse_months("SON").unwrap(), ..Default::default() };
        let djf = Filters { months: parse_months("DJF").unwrap(), ..Default::default() };
        assert!(son.keeps(&nov) && !son.keeps(&jan));
        assert!(!djf.keeps(&nov) && djf.keeps(&jan));
    }

    #[test]
    fn filters_round_trip_through_url_params() {
        let f = Filters {
            from: Some("2017-11-02".into()),
            to: Some("2017-11-20".into()),
            months: vec![12, 1, 2],
            region: Some(7),
            phenomenon: Some("Snow".into()),
            ..Default::default()
        };
        let params = f.to_params();
        assert_eq!(
            params,
            [("from", "2017-11-02"), ("to", "2017-11-20"), ("months", "DJF"), ("region", "Hokkaido (Japan)"), ("phenomenon", "Snow")]
                .map(|(k, v)| (k, v.to_string()))
        );
        let get = |key: &str| params.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
        assert_eq!(Filters::from_params(get), Filters { months: vec![1, 2, 12], ..f });
        assert!(Filters::default().to_params().is_empty());
    }

    #[test]
    fn unreadable_url_params_leave_the_filter_unset() {
        let bad = [("from", "yesterday"), ("to", "2017-1-1"), ("months", "winter"), ("region", "Atlantis"), ("phenomenon", "Hail")];
        let get = |key: &str| bad.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string());
        assert_eq!(Filters::from_params(get), Filters::default());
    }

    #[test]
    fn url_params_go_through_the_strict_parser() {
        let read = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            Filters::from_params(move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
        };
        // Same answers as the CLI: impossible dates dropped, names canonicalised.
        assert_eq!(read(&[("from", "2017-02-30"), ("to", "2017-03-01")]).from, None);
        assert_eq!(read(&[("from", "2017-02-30"), ("to", "2017-03-01")]).to.as_deref(), Some("2017-03-01"));
        assert_eq!(read(&[("phenomenon", "typhoon")]).phenomenon.as_deref(), Some("Typhoon"));
        assert_eq!(read(&[("region", "KYUSHU (JAPAN)")]).region, Some(8));
        // A reversed range drops both ends: the page opens unfiltered rather than empty.
        let reversed = read(&[("from", "2017-11-20"), ("to", "2017-11-01")]);
        assert_eq!((reversed.from, reversed.to), (None, None));
    }

    #[test]
    fn source_filter_parses_strictly_round_trips_and_keeps_by_origin() {
        let mut kma = rec("2012-12-22T01:00Z", "- Korean Peninsula - Snow");
        kma.origin = "kma".into();
        let mut sim = rec("2017-11-20T03:00Z", "- Korean Peninsula - Snow");
        sim.origin = "simulated".into();
        let mut coms = rec("2011-12-31T00:00Z", "- Korean Peninsula - Snow");
        coms.origin = "coms".into();
        let unknown = rec("2017-11-20T03:00Z", "- Korean Peninsula - Snow");
        // `real` keeps the calibrated real frames; KMA's uncalibrated PNG frames only when named.
        let f = Filters::parse(&args(&[("source", "REAL")])).unwrap();
        assert!(f.keeps(&coms) && !f.keeps(&kma) && !f.keeps(&sim) && !f.keeps(&unknown));
        assert!(Filters::parse(&args(&[("source", "kma")])).unwrap().keeps(&kma));
        let all = Filters::default();
        assert!(all.keeps(&coms) && all.keeps(&sim) && all.keeps(&unknown) && !all.keeps(&kma));
        let f = Filters::parse(&args(&[("source", "simulated"), ("phenomenon", "snow")])).unwrap();
        assert!(!f.keeps(&kma) && f.keeps(&sim));
        assert_eq!(parse_err(&[("source", "himawari")]), "source \"himawari\": not one of: real, simulated, coms, kma, gk2a, digital-typhoon, png-sidecar");
        let params = Filters::parse(&args(&[("source", "Digital-Typhoon")])).unwrap().to_params();
        assert_eq!(params, [("source", "digital-typhoon".to_string())]);
        let get = |key: &str| params.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
        assert_eq!(Filters::from_params(get).source, Some(SourceFilter::Origin("digital-typhoon".into())));
        // A link with an unknown source opens unfiltered.
        assert_eq!(Filters::from_params(|k| (k == "source").then(|| "himawari".to_string())), Filters::default());
    }
}
