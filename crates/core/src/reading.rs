//! How a query is read before it is embedded: the storm it names, the period it writes, the
//! weather it says is absent, Korean weather without a place, and the script no encoder reads.
//! The browser's worker and `skycase search` call [`read`] (through
//! [`crate::search::Searcher::searched`]) before anything else, so both search the same days
//! with the same vector, and `skycase eval` does too.

use crate::filters::Filters;
use crate::storms::{Storm, StormNote};

/// A query as it is searched ([`read`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Searched {
    /// The filters, narrowed to the days of the storm the query names and to the period it
    /// writes.
    pub filters: Filters,
    /// What the answer says about that storm.
    pub note: Option<StormNote>,
    /// The text to embed: the query without the storm's name and year, which the text
    /// encoders do not know ("Damrey" reads as a dam, not a typhoon), and with the storm's
    /// phenomenon when nothing else is asked for ("Damrey 2012" → "typhoon"); in English
    /// when a Korean query names weather but no place
    /// ([`skycase_vocab::gazetteer::english_weather`]: "태풍 기러기" → "typhoon"); without the
    /// period it writes ([`crate::when`]: "typhoon in October 2007" → "typhoon"); absent
    /// weather said as what is there instead ([`skycase_vocab::negation::resolved`]).
    pub text: String,
    /// The period the query writes, which narrowed the filters too ([`crate::when`]).
    pub period: Option<crate::when::PeriodNote>,
    /// Runs of Chinese characters or kana in the query, as written: neither text encoder reads
    /// them (MiniLM's vocabulary and the multilingual one's, trimmed to English and Korean,
    /// hold none), so the answer says so ([`unread_script`]).
    pub unread: Vec<String>,
}

/// The line shown in English above the results of a query with Chinese characters or kana
/// (`runs`: [`unread_script`]'s, joined).
pub fn unread_english(runs: &str) -> String {
    format!("{runs}: Chinese characters and kana are not read yet, so the results leave them out. Search in English or Korean (e.g. \"heavy snow over Hokkaido\").")
}

/// A Chinese character (CJK ideograph) or kana.
fn is_han_or_kana(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{31F0}'..='\u{31FF}')
}

/// Runs of [`unread_script`] named, at most; and characters of one run shown, at most (a
/// longer one ends in "…"), so that 100 kB of pasted text makes a line, not a page.
const MAX_RUNS: usize = 6;
const MAX_RUN_CHARS: usize = 16;

/// The runs of Chinese characters and kana in `text`, as written ("北海道 大雪" → "北海道",
/// "大雪"): the first [`MAX_RUNS`], each cut to [`MAX_RUN_CHARS`].
pub fn unread_script(text: &str) -> Vec<String> {
    let mut runs: Vec<(String, usize)> = Vec::new();
    let mut last = false;
    for c in text.chars() {
        let han = is_han_or_kana(c);
        match (han, last) {
            (true, true) => {
                let (run, n) = runs.last_mut().expect("a run");
                *n += 1;
                if *n <= MAX_RUN_CHARS {
                    run.push(c);
                } else if *n == MAX_RUN_CHARS + 1 {
                    run.push('…');
                }
            }
            (true, false) if runs.len() == MAX_RUNS => break,
            (true, false) => runs.push((c.to_string(), 1)),
            _ => {}
        }
        last = han;
    }
    runs.into_iter().map(|(run, _)| run).collect()
}

/// Query `text` as it is searched with `filters` over an archive with `storms`: the storm's
/// days ([`crate::storms::for_query`]), then the period's ([`crate::when::for_query`]) narrow
/// the filters and leave the text; absent weather is said as what is there instead
/// ([`skycase_vocab::negation::resolved`]); Korean weather without a place is said in English
/// ([`skycase_vocab::gazetteer::english_weather`]); Chinese characters and kana are named
/// ([`unread_script`]).
pub fn read(storms: &[Storm], text: &str, filters: &Filters) -> Searched {
    let (filters, note, rest) = crate::storms::for_query(storms, text, filters);
    let (filters, period, mut rest) = crate::when::for_query(&rest, &filters);
    if let Some(resolved) = skycase_vocab::negation::resolved(&rest) {
        rest = resolved;
    }
    if let Some(english) = skycase_vocab::gazetteer::english_weather(&rest) {
        rest = english;
    }
    Searched { filters, note, text: rest, period, unread: unread_script(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_characters_and_kana_are_named_as_unread() {
        assert_eq!(unread_script("北海道 大雪"), ["北海道", "大雪"]);
        assert_eq!(unread_script("typhoon 台風 near Kyushu"), ["台風"]);
        assert_eq!(unread_script("ひまわり画像"), ["ひまわり画像"]);
        assert!(unread_script("한반도에 폭설, heavy snow").is_empty());
        // Pasted pages make a line: six runs at most, each cut.
        let long = "大雪".repeat(50_000);
        assert_eq!(unread_script(&long), ["大雪大雪大雪大雪大雪大雪大雪大雪…"]);
        assert_eq!(unread_script(&"雪 ".repeat(1000)).len(), 6);
    }

    #[test]
    fn a_query_is_read_storm_period_absent_weather_then_language() {
        let storms = vec![Storm { id: "1723".into(), name: "DAMREY".into(), ko: "담레이".into(), from: "2017-10-31".into(), to: "2017-11-04".into(), grade: 5 }];
        let q = read(&storms, "Typhoon Damrey in November 2017", &Filters::default());
        assert_eq!((q.note.is_some(), q.period.as_ref().map(|p| p.applied), q.text.as_str()), (true, Some(true), "Typhoon"));
        // The storm's year went with its name; "November" keeps the storm's November days.
        assert_eq!((q.filters.from.as_deref(), q.filters.to.as_deref(), q.filters.months.as_slice()), (Some("2017-10-31"), Some("2017-11-04"), &[11][..]));
        assert_eq!(read(&storms, "no rain in Seoul", &Filters::default()).text, "clear skies in Seoul");
        assert_eq!(read(&storms, "12월 태풍", &Filters::default()).text, "typhoon");
        assert_eq!(read(&storms, "北海道 大雪", &Filters::default()).unread, ["北海道", "大雪"]);
    }
}
