//! The companion end to end: export a small bundle from real model files, search it, and
//! check that broken bundles and bad input give clear errors (exit 2, file and reason named).
//!
//! Needs the model that `scripts/fetch-model` installs (the README's commands run it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn skycase(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skycase")).args(args).output().expect("run skycase")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("skycase-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Three captioned frames with real thumbnails from the demo data, exported once.
fn bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let keep = ["2017-11-10T12:00Z", "2017-11-20T00:00Z", "2017-11-25T12:00Z"];
        export_demo_frames(&tempdir("bundle"), 3, |l| keep.iter().any(|k| l.contains(k)))
    })
}

/// Exports the demo's frames whose frames.jsonl line `keep` accepts (with their real
/// thumbnails and the grids) from `<dir>/src` into `<dir>/bundle`.
fn export_demo_frames(dir: &Path, frames: usize, keep: impl Fn(&str) -> bool) -> PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/demo");
    let lines: Vec<String> = std::fs::read_to_string(demo.join("frames.jsonl")).unwrap().lines().filter(|l| keep(l)).map(str::to_string).collect();
    assert_eq!(lines.len(), frames, "frames of data/demo/frames.jsonl");
    std::fs::create_dir_all(dir.join("src/thumbs")).unwrap();
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let thumb = v["thumb"].as_str().unwrap();
        std::fs::copy(demo.join(thumb), dir.join("src").join(thumb)).unwrap();
    }
    std::fs::write(dir.join("src/frames.jsonl"), lines.join("\n")).unwrap();
    std::fs::copy(demo.join("grids.json"), dir.join("src/grids.json")).unwrap();
    let out = dir.join("bundle");
    let o = skycase(&["export", "--frames", dir.join("src/frames.jsonl").to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "export failed: {}", stderr(&o));
    out
}

