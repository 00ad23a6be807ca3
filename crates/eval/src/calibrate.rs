//! Refits a checkpoint's "nothing close" calibration ([`skycase_core::strength`]) in two
//! steps, on data kept apart from the test months:
//!
//! 1. `slope`, `intercept` (strength = σ(slope · margin + intercept)): logistic regression
//!    over every frame × region × phenomenon of the `fit` archives — training months, which
//!    hold the rare cells (typhoons, summer rain, snow) that a single November lacks; then,
//!    optionally, a log-odds offset per cell on the same frames
//!    ([`skycase_core::strength::fit_cell_bias`]: a typhoon over Hokkaido is rarer than the
//!    margin alone says).
//! 2. `top`, `threshold`: chosen on the `dev` archives through the app's own search
//!    ([`build_searcher`] + [`run_queries`], the dev half of each query set): the notice must
//!    stay off for all but `max_false` of the queries whose cell has ≥ 5 relevant frames;
//!    among the (top, threshold) pairs that allow it, the one giving the notice for the most
//!    queries whose cell has none wins (ties: fewer false notices, then the lower threshold).
//!
//! With no `fit` archives, step 1 is skipped: the logistic and offsets stay the checkpoint's
//! and only `top` and `threshold` are chosen again (e.g. after `skycase reduce`, whose
//! margins move by the energy it drops).
//!
//! The anchors stay the checkpoint's (the projected caption bullets the search anchors
//! queries with); only the four numbers change. The notice of a query is
//! `no hit, or every one of the first top hits has strength < threshold`, as in
//! [`skycase_core::strength::Calibration::nothing_close`].

use std::path::{Path, PathBuf};

use skycase_core::strength::{fit, fit_cell_bias, Calibration, LabelledFrame};

use crate::error::{write_atomic, Error, Result};
use crate::index::{build_searcher, embed_archive, multilingual_side, text_side, Checkpoint};
use crate::queries::{QuerySet, Split};
use crate::report::{set_encoder, MultilingualOptions};
use crate::score::{run_queries, Outcome, Truth, MIN_RELEVANT_STRICT};

/// What to fit on and choose on.
#[derive(Debug, Clone)]
pub struct CalibrateOptions {
    /// The checkpoint whose `calibration.json` is refit (its anchors are kept).
    pub checkpoint: PathBuf,
    /// The all-MiniLM-L6-v2 folder.
    pub text_model: PathBuf,
    /// The multilingual encoder, so Korean dev queries take the browser's path.
    pub multilingual: Option<MultilingualOptions>,
    /// Archives for the logistic fit (training months).
    pub fit: Vec<PathBuf>,
    /// Archives searched to choose `top` and `threshold` (dev months).
    pub dev: Vec<PathBuf>,
    /// Folder of `queries-<set>.tsv`.
    pub query_dir: PathBuf,
    /// Query sets whose dev half is run (`template`, `en`, `ko`, …).
    pub sets: Vec<String>,
    /// Results per query.
    pub k: usize,
    /// Largest allowed share of false notices (cells with ≥ 5 relevant frames).
    pub max_false: f64,
    /// Per-cell log-odds offsets ([`fit_cell_bias`]) fit on the `fit` archives with this L2
    /// weight; `None`: no offsets.
    pub cell_bias: Option<f64>,
    /// Cache of image vectors and the quantized encoder.
    pub cache: Option<PathBuf>,
    /// Progress bars.
    pub progress: bool,
}

/// Notice rates of one (top, threshold) choice over a list of outcomes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct NoticeRates {
    /// Hits examined.
    pub top: usize,
    /// Strength threshold.
    pub threshold: f32,
    /// Share of queries without relevant frames that get the notice.
    pub empty: f64,
    /// Share of queries with ≥ 5 relevant frames that get it (false notices).
    pub full: f64,
    /// Queries without relevant frames.
    pub empty_queries: usize,
    /// Queries with ≥ 5 relevant frames.
    pub full_queries: usize,
}

