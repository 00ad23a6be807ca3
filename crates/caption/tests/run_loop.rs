//! The shared captioning loop ([`PhysicalRun`]) on a small frame store made here:
//! frames without region masks become clear per-frame errors, the others get captions,
//! and a lone frame does not use itself as its clear-sky composite.

use std::path::PathBuf;

use skycase_caption::store::CaptionerInfo;
use skycase_caption::{PhysicalCaptioner, PhysicalRun, Rules};
use skycase_ingest::frame::bt_checksum;
use skycase_ingest::{Calibration, Frame, FrameMeta, FrameStore, MaskStatus, Navigation, Source};

fn tmp_store(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("skycase-caption-{name}-{}-{}", std::process::id(), fastrand_like()));
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn fastrand_like() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// The shipped rules, no best track, a clear-sky window of `composite_days`.
fn physical_run<'a>(store: &'a FrameStore, cap: &'a PhysicalCaptioner, composite_days: i64) -> PhysicalRun<'a> {
    PhysicalRun { store, captioner: cap, besttrack: None, info: CaptionerInfo::Physical { rules_sha256: "x".into(), besttrack: None }, composite_days }
}

fn storm_centred(id: &str, time: &str) -> Frame {
    let bt = vec![250.0f32; 16 * 16];
    let meta = FrameMeta {
        id: id.into(),
        time: time.parse().unwrap(),
        source: Source::DigitalTyphoon,
        channel: "IR1".into(),
        width: 16,
        height: 16,
        nav: Navigation::StormCentred { centre_lon: 130.0, centre_lat: 20.0, laea: None },
        calibration: Calibration::Calibrated { method: "test".into() },
        complete: true,
        masks: MaskStatus::NotApplicable { reason: "storm-centred frame without navigation".into() },
        storm: None,
        inputs: vec![],
        checksum: bt_checksum(&bt),
        notes: vec![],
    };
    Frame { meta, bt }
}

#[test]
fn frames_without_region_masks_fail_clearly_and_the_run_goes_on() {
    let dir = tmp_store("nomask");
    let store = FrameStore::open(&dir).unwrap();
    for (id, t) in [("dt_a", "2007-09-01T00:00:00Z"), ("dt_b", "2007-09-01T01:00:00Z")] {
        store.put(&storm_centred(id, t), None).unwrap();
    }
    let cap = PhysicalCaptioner::new(Rules::shipped().unwrap()).unwrap();
    let job = physical_run(&store, &cap, 3);
    let metas = store.list().unwrap();
    let mut errors = vec![];
    job.run(&metas, |meta, outcome| {
        errors.push((meta.id.clone(), outcome.unwrap_err().to_string()));
        Ok(())
    })
    .unwrap();
    errors.sort();
    assert_eq!(errors.len(), 2);
    for (id, e) in &errors {
        assert!(e.contains(id) && e.contains("no region masks"), "{e}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[ignore = "needs ../shared/data/sim-nov2017; run with: cargo test -p skycase-caption --test run_loop -- --ignored"]
fn a_lone_frame_falls_back_to_the_percentile_reference() {
    let sim = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sim-nov2017/frames");
    let png = sim.join("coms_mi_le1b_ir1_ea_201711071200.png");
    assert!(png.exists(), "{} not found: this test needs ../shared/data/sim-nov2017", png.display());
    let dir = tmp_store("lone");
    let store = FrameStore::open(&dir).unwrap();
    store.put(&skycase_ingest::read_sim_frame(&png).unwrap(), None).unwrap();
    let cap = PhysicalCaptioner::new(Rules::shipped().unwrap()).unwrap();
    let job = physical_run(&store, &cap, 3);
    let metas = store.list().unwrap();
    let mut records = vec![];
    job.run(&metas, |_, outcome| {
        records.push(outcome.unwrap());
        Ok(())
    })
    .unwrap();
    assert_eq!(records.len(), 1);
    let regions = records[0].details["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 13);
    assert!(regions.iter().all(|r| r["clear_sky_composite"] == false), "a lone frame must not be its own composite");
    assert_eq!(records[0].caption.lines().count(), 13);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_storm_centred_frame_is_captioned_for_the_regions_it_covers() {
    // A real Digital Typhoon crop: storm 200717 at 2007-10-03 00 UTC, east of the Philippines.
    let fx = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/caption/digital-typhoon/2007100300-200717-MTS1-1.h5");
    let frame = skycase_ingest::dt::read_frame(&fx).unwrap();
    let dir = tmp_store("dt");
    let store = FrameStore::open(&dir).unwrap();
    store.put(&frame, None).unwrap();
    let cap = PhysicalCaptioner::new(Rules::shipped().unwrap()).unwrap();
    let job = physical_run(&store, &cap, 0);
    let mut records = vec![];
    job.run(&store.list().unwrap(), |_, outcome| {
        records.push(outcome.unwrap());
        Ok(())
    })
    .unwrap();
    let rec = &records[0];
    let lines: Vec<&str> = rec.caption.lines().collect();
    // Some regions, not all: one line each for the covered ones, the others named as uncovered.
    assert!(!lines.is_empty() && lines.len() < 13, "{}", rec.caption);
    assert_eq!(lines.len() + rec.uncovered.len(), 13, "{:?}", rec.uncovered);
    assert!(rec.uncovered.iter().any(|r| r == "Mongolia"), "{:?}", rec.uncovered);
    assert!(lines.iter().all(|l| !rec.uncovered.iter().any(|r| l.contains(r.as_str()))), "{}", rec.caption);
    // The crop (2560 km about 19.7°N 146.7°E) holds enough of the Philippine Sea only; its
    // storm is a tropical depression then (grade 2 in the track beside it), below the
    // typhoon rule's grades, so the sea is cloud, not Typhoon.
    assert_eq!(lines, ["- Philippine Sea - Cloudy"]);
    std::fs::remove_dir_all(&dir).ok();
}
