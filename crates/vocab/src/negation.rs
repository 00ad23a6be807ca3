//! Weather a query says is absent: "Mongolia with no clouds at all", "no rain in Seoul",
//! "구름 한 점 없는 몽골 초원", "비 안 오는 서울".
//!
//! The text encoders read "no rain" as rain, and the gazetteer read the weather word without
//! its "no", so such a query was pulled towards the rainy cell of its region: the opposite of
//! what it asks. (The gazetteer's own Clear entries already say the commonest absent clouds:
//! "no clouds", "cloud-free", "구름 한 점 없"; those are left as they are.) [`resolved`] rewrites each absent weather as what the archive's
//! five phenomena offer instead, in the query's language:
//! - no clouds is clear skies ("맑은"), no clear sky is cloudy skies ("흐린");
//! - no rain, snow or typhoon is dropped when the query asks for other weather ("cloudy but no
//!   rain in Seoul" → "cloudy but in Seoul"), and is clear skies when it asks for nothing else
//!   ("no rain in Seoul" → "clear skies in Seoul").
//!
//! Absent, in English: a cue word before the weather word, with at most three [`FILLERS`]
//! between ("no clouds", "without any rain", "not a single cloud", "not cloudy", "free of
//! snow", "no sign of a typhoon"), or "free" right after it ("rain-free"). In Korean: a
//! negation after it, past its particle and at most three fillers ("구름이 하나도 없는", "비가
//! 전혀 없는", "비 안 오는", "눈이 오지 않은", "맑지 않은").

use crate::gazetteer::{is_hangul, normalise, weather_mentions, MAX_PARSE_CHARS};

/// English words that say the weather after them is absent.
const CUES: &[&str] = &["no", "without", "not", "zero", "never", "nor", "none", "lack", "lacking", "absence", "absent", "free", "devoid"];
/// Words that may stand between a cue and its weather word, in English and in Korean.
const FILLERS: &[&str] = &[
    "any", "a", "an", "the", "single", "much", "heavy", "real", "significant", "one", "sign", "signs", "trace", "traces", "hint", "of", "bit",
    "한", "점", "한점", "점도", "한점도", "하나", "하나도", "전혀", "조금도", "별로", "방울", "방울도", "한방울", "한방울도", "도",
];

// Phenomenon indices, in the order of `crate::PHENOMENA`.
const CLEAR: usize = 1;
const CLOUDY: usize = 2;

/// A word of the normalised text: its span in characters.
#[derive(Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
}

fn words(text: &[char]) -> Vec<Word> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        if text[at].is_alphanumeric() || text[at] == '-' || text[at] == '\'' {
            let start = at;
            while at < text.len() && (text[at].is_alphanumeric() || text[at] == '-' || text[at] == '\'') {
                at += 1;
            }
            out.push(Word { start, end: at });
        } else {
            at += 1;
        }
    }
    out
}

