//! Strict parsing of an MLLM's answer to the study's prompt.
//!
//! The layout is read leniently, the content strictly:
//! - a bullet is a line starting with `-`, `*`, `•`, `–`, `—` or `1.`/`1)`; markdown
//!   emphasis (`**`, `__`, backticks) and surrounding quotes are dropped;
//! - region and phenomenon are split at the first ` - `, ` – `, ` — ` or `:`;
//! - code fences and blank lines are skipped, and so are un-bulleted lines that name no
//!   region (a preamble such as "Here are the bullets:");
//! - every one of the 13 regions must appear exactly once, with a phenomenon that maps
//!   to one of the five classes through the synonym table below.
//!
//! Anything else (an unknown region, an unknown or ambiguous phenomenon such as
//! "sleet", "fog" or "cloudy with rain", a duplicated or missing region) is a
//! [`ParseError`]; the caller stores it with the raw answer. Nothing is guessed.
//!
//! Phenomenon synonyms (after lower-casing, dropping a final `.`, and dropping one
//! leading intensity word from [`MODIFIERS`]):
//!
//! | class | accepted |
//! |---|---|
//! | Snow | snow, snowy, snowing, snowfall, snow showers, snowstorm, blizzard, flurries |
//! | Clear | clear, clear sky, clear skies, sunny, fair, cloudless, cloud-free, no clouds, fine |
//! | Cloudy | cloudy, clouds, cloud, cloud cover, overcast |
//! | Rain | rain, rainy, raining, rainfall, rain showers, showers, drizzle, thunderstorm(s), storms with rain |
//! | Typhoon | typhoon, tropical storm, severe tropical storm, tropical cyclone, super typhoon, hurricane |

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::vocab::{Caption, Phenomenon, Region};

/// Intensity or coverage words accepted (and ignored) before a phenomenon:
/// "heavy rain", "partly cloudy", "mostly clear".
pub const MODIFIERS: &[&str] = &[
    "light", "moderate", "heavy", "intense", "strong", "weak", "scattered", "isolated",
    "occasional", "intermittent", "widespread", "partly", "mostly", "mainly", "some",
    "very",
];

const SYNONYMS: &[(&str, Phenomenon)] = &[
    ("snow", Phenomenon::Snow),
    ("snowy", Phenomenon::Snow),
    ("snowing", Phenomenon::Snow),
    ("snowfall", Phenomenon::Snow),
    ("snow showers", Phenomenon::Snow),
    ("snow shower", Phenomenon::Snow),
    ("snowstorm", Phenomenon::Snow),
    ("snow storm", Phenomenon::Snow),
    ("blizzard", Phenomenon::Snow),
    ("flurries", Phenomenon::Snow),
    ("snow flurries", Phenomenon::Snow),
    ("clear", Phenomenon::Clear),
    ("clear sky", Phenomenon::Clear),
    ("clear skies", Phenomenon::Clear),
    ("sunny", Phenomenon::Clear),
    ("fair", Phenomenon::Clear),
    ("fine", Phenomenon::Clear),
    ("cloudless", Phenomenon::Clear),
    ("cloud-free", Phenomenon::Clear),
    ("cloud free", Phenomenon::Clear),
    ("no clouds", Phenomenon::Clear),
    ("no significant clouds", Phenomenon::Clear),
    ("cloudy", Phenomenon::Cloudy),
    ("clouds", Phenomenon::Cloudy),
    ("cloud", Phenomenon::Cloudy),
    ("cloud cover", Phenomenon::Cloudy),
    ("overcast", Phenomenon::Cloudy),
    ("rain", Phenomenon::Rain),
    ("rainy", Phenomenon::Rain),
    ("raining", Phenomenon::Rain),
    ("rainfall", Phenomenon::Rain),
    ("rain showers", Phenomenon::Rain),
    ("rain shower", Phenomenon::Rain),
    ("showers", Phenomenon::Rain),
    ("drizzle", Phenomenon::Rain),
    ("thunderstorm", Phenomenon::Rain),
    ("thunderstorms", Phenomenon::Rain),
    ("typhoon", Phenomenon::Typhoon),
    ("tropical storm", Phenomenon::Typhoon),
    ("severe tropical storm", Phenomenon::Typhoon),
    ("tropical cyclone", Phenomenon::Typhoon),
    ("super typhoon", Phenomenon::Typhoon),
    ("hurricane", Phenomenon::Typhoon),
];

