//! Batch ingest into a store: reruns do no work twice, bad files are skipped with reasons.
use std::path::{Path, PathBuf};

use skycase_ingest::batch::{self, Job};
use skycase_ingest::FrameStore;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ingest")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("skycase-batch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn ingest_fixtures_twice_and_refuse_bad_files() {
    let work = tmp("fx");
    let input = work.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for rel in [
        "gk2a/gk2a_ami_le1b_ir105_fd020ge_202609281200.nc",
        "digital-typhoon/2007101512-200718-MTS1-1.h5",
        "digital-typhoon/200718.tsv",
    ] {
        std::fs::copy(fixtures().join(rel), input.join(Path::new(rel).file_name().unwrap())).unwrap();
    }
    std::fs::create_dir_all(input.join("sim/frames")).unwrap();
    std::fs::copy(fixtures().join("sim/meta.json"), input.join("sim/meta.json")).unwrap();
    std::fs::copy(
        fixtures().join("sim/frames/coms_mi_le1b_ir1_ea_201711081200.png"),
        input.join("sim/frames/coms_mi_le1b_ir1_ea_201711081200.png"),
    )
    .unwrap();
    // Bad inputs: truncated netCDF, wrong-magic xRIT, unknown product, DT without track.
    let nc = std::fs::read(input.join("gk2a_ami_le1b_ir105_fd020ge_202609281200.nc")).unwrap();
    std::fs::write(input.join("gk2a_ami_le1b_ir105_fd020ge_202609281210.nc"), &nc[..nc.len() / 2]).unwrap();
    std::fs::write(input.join("IMG_FD_01_IR1_20120101_024020_01.hrit"), b"not an xrit file at all").unwrap();
    std::fs::write(input.join("notes.bin"), b"?").unwrap();
    std::fs::write(input.join("2007101512-200799-MTS1-1.h5"), b"x").unwrap();

    let store = FrameStore::open(work.join("store")).unwrap();
    let (jobs, aux) = batch::plan(std::slice::from_ref(&input)).unwrap();
    assert!(aux.iter().any(|p| p.ends_with("200718.tsv")));
    assert!(jobs.iter().any(|j| matches!(j, Job::SidecarPng(..))));
    let s1 = batch::run(&jobs, &store, |_, _| {}).unwrap();
    let mut ids = s1.ingested.clone();
    ids.sort();
    assert_eq!(ids, ["dt-200718_200710151200", "gk2a-fd_202609281200", "sim_201711081200"]);
    let reasons: Vec<String> = s1.skipped.iter().map(|e| e.to_string()).collect();
    assert_eq!(reasons.len(), 4, "{reasons:#?}");
    for (file, why) in [
        ("202609281210.nc", ""),
        ("_01.hrit", "wrong magic"),
        ("notes.bin", "unknown product"),
        ("200799-MTS1-1.h5", "no track file"),
    ] {
        assert!(reasons.iter().any(|r| r.contains(file) && r.contains(why)), "{file}: {reasons:#?}");
    }
    // Thumbnails are small.
    for id in &ids {
        let n = std::fs::metadata(store.thumb_path(id)).unwrap().len();
        assert!(n <= 20_000, "{id}: {n} bytes");
    }
    // Second run: nothing redone.
    let s2 = batch::run(&jobs, &store, |_, _| {}).unwrap();
    assert!(s2.ingested.is_empty(), "{:?}", s2.ingested);
    assert_eq!(s2.unchanged.len(), 3);
    // A frame lost mid-run (metadata never written) is redone on the next run.
    std::fs::remove_file(work.join("store/frames/sim_201711081200.json")).unwrap();
    let s3 = batch::run(&jobs, &store, |_, _| {}).unwrap();
    assert_eq!(s3.ingested, ["sim_201711081200"]);
    // The stored frames load back with masks where applicable.
    let sim = store.meta("sim_201711081200").unwrap();
    assert!(store.masks(&sim).unwrap().unwrap().count(0) > 2000);
    // The Digital Typhoon crop is placed (Lambert azimuthal equal-area about its track
    // centre, 181.2°E 37.5°N): masks exist, and no region reaches that far east.
    let dt = store.meta("dt-200718_200710151200").unwrap();
    let dt_masks = store.masks(&dt).unwrap().unwrap();
    assert_eq!((dt_masks.width(), dt_masks.height()), (512, 512));
    assert!((0..13).all(|k| dt_masks.count(k) == 0));
    std::fs::remove_dir_all(&work).unwrap();
}

