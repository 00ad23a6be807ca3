//! Training data from a frame store and one caption source (skycase_train::store_data).

use std::path::{Path, PathBuf};

use candle_core::Device;
use skycase_caption::store::CaptionerInfo;
use skycase_caption::{Caption, CaptionRecord, CaptionSource, CaptionStore, Phenomenon, Region};
use skycase_ingest::{Frame, FrameStore};
use skycase_train::store_data::{load_store, relabel_test_days};
use skycase_train::{Granularity, ModelConfig};

fn fixture_frame() -> Frame {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ingest/sim/frames/coms_mi_le1b_ir1_ea_201711081200.png");
    skycase_ingest::read_sim_frame(&p).unwrap()
}

fn variant(base: &Frame, id: &str, time: &str, dk: f32) -> Frame {
    let mut f = base.clone();
    f.meta.id = id.into();
    f.meta.time = time.parse().unwrap();
    f.bt.iter_mut().for_each(|v| *v += dk);
    f
}

fn record(id: &str, time: &str, p: Phenomenon, info: CaptionerInfo) -> CaptionRecord {
    let mut c = Caption::filled(Phenomenon::Clear);
    c.set(Region::Kyushu, p);
    CaptionRecord { frame_id: id.into(), time: time.parse().unwrap(), caption: c.to_bullets(), labels: c, uncovered: Vec::new(), captioner: info, details: serde_json::Value::Null }
}

fn physical() -> CaptionerInfo {
    CaptionerInfo::Physical { rules_sha256: "x".into(), besttrack: None }
}

fn truth() -> CaptionerInfo {
    CaptionerInfo::Truth { labels: "labels.jsonl".into(), labels_sha256: "y".into(), generator: None }
}

fn err<T>(r: skycase_train::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn config() -> ModelConfig {
    let mut c = ModelConfig::for_frame(819, 471, Granularity::Region);
    c.stem_channels = 4;
    c.channels = 8;
    c.hidden = 8;
    c.joint_dim = 6;
    c
}

#[test]
fn a_store_with_captions_trains_and_bad_captions_are_named() {
    let base: PathBuf = std::env::temp_dir().join(format!("skycase-store-data-{}", std::process::id()));
    std::fs::remove_dir_all(&base).ok();
    let store = FrameStore::open(&base).unwrap();
    let f = fixture_frame();
    let days = ["2017-11-01T00:00:00Z", "2017-11-02T00:00:00Z", "2017-11-03T00:00:00Z", "2017-11-04T00:00:00Z"];
    let ids: Vec<String> = (0..days.len()).map(|d| format!("sim_2017110{}0000", d + 1)).collect();
    let e = err(load_store(&base, CaptionSource::Physical, &config(), None, &Device::Cpu));
    assert!(e.contains("captions/physical") && e.contains("no physical captions"), "{e}");

    for (d, (id, t)) in ids.iter().zip(days).enumerate() {
        store.put(&variant(&f, id, t, d as f32), None).unwrap();
    }
    // A sector frame: captioned, but it does not cover every region.
    let mut west = variant(&f, "west_201711030600", "2017-11-03T06:00:00Z", 0.0).crop_lonlat(95.0, 10.0, 120.0, 55.0).unwrap();
    west.meta.id = "west_201711030600".into();
    store.put(&west, None).unwrap();
    let phys = CaptionStore::open_source(&base, CaptionSource::Physical).unwrap();
    for (id, t) in ids.iter().zip(days).take(3) {
        phys.put(&record(id, t, Phenomenon::Rain, physical())).unwrap();
    }
    phys.put(&record("west_201711030600", "2017-11-03T06:00:00Z", Phenomenon::Rain, physical())).unwrap();

    let (ds, report) = load_store(&base, CaptionSource::Physical, &config(), None, &Device::Cpu).unwrap();
    assert_eq!((report.frames, report.samples, report.uncaptioned), (5, 3, 1));
    assert_eq!(report.partial.len(), 1);
    assert!(report.partial[0].0 == "west_201711030600" && report.partial[0].1.contains("covered"), "{:?}", report.partial);
    assert_eq!(ds.samples.iter().map(|s| s.file.as_str()).collect::<Vec<_>>(), &ids[..3]);
    assert_eq!(ds.samples[0].time, "2017-11-01T00:00Z");
    assert_eq!(ds.samples[0].labels[8], 3); // Kyushu: Rain
    assert_eq!(ds.inputs.dims()[0], 3);
    // The inputs are the canonical frames' preprocessing (the fixture is on the canonical grid).
    let want = skycase_train::model::preprocess(&config(), &store.load(&ids[1]).unwrap().bt).unwrap();
    let got = ds.inputs.get(1).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let worst = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst < 2e-3, "{worst}"); // f16 cache precision

    // Score the test day against truth: the test frame needs a truth caption.
    let mut ds2 = ds;
    let e = relabel_test_days(&mut ds2, CaptionSource::Truth, 1, 1).unwrap_err().to_string();
    assert!(e.contains("sim_201711030000") && e.contains("truth"), "{e}");
    let tr = CaptionStore::open_source(&base, CaptionSource::Truth).unwrap();
    tr.put(&record(&ids[2], days[2], Phenomenon::Snow, truth())).unwrap();
    assert_eq!(relabel_test_days(&mut ds2, CaptionSource::Truth, 1, 1).unwrap(), 1);
    assert_eq!((ds2.samples[2].labels[8], ds2.samples[1].labels[8]), (0, 3)); // test Snow, val still Rain

    // A caption of a frame this store does not have, or written by another source: named.
    phys.put(&record("sim_209901010000", "2099-01-01T00:00:00Z", Phenomenon::Rain, physical())).unwrap();
    let e = err(load_store(&base, CaptionSource::Physical, &config(), None, &Device::Cpu));
    assert!(e.contains("sim_209901010000.json") && e.contains("another store"), "{e}");
    std::fs::remove_file(phys.record_path("sim_209901010000")).unwrap();
    phys.put(&record(&ids[3], days[3], Phenomenon::Rain, truth())).unwrap();
    let e = err(load_store(&base, CaptionSource::Physical, &config(), None, &Device::Cpu));
    assert!(e.contains(&format!("{}.json", ids[3])) && e.contains("another captioner"), "{e}");
    // A model that is not on the canonical grid.
    let mut c = config();
    c.frame_width = 800;
    let e = err(load_store(&base, CaptionSource::Physical, &c, None, &Device::Cpu));
    assert!(e.contains("canonical"), "{e}");
    std::fs::remove_dir_all(&base).ok();
}