/// Region spellings accepted besides the canonical names (compared after lower-casing,
/// dropping a leading "the " and squeezing spaces).
const REGION_ALIASES: &[(&str, Region)] = &[
    ("korean peninsula", Region::KoreanPeninsula),
    ("korea", Region::KoreanPeninsula),
    ("mongolia", Region::Mongolia),
    ("northern china", Region::NorthernChina),
    ("north china", Region::NorthernChina),
    ("eastern china", Region::EasternChina),
    ("east china", Region::EasternChina),
    ("southern china", Region::SouthernChina),
    ("south china", Region::SouthernChina),
    ("manchuria and primorsky krai", Region::Manchuria),
    ("manchuria & primorsky krai", Region::Manchuria),
    ("manchuria and primorye", Region::Manchuria),
    ("honshu (japan)", Region::Honshu),
    ("honshu, japan", Region::Honshu),
    ("honshu", Region::Honshu),
    ("hokkaido (japan)", Region::Hokkaido),
    ("hokkaido, japan", Region::Hokkaido),
    ("hokkaido", Region::Hokkaido),
    ("kyushu (japan)", Region::Kyushu),
    ("kyushu, japan", Region::Kyushu),
    ("kyushu", Region::Kyushu),
    ("east china sea", Region::EastChinaSea),
    ("philippine sea", Region::PhilippineSea),
    ("south china sea", Region::SouthChinaSea),
    ("pacific coast of japan", Region::PacificCoastJapan),
    ("japan's pacific coast", Region::PacificCoastJapan),
    ("pacific coast of lange", Region::PacificCoastJapan), // the study's printed typo
];

/// Why an answer was rejected. The raw answer is kept by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParseError {
    /// A bullet names no known region.
    UnknownRegion {
        /// 1-based line number in the answer.
        line: usize,
        /// The text where a region was expected.
        text: String,
    },
    /// A region's phenomenon is not one of the five classes or their synonyms.
    UnknownPhenomenon {
        /// 1-based line number.
        line: usize,
        /// The region.
        region: Region,
        /// The phenomenon text as written.
        text: String,
    },
    /// A bullet has no `Region - Phenomenon` separator.
    NoSeparator {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A region appears more than once.
    Duplicate {
        /// The region.
        region: Region,
        /// 1-based line numbers of both occurrences.
        lines: (usize, usize),
    },
    /// Regions with no bullet.
    Missing {
        /// The missing regions, in prompt order.
        regions: Vec<Region>,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnknownRegion { line, text } => write!(f, "line {line}: unknown region '{text}'"),
            ParseError::UnknownPhenomenon { line, region, text } => {
                write!(f, "line {line}: {region}: unknown phenomenon '{text}'")
            }
            ParseError::NoSeparator { line, text } => {
                write!(f, "line {line}: no 'Region - Phenomenon' separator in '{text}'")
            }
            ParseError::Duplicate { region, lines } => {
                write!(f, "{region} appears twice (lines {} and {})", lines.0, lines.1)
            }
            ParseError::Missing { regions } => {
                let names: Vec<&str> = regions.iter().map(|r| r.name()).collect();
                write!(f, "missing regions: {}", names.join(", "))
            }
        }
    }
}

impl std::error::Error for ParseError {}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Drop markdown emphasis, quotes and a final period; lower-case; squeeze spaces.
fn clean(s: &str) -> String {
    let s: String = s.chars().filter(|c| !matches!(c, '*' | '`' | '"' | '“' | '”')).collect();
    let s = s.replace("__", "");
    let s = s.trim().trim_end_matches(['.', ';', ',']).trim();
    squeeze(&s.to_lowercase())
}

/// A region from its spelling in an answer (canonical name or alias, any case).
pub fn region_from_answer(text: &str) -> Option<Region> {
    let c = clean(text);
    let c = c.strip_prefix("the ").unwrap_or(&c);
    REGION_ALIASES.iter().find(|(a, _)| *a == c).map(|(_, r)| *r)
}

/// A phenomenon from its spelling in an answer, through the synonym table.
/// `None` for anything not listed: the caller records a parse error.
pub fn phenomenon_from_answer(text: &str) -> Option<Phenomenon> {
    let c = clean(text);
    let lookup = |s: &str| SYNONYMS.iter().find(|(a, _)| *a == s).map(|(_, p)| *p);
    if let Some(p) = lookup(&c) {
        return Some(p);
    }
    let (first, rest) = c.split_once(' ')?;
    if MODIFIERS.contains(&first) {
        lookup(rest)
    } else {
        None
    }
}

