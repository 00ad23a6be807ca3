//! Named tropical cyclones: "Typhoon Damrey", "태풍 기러기", "Lan 2017".
//!
//! People look for a past storm by its name. The manifest lists the named storms whose
//! lifetime the archive's frames overlap (`storms`, written by `skycase storms` from the JMA
//! best track, and kept in the bundle by `skycase export`); a query that names one is answered
//! from the days of that storm only: its first to last best-track day (UTC) narrows the
//! query's date filters ([`narrow`]), and the ranking does the rest (the storm's frames that
//! look like the query, a typhoon unless the query asks for something else). The app and
//! `skycase search` say so above the results ([`StormNote`]), the same on both sides.
//!
//! A name matches as a whole word, any case, with or without its hyphen ("Kong-rey", "kong
//! rey", "kongrey"), or by its Korean spelling when the manifest gives one (followed by any
//! particle: "기러기가"). A Korean spelling, and a name of three letters or fewer ("Lan",
//! "Mun"), match only in a query that also says typhoon, storm or 태풍: many names are common
//! words (기러기 a wild goose, 무지개 a rainbow, 문 a door). A name used in several years
//! (names are reused until retired) takes the year the query writes ("Damrey 2012"), else the
//! latest; the note names the other years.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::filters::{Date, Filters};

/// One named storm of the archive (`manifest.storms`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Storm {
    /// The JMA international number, `YYNN` (`1723`).
    pub id: String,
    /// The name as the best track spells it (`DAMREY`, `KONG-REY`).
    pub name: String,
    /// Its Korean spelling (KMA's), when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ko: String,
    /// First and last best-track day, UTC, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    /// Its highest JMA grade: 2 tropical depression, 3 tropical storm, 4 severe tropical
    /// storm, 5 typhoon.
    pub grade: u8,
}

impl Storm {
    /// "Typhoon", "Severe tropical storm", … by [`grade`](Self::grade).
    pub fn kind(&self) -> &'static str {
        match self.grade {
            5.. => "Typhoon",
            4 => "Severe tropical storm",
            3 => "Tropical storm",
            _ => "Tropical depression",
        }
    }

    fn year(&self) -> &str {
        self.from.get(..4).unwrap_or("")
    }
}

/// What the app and `skycase search` say above the results of a query naming a storm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StormNote {
    /// The storm the query names.
    pub storm: Storm,
    /// Whether its days narrowed the search (false: they lie outside the date filters, and the
    /// results ignore the name).
    pub applied: bool,
    /// Years of other storms of the same name in the archive.
    pub others: Vec<String>,
}

impl StormNote {
    /// The line shown in English (the app's Korean one is in its i18n table).
    pub fn english(&self) -> String {
        let s = &self.storm;
        let mut line = if self.applied {
            format!("{} {} ({}): {} – {}. The results are frames of those days.", s.kind(), s.name, s.id, s.from, s.to)
        } else {
            format!("{} {} ({}), {} – {}, lies outside the date filters: the results ignore the name.", s.kind(), s.name, s.id, s.from, s.to)
        };
        if !self.others.is_empty() {
            line.push_str(&format!(" Also named {}: {} (write the year to choose).", s.name, self.others.join(", ")));
        }
        line
    }
}

/// Checks a list of storms (`manifest.storms`, or a `storms.json`; `file` names it in the
/// error): dates in `YYYY-MM-DD` form, in order, and a name.
pub fn check(storms: &[Storm], file: &str) -> Result<()> {
    for s in storms {
        let bad = |why: String| Err(Error::format(file, format!("storm {:?} ({}): {why}", s.name, s.id)));
        if s.name.trim().is_empty() {
            return bad("no name".into());
        }
        let (from, to) = match (Date::parse(&s.from), Date::parse(&s.to)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return bad(e),
        };
        if to < from {
            return bad(format!("ends ({}) before it starts ({})", s.to, s.from));
        }
    }
    Ok(())
}