/// The simulated-archive fixture (one PNG frame and its meta.json) copied into `dir`.
fn sim_frame_into(dir: &Path) {
    std::fs::create_dir_all(dir.join("frames")).unwrap();
    std::fs::copy(fixtures().join("sim/meta.json"), dir.join("meta.json")).unwrap();
    let png = "frames/coms_mi_le1b_ir1_ea_201711081200.png";
    std::fs::copy(fixtures().join("sim").join(png), dir.join(png)).unwrap();
}

#[cfg(unix)]
#[test]
fn bad_paths_are_skipped_with_reasons_and_good_files_still_ingest() {
    // See issue 12: one bad path ended the whole run with 0 frames.
    use std::os::unix::fs::symlink;
    let work = tmp("links");
    let input = work.join("in");
    sim_frame_into(&input.join("a"));
    symlink(input.join("nowhere.png"), input.join("dangling.png")).unwrap();
    symlink(input.join("self.h5"), input.join("self.h5")).unwrap();
    symlink(&input, input.join("loop")).unwrap();
    let store = FrameStore::open(work.join("store")).unwrap();
    let (jobs, _) = batch::plan(std::slice::from_ref(&input)).unwrap();
    let s = batch::run(&jobs, &store, |_, _| {}).unwrap();
    assert_eq!(s.ingested, ["sim_201711081200"]);
    let reasons: Vec<String> = s.skipped.iter().map(|e| e.to_string()).collect();
    for (file, why) in [
        ("dangling.png", "dangling symbolic link"),
        ("self.h5", "symbolic link that cannot be followed"),
        ("loop", "folder already walked"),
    ] {
        assert!(reasons.iter().any(|r| r.contains(file) && r.contains(why)), "{file}: {reasons:#?}");
    }
    assert_eq!(reasons.len(), 3, "{reasons:#?}");
    // A path given on the command line that does not exist is one more skip, not an abort.
    let (jobs, _) = batch::plan(&[input.clone(), work.join("missing")]).unwrap();
    let s = batch::run(&jobs, &store, |_, _| {}).unwrap();
    assert_eq!(s.unchanged, ["sim_201711081200"]);
    assert!(s.skipped.iter().any(|e| e.to_string().contains("missing: cannot read")), "{:?}", s.skipped);
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn two_inputs_with_one_frame_id_do_not_overwrite_each_other() {
    let work = tmp("dup");
    let input = work.join("in");
    sim_frame_into(&input.join("a"));
    sim_frame_into(&input.join("b"));
    let store = FrameStore::open(work.join("store")).unwrap();
    let (jobs, _) = batch::plan(std::slice::from_ref(&input)).unwrap();
    let s = batch::run(&jobs, &store, |_, _| {}).unwrap();
    assert_eq!(s.ingested, ["sim_201711081200"]);
    assert_eq!(s.skipped.len(), 1, "{:?}", s.skipped);
    let why = s.skipped[0].to_string();
    assert!(why.contains("b/frames/coms_mi_le1b_ir1_ea_201711081200.png"), "{why}");
    assert!(why.contains("frame id sim_201711081200 was already written in this run from") && why.contains("a/frames/"), "{why}");
    // The stored frame is the first input's.
    let meta = store.meta("sim_201711081200").unwrap();
    assert!(meta.inputs.iter().all(|i| i.path.contains("/a/")), "{:?}", meta.inputs);
    std::fs::remove_dir_all(&work).unwrap();
}