#[test]
fn an_export_rerun_with_the_same_inputs_writes_nothing_and_a_changed_input_exports_anew() {
    let b = bundle();
    let src = b.parent().unwrap().join("src");
    let dir = tempdir("export-rerun");
    let out = dir.join("bundle");
    let frames = src.join("frames.jsonl");
    let export = || skycase(&["export", "--frames", frames.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let o = export();
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest = out.join("manifest.json");
    let written = std::fs::metadata(&manifest).unwrap().modified().unwrap();
    let o = export();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("up to date"), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(std::fs::metadata(&manifest).unwrap().modified().unwrap(), written, "the rerun rewrote the bundle");
    // A bundle edited since is rebuilt (an output that no longer matches is never trusted).
    std::fs::write(out.join("overlay.json"), b"{}").unwrap();
    let o = export();
    assert!(o.status.success() && !String::from_utf8_lossy(&o.stdout).contains("up to date"), "{}", stderr(&o));
    assert_ne!(std::fs::read(out.join("overlay.json")).unwrap(), b"{}");
}

fn search_json(bundle: &Path, query: &str) -> serde_json::Value {
    let o = skycase(&["search", query, "--bundle", bundle.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn export_then_search_ranks_the_matching_caption_first() {
    let b = bundle();
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(b.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format_version"], skycase_core::FORMAT_VERSION);
    assert_eq!(manifest["shards"][0]["frames"], 3);
    // 2017-11-10T12:00Z is the one of the three with a typhoon (HAIKUI) in the South China Sea.
    let r = search_json(b, "typhoon in the South China Sea");
    let hits = r["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0]["time"], "2017-11-10T12:00Z");
    assert!(hits[0]["caption"].as_str().unwrap().contains("South China Sea - Typhoon"));
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[test]
fn export_writes_the_basemap_of_the_frames_grid() {
    let b = bundle();
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(b.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    let entry = files.iter().find(|f| f["role"] == "overlay").expect("overlay.json listed in the manifest");
    assert_eq!(entry["path"], "overlay.json");
    let bytes = std::fs::read(b.join("overlay.json")).unwrap();
    assert_eq!(entry["bytes"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(entry["sha256"].as_str().unwrap(), skycase_core::bundle::sha256_hex(&bytes));
    let overlay = skycase_core::overlay::Overlay::from_json(&bytes).unwrap();
    // The three frames share the simulator's grid; its thumbnails are 256×147.
    assert_eq!(overlay.grids.len(), 1);
    let grid = overlay.for_frame("sim_201711101200").expect("the frame's grid");
    assert_eq!((grid.width, grid.height, grid.frames.len()), (256.0, 147.0, 3));
    assert_eq!(grid.regions.len(), 13);
    assert!(bytes.len() < 80_000, "overlay.json is {} bytes", bytes.len());
}

#[test]
fn frames_naming_an_unknown_grid_are_refused() {
    let dir = tempdir("grid");
    copy_dir(&bundle().parent().unwrap().join("src"), &dir);
    std::fs::write(dir.join("grids.json"), "{}").unwrap();
    let o = skycase(&["export", "--frames", dir.join("frames.jsonl").to_str().unwrap(), "--out", dir.join("b").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("grids.json: no grid geos-819x471-"), "{}", stderr(&o));
}

#[test]
fn months_filter_searches_a_season() {
    let b = bundle().to_str().unwrap();
    let run = |months: &str| skycase(&["search", "snow", "--bundle", b, "--json", "--months", months]);
    let hits = |o: &Output| serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["hits"].as_array().unwrap().len();
    // The three frames are from November 2017: autumn.
    assert_eq!(hits(&run("SON")), 3);
    assert_eq!(hits(&run("nov")), 3);
    assert_eq!(hits(&run("DJF")), 0);
    let o = run("winter");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--months \"winter\": month 'winter' is not a season"), "{}", stderr(&o));
}

#[test]
fn episodes_fold_hits_and_the_gap_is_checked() {
    // See issue 13: --episodes lists one result per episode, with its span, frame count and
    // members; the fixture's three frames are days apart, so each is its own episode.
    let b = bundle().to_str().unwrap();
    let o = skycase(&["search", "typhoon", "--bundle", b, "--json", "--episodes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    for h in hits {
        let e = &h["episode"];
        assert_eq!((e["frames"].as_u64(), e["start"].as_str(), e["end"].as_str()), (Some(1), h["time"].as_str(), h["time"].as_str()), "{h}");
        assert_eq!(e["members"], serde_json::json!([h["id"]]));
    }
    // A gap of four weeks joins the frames into one episode. This bundle ranks one caption
    // vector per frame (no region vectors, so no matched region and no phenomenon of it to
    // split on): its three frames chain by time and source alone. Splitting on the matched
    // region's phenomenon is tested in skycase-core (episodes) and, on the demo bundle, by
    // tests/e2e/cases.test.mjs (browser = native).
    let o = skycase(&["search", "typhoon", "--bundle", b, "--json", "--episodes", "--gap-hours", "700", "--region", "south china sea"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["hits"].as_array().unwrap().len(), 1, "{v}");
    assert!(v["hits"][0]["region"].is_null(), "{v}");
    assert_eq!(v["hits"][0]["episode"]["frames"].as_u64(), Some(3));
    let o = skycase(&["search", "typhoon", "--bundle", b, "--episodes", "--gap-hours=-1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--gap-hours -1: not a number of hours"), "{}", stderr(&o));
}

#[test]
fn filters_are_parsed_strictly_and_name_the_flag() {
    // See issue 12: dates were compared as text and never checked, names were case-sensitive.
    let b = bundle().to_str().unwrap();
    let run = |flags: &[&str]| skycase(&[&["search", "typhoon", "--bundle", b, "--json"], flags].concat());
    for (flags, message) in [
        (&["--from", "garbage"][..], "--from \"garbage\": not a date in YYYY-MM-DD form"),
        (&["--to", "2017-02-30"][..], "--to \"2017-02-30\": 2017-02 has no day 30"),
        (&["--from", "2017-11-3"][..], "--from \"2017-11-3\": not a date in YYYY-MM-DD form (did you mean 2017-11-03?)"),
        (&["--from", "2017-11-20", "--to", "2017-11-01"][..], "--to \"2017-11-01\": the range ends before it starts (from 2017-11-20)"),
        (&["--months", ""][..], "--months \"\": names no month"),
        (&["--phenomenon", "hail"][..], "--phenomenon \"hail\": not one of: Snow, Clear, Cloudy, Rain, Typhoon"),
    ] {
        let o = run(flags);
        assert_eq!(o.status.code(), Some(2), "{flags:?} should fail: {}", String::from_utf8_lossy(&o.stdout));
        assert!(stderr(&o).contains(message), "{flags:?}: {}", stderr(&o));
    }
    let hits = |flags: &[&str]| {
        let o = run(flags);
        assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["hits"].as_array().unwrap().iter().map(|h| h["time"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    // Lower case names the same phenomenon and region as the canonical spelling.
    assert_eq!(hits(&["--phenomenon", "typhoon"]), ["2017-11-10T12:00Z"]);
    assert_eq!(hits(&["--phenomenon", "Typhoon", "--region", "south china sea"]), ["2017-11-10T12:00Z"]);
    // Inclusive bounds, compared as dates.
    let mut range = hits(&["--from", "2017-11-10", "--to", "2017-11-20"]);
    range.sort();
    assert_eq!(range, ["2017-11-10T12:00Z", "2017-11-20T00:00Z"]);
}

#[test]
fn a_corrupted_shard_is_refused_with_its_name() {
    let b = tempdir("corrupt");
    copy_dir(bundle(), &b);
    let shard = b.join("shards/2017-11.skyshard");
    let mut bytes = std::fs::read(&shard).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&shard, bytes).unwrap();
    let o = skycase(&["search", "snow", "--bundle", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shards/2017-11.skyshard: sha256 mismatch"), "{}", stderr(&o));
}

#[test]
fn a_corrupted_word_embedding_chunk_is_refused_with_its_name() {
    let b = tempdir("corrupt-words");
    copy_dir(bundle(), &b);
    let chunk = b.join("words/017.q4_0");
    let mut bytes = std::fs::read(&chunk).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&chunk, bytes).unwrap();
    let o = skycase(&["search", "snow", "--bundle", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("words/017.q4_0: sha256 mismatch"), "{}", stderr(&o));
}

#[test]
fn an_unknown_bundle_version_is_refused() {
    let b = tempdir("version");
    copy_dir(bundle(), &b);
    let path = b.join("manifest.json");
    let version = format!("\"format_version\": {}", skycase_core::FORMAT_VERSION);
    let text = std::fs::read_to_string(&path).unwrap().replace(&version, "\"format_version\": 99");
    std::fs::write(&path, text).unwrap();
    let o = skycase(&["search", "snow", "--bundle", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bundle format version 99 is not supported"), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `skycase search … | head`: the reader is gone before the answer is printed. The command
    // ends by SIGPIPE, as other Unix tools do, not with a panic on stderr.
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_skycase"))
        .args(["search", "typhoon", "--bundle", bundle().to_str().unwrap(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run skycase");
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert!(o.status.success() || o.status.signal() == Some(libc::SIGPIPE), "{:?}", o.status);
}

#[test]
fn missing_bundle_empty_query_and_missing_frames_are_clear_errors() {
    let o = skycase(&["search", "snow", "--bundle", "/nonexistent/bundle"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/bundle/manifest.json: cannot read"), "{}", stderr(&o));

    let o = skycase(&["search", "  ", "--bundle", bundle().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the query is empty"), "{}", stderr(&o));

    let o = skycase(&["export", "--frames", "/nonexistent/frames.jsonl", "--out", tempdir("nf").join("b").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/frames.jsonl: cannot read"), "{}", stderr(&o));
}

#[test]
fn export_refuses_to_replace_a_folder_that_is_not_a_bundle() {
    // See issue 12: `--out DIR` used to delete whatever DIR held.
    let dir = tempdir("not-a-bundle");
    std::fs::write(dir.join("thesis.tex"), "years of work").unwrap();
    let frames = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/demo/frames.jsonl");
    let o = skycase(&["export", "--frames", frames.to_str().unwrap(), "--out", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the folder is not empty and is not a skycase bundle"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(dir.join("thesis.tex")).unwrap(), "years of work");
    // A file is not replaced either.
    let file = dir.join("thesis.tex");
    let o = skycase(&["export", "--frames", frames.to_str().unwrap(), "--out", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("exists and is not a folder"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "years of work");
}

#[test]
fn export_replaces_an_existing_bundle() {
    let b = tempdir("re-export");
    copy_dir(bundle(), &b);
    std::fs::write(b.join("stale.txt"), "from an older export").unwrap();
    let src = bundle().parent().unwrap().join("src/frames.jsonl");
    let o = skycase(&["export", "--frames", src.to_str().unwrap(), "--out", b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!b.join("stale.txt").exists());
    assert_eq!(search_json(&b, "snow")["hits"].as_array().unwrap().len(), 3);
    // No staging or old folder is left beside it (only the export's stamp, a file).
    let name = b.file_name().unwrap().to_str().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(b.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&format!(".{name}.")) && *n != format!(".{name}.skycase-export-stamp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn manifest_paths_that_leave_the_bundle_are_refused() {
    // See issue 12: a `../` path made native search read a file outside the bundle.
    let b = tempdir("escape");
    copy_dir(bundle(), &b);
    std::fs::copy(b.join("tokenizer.json"), b.parent().unwrap().join("tokenizer.json")).unwrap();
    let path = b.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap().replace("\"path\": \"tokenizer.json\"", "\"path\": \"../tokenizer.json\"");
    assert!(text.contains("../tokenizer.json"));
    std::fs::write(&path, text).unwrap();
    let o = skycase(&["search", "snow", "--bundle", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("manifest.json: file path \"../tokenizer.json\" climbs out with .."), "{}", stderr(&o));
}

#[test]
fn a_version_written_as_a_string_is_reported_as_a_type_error() {
    let b = tempdir("version-string");
    copy_dir(bundle(), &b);
    let path = b.join("manifest.json");
    let version = format!("\"format_version\": {}", skycase_core::FORMAT_VERSION);
    let text = std::fs::read_to_string(&path).unwrap().replace(&version, "\"format_version\": \"2\"");
    std::fs::write(&path, text).unwrap();
    let o = skycase(&["search", "snow", "--bundle", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("format_version is \"2\" (a string), expected a number"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("version 0"), "{}", stderr(&o));
}

/// The simulated-archive ingest fixture (one frame and its meta.json) copied into `dir`.
fn sim_input(dir: &Path) {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/ingest/sim");
    std::fs::create_dir_all(dir.join("frames")).unwrap();
    std::fs::copy(fx.join("meta.json"), dir.join("meta.json")).unwrap();
    let png = "frames/coms_mi_le1b_ir1_ea_201711081200.png";
    std::fs::copy(fx.join(png), dir.join(png)).unwrap();
}

#[cfg(unix)]
#[test]
fn ingest_skips_bad_links_and_fails_only_when_nothing_usable_was_written() {
    // See issue 12: a dangling link ended the run with exit 2 and 0 frames; a run that
    // wrote nothing exited 0.
    let dir = tempdir("ingest-links");
    sim_input(&dir.join("in/sim"));
    std::os::unix::fs::symlink(dir.join("in/gone.h5"), dir.join("in/dangling.h5")).unwrap();
    let store = dir.join("store");
    let o = skycase(&["ingest", dir.join("in").to_str().unwrap(), "--store", store.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 frames written") && stderr(&o).contains("dangling.h5: dangling symbolic link"), "{}", stderr(&o));

    std::fs::create_dir_all(dir.join("bad")).unwrap();
    std::os::unix::fs::symlink(dir.join("bad/gone.h5"), dir.join("bad/dangling.h5")).unwrap();
    let o = skycase(&["ingest", dir.join("bad").to_str().unwrap(), "--store", dir.join("store2").to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing usable was written"), "{}", stderr(&o));

    // A truncated frame record is quarantined; listing and ingesting go on.
    let record = store.join("frames/sim_201711081200.json");
    let bytes = std::fs::read(&record).unwrap();
    std::fs::write(&record, &bytes[..bytes.len() / 2]).unwrap();
    let o = skycase(&["show", "--list", "--store", store.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("quarantined:") && stderr(&o).contains("sim_201711081200.json"), "{}", stderr(&o));
    let o = skycase(&["ingest", dir.join("in").to_str().unwrap(), "--store", store.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 frames written"), "the quarantined frame is redone: {}", stderr(&o));
}

#[test]
fn source_filter_keeps_real_or_simulated_frames_and_names_a_bad_value() {
    // See issue 10: the demo mixes real frames with the simulated month; every record
    // carries its origin, and `--source` (the app's `source=`) filters by it.
    let dir = tempdir("source");
    let keep = ["\"sim_201711101200\"", "\"sim_201711200000\"", "\"kma-png_201212220100\"", "\"coms-hrit-fd_201201010215\""];
    let out = export_demo_frames(&dir, 4, |l| keep.iter().any(|k| l.contains(k)));
    let b = out.to_str().unwrap();
    let ids = |source: &str| {
        let o = skycase(&["search", "snow over the Korean Peninsula", "--bundle", b, "--json", "--source", source]);
        assert!(o.status.success(), "{source}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut ids: Vec<String> = v["hits"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_string()).collect();
        ids.sort();
        (ids, v)
    };
    // `real`: the calibrated real frames; KMA's uncalibrated PNG frames only when named, and
    // then without strengths. Without a filter, every calibrated frame.
    let (real, v) = ids("REAL");
    assert_eq!(real, ["coms-hrit-fd_201201010215"]);
    assert_eq!(v["hits"][0]["origin"], "coms");
    assert!(v["hits"][0]["source"].as_str().unwrap().contains("physical captioner"), "{}", v["hits"][0]["source"]);
    let (kma, v) = ids("kma");
    assert_eq!(kma, ["kma-png_201212220100"]);
    assert!(v["hits"][0]["strength"].is_null(), "{}", v["hits"][0]);
    assert_eq!(ids("simulated").0, ["sim_201711101200", "sim_201711200000"]);
    assert_eq!(ids("coms").0, ["coms-hrit-fd_201201010215"]);
    assert!(ids("gk2a").0.is_empty());
    let o = skycase(&["search", "snow over the Korean Peninsula", "--bundle", b, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut all: Vec<&str> = v["hits"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap()).collect();
    all.sort();
    assert_eq!(all, ["coms-hrit-fd_201201010215", "sim_201711101200", "sim_201711200000"]);
    let o = skycase(&["search", "snow", "--bundle", b, "--source", "himawari"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--source \"himawari\": not one of: real, simulated, coms, kma"), "{}", stderr(&o));
}

#[test]
fn a_caption_rerun_does_no_work_and_does_not_retry_frames_that_cannot_be_captioned() {
    // See issue 10: the GK-2A crop covers none of the 13 regions; the physical captioner is
    // deterministic, so a rerun skips it (and the frame already captioned) and succeeds.
    let dir = tempdir("caption-rerun");
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/ingest");
    let store = dir.join("store");
    let s = store.to_str().unwrap();
    let o = skycase(&["ingest", fx.join("sim").to_str().unwrap(), fx.join("gk2a").to_str().unwrap(), "--store", s, "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = skycase(&["caption", "--store", s]);
    let err = stderr(&first);
    assert!(first.status.success(), "{err}");
    assert!(err.contains("captioned 1 frames, 1 failed") && err.contains("gk2a-fd_202609281200"), "{err}");
    let again = skycase(&["caption", "--store", s]);
    let err = stderr(&again);
    assert!(again.status.success(), "{err}");
    assert!(err.contains("1 frames failed before with the same rules") && err.contains("captioned 0 frames, 0 failed"), "{err}");
    // --force tries again, and fails again with the reason.
    let forced = skycase(&["caption", "--store", s, "--force"]);
    assert!(stderr(&forced).contains("gk2a-fd_202609281200: no region masks") || stderr(&forced).contains("1 failed"), "{}", stderr(&forced));
}