/// Words that make a short name a storm's ("typhoon Lan", "태풍 란").
const CUES: &[&str] = &["typhoon", "storm", "cyclone", "tropical", "태풍", "폭풍", "열대"];

/// The words of `text` in lower case: runs of ASCII letters and digits.
fn latin_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_ascii_lowercase).collect()
}

/// Whether `name` (best-track spelling) is written in `words`: as one word, or its parts
/// split at a hyphen or space written as consecutive words or run together.
fn names_latin(words: &[String], name: &str) -> bool {
    let parts: Vec<String> = latin_words(name);
    let key: String = parts.concat();
    if key.is_empty() {
        return false;
    }
    (0..words.len()).any(|i| words[i] == key || (parts.len() > 1 && words.len() >= i + parts.len() && words[i..i + parts.len()] == parts[..]))
}

/// Whether the Korean spelling `ko` starts a word of `text` (any particle may follow it).
fn names_korean(text: &str, ko: &str) -> bool {
    if ko.is_empty() {
        return false;
    }
    text.match_indices(ko).any(|(at, _)| text[..at].chars().next_back().is_none_or(|c| !skycase_vocab::gazetteer::is_hangul(c)))
}

/// Years (1950–2099) written in `text` as four digits ("2017", "2017년").
fn years(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit()).filter(|w| w.len() == 4 && w.parse::<u32>().is_ok_and(|y| (1950..=2099).contains(&y))).map(str::to_string).collect()
}

/// The storm of `storms` that `text` names, if any (see the module header), with the years
/// of the others of its name.
pub fn named<'a>(storms: &'a [Storm], text: &str) -> Option<(&'a Storm, Vec<String>)> {
    if storms.is_empty() {
        return None;
    }
    let lower = text.to_lowercase();
    let words = latin_words(&lower);
    let cued = CUES.iter().any(|c| lower.contains(c));
    let says = |s: &Storm| {
        let short = latin_words(&s.name).concat().len() <= 3;
        (names_latin(&words, &s.name) && (cued || !short)) || (cued && names_korean(&lower, &s.ko))
    };
    // The first name written: the storm mentioned earliest in the text.
    let first = storms.iter().filter(|s| says(s)).min_by_key(|s| {
        let parts = latin_words(&s.name);
        let key = parts.concat();
        let at_latin = words.iter().position(|w| *w == key || parts.first() == Some(w)).map(|i| words[..i].iter().map(String::len).sum::<usize>());
        let at_ko = (!s.ko.is_empty()).then(|| lower.find(&s.ko)).flatten();
        at_latin.into_iter().chain(at_ko).min().unwrap_or(usize::MAX)
    })?;
    let key = latin_words(&first.name).concat();
    let same: Vec<&Storm> = storms.iter().filter(|s| latin_words(&s.name).concat() == key).collect();
    let wanted = years(text);
    let in_year: Vec<&Storm> = same.iter().copied().filter(|s| wanted.iter().any(|y| s.year() == y || s.to.starts_with(y.as_str()))).collect();
    let pool = if in_year.is_empty() { &same } else { &in_year };
    let chosen = *pool.iter().max_by(|a, b| a.from.cmp(&b.from).then(b.id.cmp(&a.id)))?;
    let others = same.iter().filter(|s| s.id != chosen.id).map(|s| s.year().to_string()).collect();
    Some((chosen, others))
}

/// `filters` narrowed to `storm`'s days: the later start and the earlier end. `None` when the
/// two do not meet (the storm lies outside the date filters).
pub fn narrow(filters: &Filters, storm: &Storm) -> Option<Filters> {
    let from = match &filters.from {
        Some(f) if f.as_str() > storm.from.as_str() => f.clone(),
        _ => storm.from.clone(),
    };
    let to = match &filters.to {
        Some(t) if t.as_str() < storm.to.as_str() => t.clone(),
        _ => storm.to.clone(),
    };
    (from <= to).then(|| Filters { from: Some(from), to: Some(to), ..filters.clone() })
}

