//! Captions against truth labels: overall and per-region accuracy, confusion matrix,
//! per-class precision/recall/F1 and macro-F1, as Markdown.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::vocab::{Caption, Phenomenon, Region};

/// Truth captions keyed by frame time, from a simulated archive's `labels.jsonl`
/// (`time` + `caption` of each record; the bullet text must be canonical).
pub fn read_truth(path: &Path) -> Result<BTreeMap<DateTime<Utc>, Caption>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| Error::Json { path: path.to_path_buf(), reason: format!("line {}: {reason}", i + 1) };
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let t = v["time"].as_str().ok_or_else(|| bad("no \"time\"".into()))?;
        // labels.jsonl writes "2017-11-01T00:00Z" (no seconds).
        let time = DateTime::parse_from_rfc3339(t)
            .or_else(|_| DateTime::parse_from_str(&format!("{t}:00+00:00").replace("Z:00", ":00"), "%Y-%m-%dT%H:%M:%S%:z"))
            .map_err(|e| bad(format!("time '{t}': {e}")))?
            .with_timezone(&Utc);
        let cap = v["caption"].as_str().ok_or_else(|| bad("no \"caption\"".into()))?;
        out.insert(time, Caption::from_bullets(cap).map_err(|e| bad(e.to_string()))?);
    }
    Ok(out)
}

/// Counts of (truth, predicted) pairs, overall and per region.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    overall: [[u64; 5]; 5],
    per_region: [[[u64; 5]; 5]; 13],
    frames: usize,
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassScore {
    /// Precision (NaN when never predicted).
    pub precision: f64,
    /// Recall (NaN when absent from the truth).
    pub recall: f64,
    /// F1 (0 when either is 0 or undefined).
    pub f1: f64,
    /// Truth count.
    pub support: u64,
}

impl Evaluation {
    /// Add one frame.
    pub fn add(&mut self, truth: &Caption, pred: &Caption) {
        for r in Region::ALL {
            let (t, p) = (truth.get(r).index(), pred.get(r).index());
            self.overall[t][p] += 1;
            self.per_region[r.index()][t][p] += 1;
        }
        self.frames += 1;
    }

    /// Frames added.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Overall confusion matrix `[truth][predicted]` in [`Phenomenon::ALL`] order.
    pub fn confusion(&self) -> &[[u64; 5]; 5] {
        &self.overall
    }

    fn acc(m: &[[u64; 5]; 5]) -> f64 {
        let total: u64 = m.iter().flatten().sum();
        let diag: u64 = (0..5).map(|i| m[i][i]).sum();
        if total == 0 {
            f64::NAN
        } else {
            diag as f64 / total as f64
        }
    }

    /// Share of (frame, region) labels right.
    pub fn accuracy(&self) -> f64 {
        Self::acc(&self.overall)
    }

    /// Accuracy of one region.
    pub fn region_accuracy(&self, r: Region) -> f64 {
        Self::acc(&self.per_region[r.index()])
    }

    /// Scores of one class.
    pub fn class_score(&self, p: Phenomenon) -> ClassScore {
        let i = p.index();
        let tp = self.overall[i][i] as f64;
        let support: u64 = self.overall[i].iter().sum();
        let predicted: u64 = (0..5).map(|t| self.overall[t][i]).sum();
        let precision = tp / predicted as f64;
        let recall = tp / support as f64;
        let f1 = if precision > 0.0 && recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        ClassScore { precision, recall, f1, support }
    }

    /// Mean F1 over the classes present in the truth.
    pub fn macro_f1(&self) -> f64 {
        let scores: Vec<f64> = Phenomenon::ALL
            .iter()
            .map(|&p| self.class_score(p))
            .filter(|s| s.support > 0)
            .map(|s| s.f1)
            .collect();
        scores.iter().sum::<f64>() / scores.len() as f64
    }

    /// The report as Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "Frames: {}; labels: {} (13 per frame).\n\n**Overall accuracy: {:.3}**; **macro-F1: {:.3}**.\n\n",
            self.frames,
            self.frames * 13,
            self.accuracy(),
            self.macro_f1()
        ));
        s.push_str("Confusion matrix (rows: truth, columns: captioner):\n\n| truth \\ caption |");
        for p in Phenomenon::ALL {
            s.push_str(&format!(" {p} |"));
        }
        s.push_str(" recall |\n|---|---|---|---|---|---|---|\n");
        for t in Phenomenon::ALL {
            s.push_str(&format!("| **{t}** |"));
            for p in Phenomenon::ALL {
                s.push_str(&format!(" {} |", self.overall[t.index()][p.index()]));
            }
            s.push_str(&format!(" {} |\n", fmt3(self.class_score(t).recall)));
        }
        s.push_str("\n| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n");
        for p in Phenomenon::ALL {
            let c = self.class_score(p);
            s.push_str(&format!("| {p} | {} | {} | {:.3} | {} |\n", fmt3(c.precision), fmt3(c.recall), c.f1, c.support));
        }
        s.push_str("\n| region | accuracy | truth Snow/Clear/Cloudy/Rain/Typhoon |\n|---|---|---|\n");
        for r in Region::ALL {
            let m = &self.per_region[r.index()];
            let counts: Vec<String> = (0..5).map(|t| m[t].iter().sum::<u64>().to_string()).collect();
            s.push_str(&format!("| {r} | {:.3} | {} |\n", self.region_accuracy(r), counts.join(" / ")));
        }
        s
    }
}

fn fmt3(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Phenomenon::*;

    #[test]
    fn accuracy_confusion_and_macro_f1() {
        let mut e = Evaluation::default();
        let truth = Caption::filled(Clear);
        let mut pred = Caption::filled(Clear);
        pred.set(Region::Mongolia, Cloudy);
        e.add(&truth, &pred);
        // 12 of 13 right.
        assert!((e.accuracy() - 12.0 / 13.0).abs() < 1e-12);
        assert_eq!(e.confusion()[Clear.index()][Cloudy.index()], 1);
        assert_eq!(e.region_accuracy(Region::Mongolia), 0.0);
        // Only Clear is in the truth: precision 1, recall 12/13 -> F1 = 24/25.
        assert!((e.macro_f1() - 24.0 / 25.0).abs() < 1e-12);
        assert!(e.to_markdown().contains("| Mongolia | 0.000 |"));
    }

    #[test]
    fn truth_file_parses_sim_times() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/caption/labels_sample.jsonl");
        let t = read_truth(&p).unwrap();
        assert_eq!(t.len(), 3);
        let first = t.keys().next().unwrap();
        assert_eq!(first.to_rfc3339(), "2017-11-01T00:00:00+00:00");
    }
}
