//! The strength a card shows, on the demo model's real calibration and real typhoon hits.
//!
//! See: issue 9 (ninth pass in docs/alignment.md). The "nothing close" threshold per
//! phenomenon used to be folded into the cell offsets, so it moved the strength shown too:
//! with the typhoon threshold at 0.41 (the shared one 0.11), a correct typhoon hit read
//! "weak match". The threshold now moves only the notice (`notice_offsets`).

use std::path::PathBuf;

use skycase_core::strength::{Calibration, Scale, POSSIBLE, STRONG};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The demo model's calibration and the dev months' correct typhoon hits (region, vector).
fn demo() -> (Calibration, Vec<(usize, Vec<f32>)>) {
    let bytes = std::fs::read(root().join("data/demo/model/calibration.json")).unwrap();
    let cal = Calibration::from_json(&bytes, "data/demo/model/calibration.json").unwrap();
    let fixture: serde_json::Value = serde_json::from_slice(&std::fs::read(root().join("tests/fixtures/strength/typhoon-hits.json")).unwrap()).unwrap();
    let hits = fixture["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["region"].as_u64().unwrap() as usize, h["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()))
        .collect();
    (cal, hits)
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

const TYPHOON: usize = 4;

#[test]
fn a_typical_correct_typhoon_hit_is_not_labelled_weak() {
    let (cal, hits) = demo();
    assert_eq!(hits.len(), 59);
    let shown: Vec<f32> = hits.iter().map(|(r, v)| cal.strength(v, *r, TYPHOON)).collect();
    // Measured: median 0.81, 11 of 59 below 0.4 (before the fix: median 0.44, 27 of 59).
    assert!(median(shown.clone()) >= STRONG, "median {}", median(shown.clone()));
    let weak = shown.iter().filter(|&&s| s < POSSIBLE).count();
    assert!(weak * 4 < hits.len(), "{weak} of {} read as weak", hits.len());
    // The case view's scale agrees: the median hit is strong, none is "nothing close" on the
    // strength shown unless its own notice strength is.
    for ((r, v), &s) in hits.iter().zip(&shown) {
        let below = cal.notice_strength(v, *r, TYPHOON) < cal.threshold;
        assert_eq!(cal.scale(s, TYPHOON) == Scale::NothingClose, below, "region {r}: strength {s}");
    }
}

#[test]
fn the_notice_still_holds_a_typhoon_to_its_own_threshold() {
    let (cal, hits) = demo();
    // The calibration keeps the eighth pass's decisions: typhoon's own threshold 0.41 against
    // the shared 0.11 (offset logit(0.11) − logit(0.41) ≈ −1.727), Clear and Cloudy none.
    // Notice offsets came with version 2; version 3 (learnt directions, twelfth pass) keeps them.
    assert!(cal.version >= 2, "version {}", cal.version);
    assert!(!cal.notice_offsets.is_empty());
    assert!((cal.notice_threshold(TYPHOON) - 0.41).abs() < 1e-3, "{}", cal.notice_threshold(TYPHOON));
    assert!((cal.notice_threshold(1) - cal.threshold).abs() < 1e-6);
    for (r, v) in &hits {
        let (s, n) = (cal.strength(v, *r, TYPHOON), cal.notice_strength(v, *r, TYPHOON));
        // Same decision whichever way it is read: notice strength vs the shared threshold,
        // or the strength shown vs the typhoon's own.
        assert_eq!(n < cal.threshold, s < cal.notice_threshold(TYPHOON), "region {r}: {s} / {n}");
        assert!(n <= s, "a negative offset only lowers the notice strength");
    }
    // What cards showed before the fix (the notice strength): nearly half read weak.
    let weak_before = hits.iter().filter(|(r, v)| cal.notice_strength(v, *r, TYPHOON) < POSSIBLE).count();
    assert!(weak_before * 5 >= hits.len() * 2, "{weak_before} of {}", hits.len());
}
