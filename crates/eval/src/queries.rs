//! Query sets: what people type, each with the region and phenomenon it asks for.
//!
//! A set on disk is a TSV file with the header `id	split	region	phenomenon	text`:
//! `region` is one of the study's 13 names exactly ([`REGIONS`]), `phenomenon` one of
//! [`PHENOMENA`], `split` is `dev` or `test` (fixed once, stratified by region × phenomenon;
//! see `data/eval/README.md`). The template set is not a file: [`template_queries`] builds the
//! study's 65 queries ("Honshu, Japan is experiencing a typhoon.") from the vocabulary.

use std::collections::HashSet;
use std::path::Path;

use skycase_vocab::{PHENOMENA, REGIONS};

use crate::error::{Error, Result};

/// The columns a query file must have, in this order.
pub const HEADER: [&str; 5] = ["id", "split", "region", "phenomenon", "text"];

/// The two halves of a query set (and of the archives: 2018 months are dev, 2019 test).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Used for choosing models and settings.
    Dev,
    /// Reported only; nothing is chosen on it.
    Test,
}

impl Split {
    /// `dev` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Test => "test",
        }
    }

    /// Parses `dev` or `test`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "dev" => Ok(Self::Dev),
            "test" => Ok(Self::Test),
            other => Err(Error::Usage(format!("split '{other}' is neither 'dev' nor 'test'"))),
        }
    }
}

/// One query with what it asks for.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Query {
    /// Unique within its set, e.g. `en-042`.
    pub id: String,
    /// Its half of the set; `None` for the template queries, which belong to both.
    pub split: Option<Split>,
    /// Region index into [`REGIONS`].
    pub region: usize,
    /// Phenomenon index into [`PHENOMENA`].
    pub phenomenon: usize,
    /// What is typed.
    pub text: String,
}

/// A named list of queries.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySet {
    /// `template`, `en`, `ko`, …
    pub name: String,
    /// In file order.
    pub queries: Vec<Query>,
}

impl QuerySet {
    /// The queries of one split; the template queries (no split) are in both.
    pub fn of_split(&self, split: Split) -> Vec<&Query> {
        self.queries.iter().filter(|q| q.split.is_none_or(|s| s == split)).collect()
    }

    /// Reads `queries-<name>.tsv` from `dir`, or builds the template set for `template`.
    pub fn load(dir: &Path, name: &str) -> Result<Self> {
        if name == "template" {
            return Ok(Self { name: name.into(), queries: template_queries() });
        }
        let path = dir.join(format!("queries-{name}.tsv"));
        Ok(Self { name: name.into(), queries: read_tsv(&path)? })
    }
}

/// The study's query for region `r`, phenomenon `p` (the same text the trainer holds out).
pub fn template_text(r: usize, p: usize) -> String {
    skycase_train::text::study_query(r, p)
}

/// The study's 65 template queries, region-major (`template-06-4` is Honshu × Typhoon).
pub fn template_queries() -> Vec<Query> {
    let mut out = Vec::with_capacity(REGIONS.len() * PHENOMENA.len());
    for r in 0..REGIONS.len() {
        for p in 0..PHENOMENA.len() {
            out.push(Query { id: format!("template-{r:02}-{p}"), split: None, region: r, phenomenon: p, text: template_text(r, p) });
        }
    }
    out
}

/// Reads a query TSV (see the module header); any bad line is an error naming the file and
/// the line.
pub fn read_tsv(path: &Path) -> Result<Vec<Query>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| Error::format(path, format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to())))?;
    parse_tsv(&text, path)
}

