//! Periods written in a query: "snow over Hokkaido in December", "typhoon October 2007",
//! "2017년 11월 남중국해 태풍", "rain on 2017-11-06".
//!
//! People looking for past weather say when. A query that writes a period is answered from
//! that period only: a year, a month of a year or a day narrows the date filters, a month or a
//! season the months filter ([`narrow`]). The period's words are left out of the text
//! that is embedded (the text encoders read "2007" or "11월" as noise), and the app and
//! `skycase search` say which period they searched above the results ([`PeriodNote`]). A
//! period outside the filters the user set leaves them as set, and the note says so.
//!
//! Read ([`read`]): a year 1950–2100 ("2007", "2007년"); a month by its English name, full or
//! abbreviated ("October", "Oct", "Sept"; "May" and "March" only when capitalised: "it may
//! snow"), or in Korean ("10월"); a month with its year in either order ("October 2007",
//! "2007년 10월"); a day of a named month ("3 November 2017", "November 3, 2017",
//! "2017년 11월 3일"); ISO dates ("2017-11-03", "2017-11"); a season, with or without a year
//! ("winter", "summer 2017", "여름철", "2018년 가을": the meteorological seasons, December–
//! February for winter; "fall" only next to a year, "봄" only as a word of its own or with a
//! particle or 철; "spring" not after "hot" nor before "tide"). Only the first period of a
//! query is read. The words that introduce it go with it ("in early November" is November: "in",
//! "during", "on", "of", "for", "from", "early", "mid", "late"). A year followed by a unit
//! ("2000 mm") is a quantity, not a year.

use serde::{Deserialize, Serialize};

use crate::filters::{Date, Filters};

/// A period a query writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// The words as written ("October 2007", "2017년 11월").
    pub said: String,
    /// First and last day (`YYYY-MM-DD`), when the query writes a year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The months (1–12) it keeps: a month written without a year, or a season's three.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<u32>,
}

/// What the app and `skycase search` say above the results of a query that writes a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodNote {
    pub period: Period,
    /// Whether the period narrowed the filters (false: it lies outside them, and the results
    /// ignore it).
    pub applied: bool,
}

/// English month names, January first.
pub const MONTHS: [&str; 12] = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

impl PeriodNote {
    /// The line shown in English (the app's Korean one is in its i18n table).
    pub fn english(&self) -> String {
        let p = &self.period;
        let months = p.months.iter().map(|&m| MONTHS[m as usize - 1]).collect::<Vec<_>>();
        let months = match months.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => months.concat(),
        };
        match (self.applied, &p.from, &p.to, months.is_empty()) {
            (false, ..) => format!("{} (from the query) lies outside the date filters: the results ignore it.", p.said),
            (true, Some(from), Some(to), true) if from == to => format!("{} (from the query): the results are frames of {from}.", p.said),
            (true, Some(from), Some(to), true) => format!("{} (from the query): the results are frames of {from} – {to}.", p.said),
            (true, Some(from), Some(to), false) => format!("{} (from the query): the results are frames of {months} within {from} – {to}.", p.said),
            (true, _, _, false) => format!("{} (from the query): the results are frames of {months}, any year.", p.said),
            (true, ..) => format!("{} (from the query).", p.said),
        }
    }
}

/// Words that may introduce a period ("in December", "in early November").
const LEADING: &[&str] = &["in", "during", "on", "of", "for", "from", "early", "mid", "late"];
/// Units after which a number is a quantity ("2000 mm").
const UNITS: &[&str] = &["mm", "cm", "km", "m", "hpa", "mb", "kt", "kts", "knots", "meters", "metres", "miles", "people", "km/h", "m/s"];

/// One word of a period.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Year(u32),
    Month(u32),
    Day(u32),
    /// A whole date ("2017-11-03"): year, month, day.
    Date(u32, u32, u32),
    /// A number 1–31: a day, next to a month name.
    Number(u32),
    /// A season: an index into [`crate::filters::SEASONS`] (winter, spring, summer, autumn;
    /// meteorological: December–February is winter).
    Season(usize),
}

