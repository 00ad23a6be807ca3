//! Running a query set through the searcher and scoring the answers against truth.
//!
//! For a query asking for region `r` with phenomenon `p`, a frame is *relevant* when its truth
//! label for `r` is `p`. With `k` results (20, the study's number):
//!
//! - **normalised hits@k** of a query = relevant frames among its top `k` / min(`k`, relevant
//!   frames in the archive); undefined when the archive has no relevant frame.
//! - a **cell** (region × phenomenon) scores the mean over its queries; a set scores the mean
//!   over cells with ≥ 1 relevant frame (and, separately, over cells with ≥ 5), so every cell
//!   weighs the same however many queries it has.
//! - **region match**: the share of queries whose top hit's matched region
//!   ([`Searcher::matched_region`]) is the region the query names.
//! - **"nothing close"**: the share of queries answered with the notice, over cells with no
//!   relevant frame (should be high) and over cells with ≥ 5 (should be low), from
//!   [`Answer::nothing_close`]; n/a for a checkpoint without a calibration.

use skycase_vocab::{PHENOMENA, REGIONS};
use skycase_core::search::TextSide;
use skycase_core::{Answer, Filters, Searcher};

use crate::error::Result;
use crate::index::{ArchiveIndex, Origin};
use crate::queries::Query;

/// Cells the figures are computed over: those with at least this many relevant frames count
/// for the stricter mean.
pub const MIN_RELEVANT_STRICT: usize = 5;

/// The "nothing close" flag of an answer; `None` when the searcher has no calibration (it
/// then never says so while there are hits).
pub fn nothing_close(answer: &Answer, calibrated: bool) -> Option<bool> {
    calibrated.then_some(answer.nothing_close)
}

/// Relevant-frame counts per cell, `[region][phenomenon]`, over the searched frames.
pub type CellCounts = [[usize; 5]; 13];

/// Truth of the searcher's frames: `labels[shard][frame]` = phenomenon index per region.
pub struct Truth {
    labels: Vec<Vec<[u8; 13]>>,
    /// Relevant frames per cell.
    pub relevant: CellCounts,
}

impl Truth {
    /// The labels of each searcher frame, from the archive it came from.
    pub fn new(archives: &[ArchiveIndex], origin: &Origin) -> Self {
        let labels: Vec<Vec<[u8; 13]>> = origin.iter().map(|shard| shard.iter().map(|&(a, i)| archives[a].samples[i].labels).collect()).collect();
        let mut relevant = [[0usize; 5]; 13];
        for l in labels.iter().flatten() {
            for (r, &p) in l.iter().enumerate() {
                if let Some(c) = relevant[r].get_mut(p as usize) {
                    *c += 1;
                }
            }
        }
        Self { labels, relevant }
    }

    /// Phenomenon index of region `r` in frame `frame` of shard `shard`.
    pub fn label(&self, shard: usize, frame: usize, r: usize) -> Option<usize> {
        self.labels.get(shard)?.get(frame).map(|l| l[r] as usize)
    }
}

/// One ranked result as the report needs it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ranked {
    /// Frame time (UTC).
    pub time: String,
    /// Frame id (`<archive>/<time>`).
    pub id: String,
    /// Score.
    pub score: f32,
    /// The region whose vector matched, for region-aware checkpoints.
    pub matched: Option<String>,
    /// Whether the frame is relevant to the query.
    pub relevant: bool,
}

/// What one query got.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// The query.
    pub query: Query,
    /// Relevant frames in the searched archives.
    pub relevant: usize,
    /// Relevant frames in the top k.
    pub hits: usize,
    /// The top k, best first.
    pub top: Vec<Ranked>,
    /// The "nothing close" flag, once the search gives one.
    pub nothing_close: Option<bool>,
    /// The encoder that embedded the query (`minilm` or `multilingual`).
    pub encoder: String,
    /// Calibrated strength of each of the top k that the "nothing close" notice reads (empty
    /// without a calibration): those of `top`, or with learnt directions, of the ranking
    /// without them ([`Answer::notice_hit_strengths`]); what `skycase calibrate` chooses on.
    pub strengths: Vec<f32>,
}