/// `query` with every absent weather rewritten (see the module header); `None` when it says
/// none is absent.
pub fn resolved(query: &str) -> Option<String> {
    let text = normalise(query);
    let raw: Vec<char> = query.chars().take(MAX_PARSE_CHARS).collect();
    // Spans map back to the query only while normalising kept one character per character.
    if text.len() != raw.len() {
        return None;
    }
    let words = words(&text);
    let word = |w: Word| -> String { text[w.start..w.end].iter().collect::<String>().trim_matches(['-', '\'']).to_string() };
    let mentions = weather_mentions(&text);
    // Each absent weather word: the span to replace and its phenomenon.
    let mut absent: Vec<(usize, usize, usize)> = Vec::new();
    for &(start, end, p) in &mentions {
        if absent.last().is_some_and(|&(_, e, _)| start < e) {
            continue;
        }
        let Some(first) = words.iter().position(|w| w.end > start) else { continue };
        let Some(last) = words.iter().rposition(|w| w.start < end) else { continue };
        let korean = text[start..end].iter().any(|&c| is_hangul(c));
        let span = if korean { korean_absent(&text, &words, &word, end, last) } else { english_absent(&text, &words, &word, end, first, last) };
        if let Some((from, to)) = span {
            absent.push((from.min(start), to.max(end), p));
        }
    }
    if absent.is_empty() {
        return None;
    }
    // Weather asked for besides the absent ones.
    let asked = mentions.iter().any(|&(s, e, _)| !absent.iter().any(|&(a, b, _)| s >= a && e <= b));
    let mut out = String::new();
    let mut at = 0;
    for &(from, to, p) in &absent {
        out.extend(&raw[at..from]);
        let korean = text[from..to].iter().any(|&c| is_hangul(c));
        let (clear, cloudy) = if korean { ("맑은", "흐린") } else { ("clear skies", "cloudy skies") };
        out.push_str(match p {
            CLEAR => cloudy,
            _ if p == CLOUDY || !asked => clear,
            _ => "",
        });
        at = to;
    }
    out.extend(&raw[at..]);
    out.extend(query.chars().skip(MAX_PARSE_CHARS));
    Some(out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// English: the span of a cue and fillers before the weather word `words[first..=last]`, or
/// of "free" right after it.
fn english_absent(text: &[char], words: &[Word], word: &impl Fn(Word) -> String, end: usize, first: usize, last: usize) -> Option<(usize, usize)> {
    let mut j = first;
    for _ in 0..=3 {
        let Some(prev) = j.checked_sub(1) else { break };
        let w = word(words[prev]);
        if CUES.contains(&w.as_str()) {
            return Some((words[prev].start, words[last].end));
        }
        if !FILLERS.contains(&w.as_str()) {
            break;
        }
        j = prev;
    }
    // "rain-free", "snow free": the word after (or the rest of a hyphenated word) is "free".
    let w = words[last];
    let rest: String = text[end..w.end].iter().collect();
    if rest == "-free" {
        return Some((w.start, w.end));
    }
    let next = words.get(last + 1)?;
    (word(*next) == "free" && text[w.end..next.start].iter().all(|&c| c == ' ')).then_some((w.start, next.end))
}

/// Korean: the span from the weather word to the negation after it (past the particle and
/// fillers): 없…, 안 + a verb, a verb in -지 + 않….
fn korean_absent(text: &[char], words: &[Word], word: &impl Fn(Word) -> String, end: usize, last: usize) -> Option<(usize, usize)> {
    // The rest of the weather word's own word: a particle, or a negation fused to it ("구름없는").
    let own: String = text[end..words[last].end].iter().collect();
    if own.starts_with('없') || own.starts_with("안") && own.chars().count() > 1 {
        return Some((end, words[last].end));
    }
    // "맑지 않은": the weather word's verb in -지, then 않….
    if own.ends_with('지') && words.get(last + 1).is_some_and(|&v| word(v).starts_with('않')) {
        return Some((end, words[last + 1].end));
    }
    for i in last + 1..=last + 4 {
        let w = *words.get(i)?;
        let s = word(w);
        if s.starts_with('없') {
            return Some((end, w.end));
        }
        if s == "안" {
            return Some((end, words.get(i + 1).map_or(w.end, |v| v.end)));
        }
        if s.starts_with('안') && s.chars().count() > 1 && !FILLERS.contains(&s.as_str()) {
            // "안오는", "안 와서" written together.
            return Some((end, w.end));
        }
        if s.ends_with('지') && words.get(i + 1).is_some_and(|&v| word(v).starts_with('않')) {
            return Some((end, words[i + 1].end));
        }
        if !FILLERS.contains(&s.as_str()) {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gazetteer::parse_query;

    fn phenomena(q: &str) -> Vec<usize> {
        parse_query(&resolved(q).unwrap_or_else(|| q.to_string())).phenomena
    }

    #[test]
    fn absent_clouds_are_clear_skies_and_absent_sun_is_cloud() {
        // The gazetteer's own entries for absent clouds are Clear already: nothing to rewrite.
        assert_eq!(resolved("Mongolia with no clouds at all"), None);
        assert_eq!(phenomena("Mongolia with no clouds at all"), [CLEAR]);
        assert_eq!(resolved("not a single cloud over Kyushu").as_deref(), Some("clear skies over Kyushu"));
        assert_eq!(resolved("Kyushu with zero cloud cover").as_deref(), Some("Kyushu with clear skies"));
        assert_eq!(resolved("Seoul, not cloudy").as_deref(), Some("Seoul, clear skies"));
        assert_eq!(resolved("no sunshine in Sapporo").as_deref(), Some("cloudy skies in Sapporo"));
        assert_eq!(phenomena("philippine sea with no clouds anywhere"), [CLEAR]);
    }

    #[test]
    fn absent_rain_snow_or_typhoon_is_dropped_next_to_other_weather_else_clear() {
        assert_eq!(resolved("no rain in Seoul").as_deref(), Some("clear skies in Seoul"));
        assert_eq!(resolved("Kyushu without any rain").as_deref(), Some("Kyushu clear skies"));
        assert_eq!(resolved("rain-free Tokyo").as_deref(), Some("clear skies Tokyo"));
        assert_eq!(phenomena("cloudy but no rain in Seoul"), [CLOUDY]);
        assert_eq!(phenomena("overcast Honshu with no sign of snow"), [CLOUDY]);
    }

    #[test]
    fn korean_negations() {
        assert_eq!(resolved("구름 한 점 없는 몽골 초원"), None, "a gazetteer entry (Clear)");
        assert_eq!(resolved("구름이 하나도 없는 동중국해").as_deref(), Some("맑은 동중국해"));
        assert_eq!(resolved("맑지 않은 규슈").as_deref(), Some("흐린 규슈"));
        assert_eq!(resolved("비 안 오는 서울").as_deref(), Some("맑은 서울"));
        assert_eq!(resolved("비가 전혀 없는 날 서울").as_deref(), Some("맑은 날 서울"));
        assert_eq!(resolved("눈이 오지 않은 홋카이도").as_deref(), Some("맑은 홋카이도"));
        assert_eq!(phenomena("흐리지만 비는 안 오는 서울"), [CLOUDY]);
    }

    #[test]
    fn weather_that_is_asked_for_is_left_alone() {
        for q in ["heavy snow over Hokkaido", "cloud-free Yangtze delta", "typhoon approaching Kyushu", "한반도에 폭설", "no", "rain, not snow, over Kyushu"] {
            if q.starts_with("rain, not") {
                // "not snow" is absent, and rain is asked for: snow is dropped.
                assert_eq!(phenomena(q), [3]);
                continue;
            }
            assert_eq!(resolved(q), None, "{q}");
        }
        assert_eq!(resolved(""), None);
    }

    /// No query of the evaluation sets says weather is absent but through the gazetteer's own
    /// Clear entries ("no clouds", "구름 한 점 없"), so this rewrite leaves their rankings and
    /// docs/queries.md as they were.
    #[test]
    fn no_evaluation_query_is_rewritten() {
        for (file, query) in crate::eval_queries() {
            assert_eq!(resolved(&query), None, "{file}: {query}");
        }
    }
}