/// The rates if the notice were `no hit, or each of the first top strengths < threshold`.
pub fn notice_rates(outcomes: &[&Outcome], top: usize, threshold: f32) -> NoticeRates {
    let notice = |o: &Outcome| o.top.is_empty() || o.strengths.iter().take(top).all(|&s| s < threshold);
    let empty: Vec<bool> = outcomes.iter().filter(|o| o.relevant == 0).map(|o| notice(o)).collect();
    let full: Vec<bool> = outcomes.iter().filter(|o| o.relevant >= MIN_RELEVANT_STRICT).map(|o| notice(o)).collect();
    let share = |v: &[bool]| if v.is_empty() { 0.0 } else { v.iter().filter(|&&x| x).count() as f64 / v.len() as f64 };
    NoticeRates { top, threshold, empty: share(&empty), full: share(&full), empty_queries: empty.len(), full_queries: full.len() }
}

/// The (top, threshold) pair of the module header, over thresholds 0.01 … 0.99 and top 1, 3, 5.
pub fn choose_notice(outcomes: &[&Outcome], max_false: f64) -> NoticeRates {
    let mut best: Option<NoticeRates> = None;
    for top in [1, 3, 5] {
        for t in 1..100 {
            let r = notice_rates(outcomes, top, t as f32 / 100.0);
            if r.full > max_false {
                continue;
            }
            if best.is_none_or(|b| r.empty > b.empty || (r.empty == b.empty && r.full < b.full)) {
                best = Some(r);
            }
        }
    }
    best.unwrap_or_else(|| notice_rates(outcomes, 1, 0.0))
}

/// Refits the calibration (see the module header) and returns it with the dev rates it was
/// chosen with; nothing is written.
pub fn recalibrate(opts: &CalibrateOptions) -> Result<(Calibration, NoticeRates)> {
    if opts.dev.is_empty() {
        return Err(Error::Usage("give at least one dev archive".into()));
    }
    let ckpt = Checkpoint::open(&opts.checkpoint)?;
    let cal_path = opts.checkpoint.join(skycase_train::calibration::CALIBRATION_FILE);
    let bytes = std::fs::read(&cal_path).map_err(|e| Error::io(&cal_path, e))?;
    let old = Calibration::from_json(&bytes, &cal_path.display().to_string())?;

    // 1. The logistic on the fit archives.
    let mut frames = Vec::new();
    let mut names = Vec::new();
    for root in &opts.fit {
        let a = embed_archive(&ckpt, root, opts.cache.as_deref(), opts.progress)?;
        if a.names.len() != 13 {
            return Err(Error::Usage(format!("{}: the checkpoint is not region-aware", opts.checkpoint.display())));
        }
        for (i, s) in a.samples.iter().enumerate() {
            frames.push(LabelledFrame { regions: (0..13).map(|v| a.vector(i, v).to_vec()).collect(), labels: s.labels.iter().map(|&l| l as usize).collect() });
        }
        names.push(a.name.clone());
    }
    let mut cal = old.clone();
    if !frames.is_empty() {
        let all: Vec<usize> = (0..frames.len()).collect();
        let logistic = fit(&frames, old.anchors.clone(), &[all])?;
        cal.slope = logistic.slope;
        cal.intercept = logistic.intercept;
        cal.cell_bias = match opts.cell_bias {
            Some(lambda) => fit_cell_bias(&frames, &cal, lambda),
            None => Vec::new(),
        };
    }

    // 2. top and threshold on the dev archives, through the search.
    let text = text_side(&opts.text_model, opts.cache.as_deref())?;
    let ml = match &opts.multilingual {
        Some(m) => Some(multilingual_side(&m.model, &m.projection, ckpt.model.config().joint_dim)?),
        None => None,
    };
    let archives = opts.dev.iter().map(|r| embed_archive(&ckpt, r, opts.cache.as_deref(), opts.progress)).collect::<Result<Vec<_>>>()?;
    let (mut searcher, origin) = build_searcher(&text, &ckpt, &archives, ml.as_ref())?;
    searcher.set_calibration(&cal.to_json(), "calibration (refit)")?;
    let truth = Truth::new(&archives, &origin);
    let mut outcomes = Vec::new();
    for name in &opts.sets {
        let (file, side) = set_encoder(name)?;
        let set = QuerySet::load(&opts.query_dir, file)?;
        outcomes.extend(run_queries(&searcher, &truth, &set.of_split(Split::Dev), opts.k, side, None)?);
    }
    let refs: Vec<&Outcome> = outcomes.iter().collect();
    let chosen = choose_notice(&refs, opts.max_false);
    cal.top = chosen.top;
    cal.threshold = chosen.threshold;
    let dev_names: Vec<String> = archives.iter().map(|a| a.name.clone()).collect();
    cal.fit = serde_json::json!({
        "method": if frames.is_empty() {
            "skycase calibrate: logistic and cell offsets kept, top/threshold on the dev queries through the search"
        } else {
            "skycase calibrate: logistic on the fit archives, top/threshold on the dev queries through the search"
        },
        "logistic_archives": names,
        "logistic_frames": frames.len(),
        "dev_archives": dev_names,
        "dev_sets": opts.sets,
        "max_false": opts.max_false,
        "cell_bias_l2": if frames.is_empty() { old.fit.get("cell_bias_l2").cloned().unwrap_or_default() } else { serde_json::json!(opts.cell_bias) },
        "dev_queries_without_relevant": chosen.empty_queries,
        "dev_queries_with_5_or_more": chosen.full_queries,
        "notice_rate_without_relevant": chosen.empty,
        "notice_rate_with_5_or_more": chosen.full,
        "previous_fit": old.fit,
    });
    Ok((cal, chosen))
}