impl Outcome {
    /// hits / min(k, relevant), `None` without relevant frames.
    pub fn normalised(&self, k: usize) -> Option<f64> {
        (self.relevant > 0).then(|| self.hits as f64 / self.relevant.min(k) as f64)
    }

    /// Whether the top hit's matched region is the region the query names.
    pub fn region_match(&self) -> bool {
        self.top.first().and_then(|t| t.matched.as_deref()) == Some(REGIONS[self.query.region])
    }
}

/// Runs `queries` as the app does, [`Searcher::searched`] (a period or storm the query writes
/// narrows the filters, which start empty) then [`Searcher::search`], `k` results each; with
/// `side`, through [`Searcher::search_on`] that encoder instead of the one the app picks.
pub fn run_queries(searcher: &Searcher, truth: &Truth, queries: &[&Query], k: usize, side: Option<TextSide>, progress: Option<&indicatif::ProgressBar>) -> Result<Vec<Outcome>> {
    let mut out = Vec::with_capacity(queries.len());
    let clock = || 0.0;
    for q in queries {
        let searched = searcher.searched(&q.text, &Filters::default());
        let answer = match side {
            Some(side) => searcher.search_on(side, &searched.text, k, &searched.filters, clock)?,
            None => searcher.search(&searched.text, k, &searched.filters, clock)?,
        };
        let top: Vec<Ranked> = answer
            .hits
            .iter()
            .map(|h| {
                let rec = &searcher.shards()[h.shard].records()[h.frame];
                Ranked {
                    time: rec.time.clone(),
                    id: rec.id.clone(),
                    score: h.score,
                    matched: searcher.matched_region(h).map(str::to_string),
                    relevant: truth.label(h.shard, h.frame, q.region) == Some(q.phenomenon),
                }
            })
            .collect();
        out.push(Outcome {
            query: (*q).clone(),
            relevant: truth.relevant[q.region][q.phenomenon],
            hits: top.iter().filter(|t| t.relevant).count(),
            top,
            nothing_close: nothing_close(&answer, searcher.calibration().is_some()),
            encoder: answer.side.name().into(),
            strengths: answer.notice_hit_strengths.clone(),
        });
        if let Some(p) = progress {
            p.inc(1);
        }
    }
    Ok(out)
}

/// One cell of a set's table.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Cell {
    /// Queries of the set in this cell.
    pub queries: usize,
    /// Relevant frames.
    pub relevant: usize,
    /// Mean normalised hits@k of its queries (`None` without relevant frames or queries).
    pub score: Option<f64>,
    /// Mean raw hits of its queries.
    pub hits: f64,
}

/// A set's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Results per query.
    pub k: usize,
    /// Queries run.
    pub queries: usize,
    /// Cells with ≥ 1 relevant frame (and ≥ 1 query).
    pub cells_any: usize,
    /// Cells with ≥ [`MIN_RELEVANT_STRICT`] relevant frames (and ≥ 1 query).
    pub cells_strict: usize,
    /// Mean cell score over cells with ≥ 1 relevant frame.
    pub hits_any: Option<f64>,
    /// Mean cell score over cells with ≥ 5 relevant frames.
    pub hits_strict: Option<f64>,
    /// Share of queries whose top hit's matched region is the named one.
    pub region_match: Option<f64>,
    /// Share of queries of cells without relevant frames answered "nothing close".
    pub nothing_close_empty: Option<f64>,
    /// Share of queries of cells with ≥ 5 relevant frames answered "nothing close".
    pub nothing_close_strict: Option<f64>,
    /// `[region][phenomenon]`.
    pub cells: [[Cell; 5]; 13],
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, s) = v.fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| s / n as f64)
}