/// The query without the name of `storm` (and the year written to choose it), with "typhoon"
/// when it then names no phenomenon.
fn without_name(text: &str, storm: &Storm) -> String {
    let parts = latin_words(&storm.name);
    let key = parts.concat();
    let year = storm.year();
    let tokens: Vec<&str> = text.split_whitespace().collect();
    // Each token as the name is compared: its ASCII letters and digits, in lower case.
    let plain: Vec<String> = tokens.iter().map(|t| t.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()).collect();
    let mut kept: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if plain[i] == key || plain[i] == year {
            i += 1;
            continue;
        }
        if parts.len() > 1 && plain.get(i..i + parts.len()) == Some(&parts[..]) {
            i += parts.len();
            continue;
        }
        let token = match storm.ko.as_str() {
            "" => tokens[i].to_string(),
            ko => tokens[i].strip_prefix(ko).map_or_else(|| tokens[i].to_string(), str::to_string),
        };
        if !token.is_empty() {
            kept.push(token);
        }
        i += 1;
    }
    let rest = kept.join(" ");
    match (skycase_vocab::gazetteer::parse_query(&rest).phenomena.is_empty(), rest.is_empty()) {
        (false, _) => rest,
        (true, true) => "typhoon".to_string(),
        (true, false) => format!("typhoon {rest}"),
    }
}