/// Punctuation around a period's words ("Oct.", "(2017)", "November 3,").
fn is_punctuation(c: char) -> bool {
    matches!(c, ',' | '.' | ';' | ':' | '!' | '?' | '(' | ')' | '"' | '\'' | '“' | '”')
}

/// The period parts of one word (its punctuation trimmed), if it is one.
fn parts(word: &str) -> Vec<Part> {
    let w = word.trim_matches(is_punctuation);
    if w.is_empty() {
        return Vec::new();
    }
    // ISO: 2017-11-03, 2017-11.
    if Date::parse(w).is_ok() {
        let n = |r: std::ops::Range<usize>| w[r].parse().expect("a checked date");
        return vec![Part::Date(n(0..4), n(5..7), n(8..10))];
    }
    if let Some((y, m)) = w.split_once('-').filter(|(y, m)| y.len() == 4 && m.len() == 2) {
        if let (Ok(y), Ok(m)) = (y.parse::<u32>(), m.parse::<u32>()) {
            if is_year(y) && (1..=12).contains(&m) {
                return vec![Part::Year(y), Part::Month(m)];
            }
        }
    }
    // Korean: digits and a unit (년, 월, 일), repeated ("2017년11월"), then any particle.
    if w.chars().next().is_some_and(|c| c.is_ascii_digit()) && w.contains(['년', '월', '일']) {
        let mut out = Vec::new();
        let mut rest = w;
        while let Some(n) = rest.find(|c: char| !c.is_ascii_digit()).filter(|&n| n > 0) {
            let Ok(v) = rest[..n].parse::<u32>() else { break };
            let unit = rest[n..].chars().next().unwrap();
            let part = match unit {
                '년' if is_year(v) => Part::Year(v),
                '월' if (1..=12).contains(&v) => Part::Month(v),
                '일' if (1..=31).contains(&v) => Part::Day(v),
                _ => break,
            };
            out.push(part);
            rest = &rest[n + unit.len_utf8()..];
        }
        // What is left is a particle ("에", "의", "부터") or nothing; "3일간" and the like too.
        return if rest.chars().all(skycase_vocab::gazetteer::is_hangul) { out } else { Vec::new() };
    }
    if let Some(s) = korean_season(w) {
        return vec![Part::Season(s)];
    }
    let lower = w.to_lowercase();
    if let Some(m) = month_of(w, &lower) {
        return vec![Part::Month(m)];
    }
    if let Some(s) = ["winter", "spring", "summer", "autumn"].iter().position(|s| lower == *s || lower == format!("{s}time") || lower == format!("{s}s")) {
        return vec![Part::Season(s)];
    }
    if lower == "fall" {
        return vec![Part::Season(FALL)];
    }
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &lower[digits.len()..];
    if let Ok(v) = digits.parse::<u32>() {
        if digits.len() == 4 && suffix.is_empty() && is_year(v) {
            return vec![Part::Year(v)];
        }
        if (1..=31).contains(&v) && digits.len() <= 2 && matches!(suffix, "" | "st" | "nd" | "rd" | "th") {
            return vec![Part::Number(v)];
        }
    }
    Vec::new()
}

/// "fall" is autumn only next to a year ("fall 2017"; "snow falls" is no season).
const FALL: usize = 4;

/// A Korean season word: 겨울, 봄, 여름, 가을, alone or with 철 ("season") and a particle.
fn korean_season(w: &str) -> Option<usize> {
    ["겨울", "봄", "여름", "가을"].iter().position(|s| {
        w.strip_prefix(s).is_some_and(|rest| {
            let rest = rest.strip_prefix('철').unwrap_or(rest);
            rest.is_empty() || ["에", "에는", "의", "철", "이", "은", "에도", "부터", "까지", "내내"].contains(&rest)
        })
    })
}

fn is_year(y: u32) -> bool {
    (1950..=2100).contains(&y)
}

/// The month a word names: a full English name or its abbreviation in any case, except "may"
/// and "march", which must be capitalised ("it may snow", "the march of a front").
fn month_of(word: &str, lower: &str) -> Option<u32> {
    const SHORT: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let capitalised = word.chars().next().is_some_and(char::is_uppercase);
    let m = MONTHS.iter().position(|name| name.eq_ignore_ascii_case(lower)).or_else(|| match lower {
        "sept" => Some(8),
        "mar" => None,
        _ => SHORT.iter().position(|s| *s == lower),
    })?;
    (capitalised || !matches!(m, 2 | 4)).then_some(m as u32 + 1)
}