/// The figures of a set's outcomes (see the module header).
pub fn summarise(outcomes: &[Outcome], k: usize) -> Summary {
    let mut cells = [[Cell::default(); 5]; 13];
    for r in 0..REGIONS.len() {
        for p in 0..PHENOMENA.len() {
            let mine: Vec<&Outcome> = outcomes.iter().filter(|o| o.query.region == r && o.query.phenomenon == p).collect();
            let relevant = mine.first().map_or(0, |o| o.relevant);
            cells[r][p] = Cell {
                queries: mine.len(),
                relevant,
                score: mean(mine.iter().filter_map(|o| o.normalised(k))),
                hits: mean(mine.iter().map(|o| o.hits as f64)).unwrap_or(0.0),
            };
        }
    }
    let flat = || cells.iter().flatten();
    let nothing = |keep: &dyn Fn(usize) -> bool| -> Option<f64> {
        let flags: Vec<Option<bool>> = outcomes.iter().filter(|o| keep(o.relevant)).map(|o| o.nothing_close).collect();
        if flags.is_empty() || flags.iter().any(Option::is_none) {
            return None;
        }
        mean(flags.iter().map(|f| if *f == Some(true) { 1.0 } else { 0.0 }))
    };
    Summary {
        k,
        queries: outcomes.len(),
        cells_any: flat().filter(|c| c.score.is_some()).count(),
        cells_strict: flat().filter(|c| c.score.is_some() && c.relevant >= MIN_RELEVANT_STRICT).count(),
        hits_any: mean(flat().filter_map(|c| c.score)),
        hits_strict: mean(flat().filter(|c| c.relevant >= MIN_RELEVANT_STRICT).filter_map(|c| c.score)),
        region_match: mean(outcomes.iter().map(|o| if o.region_match() { 1.0 } else { 0.0 })),
        nothing_close_empty: nothing(&|rel| rel == 0),
        nothing_close_strict: nothing(&|rel| rel >= MIN_RELEVANT_STRICT),
        cells,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(r: usize, p: usize, relevant: usize, hits: usize, matched: &str) -> Outcome {
        let top = (0..20)
            .map(|i| Ranked { time: String::new(), id: String::new(), score: 0.0, matched: Some(matched.into()), relevant: i < hits })
            .collect();
        Outcome { query: Query { id: String::new(), split: None, region: r, phenomenon: p, text: String::new() }, relevant, hits, top, nothing_close: None, encoder: "minilm".into(), strengths: Vec::new() }
    }

    #[test]
    fn cells_weigh_the_same_whatever_their_query_count() {
        let o = vec![
            // Korean Peninsula × Snow: 3 relevant, hits 3 and 0 → (1 + 0) / 2 = 0.5.
            outcome(0, 0, 3, 3, "Korean Peninsula"),
            outcome(0, 0, 3, 0, "Mongolia"),
            // Mongolia × Clear: 40 relevant, 10 hits → 10 / 20 = 0.5 … and one more query 20/20.
            outcome(1, 1, 40, 10, "Mongolia"),
            outcome(1, 1, 40, 20, "Mongolia"),
            // Hokkaido × Typhoon: nothing relevant; counts for region match only.
            outcome(7, 4, 0, 0, "Philippine Sea"),
        ];
        let s = summarise(&o, 20);
        assert_eq!(s.cells[0][0].score, Some(0.5));
        assert_eq!(s.cells[1][1].score, Some(0.75));
        assert_eq!(s.cells[7][4].score, None);
        assert_eq!((s.cells_any, s.cells_strict), (2, 1));
        // (0.5 + 0.75) / 2 over cells with a relevant frame; 0.75 alone with ≥ 5.
        assert_eq!(s.hits_any, Some(0.625));
        assert_eq!(s.hits_strict, Some(0.75));
        // Region match: queries 1, 3, 4 of 5.
        assert_eq!(s.region_match, Some(0.6));
        assert_eq!(s.cells[0][0].hits, 1.5);
        // No search answer carries the flag yet.
        assert_eq!((s.nothing_close_empty, s.nothing_close_strict), (None, None));
    }

    #[test]
    fn nothing_close_rates_count_the_flag_per_query() {
        let mut o = vec![outcome(0, 4, 0, 0, "x"), outcome(1, 4, 0, 0, "x"), outcome(2, 0, 9, 5, "x"), outcome(3, 0, 2, 1, "x")];
        for (x, f) in o.iter_mut().zip([true, false, false, true]) {
            x.nothing_close = Some(f);
        }
        let s = summarise(&o, 20);
        assert_eq!(s.nothing_close_empty, Some(0.5));
        assert_eq!(s.nothing_close_strict, Some(0.0));
    }
}