/// A query as searched, `(filters, note, text)`: narrowed to the storm it names (see
/// [`named`], [`narrow`]), embedded without its name; else `filters` and `text` as they are,
/// and no note.
pub fn for_query(storms: &[Storm], text: &str, filters: &Filters) -> (Filters, Option<StormNote>, String) {
    let Some((storm, others)) = named(storms, text) else { return (filters.clone(), None, text.to_string()) };
    let (filters, applied) = match narrow(filters, storm) {
        Some(narrowed) => (narrowed, true),
        None => (filters.clone(), false),
    };
    (filters, Some(StormNote { storm: storm.clone(), applied, others }), without_name(text, storm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storm(id: &str, name: &str, ko: &str, from: &str, to: &str, grade: u8) -> Storm {
        Storm { id: id.into(), name: name.into(), ko: ko.into(), from: from.into(), to: to.into(), grade }
    }

    fn archive() -> Vec<Storm> {
        vec![
            storm("1223", "DAMREY", "담레이", "2012-07-27", "2012-08-04", 5),
            storm("1723", "DAMREY", "담레이", "2017-10-31", "2017-11-04", 5),
            storm("1725", "KIROGI", "기러기", "2017-11-16", "2017-11-19", 3),
            storm("1825", "KONG-REY", "콩레이", "2018-09-29", "2018-10-07", 5),
            storm("1720", "LAN", "란", "2017-10-15", "2017-10-23", 5),
        ]
    }

    #[test]
    fn a_name_is_a_whole_word_in_any_case_with_or_without_its_hyphen() {
        let a = archive();
        let id = |q: &str| named(&a, q).map(|(s, _)| s.id.clone());
        assert_eq!(id("Typhoon Damrey"), Some("1723".into()));
        assert_eq!(id("damrey approaching vietnam"), Some("1723".into()));
        assert_eq!(id("kong-rey near Korea"), Some("1825".into()));
        assert_eq!(id("Kong Rey"), Some("1825".into()));
        assert_eq!(id("KONGREY"), Some("1825".into()));
        assert_eq!(id("damreyish clouds"), None);
        assert_eq!(id("heavy snow over Hokkaido"), None);
    }

    #[test]
    fn korean_spellings_and_short_names_need_a_storm_word_and_take_particles() {
        let a = archive();
        let id = |q: &str| named(&a, q).map(|(s, _)| s.id.clone());
        assert_eq!(id("태풍 기러기"), Some("1725".into()));
        assert_eq!(id("태풍 기러기가 지나간 날"), Some("1725".into()));
        assert_eq!(id("기러기 떼"), None, "a wild goose: no storm word");
        assert_eq!(id("태풍과 흰기러기"), None, "inside another word");
        assert_eq!(id("LAN"), None, "three letters and no storm word");
        assert_eq!(id("typhoon Lan"), Some("1720".into()));
        assert_eq!(id("란"), None);
        assert_eq!(id("태풍 란"), Some("1720".into()));
        assert_eq!(id("rain over the lan"), None);
    }

    #[test]
    fn a_reused_name_takes_the_year_written_else_the_latest() {
        let a = archive();
        let (s, others) = named(&a, "Typhoon Damrey").unwrap();
        assert_eq!((s.id.as_str(), others), ("1723", vec!["2012".to_string()]));
        let (s, others) = named(&a, "Damrey 2012").unwrap();
        assert_eq!((s.id.as_str(), others), ("1223", vec!["2017".to_string()]));
        assert_eq!(named(&a, "2012년 태풍 담레이").unwrap().0.id, "1223");
        assert_eq!(named(&a, "Damrey 1999").unwrap().0.id, "1723", "no Damrey in 1999: the latest");
        assert_eq!(named(&a, "Kirogi or Damrey").unwrap().0.id, "1725", "the first written");
    }

    #[test]
    fn the_storm_narrows_the_date_filters_or_says_it_lies_outside_them() {
        let a = archive();
        let (f, note, text) = for_query(&a, "typhoon Kirogi", &Filters::default());
        assert_eq!(text, "typhoon");
        assert_eq!((f.from.as_deref(), f.to.as_deref()), (Some("2017-11-16"), Some("2017-11-19")));
        let note = note.unwrap();
        assert!(note.applied);
        assert_eq!(note.english(), "Tropical storm KIROGI (1725): 2017-11-16 – 2017-11-19. The results are frames of those days.");
        let user = Filters { from: Some("2017-11-18".into()), months: vec![11], ..Default::default() };
        let f = for_query(&a, "Kirogi", &user).0;
        assert_eq!((f.from.as_deref(), f.to.as_deref(), f.months), (Some("2017-11-18"), Some("2017-11-19"), vec![11]));
        let user = Filters { to: Some("2017-11-01".into()), ..Default::default() };
        let (f, note, _) = for_query(&a, "Kirogi", &user);
        assert_eq!(f, user);
        assert!(!note.as_ref().unwrap().applied);
        assert!(note.unwrap().english().contains("outside the date filters"));
        assert_eq!(for_query(&a, "snow over Hokkaido", &user), (user, None, "snow over Hokkaido".to_string()));
    }

    #[test]
    fn the_text_embedded_drops_the_name_and_keeps_what_else_is_asked() {
        let a = archive();
        let text = |q: &str| for_query(&a, q, &Filters::default()).2;
        assert_eq!(text("Typhoon Damrey"), "Typhoon");
        assert_eq!(text("Damrey 2012"), "typhoon");
        assert_eq!(text("heavy rain from Kong-rey over Kyushu"), "heavy rain from over Kyushu");
        assert_eq!(text("kong rey near Korea"), "typhoon near Korea");
        assert_eq!(text("태풍 기러기가 지나간 날"), "태풍 가 지나간 날");
        assert_eq!(text("2012년 태풍 담레이"), "태풍");
        assert_eq!(text("규슈에 온 태풍 담레이"), "규슈에 온 태풍");
    }

    #[test]
    fn check_names_the_storm_and_the_reason() {
        let mut a = archive();
        assert!(check(&a, "storms.json").is_ok());
        a[1].to = "2017-10-30".into();
        let e = check(&a, "storms.json").unwrap_err().to_string();
        assert!(e.starts_with("storms.json") && e.contains("storm \"DAMREY\" (1723): ends (2017-10-30) before it starts (2017-10-31)"), "{e}");
        a[1].to = "2017-11-4".into();
        assert!(check(&a, "storms.json").unwrap_err().to_string().contains("did you mean 2017-11-04"));
    }
}
