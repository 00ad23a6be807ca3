//! The study's fixed vocabulary, written once for every crate: 13 regions (in the order of
//! its prompt) and 5 phenomena, the caption bullet `- Region - Phenomenon` that joins them,
//! and their prose forms.
//!
//! Contract: [`REGIONS`] index `k` is region `k` everywhere — bit `k` of an ingest mask word,
//! row `k` of a region embedding, line `k` of a caption. [`PHENOMENA`] index `p` is the label
//! `p` of the training data. Names are exact and case-sensitive; lenient spellings (MLLM
//! answers, user queries) are mapped onto them by the crates that read such text.
//!
//! No dependencies, so the browser build and every native crate can use it.
//!
//! ```
//! use skycase_vocab::{bullet, phenomenon_of, region_index, region_prose};
//! let k = region_index("Honshu (Japan)").unwrap();
//! assert_eq!(region_prose(k), "Honshu, Japan");
//! assert_eq!(phenomenon_of(&bullet(k, 3), k), Some("Rain"));
//! ```

pub mod gazetteer;
pub mod grammar;
pub mod negation;

/// The evaluation's queries (`data/eval/queries-en.tsv`, `queries-ko.tsv`) as `(file, text)`,
/// for tests that check what the query readers make of them.
#[cfg(test)]
pub(crate) fn eval_queries() -> Vec<(&'static str, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/eval");
    let mut out = Vec::new();
    for file in ["queries-en.tsv", "queries-ko.tsv"] {
        for line in std::fs::read_to_string(root.join(file)).unwrap().lines().skip(1) {
            out.push((file, line.rsplit('\t').next().unwrap().to_string()));
        }
    }
    assert!(out.len() >= 455, "{} queries", out.len());
    out
}

/// Region names in the order the study's prompt lists them; captions keep this order.
pub const REGIONS: [&str; 13] = [
    "Korean Peninsula",
    "Mongolia",
    "Northern China",
    "Eastern China",
    "Southern China",
    "Manchuria and Primorsky Krai",
    "Honshu (Japan)",
    "Hokkaido (Japan)",
    "Kyushu (Japan)",
    "East China Sea",
    "Philippine Sea",
    "South China Sea",
    "Pacific coast of Japan",
];

/// The five phenomena a region can carry.
pub const PHENOMENA: [&str; 5] = ["Snow", "Clear", "Cloudy", "Rain", "Typhoon"];

/// Each phenomenon as the object of a sentence ("Honshu, Japan is experiencing _"), in
/// [`PHENOMENA`] order.
pub const PHENOMENA_PROSE: [&str; 5] = ["snow", "clear skies", "cloudy skies", "rain", "a typhoon"];

/// Index of a region by its exact name.
pub fn region_index(name: &str) -> Option<usize> {
    REGIONS.iter().position(|r| *r == name)
}

/// Index of a phenomenon by its exact name.
pub fn phenomenon_index(name: &str) -> Option<usize> {
    PHENOMENA.iter().position(|p| *p == name)
}

/// The caption bullet for region `r`, phenomenon `p`: `- Honshu (Japan) - Rain`.
///
/// Panics if `r` or `p` is out of range (indices come from [`REGIONS`] / [`PHENOMENA`]).
pub fn bullet(r: usize, p: usize) -> String {
    format!("- {} - {}", REGIONS[r], PHENOMENA[p])
}

/// Splits a caption line `- Region - Phenomenon` into its two parts.
pub fn parse_bullet(line: &str) -> Option<(&str, &str)> {
    let body = line.trim().strip_prefix('-')?.trim();
    let (region, phenomenon) = body.rsplit_once(" - ")?;
    Some((region.trim(), phenomenon.trim()))
}

/// The phenomenon a caption gives for region `index`, if any.
pub fn phenomenon_of(caption: &str, index: usize) -> Option<&str> {
    let name = REGIONS.get(index)?;
    caption.lines().filter_map(parse_bullet).find(|(r, _)| r == name).map(|(_, p)| p)
}

/// Region `r`'s name as prose: `Honshu (Japan)` → `Honshu, Japan`; names without a
/// parenthesis are unchanged.
///
/// Panics if `r` is out of range.
pub fn region_prose(r: usize) -> String {
    let name = REGIONS[r];
    match name.strip_suffix(')').and_then(|s| s.split_once(" (")) {
        Some((a, b)) => format!("{a}, {b}"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bullets_parse_with_parenthesised_names() {
        assert_eq!(parse_bullet("- Honshu (Japan) - Rain"), Some(("Honshu (Japan)", "Rain")));
        assert_eq!(parse_bullet("Honshu - Rain"), None);
        let caption = "- Korean Peninsula - Snow\n- Kyushu (Japan) - Cloudy";
        assert_eq!(phenomenon_of(caption, region_index("Kyushu (Japan)").unwrap()), Some("Cloudy"));
        assert_eq!(phenomenon_of(caption, 1), None);
        assert_eq!(phenomenon_of(caption, 13), None);
    }

    #[test]
    fn bullets_round_trip_every_pair() {
        for r in 0..REGIONS.len() {
            for p in 0..PHENOMENA.len() {
                let line = bullet(r, p);
                let (name, ph) = parse_bullet(&line).unwrap();
                assert_eq!((region_index(name), phenomenon_index(ph)), (Some(r), Some(p)));
            }
        }
        assert_eq!(bullet(6, 4), "- Honshu (Japan) - Typhoon");
        assert_eq!(region_index("honshu (japan)"), None);
        assert_eq!(phenomenon_index("snow"), None);
    }

    #[test]
    fn prose_drops_parentheses_only() {
        assert_eq!(region_prose(6), "Honshu, Japan");
        assert_eq!(region_prose(5), "Manchuria and Primorsky Krai");
        assert_eq!(region_prose(12), "Pacific coast of Japan");
        assert_eq!(PHENOMENA_PROSE[4], "a typhoon");
    }
}