/// Strip a bullet marker; `None` when the line has none.
fn strip_bullet(line: &str) -> Option<&str> {
    let t = line.trim_start();
    for m in ["- ", "* ", "• ", "– ", "— ", "+ "] {
        if let Some(rest) = t.strip_prefix(m) {
            return Some(rest);
        }
    }
    // "1." / "12)" numbering
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(r);
        }
    }
    None
}

fn split_pair(s: &str) -> Option<(&str, &str)> {
    let mut best: Option<(usize, usize)> = None;
    for sep in [" - ", " – ", " — ", ":"] {
        if let Some(i) = s.find(sep) {
            if best.is_none_or(|(b, _)| i < b) {
                best = Some((i, sep.len()));
            }
        }
    }
    best.map(|(i, n)| (&s[..i], &s[i + n..]))
}

/// Parse an answer into a [`Caption`], or say exactly why not.
pub fn parse_answer(answer: &str) -> Result<Caption, ParseError> {
    let mut found: [Option<(Phenomenon, usize)>; 13] = [None; 13];
    for (i, raw) in answer.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with("```") {
            continue;
        }
        let bulleted = strip_bullet(trimmed);
        let body = bulleted.unwrap_or(trimmed);
        let pair = split_pair(body);
        let region = pair.and_then(|(r, _)| region_from_answer(r));
        if bulleted.is_none() && region.is_none() {
            // Un-bulleted chatter that names no region: not a bullet, not a label.
            continue;
        }
        let Some((rtext, ptext)) = pair else {
            return Err(ParseError::NoSeparator { line: line_no, text: trimmed.to_string() });
        };
        let Some(region) = region else {
            return Err(ParseError::UnknownRegion { line: line_no, text: rtext.trim().to_string() });
        };
        let Some(p) = phenomenon_from_answer(ptext) else {
            return Err(ParseError::UnknownPhenomenon {
                line: line_no,
                region,
                text: ptext.trim().to_string(),
            });
        };
        if let Some((_, first)) = found[region.index()] {
            return Err(ParseError::Duplicate { region, lines: (first, line_no) });
        }
        found[region.index()] = Some((p, line_no));
    }
    let missing: Vec<Region> = Region::ALL.into_iter().filter(|r| found[r.index()].is_none()).collect();
    if !missing.is_empty() {
        return Err(ParseError::Missing { regions: missing });
    }
    let mut labels = [Phenomenon::Clear; 13];
    for (i, f) in found.iter().enumerate() {
        labels[i] = f.map(|(p, _)| p).unwrap_or(Phenomenon::Clear);
    }
    Ok(Caption::new(labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Phenomenon::*;

    fn answer_with(lines: &[(&str, &str)]) -> String {
        lines.iter().map(|(r, p)| format!("- {r} - {p}")).collect::<Vec<_>>().join("\n")
    }

    fn all_regions(p: &str) -> Vec<(&'static str, String)> {
        Region::ALL.iter().map(|r| (r.name(), p.to_string())).collect()
    }

    macro_rules! phen {
        ($name:ident, $text:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(phenomenon_from_answer($text), $want);
            }
        };
    }

    phen!(syn_clear_sky, "clear sky", Some(Clear));
    phen!(syn_clear_skies_bold, "**Clear skies**", Some(Clear));
    phen!(syn_heavy_rain, "Heavy rain", Some(Rain));
    phen!(syn_tropical_storm, "Tropical Storm", Some(Typhoon));
    phen!(syn_partly_cloudy, "partly cloudy.", Some(Cloudy));
    phen!(syn_overcast, "Overcast", Some(Cloudy));
    phen!(syn_snow_showers, "light snow showers", Some(Snow));
    phen!(syn_drizzle, "drizzle", Some(Rain));
    phen!(reject_sleet, "sleet", None);
    phen!(reject_fog, "fog", None);
    phen!(reject_mixed, "cloudy with rain", None);
    phen!(reject_two_modifiers, "very heavy rain", None);
    phen!(reject_tropical_depression, "tropical depression", None);
    phen!(reject_precipitation, "precipitation", None);
    phen!(reject_empty, "", None);

    #[test]
    fn canonical_answer_parses() {
        let c = Caption::filled(Cloudy);
        assert_eq!(parse_answer(&c.to_bullets()), Ok(c));
    }

    #[test]
    fn layout_is_lenient() {
        let mut lines: Vec<String> = vec!["Here are the observations:".into(), "```".into()];
        for (i, r) in Region::ALL.iter().enumerate() {
            let line = match i % 4 {
                0 => format!("* **{}**: Clear sky", r.name()),
                1 => format!("{}. {} – Rain", i + 1, r.name()),
                2 => format!("• the {} — Snowfall.", r.name().to_uppercase()),
                _ => format!("{} - Typhoon", r.name()),
            };
            lines.push(line);
        }
        lines.push("```".into());
        let c = parse_answer(&lines.join("\n")).unwrap();
        assert_eq!(c.get(Region::KoreanPeninsula), Clear);
        assert_eq!(c.get(Region::Mongolia), Rain);
        assert_eq!(c.get(Region::NorthernChina), Snow);
        assert_eq!(c.get(Region::EasternChina), Typhoon);
    }

    #[test]
    fn study_typo_and_short_names() {
        let mut v = all_regions("Clear");
        v[12].0 = "the Pacific coast of lange";
        v[6].0 = "Honshu";
        v[7].0 = "Hokkaido, Japan";
        let pairs: Vec<(&str, &str)> = v.iter().map(|(r, p)| (*r, p.as_str())).collect();
        assert_eq!(parse_answer(&answer_with(&pairs)), Ok(Caption::filled(Clear)));
    }

    #[test]
    fn unknown_phenomenon_is_an_error_with_line() {
        let mut v = all_regions("Clear");
        v[3].1 = "Sleet".into();
        let pairs: Vec<(&str, &str)> = v.iter().map(|(r, p)| (*r, p.as_str())).collect();
        let err = parse_answer(&answer_with(&pairs)).unwrap_err();
        assert_eq!(
            err,
            ParseError::UnknownPhenomenon { line: 4, region: Region::EasternChina, text: "Sleet".into() }
        );
        assert!(err.to_string().contains("Eastern China"));
    }

    #[test]
    fn unknown_region_is_an_error() {
        let mut v = all_regions("Clear");
        v[0].0 = "Taiwan";
        let pairs: Vec<(&str, &str)> = v.iter().map(|(r, p)| (*r, p.as_str())).collect();
        assert!(matches!(parse_answer(&answer_with(&pairs)), Err(ParseError::UnknownRegion { line: 1, .. })));
    }

    #[test]
    fn duplicate_region_is_an_error_even_if_consistent() {
        let v = all_regions("Clear");
        let mut pairs: Vec<(&str, &str)> = v.iter().map(|(r, p)| (*r, p.as_str())).collect();
        pairs.push(("Mongolia", "Clear"));
        assert_eq!(
            parse_answer(&answer_with(&pairs)),
            Err(ParseError::Duplicate { region: Region::Mongolia, lines: (2, 14) })
        );
    }

    #[test]
    fn missing_regions_are_listed() {
        let v = all_regions("Clear");
        let pairs: Vec<(&str, &str)> = v.iter().take(11).map(|(r, p)| (*r, p.as_str())).collect();
        assert_eq!(
            parse_answer(&answer_with(&pairs)),
            Err(ParseError::Missing { regions: vec![Region::SouthChinaSea, Region::PacificCoastJapan] })
        );
    }

    #[test]
    fn bullet_without_separator_is_an_error() {
        let text = format!("{}\n- Korean Peninsula Snow", Caption::filled(Clear).to_bullets());
        assert!(matches!(parse_answer(&text), Err(ParseError::NoSeparator { line: 14, .. })));
    }

    #[test]
    fn refusal_is_missing_everything() {
        let err = parse_answer("I'm sorry, I cannot analyse this image.").unwrap_err();
        assert!(matches!(err, ParseError::Missing { ref regions } if regions.len() == 13));
    }

    #[test]
    fn parse_error_serializes_with_kind() {
        let e = ParseError::Missing { regions: vec![Region::Kyushu] };
        let j = serde_json::to_string(&e).unwrap();
        assert_eq!(j, r#"{"kind":"missing","regions":["Kyushu (Japan)"]}"#);
    }
}