/// Writes `calibration.json` into `dir` atomically.
pub fn save(cal: &Calibration, dir: &Path) -> Result<()> {
    write_atomic(&dir.join(skycase_train::calibration::CALIBRATION_FILE), &cal.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queries::Query;
    use crate::score::Ranked;

    fn outcome(relevant: usize, strengths: &[f32]) -> Outcome {
        let top = strengths.iter().map(|_| Ranked { time: String::new(), id: String::new(), score: 0.0, matched: None, relevant: false }).collect();
        Outcome {
            query: Query { id: String::new(), split: None, region: 0, phenomenon: 0, text: String::new() },
            relevant,
            hits: 0,
            top,
            nothing_close: None,
            encoder: "minilm".into(),
            strengths: strengths.to_vec(),
        }
    }

    #[test]
    fn rates_count_queries_per_kind_of_cell() {
        let os = [outcome(0, &[0.2, 0.3]), outcome(0, &[0.6, 0.1]), outcome(0, &[]), outcome(7, &[0.9]), outcome(9, &[0.25, 0.45]), outcome(3, &[0.1])];
        let refs: Vec<&Outcome> = os.iter().collect();
        let r = notice_rates(&refs, 1, 0.5);
        // Empty cells: 0.2 < 0.5 yes, 0.6 no, no hits yes → 2 of 3; full: 0.9 no, 0.25 yes → 1 of 2.
        assert_eq!((r.empty_queries, r.full_queries), (3, 2));
        assert!((r.empty - 2.0 / 3.0).abs() < 1e-12 && (r.full - 0.5).abs() < 1e-12);
        // top 2: the second query's 0.6 still counts, the fifth's 0.45 < 0.5 → still a notice.
        assert_eq!(notice_rates(&refs, 2, 0.5).full, 0.5);
        assert_eq!(notice_rates(&refs, 2, 0.4).full, 0.0);
    }

    #[test]
    fn the_choice_keeps_false_notices_under_the_cap() {
        let os = [outcome(0, &[0.2]), outcome(0, &[0.35]), outcome(0, &[0.7]), outcome(6, &[0.3]), outcome(6, &[0.8]), outcome(6, &[0.9]), outcome(6, &[0.95])];
        let refs: Vec<&Outcome> = os.iter().collect();
        // No false notice allowed: the threshold must stay ≤ 0.30 → 0.21 … 0.30 catch one empty
        // query; the lowest such threshold (0.21) with top 1 wins.
        let c = choose_notice(&refs, 0.0);
        assert_eq!((c.top, c.threshold, c.empty, c.full), (1, 0.21, 1.0 / 3.0, 0.0));
        // One false notice in four allowed: thresholds up to 0.80 (0.3 noticed); from 0.71 all
        // three empty queries (0.2, 0.35, 0.7) are caught.
        let c = choose_notice(&refs, 0.25);
        assert_eq!((c.top, c.threshold, c.empty, c.full), (1, 0.71, 1.0, 0.25));
    }
}