/// The first period `text` writes, and the text without it (and the words introducing it);
/// the text as it is when nothing else would be left ("October 2007" alone).
pub fn read(text: &str) -> Option<(Period, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut parsed: Vec<Vec<Part>> = words.iter().map(|w| parts(w)).collect();
    // "a hot spring", "spring tides": a spring that is no season.
    for (i, part) in parsed.iter_mut().enumerate() {
        let word = |j: usize| words.get(j).map(|w| w.to_lowercase()).unwrap_or_default();
        if *part == [Part::Season(1)] && (i > 0 && word(i - 1) == "hot" || word(i + 1).starts_with("tide")) {
            part.clear();
        }
    }
    for start in 0..words.len() {
        if parsed[start].is_empty() {
            continue;
        }
        // The run of period words from here, one year, month, day and season at most.
        let (mut year, mut month, mut day, mut number, mut season) = (None, None, None, None, None);
        let mut end = start;
        'run: while end < words.len() && !parsed[end].is_empty() {
            for &part in &parsed[end] {
                let slot = match part {
                    Part::Year(_) => &mut year,
                    Part::Month(_) => &mut month,
                    Part::Day(_) | Part::Date(..) => &mut day,
                    Part::Number(_) => &mut number,
                    Part::Season(_) => &mut season,
                };
                if slot.is_some() {
                    break 'run;
                }
                *slot = Some(part);
            }
            end += 1;
        }
        // A year followed by a unit is a quantity; a run of bare numbers is no period.
        if let (Some(_), Some(next)) = (year, words.get(end)) {
            if month.is_none() && UNITS.contains(&next.to_lowercase().trim_matches(|c: char| !c.is_alphanumeric() && c != '/')) {
                continue;
            }
        }
        // What the run says: its first and last day when a year is written, and the months it
        // keeps (a month without a year, a season's three). "fall" needs a year.
        if season == Some(Part::Season(FALL)) && year.is_none() {
            continue;
        }
        let ymd = |y: u32, m: u32, d: u32| format!("{y:04}-{m:02}-{d:02}");
        let whole_year = |y: u32| (ymd(y, 1, 1), ymd(y, 12, 31));
        let (days, months) = match (season, year, month, day, number) {
            (Some(Part::Season(s)), year, None, _, _) => {
                let days = match year {
                    Some(Part::Year(y)) => Some(whole_year(y)),
                    _ => None,
                };
                (days, crate::filters::SEASONS[if s == FALL { 3 } else { s }].1.to_vec())
            }
            (_, _, _, Some(Part::Date(y, m, d)), _)
            | (_, Some(Part::Year(y)), Some(Part::Month(m)), Some(Part::Day(d)), _)
            | (_, Some(Part::Year(y)), Some(Part::Month(m)), _, Some(Part::Number(d))) => match Date::parse(&ymd(y, m, d)) {
                Ok(_) => (Some((ymd(y, m, d), ymd(y, m, d))), Vec::new()),
                Err(_) => continue,
            },
            (_, Some(Part::Year(y)), Some(Part::Month(m)), _, _) => (Some((ymd(y, m, 1), ymd(y, m, days_in(y, m)))), Vec::new()),
            (_, Some(Part::Year(y)), None, _, _) => (Some(whole_year(y)), Vec::new()),
            (_, None, Some(Part::Month(m)), _, _) => (None, vec![m]),
            _ => continue,
        };
        let (from, to) = days.unzip();
        let period = Period { said: said(&words[start..end]), from, to, months };
        return Some((period, without(&words, start, end, text)));
    }
    None
}

/// The period's words as written, their outer punctuation and a trailing particle dropped.
fn said(words: &[&str]) -> String {
    let joined = words.join(" ");
    let trimmed = joined.trim_matches(is_punctuation);
    // "11월에" → "11월": keep up to the last unit.
    match trimmed.rfind(['년', '월', '일']) {
        Some(i) if trimmed.chars().any(|c| c.is_ascii_digit()) && !trimmed.is_ascii() => trimmed[..i + '월'.len_utf8()].to_string(),
        _ => trimmed.to_string(),
    }
}

