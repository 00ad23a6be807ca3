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
//! The dev evidence can be more than one pair of months: `groups` are further archive groups
//! (a month alone, or several together), each searched as its own index, their outcomes
//! pooled with the dev archives'. With `by_phenomenon`, each phenomenon with enough of that
//! evidence gets its own threshold ([`choose_by_phenomenon`]: a winter low looks more like a
//! typhoon than a dry autumn day looks like snow), stored as notice offsets
//! ([`fold_phenomenon_thresholds`]) that move the "nothing close" decision only, never the
//! strength a card shows.
//!
//! With no `fit` archives, step 1 is skipped: the logistic and offsets stay the checkpoint's
//! and only `top` and `threshold` are chosen again (e.g. after `skycase reduce`, whose
//! margins move by the energy it drops).
//!
//! Optionally, between the two steps, learnt query directions (calibration version 3,
//! [`Calibration::directed`]): on the `directions` archives (labelled months that no model
//! trained on) a logistic regression per region × phenomenon of "region shows `p`" on the
//! region vectors ([`fit_directions`]); their weight vectors, scaled so that their mean length
//! is `direction_weight` (a query is unit length), move a query that names the cell. Step 2 then
//! runs with them, so the notice is chosen on the ranking the app will show.
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
    /// Archives searched to choose `top` and `threshold` (dev months), together as one index.
    pub dev: Vec<PathBuf>,
    /// More archive groups for the same choice, each searched as one index of its own (a
    /// month alone, or several months together); their dev queries' outcomes are pooled with
    /// those of `dev`, so the threshold rests on more months than one pair.
    pub groups: Vec<Vec<PathBuf>>,
    /// Give each phenomenon its own threshold where the dev evidence allows
    /// ([`choose_by_phenomenon`]), folded into the cell offsets
    /// ([`fold_phenomenon_thresholds`]).
    pub by_phenomenon: bool,
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
    /// Archives for the learnt query directions ([`fit_directions`]): labelled months no model
    /// trained on. None: the checkpoint's directions are kept (or none).
    pub directions: Vec<PathBuf>,
    /// L2 weight of the per-cell logistic regressions.
    pub direction_l2: f64,
    /// Mean length of the directions added to a (unit) query; 0 removes them.
    pub direction_weight: f64,
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
    choose_among(outcomes, max_false, &[1, 3, 5])
}