/// [`read_tsv`] on text already read; `path` is for messages.
pub fn parse_tsv(text: &str, path: &Path) -> Result<Vec<Query>> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().map(|(_, l)| l.split('\t').collect()).unwrap_or_default();
    if header != HEADER {
        return Err(Error::format(path, format!("line 1: the header must be '{}', found '{}'", HEADER.join("\\t"), header.join("\\t"))));
    }
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for (i, line) in lines {
        let bad = |reason: String| Error::format(path, format!("line {}: {reason}", i + 1));
        let cols: Vec<&str> = line.split('\t').collect();
        let [id, split, region, phenomenon, text] = cols[..] else {
            return Err(bad(format!("{} columns, expected 5 ({})", cols.len(), HEADER.join(", "))));
        };
        if id.is_empty() || !ids.insert(id.to_string()) {
            return Err(bad(format!("id '{id}' is empty or repeated")));
        }
        let split = Split::parse(split).map_err(|e| bad(e.to_string()))?;
        let region = REGIONS.iter().position(|r| *r == region).ok_or_else(|| bad(format!("region '{region}' is not one of: {}", REGIONS.join(", "))))?;
        let phenomenon =
            PHENOMENA.iter().position(|p| *p == phenomenon).ok_or_else(|| bad(format!("phenomenon '{phenomenon}' is not one of: {}", PHENOMENA.join(", "))))?;
        if text.trim().is_empty() {
            return Err(bad("empty query text".into()));
        }
        out.push(Query { id: id.into(), split: Some(split), region, phenomenon, text: text.into() });
    }
    if out.is_empty() {
        return Err(Error::format(path, "no queries"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/eval");

    #[test]
    fn template_has_the_studys_65_queries() {
        let t = template_queries();
        assert_eq!(t.len(), 65);
        assert_eq!(t[6 * 5 + 4].text, "Honshu, Japan is experiencing a typhoon.");
        assert_eq!(t[0].text, "Korean Peninsula is experiencing snow.");
        let set = QuerySet { name: "template".into(), queries: t };
        assert_eq!(set.of_split(Split::Dev).len(), 65);
        assert_eq!(set.of_split(Split::Test).len(), 65);
    }

    #[test]
    fn bad_lines_are_named() {
        let p = Path::new("q.tsv");
        let head = "id\tsplit\tregion\tphenomenon\ttext\n";
        let ok = parse_tsv(&format!("{head}a\tdev\tMongolia\tSnow\tsnow in mongolia\n"), p).unwrap();
        assert_eq!((ok[0].region, ok[0].phenomenon, ok[0].split), (1, 0, Some(Split::Dev)));
        let err = |body: &str| parse_tsv(&format!("{head}{body}"), p).unwrap_err().to_string();
        assert!(err("a\tdev\tMongolia\tSnow\n").contains("line 2: 4 columns"));
        assert!(err("a\tval\tMongolia\tSnow\tx\n").contains("split 'val'"));
        assert!(err("a\tdev\tKorea\tSnow\tx\n").contains("region 'Korea' is not one of"));
        assert!(err("a\tdev\tMongolia\tHail\tx\n").contains("phenomenon 'Hail'"));
        assert!(err("a\tdev\tMongolia\tSnow\tx\na\ttest\tMongolia\tSnow\ty\n").contains("line 3: id 'a'"));
        assert!(err("a\tdev\tMongolia\tSnow\t \n").contains("empty query text"));
        assert!(parse_tsv("id\ttext\n", p).unwrap_err().to_string().contains("line 1: the header"));
        assert!(parse_tsv(head, p).unwrap_err().to_string().contains("no queries"));
    }

    /// The committed sets: sizes, every cell covered, and the split stratified per cell
    /// (dev and test differ by at most one query in each region × phenomenon).
    #[test]
    fn committed_sets_cover_every_cell_and_split_evenly() {
        for (name, min, per_cell) in [("en", 300, 4), ("ko", 100, 1)] {
            let set = QuerySet::load(Path::new(DATA), name).unwrap();
            assert!(set.queries.len() >= min, "{name}: {}", set.queries.len());
            let mut texts = HashSet::new();
            for q in &set.queries {
                assert!(texts.insert(q.text.to_lowercase()), "{name}: '{}' twice", q.text);
            }
            for r in 0..REGIONS.len() {
                for p in 0..PHENOMENA.len() {
                    let cell: Vec<&Query> = set.queries.iter().filter(|q| q.region == r && q.phenomenon == p).collect();
                    let dev = cell.iter().filter(|q| q.split == Some(Split::Dev)).count();
                    let test = cell.len() - dev;
                    assert!(cell.len() >= per_cell, "{name}: {} × {}: {} queries", REGIONS[r], PHENOMENA[p], cell.len());
                    assert!(dev.abs_diff(test) <= 1, "{name}: {} × {}: {dev} dev, {test} test", REGIONS[r], PHENOMENA[p]);
                }
            }
            let dev = set.of_split(Split::Dev).len();
            assert!(dev.abs_diff(set.queries.len() - dev) <= 2, "{name}: {dev} of {}", set.queries.len());
        }
    }
}