/// `text` without `words[start..end]` and the words introducing them; `text` itself when no
/// letter would be left.
fn without(words: &[&str], start: usize, end: usize, text: &str) -> String {
    let mut from = start;
    while from > 0 && LEADING.contains(&words[from - 1].to_lowercase().as_str()) {
        from -= 1;
    }
    let kept: Vec<&str> = words[..from].iter().chain(&words[end..]).copied().collect();
    let joined = kept.join(" ");
    let cleaned = joined.trim_matches(|c: char| c == ',' || c.is_whitespace()).to_string();
    if cleaned.chars().any(char::is_alphabetic) {
        cleaned
    } else {
        text.to_string()
    }
}

fn days_in(year: u32, month: u32) -> u32 {
    (28..=31).rev().find(|d| Date::parse(&format!("{year:04}-{month:02}-{d:02}")).is_ok()).unwrap_or(28)
}

/// The months (1–12) that the days `from` … `to` (`YYYY-MM-DD`) touch.
fn months_between(from: &str, to: &str) -> Vec<u32> {
    let ym = |s: &str| -> Option<(u32, u32)> { Some((s.get(..4)?.parse().ok()?, s.get(5..7)?.parse().ok()?)) };
    let (Some((mut y, mut m)), Some(end)) = (ym(from), ym(to)) else { return (1..=12).collect() };
    let mut out = Vec::new();
    while (y, m) <= end && out.len() < 12 {
        out.push(m);
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

/// `filters` narrowed to `period`, or `None` when they leave none of its days.
pub fn narrow(filters: &Filters, period: &Period) -> Option<Filters> {
    // The months kept: the period's within the filters' (either alone when the other has none).
    let months: Vec<u32> = match (period.months.is_empty(), filters.months.is_empty()) {
        (true, _) => filters.months.clone(),
        (false, true) => period.months.clone(),
        (false, false) => period.months.iter().copied().filter(|m| filters.months.contains(m)).collect(),
    };
    if months.is_empty() && !(period.months.is_empty() && filters.months.is_empty()) {
        return None;
    }
    let from = match (&period.from, &filters.from) {
        (Some(p), Some(f)) => Some(p.max(f).clone()),
        (p, f) => p.clone().or(f.clone()),
    };
    let to = match (&period.to, &filters.to) {
        (Some(p), Some(t)) => Some(p.min(t).clone()),
        (p, t) => p.clone().or(t.clone()),
    };
    // Some day left: the dates in order, and one of the kept months among them.
    let some_day = match (&from, &to) {
        (Some(f), Some(t)) => f <= t && (months.is_empty() || months_between(f, t).iter().any(|m| months.contains(m))),
        _ => true,
    };
    some_day.then(|| Filters { from, to, months, ..filters.clone() })
}

/// The period `text` writes, the filters narrowed to it, and the text to embed:
/// `(filters, note, text)`; the filters and text as they are when it writes none.
pub fn for_query(text: &str, filters: &Filters) -> (Filters, Option<PeriodNote>, String) {
    let Some((period, rest)) = read(text) else { return (filters.clone(), None, text.to_string()) };
    match narrow(filters, &period) {
        Some(narrowed) => (narrowed, Some(PeriodNote { period, applied: true }), rest),
        None => (filters.clone(), Some(PeriodNote { period, applied: false }), rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(q: &str) -> Option<(Option<String>, Option<String>, Option<u32>, String, String)> {
        read(q).map(|(p, rest)| (p.from, p.to, p.months.first().copied().filter(|_| p.months.len() == 1), p.said, rest))
    }

    fn days(q: &str) -> (String, String) {
        let (p, _) = read(q).unwrap_or_else(|| panic!("{q}: no period"));
        (p.from.unwrap(), p.to.unwrap())
    }

    #[test]
    fn years_months_and_days_in_english() {
        assert_eq!(days("typhoon October 2007"), ("2007-10-01".into(), "2007-10-31".into()));
        assert_eq!(days("typhoon in Oct. 2007"), ("2007-10-01".into(), "2007-10-31".into()));
        assert_eq!(days("snow in 2012"), ("2012-01-01".into(), "2012-12-31".into()));
        assert_eq!(days("snow in February 2016"), ("2016-02-01".into(), "2016-02-29".into()), "leap year");
        assert_eq!(days("rain on 3 November 2017"), ("2017-11-03".into(), "2017-11-03".into()));
        assert_eq!(days("rain on November 3rd, 2017 over Kyushu"), ("2017-11-03".into(), "2017-11-03".into()));
        assert_eq!(days("rain 2017-11-06"), ("2017-11-06".into(), "2017-11-06".into()));
        assert_eq!(days("rain 2017-11"), ("2017-11-01".into(), "2017-11-30".into()));
        let (_, _, month, said, rest) = period("snow over Hokkaido in early December").unwrap();
        assert_eq!((month, said.as_str(), rest.as_str()), (Some(12), "December", "snow over Hokkaido"));
        assert_eq!(period("Sept typhoons").unwrap().2, Some(9));
    }

    #[test]
    fn years_months_and_days_in_korean() {
        let (from, to, _, said, rest) = period("2017년 11월 남중국해 태풍").unwrap();
        assert_eq!((from.unwrap(), to.unwrap(), said.as_str(), rest.as_str()), ("2017-11-01".into(), "2017-11-30".into(), "2017년 11월", "남중국해 태풍"));
        assert_eq!(days("2017년11월3일 규슈 비"), ("2017-11-03".into(), "2017-11-03".into()));
        assert_eq!(days("2012년에 폭설"), ("2012-01-01".into(), "2012-12-31".into()));
        let (_, _, month, said, rest) = period("12월에 홋카이도 폭설").unwrap();
        assert_eq!((month, said.as_str(), rest.as_str()), (Some(12), "12월", "홋카이도 폭설"));
    }

    #[test]
    fn words_that_are_not_periods() {
        for q in ["it may snow over Kyushu", "the march of a cold front", "top 3 typhoons", "2000 mm of rain", "typhoon 1723", "rain for 13 days", "13월 비", "snow in 1900", "30일 연속 비"] {
            assert_eq!(read(q).map(|(p, _)| p), None, "{q}");
        }
        // Capitalised, they are months.
        assert_eq!(period("rain in May").unwrap().2, Some(5));
        assert_eq!(period("snow in March 2015").unwrap().0.as_deref(), Some("2015-03-01"));
        // An impossible day: the month and year after it are still read.
        assert_eq!(days("rain on 31 November 2017"), ("2017-11-01".into(), "2017-11-30".into()));
    }

    #[test]
    fn seasons_are_their_three_months() {
        let months = |q: &str| read(q).map(|(p, rest)| (p.months, p.from, rest));
        assert_eq!(months("snow in winter"), Some((vec![12, 1, 2], None, "snow".to_string())));
        assert_eq!(months("typhoon in summer 2017"), Some((vec![6, 7, 8], Some("2017-01-01".to_string()), "typhoon".to_string())));
        assert_eq!(months("2018년 가을 태풍"), Some((vec![9, 10, 11], Some("2018-01-01".to_string()), "태풍".to_string())));
        assert_eq!(months("여름철 규슈 폭우"), Some((vec![6, 7, 8], None, "규슈 폭우".to_string())));
        assert_eq!(months("fall 2017 rain over Kyushu").map(|m| m.0), Some(vec![9, 10, 11]));
        // Not seasons: "fall" without a year, a word that starts like one.
        assert_eq!(read("snow falls on Hokkaido"), None);
        assert_eq!(read("heavy snow fall in Sapporo"), None);
        assert_eq!(read("봄비가 내린 서울").map(|(p, _)| p), None);
        assert_eq!(read("snow at a hot spring in Hokkaido").map(|(p, _)| p), None);
        assert_eq!(read("spring tides and a typhoon").map(|(p, _)| p), None);
        assert_eq!(months("rain in spring").map(|m| m.0), Some(vec![3, 4, 5]));
        let f = narrow(&Filters::default(), &read("typhoon in summer 2017").unwrap().0).unwrap();
        assert_eq!((f.from.as_deref(), f.to.as_deref(), f.months), (Some("2017-01-01"), Some("2017-12-31"), vec![6, 7, 8]));
        let (_, note, _) = for_query("typhoon in summer 2017", &Filters::default());
        assert_eq!(note.unwrap().english(), "summer 2017 (from the query): the results are frames of June, July and August within 2017-01-01 – 2017-12-31.");
        // The months filter set: the season within it, or none of it left.
        let dec = Filters { months: vec![12, 11], ..Filters::default() };
        assert_eq!(narrow(&dec, &read("snow in winter").unwrap().0).unwrap().months, vec![12]);
        let jja = Filters { months: vec![6, 7, 8], ..Filters::default() };
        assert_eq!(narrow(&jja, &read("snow in winter").unwrap().0), None);
    }

    #[test]
    fn a_query_that_is_only_a_period_keeps_its_text() {
        assert_eq!(period("October 2007").unwrap().4, "October 2007");
        assert_eq!(period("2017년 11월").unwrap().4, "2017년 11월");
    }

    #[test]
    fn narrowing_meets_the_filters_set() {
        let p = |q: &str| read(q).unwrap().0;
        let none = Filters::default();
        let f = narrow(&none, &p("typhoon October 2007")).unwrap();
        assert_eq!((f.from.as_deref(), f.to.as_deref()), (Some("2007-10-01"), Some("2007-10-31")));
        // The user's dates inside the period: kept; outside it: not applied.
        let set = Filters { from: Some("2007-10-10".into()), ..Filters::default() };
        assert_eq!(narrow(&set, &p("typhoon October 2007")).unwrap().from.as_deref(), Some("2007-10-10"));
        let later = Filters { from: Some("2008-01-01".into()), ..Filters::default() };
        assert_eq!(narrow(&later, &p("typhoon October 2007")), None);
        // A month without a year sets the months filter, unless the filters exclude it.
        assert_eq!(narrow(&none, &p("snow in December")).unwrap().months, vec![12]);
        let summer = Filters { months: vec![6, 7, 8], ..Filters::default() };
        assert_eq!(narrow(&summer, &p("snow in December")), None);
        assert_eq!(narrow(&summer, &p("rain in 2017")).unwrap().months, vec![6, 7, 8]);
        let nov = Filters { from: Some("2017-11-01".into()), to: Some("2017-11-30".into()), ..Filters::default() };
        assert_eq!(narrow(&nov, &p("snow in December")), None);
    }

    #[test]
    fn the_note_says_which_days() {
        let (_, note, text) = for_query("typhoon approaching Kyushu in October 2007", &Filters::default());
        assert_eq!(text, "typhoon approaching Kyushu");
        assert_eq!(note.unwrap().english(), "October 2007 (from the query): the results are frames of 2007-10-01 – 2007-10-31.");
        let (_, note, _) = for_query("snow in December", &Filters::default());
        assert_eq!(note.unwrap().english(), "December (from the query): the results are frames of December, any year.");
        let later = Filters { from: Some("2008-01-01".into()), ..Filters::default() };
        let (filters, note, _) = for_query("typhoon October 2007", &later);
        assert_eq!(filters, later);
        assert_eq!(note.unwrap().english(), "October 2007 (from the query) lies outside the date filters: the results ignore it.");
        assert_eq!(for_query("typhoon near Kyushu", &later), (later.clone(), None, "typhoon near Kyushu".to_string()));
    }

    /// The evaluation's queries ask for weather, not dates: one of them writes a period, a
    /// season (dev; `skycase eval` searches it as the app does, docs/alignment.md "Twenty-fourth
    /// pass" has its effect).
    #[test]
    fn one_evaluation_query_writes_a_period() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/eval");
        let (mut n, mut with) = (0, Vec::new());
        for file in ["queries-en.tsv", "queries-ko.tsv"] {
            for line in std::fs::read_to_string(root.join(file)).unwrap().lines().skip(1) {
                let query = line.rsplit('\t').next().unwrap();
                if let Some((p, _)) = read(query) {
                    with.push((query.to_string(), p.months));
                }
                n += 1;
            }
        }
        assert!(n >= 455, "{n} queries");
        assert_eq!(with, [("a clear winter day in Asahikawa".to_string(), vec![12, 1, 2])]);
    }
}