fn choose_among(outcomes: &[&Outcome], max_false: f64, tops: &[usize]) -> NoticeRates {
    let mut best: Option<NoticeRates> = None;
    for &top in tops {
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

/// Fewest queries of each kind (no relevant frame; ≥ 5) a phenomenon needs for a threshold of
/// its own ([`choose_by_phenomenon`]); with fewer it keeps the shared one.
pub const MIN_PHENOMENON_QUERIES: usize = 20;

/// Per-phenomenon thresholds. For each `top` (1, 3, 5): the shared threshold of
/// [`choose_notice`] at that `top`, then for each phenomenon with at least
/// [`MIN_PHENOMENON_QUERIES`] queries of each kind its own threshold, chosen the same way
/// among its queries (false notices ≤ `max_false` there); `None` where it keeps the shared
/// one. The `top` whose thresholds together give the notice for the most queries without
/// relevant frames wins (ties: fewer false notices). The rates are those of the thresholds
/// together.
pub fn choose_by_phenomenon(outcomes: &[&Outcome], max_false: f64) -> (NoticeRates, [Option<f32>; 5]) {
    let mut best: Option<(NoticeRates, [Option<f32>; 5])> = None;
    for top in [1, 3, 5] {
        let shared = choose_among(outcomes, max_false, &[top]);
        let mut own = [None; 5];
        for (p, slot) in own.iter_mut().enumerate() {
            let of_p: Vec<&Outcome> = outcomes.iter().copied().filter(|o| o.query.phenomenon == p).collect();
            let r = notice_rates(&of_p, top, shared.threshold);
            if r.empty_queries >= MIN_PHENOMENON_QUERIES && r.full_queries >= MIN_PHENOMENON_QUERIES {
                *slot = Some(choose_among(&of_p, max_false, &[top]).threshold);
            }
        }
        let th = |p: usize| own.get(p).copied().flatten().unwrap_or(shared.threshold);
        let notice = |o: &Outcome| o.top.is_empty() || o.strengths.iter().take(top).all(|&s| s < th(o.query.phenomenon));
        let empty: Vec<bool> = outcomes.iter().filter(|o| o.relevant == 0).map(|o| notice(o)).collect();
        let full: Vec<bool> = outcomes.iter().filter(|o| o.relevant >= MIN_RELEVANT_STRICT).map(|o| notice(o)).collect();
        let share = |v: &[bool]| if v.is_empty() { 0.0 } else { v.iter().filter(|&&x| x).count() as f64 / v.len() as f64 };
        let r = NoticeRates { empty: share(&empty), full: share(&full), ..shared };
        if best.as_ref().is_none_or(|(b, _)| r.empty > b.empty || (r.empty == b.empty && r.full < b.full)) {
            best = Some((r, own));
        }
    }
    best.unwrap_or_else(|| (notice_rates(outcomes, 1, 0.0), [None; 5]))
}

/// Stores per-phenomenon thresholds as `cal`'s notice offsets so that the one shared threshold
/// decides: a phenomenon whose own threshold is `t_p` gets `logit(threshold) − logit(t_p)`
/// ([`Calibration::notice_offsets`], version 2), so `notice strength ≥ threshold ⇔ strength ≥
/// t_p`. The strength a card shows stays on the pooled scale (before, the offsets were folded
/// into `cell_bias` and moved the shown strength too: a correct typhoon hit read "weak").
/// Without any own threshold the offsets are cleared (and a version 2 file stays readable).
pub fn fold_phenomenon_thresholds(cal: &mut Calibration, own: &[Option<f32>; 5]) -> [f32; 5] {
    let logit = |s: f32| {
        let s = s.clamp(1e-4, 1.0 - 1e-4);
        (s / (1.0 - s)).ln()
    };
    let offsets = own.map(|t| t.map_or(0.0, |t| ((f64::from(logit(cal.threshold) - logit(t)) * 1e4).round() / 1e4) as f32));
    if offsets.iter().any(|&o| o != 0.0) {
        cal.notice_offsets = offsets.to_vec();
        cal.version = 2;
    } else {
        cal.notice_offsets.clear();
    }
    offsets
}

/// Undoes what `skycase calibrate --by-phenomenon` did to version 1 files: it added each
/// phenomenon's offset (recorded in `fit.phenomenon_offsets`) to that phenomenon's cell
/// offsets, which moved the strength shown with the notice. Subtracts them again (four
/// decimals, as they were written) and returns whether it did; a version 2 file keeps them
/// apart already ([`Calibration::notice_offsets`]).
pub fn unfold_phenomenon_offsets(cal: &mut Calibration) -> bool {
    let folded: Option<Vec<f32>> = cal.fit.get("phenomenon_offsets").and_then(|o| serde_json::from_value(o.clone()).ok());
    match folded {
        Some(off) if cal.version == 1 && off.len() == 5 && cal.cell_bias.len() == skycase_core::strength::CELLS && off.iter().any(|&o| o != 0.0) => {
            for (i, b) in cal.cell_bias.iter_mut().enumerate() {
                *b = ((f64::from(*b - off[i % 5]) * 1e4).round() / 1e4) as f32;
            }
            true
        }
        _ => false,
    }
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
    unfold_phenomenon_offsets(&mut cal);
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

    // Learnt directions, before the notice is chosen on the ranking they make.
    let mut direction_fit = old.fit.get("directions").cloned().unwrap_or_default();
    if opts.direction_weight == 0.0 {
        cal.directions.clear();
        direction_fit = serde_json::Value::Null;
    } else if !opts.directions.is_empty() {
        let mut labelled = Vec::new();
        let mut used = Vec::new();
        for root in &opts.directions {
            let a = embed_archive(&ckpt, root, opts.cache.as_deref(), opts.progress)?;
            if a.names.len() != 13 {
                return Err(Error::Usage(format!("{}: the checkpoint is not region-aware", opts.checkpoint.display())));
            }
            for (i, s) in a.samples.iter().enumerate() {
                labelled.push(LabelledFrame { regions: (0..13).map(|v| a.vector(i, v).to_vec()).collect(), labels: s.labels.iter().map(|&l| l as usize).collect() });
            }
            used.push(a.name.clone());
        }
        let (w, mean_norm) = fit_directions(&labelled, opts.direction_l2);
        let scale = if mean_norm > 0.0 { opts.direction_weight / mean_norm } else { 0.0 };
        cal.directions = w.iter().map(|d| d.iter().map(|&x| ((x * scale * 1e4).round() / 1e4) as f32).collect()).collect();
        cal.version = 3;
        direction_fit = serde_json::json!({
            "method": "per region × phenomenon L2 logistic regression (Newton) of \"region shows p\" on the region vectors; scaled to the mean length below",
            "archives": used,
            "frames": labelled.len(),
            "l2": opts.direction_l2,
            "mean_length": opts.direction_weight,
            "raw_mean_norm": mean_norm,
            "cells_without_positive": w.iter().filter(|d| d.iter().all(|&x| x == 0.0)).count(),
        });
    }

    // 2. top and threshold on the dev archives, through the search.
    let text = text_side(&opts.text_model, opts.cache.as_deref())?;
    let ml = match &opts.multilingual {
        Some(m) => Some(multilingual_side(&m.model, &m.projection, ckpt.model.config().joint_dim)?),
        None => None,
    };
    let mut outcomes = Vec::new();
    let mut dev_names: Vec<String> = Vec::new();
    for group in std::iter::once(&opts.dev).chain(&opts.groups) {
        let archives = group.iter().map(|r| embed_archive(&ckpt, r, opts.cache.as_deref(), opts.progress)).collect::<Result<Vec<_>>>()?;
        let (mut searcher, origin) = build_searcher(&text, &ckpt, &archives, ml.as_ref())?;
        searcher.set_calibration(&cal.to_json(), "calibration (refit)")?;
        let truth = Truth::new(&archives, &origin);
        for name in &opts.sets {
            let (file, side) = set_encoder(name)?;
            let set = QuerySet::load(&opts.query_dir, file)?;
            outcomes.extend(run_queries(&searcher, &truth, &set.of_split(Split::Dev), opts.k, side, None)?);
        }
        dev_names.push(archives.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join("+"));
    }
    let refs: Vec<&Outcome> = outcomes.iter().collect();
    let (chosen, own) = if opts.by_phenomenon { choose_by_phenomenon(&refs, opts.max_false) } else { (choose_notice(&refs, opts.max_false), [None; 5]) };
    cal.top = chosen.top;
    cal.threshold = chosen.threshold;
    let offsets = fold_phenomenon_thresholds(&mut cal, &own);
    if !cal.directions.is_empty() {
        cal.version = 3;
    }
    cal.fit = serde_json::json!({
        "method": format!(
            "skycase calibrate: {}, top/threshold on the dev queries through the search{}",
            if frames.is_empty() { "logistic and cell offsets kept" } else { "logistic on the fit archives" },
            if opts.by_phenomenon { ", a threshold per phenomenon as notice offsets (the strength shown stays pooled)" } else { "" }
        ),
        "logistic_archives": names,
        "logistic_frames": frames.len(),
        "dev_archives": dev_names,
        "dev_sets": opts.sets,
        "phenomenon_thresholds": own,
        "phenomenon_offsets": if opts.by_phenomenon { serde_json::json!(offsets) } else { serde_json::Value::Null },
        "max_false": opts.max_false,
        "cell_bias_l2": if frames.is_empty() { old.fit.get("cell_bias_l2").cloned().unwrap_or_default() } else { serde_json::json!(opts.cell_bias) },
        "dev_queries_without_relevant": chosen.empty_queries,
        "dev_queries_with_5_or_more": chosen.full_queries,
        "notice_rate_without_relevant": chosen.empty,
        "notice_rate_with_5_or_more": chosen.full,
        "directions": direction_fit,
        "previous_fit": old.fit,
    });
    Ok((cal, chosen))
}

/// Learnt query directions: for each region `r` and phenomenon `p` (row `r·5 + p`), the weight
/// vector `w` of an L2-regularised logistic regression of "region `r` shows `p`" on the frames'
/// region-`r` vectors (all-zero vectors, regions outside a frame, are left out):
///
/// ```text
/// minimise  Σ_i log(1 + exp(−y_i (w·v_i + b))) + l2/2 · |w|²     (b unpenalised; Newton)
/// ```
///
/// A cell with no positive (or no negative) frame gets a zero vector. Returns the vectors and
/// their mean length over the cells that have one.
pub fn fit_directions(frames: &[LabelledFrame], l2: f64) -> (Vec<Vec<f64>>, f64) {
    let dim = frames.iter().flat_map(|f| f.regions.first()).map(Vec::len).next().unwrap_or(0);
    let mut out = Vec::with_capacity(skycase_core::strength::CELLS);
    for r in 0..13 {
        let rows: Vec<(&Vec<f32>, usize)> = frames.iter().filter_map(|f| Some((f.regions.get(r)?, *f.labels.get(r)?))).filter(|(v, _)| v.len() == dim && v.iter().any(|&x| x != 0.0)).collect();
        for p in 0..5 {
            let pos = rows.iter().filter(|(_, l)| *l == p).count();
            if pos == 0 || pos == rows.len() {
                out.push(vec![0.0; dim]);
                continue;
            }
            let xs: Vec<(Vec<f64>, f64)> = rows.iter().map(|(v, l)| (v.iter().map(|&x| f64::from(x)).chain(std::iter::once(1.0)).collect(), f64::from(u8::from(*l == p)))).collect();
            let mut w = newton_logistic(&xs, l2);
            w.pop();
            out.push(w);
        }
    }
    let norms: Vec<f64> = out.iter().map(|w| w.iter().map(|x| x * x).sum::<f64>().sqrt()).filter(|&n| n > 0.0).collect();
    let mean = if norms.is_empty() { 0.0 } else { norms.iter().sum::<f64>() / norms.len() as f64 };
    (out, mean)
}

/// L2 logistic regression by Newton's method; the last column of each row is the constant 1
/// (its weight, the intercept, is not penalised beyond 1e-6 to keep the system definite).
fn newton_logistic(xs: &[(Vec<f64>, f64)], l2: f64) -> Vec<f64> {
    let n = xs.first().map_or(0, |x| x.0.len());
    let pen = |i: usize| if i + 1 == n { 1e-6 } else { l2 };
    let mut w = vec![0.0; n];
    for _ in 0..50 {
        let mut g: Vec<f64> = (0..n).map(|i| pen(i) * w[i]).collect();
        let mut h = vec![0.0; n * n];
        for i in 0..n {
            h[i * n + i] = pen(i);
        }
        for (x, y) in xs {
            let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
            let pr = 1.0 / (1.0 + (-z).exp());
            let s = pr * (1.0 - pr);
            for i in 0..n {
                g[i] += (pr - y) * x[i];
                for j in 0..=i {
                    h[i * n + j] += s * x[i] * x[j];
                }
            }
        }
        let Some(step) = cholesky_solve(&mut h, &g, n) else { break };
        let mut biggest = 0f64;
        for (wi, si) in w.iter_mut().zip(&step) {
            *wi -= si;
            biggest = biggest.max(si.abs());
        }
        if biggest < 1e-8 {
            break;
        }
    }
    w
}

/// Solves `H x = g` for a symmetric positive definite `H` of which the lower triangle is filled
/// (overwritten by its Cholesky factor); `None` if it is not positive definite.
fn cholesky_solve(h: &mut [f64], g: &[f64], n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut d = h[j * n + j];
        for k in 0..j {
            d -= h[j * n + k] * h[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        h[j * n + j] = d;
        for i in j + 1..n {
            let mut s = h[i * n + j];
            for k in 0..j {
                s -= h[i * n + k] * h[j * n + k];
            }
            h[i * n + j] = s / d;
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| h[i * n + k] * y[k]).sum();
        y[i] = (g[i] - s) / h[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| h[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / h[i * n + i];
    }
    Some(x)
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

    fn outcome_of(p: usize, relevant: usize, strength: f32) -> Outcome {
        let mut o = outcome(relevant, &[strength]);
        o.query.phenomenon = p;
        o
    }

    #[test]
    fn each_phenomenon_gets_its_own_threshold_and_the_fold_keeps_the_decisions() {
        // Snow (0): 20 empty queries at 0.05, 20 full at 0.30. Typhoon (4): 20 empty at 0.50,
        // 20 full at 0.90. Rain (3): 2 empty, 2 full (too few: shared threshold).
        let mut os = Vec::new();
        for _ in 0..MIN_PHENOMENON_QUERIES {
            os.extend([outcome_of(0, 0, 0.05), outcome_of(0, 8, 0.30), outcome_of(4, 0, 0.50), outcome_of(4, 8, 0.90)]);
        }
        os.extend([outcome_of(3, 0, 0.02), outcome_of(3, 0, 0.60), outcome_of(3, 9, 0.70), outcome_of(3, 9, 0.95)]);
        let refs: Vec<&Outcome> = os.iter().collect();
        // Shared, no false notice: threshold ≤ 0.30 (Snow's full queries); 0.06 … 0.30 catch the
        // 20 + 1 empty queries at 0.05 and 0.02 (21 of 42); the lowest such, 0.06, wins.
        let shared = choose_notice(&refs, 0.0);
        assert_eq!((shared.top, shared.threshold), (1, 0.06));
        let (r, own) = choose_by_phenomenon(&refs, 0.0);
        // Snow keeps 0.06 (all its empties already caught); Typhoon: 0.51 catches its 20
        // empties at 0.50 and no full one (0.90); Rain: too few queries.
        assert_eq!(own, [Some(0.06), None, None, None, Some(0.51)]);
        assert_eq!((r.top, r.threshold, r.empty_queries, r.full_queries), (1, 0.06, 42, 42));
        assert!((r.empty - 41.0 / 42.0).abs() < 1e-12 && r.full == 0.0, "{r:?}");
        // Stored as notice offsets: Typhoon gets logit(0.06) − logit(0.51) ≈ −2.79, the others
        // 0; a typhoon hit of strength 0.50 (0.90) falls below (stays above) 0.06 for the
        // notice, while the strength shown stays what it was.
        let mut cal = Calibration { version: 1, joint_dim: 1, anchors: vec![vec![1.0]; 65], slope: 1.0, intercept: 0.0, top: 1, threshold: 0.06, cell_bias: Vec::new(), notice_offsets: Vec::new(), directions: Vec::new(), fit: Default::default() };
        let off = fold_phenomenon_thresholds(&mut cal, &own);
        assert!((off[4] + 2.7912).abs() < 1e-3 && off[..4].iter().all(|&o| o == 0.0), "{off:?}");
        assert_eq!((cal.version, cal.notice_offsets.as_slice()), (2, &off[..]));
        assert!(cal.cell_bias.is_empty(), "the shown strength is not moved");
        let back = Calibration::from_json(&cal.to_json(), "c.json").unwrap();
        assert_eq!(back, cal);
        let shifted = |s: f32, p: usize| 1.0 / (1.0 + (-((s / (1.0 - s)).ln() + cal.notice_offsets[p])).exp());
        assert!(shifted(0.50, 4) < 0.06 && shifted(0.90, 4) > 0.06 && shifted(0.05, 0) < 0.06 && shifted(0.30, 0) > 0.06);
        assert!((cal.notice_threshold(4) - 0.51).abs() < 1e-3 && (cal.notice_threshold(0) - 0.06).abs() < 1e-6);
        // A version 1 file with the offsets folded into its cell offsets unfolds to the
        // pooled ones; a version 2 file is left alone.
        let mut v1 = Calibration { version: 1, notice_offsets: Vec::new(), cell_bias: vec![0.25; 65], ..cal.clone() };
        v1.fit = serde_json::json!({ "phenomenon_offsets": off });
        v1.cell_bias.iter_mut().enumerate().for_each(|(i, b)| *b += off[i % 5]);
        assert!(unfold_phenomenon_offsets(&mut v1));
        assert!(v1.cell_bias.iter().all(|&b| (b - 0.25).abs() < 2e-4), "{:?}", &v1.cell_bias[..5]);
        let mut v2 = Calibration { fit: v1.fit.clone(), ..cal.clone() };
        assert!(!unfold_phenomenon_offsets(&mut v2) && v2 == Calibration { fit: v1.fit.clone(), ..cal.clone() });
        // No own threshold: offsets cleared.
        fold_phenomenon_thresholds(&mut cal, &[None; 5]);
        assert!(cal.notice_offsets.is_empty());
    }

    #[test]
    fn directions_recover_the_rule_that_labels_a_cell() {
        // 3-d region vectors; region 2 shows Rain (3) exactly when its vector leans along
        // u = (0.6, -0.8, 0), with some overlap; every other cell never holds its phenomenon
        // or always does (Snow never, Cloudy everywhere else).
        let mut frames = Vec::new();
        for i in 0..200 {
            let t = (i as f32 * 0.7).sin();
            let e = (i as f32 * 1.3).cos() * 0.3;
            let v = vec![0.6 * t + 0.1, -0.8 * t + 0.2, e];
            let rain = 0.6 * v[0] - 0.8 * v[1] + 0.15 * (i as f32 * 2.1).sin() > -0.1;
            let mut labels = vec![2; 13];
            labels[2] = if rain { 3 } else { 2 };
            let mut regions = vec![vec![0.5, 0.5, 0.5]; 13];
            regions[2] = v;
            regions[5] = vec![0.0; 3]; // outside the frame: left out
            frames.push(LabelledFrame { regions, labels });
        }
        let (w, mean) = fit_directions(&frames, 0.1);
        assert_eq!(w.len(), 65);
        let rain = &w[2 * 5 + 3];
        let n = rain.iter().map(|x| x * x).sum::<f64>().sqrt();
        let cos = (0.6 * rain[0] - 0.8 * rain[1]) / n;
        assert!(cos > 0.9, "{rain:?}");
        // Cloudy in region 2 is the complement: the opposite direction.
        let cloudy = &w[2 * 5 + 2];
        assert!(cloudy.iter().zip(rain).map(|(a, b)| a * b).sum::<f64>() < 0.0);
        // Cells with no positive (Snow) or no negative (Cloudy in region 0) have none.
        assert!(w[0].iter().all(|&x| x == 0.0) && w[2].iter().all(|&x| x == 0.0));
        assert!(mean > 0.0 && mean.is_finite(), "{mean}");
        // Stronger L2: shorter vectors, same direction.
        let (w10, _) = fit_directions(&frames, 10.0);
        let n10 = w10[13].iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!(n10 < n && (0.6 * w10[13][0] - 0.8 * w10[13][1]) / n10 > 0.9, "{:?}", w10[13]);
    }

    #[test]
    fn cholesky_solves_a_small_system() {
        // [[4, 2], [2, 3]] x = [2, 1]  →  x = (0.5, 0)
        let mut h = vec![4.0, 0.0, 2.0, 3.0];
        let x = cholesky_solve(&mut h, &[2.0, 1.0], 2).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
        assert!(cholesky_solve(&mut [1.0, 0.0, 2.0, 1.0], &[1.0, 1.0], 2).is_none(), "not positive definite");
    }
}
