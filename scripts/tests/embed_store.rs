//! `skycase embed --store`: one period per job, incremental, and `kill -9` at any point then
//! a rerun gives the same shards as an uninterrupted run. The store holds the real fixtures
//! (COMS LRIT ENH segment, HRIT FD segment, KMA PNG, GK-2A crop, Digital Typhoon) and the
//! simulated fixture frame: six periods, three of which can be embedded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use candle_core::Device;
use skycase_train::{Granularity, ImageModel, ModelConfig};

fn skycase(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skycase")).args(args).output().expect("run skycase")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/ingest")
}

/// `*.skyshard` and `*.json` files of an index, the JSON without its `command`.
/// Width and height from a PNG's IHDR.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()))
}

fn files(index: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(index).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&p).unwrap();
        if name.ends_with(".json") {
            let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            v.as_object_mut().unwrap().remove("command");
            out.insert(name, serde_json::to_vec(&v).unwrap());
        } else {
            out.insert(name, bytes);
        }
    }
    out
}

#[test]
fn periods_embed_incrementally_and_survive_kill_9() {
    let base = std::env::temp_dir().join(format!("skycase-embed-store-{}", std::process::id()));
    std::fs::remove_dir_all(&base).ok();
    let store = base.join("store");
    let s = store.to_str().unwrap();
    let fx = fixtures();
    let inputs = ["sim", "kma-png", "xrit", "gk2a", "digital-typhoon"].map(|d| fx.join(d).display().to_string());
    let mut args = vec!["ingest"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend(["--store", s, "--quiet"]);
    let o = skycase(&args);
    assert!(o.status.success(), "{}", stderr(&o));

    let ckpt = base.join("ckpt");
    let mut c = ModelConfig::for_frame(819, 471, Granularity::Region);
    (c.stem_channels, c.channels, c.region_embed, c.hidden, c.joint_dim, c.text_dim) = (4, 8, 4, 8, 6, 5);
    ImageModel::new(c, 3, &Device::Cpu).unwrap().save(&ckpt).unwrap();
    let ck = ckpt.to_str().unwrap();

    let o = skycase(&["embed", "--store", s, "--list-periods"]);
    let periods = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(periods.lines().collect::<Vec<_>>(), ["2007-10", "2011-12", "2012-01", "2012-12", "2017-11", "2026-09"], "{periods}");

    // Uninterrupted run. The Digital Typhoon crop (storm 200718 at 2007-10-15 12 UTC, east
    // of every region), the HRIT segment (the north polar cap of the disk) and the GK-2A crop
    // cover no region: named, the others go on.
    let full = base.join("full");
    let o = skycase(&["embed", "--store", s, "--checkpoint", ck, "--out", full.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("2007-10: error") && err.contains("dt-200718_200710151200") && err.contains("covers none of the 13 regions"), "{err}");
    assert!(err.contains("3 of 6 periods not embedded: 2007-10, 2012-01, 2026-09"), "{err}");
    let want = files(&full);
    for p in ["2011-12", "2012-12", "2017-11"] {
        assert!(want.contains_key(&format!("{p}.skyshard")) && want.contains_key(&format!("{p}.json")), "{p}: {:?}", want.keys());
    }

    // kill -9 at several points of a run, then a rerun: the same files.
    let mut cut_short = 0;
    for delay_ms in [0u64, 150, 400, 900, 1500] {
        let idx = base.join(format!("killed-{delay_ms}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_skycase"))
            .args(["embed", "--store", s, "--checkpoint", ck, "--out", idx.to_str().unwrap()])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let left = if idx.is_dir() { files(&idx).len() } else { 0 };
        if left < want.len() {
            cut_short += 1;
        }
        let o = skycase(&["embed", "--store", s, "--checkpoint", ck, "--out", idx.to_str().unwrap()]);
        assert!(stderr(&o).contains("3 of 6 periods not embedded"), "{}", stderr(&o));
        assert_eq!(files(&idx), want, "killed after {delay_ms} ms");
    }

    assert!(cut_short >= 2, "only {cut_short} of the kills interrupted a run");

    // A rerun does no work; one period alone is one job.
    let o = skycase(&["embed", "--store", s, "--checkpoint", ck, "--out", full.to_str().unwrap(), "--period", "2017-11", "--period", "2012-12"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.matches("up to date, nothing written").count(), 2, "{err}");
    assert_eq!(files(&full), want);

    // Pack the index into a self-contained folder (the demo's data/demo): a rerun writes
    // nothing, and export reads the folder without the store.
    let packed = base.join("packed");
    let pack = || skycase(&["pack", "--store", s, "--index", full.to_str().unwrap(), "--out", packed.to_str().unwrap(), "--medium-width", "512"]);
    let o = pack();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("3 period(s)"), "{}", stderr(&o));
    let frames = std::fs::read_to_string(packed.join("frames.jsonl")).unwrap();
    let origins: Vec<String> = frames.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["origin"].as_str().unwrap().to_string()).collect();
    assert!(origins.contains(&"simulated".to_string()) && origins.contains(&"kma".to_string()), "{origins:?}");
    assert!(stderr(&pack()).contains("0 file(s) written, 0 removed"));
    let o = skycase(&[
        "export",
        "--frames",
        packed.join("frames.jsonl").to_str().unwrap(),
        "--index",
        packed.join("index").to_str().unwrap(),
        "--out",
        base.join("packed-bundle").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Medium images (issue 13, the case view's large image): one per frame, 512 px wide (or
    // the frame's width if narrower), the frame's aspect, copied by export as role "medium".
    let grids: serde_json::Value = serde_json::from_slice(&std::fs::read(packed.join("grids.json")).unwrap()).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(base.join("packed-bundle/manifest.json")).unwrap()).unwrap();
    let listed = |m: &serde_json::Value, path: &str| m["files"].as_array().unwrap().iter().find(|f| f["path"] == path).map(|f| f["role"].as_str().unwrap().to_string());
    let mut mediums = BTreeMap::new();
    for line in frames.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let name = v["thumb"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        let bytes = std::fs::read(packed.join("medium").join(&name)).unwrap_or_else(|e| panic!("medium/{name}: {e}"));
        let (w, h) = png_size(&bytes);
        let grid = &grids[v["grid"].as_str().unwrap()];
        let (gw, gh) = (grid["width"].as_u64().unwrap() as f64, grid["height"].as_u64().unwrap() as f64);
        let want_w = gw.min(512.0);
        assert_eq!((w as f64, h as f64), (want_w, (gh * want_w / gw).round().max(1.0)), "medium/{name} of a {gw}×{gh} frame");
        assert_eq!(std::fs::read(base.join("packed-bundle/medium").join(&name)).unwrap(), bytes, "export copies medium/{name}");
        assert_eq!(listed(&manifest, &format!("medium/{name}")).as_deref(), Some("medium"));
        mediums.insert(name, bytes);
    }
    eprintln!("medium images: {} frames, {} bytes in all", mediums.len(), mediums.values().map(Vec::len).sum::<usize>());

    // Export the store's index: export renders the same medium images itself.
    let o = skycase(&["export", "--store", s, "--index", full.to_str().unwrap(), "--out", base.join("store-bundle").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(base.join("store-bundle/manifest.json")).unwrap()).unwrap();
    for (name, bytes) in &mediums {
        assert_eq!(&std::fs::read(base.join("store-bundle/medium").join(name)).unwrap(), bytes, "export --store renders medium/{name} as pack does");
        assert_eq!(listed(&manifest, &format!("medium/{name}")).as_deref(), Some("medium"));
    }

    // Export the store's periods into a bundle; a period never embedded is named.
    let o = skycase(&["export", "--store", s, "--index", full.to_str().unwrap(), "--periods", "2012-01", "--out", base.join("bundle").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("period 2012-01 is not embedded"), "{}", stderr(&o));
    std::fs::remove_dir_all(&base).ok();
}
