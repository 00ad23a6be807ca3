//! A simulated archive's truth labels as a caption source.
//!
//! [`import_truth`] reads `labels.jsonl` (one JSON object per frame with `time`, `file`
//! relative to the archive folder, and `caption`, the 13 bullets) and writes one
//! [`CaptionRecord`] per label whose frame is in the frame store, into
//! `<store>/captions/truth/`. A label belongs to a stored frame when the frame was ingested
//! from that very file (`FrameMeta::inputs`, canonical paths), so labels of another archive
//! never attach to frames that merely share a time. Truth is for evaluation: training uses
//! it only when asked for by name (`--captions truth`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use skycase_ingest::FrameMeta;

use crate::error::{Error, Result};
use crate::store::{CaptionRecord, CaptionStore, CaptionerInfo};
use crate::vocab::Caption;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TruthImport {
    /// Records written.
    pub written: usize,
    /// Records already there with the same labels (nothing written).
    pub unchanged: usize,
    /// Labels whose frame file is not in the store (`file` values).
    pub not_in_store: Vec<String>,
}

/// Imports `labels` (a simulated archive's `labels.jsonl`) for the stored `frames` into
/// `out`. Errors name the file and line; labels none of whose frames are in the store are
/// an error (labels of another archive or store).
pub fn import_truth(labels: &Path, frames: &[FrameMeta], out: &CaptionStore) -> Result<TruthImport> {
    let bytes = std::fs::read(labels).map_err(|e| Error::io(labels, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| Error::json(labels, format!("not UTF-8: {e}")))?;
    let archive = labels.parent().unwrap_or(Path::new("."));
    let generator = read_generator(&archive.join("meta.json"));
    let info = CaptionerInfo::Truth {
        labels: labels.display().to_string(),
        labels_sha256: hex::encode(Sha256::digest(&bytes))[..16].to_string(),
        generator,
    };
    let mut by_input: HashMap<PathBuf, &FrameMeta> = HashMap::new();
    for m in frames {
        for i in &m.inputs {
            by_input.insert(PathBuf::from(&i.path), m);
        }
    }
    let mut report = TruthImport::default();
    let mut lines = 0usize;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        lines += 1;
        let bad = |reason: String| Error::Json { path: labels.to_path_buf(), reason: format!("line {}: {reason}", i + 1) };
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let file = v["file"].as_str().ok_or_else(|| bad("no \"file\"".into()))?;
        let cap = v["caption"].as_str().ok_or_else(|| bad("no \"caption\"".into()))?;
        let caption = Caption::from_bullets(cap).map_err(|e| bad(e.to_string()))?;
        let path = archive.join(file);
        let key = path.canonicalize().unwrap_or(path);
        let Some(meta) = by_input.get(&key) else {
            report.not_in_store.push(file.to_string());
            continue;
        };
        let rec = CaptionRecord {
            frame_id: meta.id.clone(),
            time: meta.time,
            caption: caption.to_bullets(),
            labels: caption,
            uncovered: Vec::new(),
            captioner: info.clone(),
            details: serde_json::json!({ "file": file }),
        };
        match out.get(&meta.id) {
            Ok(Some(old)) if old.labels == rec.labels && old.captioner == rec.captioner => report.unchanged += 1,
            _ => {
                out.put(&rec)?;
                report.written += 1;
            }
        }
    }
    if lines == 0 {
        return Err(Error::json(labels, "no labels"));
    }
    if report.written + report.unchanged == 0 {
        return Err(Error::Frame {
            frame: labels.display().to_string(),
            reason: format!(
                "none of its {lines} labelled frames is in the frame store (first: {}); ingest that archive into this store first",
                report.not_in_store.first().map(String::as_str).unwrap_or("?")
            ),
        });
    }
    Ok(report)
}

fn read_generator(meta: &Path) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(meta).ok()?).ok()?;
    v["generator"].as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CaptionSource;
    use crate::vocab::{Phenomenon, Region};
    use skycase_ingest::{Calibration, GeosNav, InputFile, MaskStatus, Navigation, Source};

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("skycase-truth-{name}-{}", fastrand::u64(..)));
        std::fs::create_dir_all(d.join("frames")).unwrap();
        d
    }

    fn meta(id: &str, input: &Path) -> FrameMeta {
        FrameMeta {
            id: id.into(),
            time: "2017-11-01T00:00:00Z".parse().unwrap(),
            source: Source::SimPng,
            channel: "IR".into(),
            width: 1,
            height: 1,
            nav: Navigation::Geos(GeosNav::sim_nov2017()),
            calibration: Calibration::Calibrated { method: "test".into() },
            complete: true,
            masks: MaskStatus::Available { grid_id: "g".into() },
            storm: None,
            inputs: vec![InputFile { path: input.canonicalize().unwrap().display().to_string(), size: 0, mtime: 0 }],
            checksum: String::new(),
            notes: vec![],
        }
    }

    fn label(file: &str, c: &Caption) -> String {
        serde_json::json!({"time": "2017-11-01T00:00Z", "file": file, "caption": c.to_bullets()}).to_string()
    }

    #[test]
    fn imports_the_labels_of_stored_frames_only_and_reruns_do_nothing() {
        let archive = tmpdir("archive");
        let store = tmpdir("store");
        for f in ["frames/a_201711010000.png", "frames/b_201711010100.png"] {
            std::fs::write(archive.join(f), b"").unwrap();
        }
        let mut c = Caption::filled(Phenomenon::Clear);
        c.set(Region::Kyushu, Phenomenon::Rain);
        let labels = archive.join("labels.jsonl");
        std::fs::write(&labels, [label("frames/a_201711010000.png", &c), label("frames/b_201711010100.png", &c)].join("\n")).unwrap();
        std::fs::write(archive.join("meta.json"), r#"{"generator": "wxsim 1.0"}"#).unwrap();
        let frames = vec![meta("sim_201711010000", &archive.join("frames/a_201711010000.png"))];
        let out = CaptionStore::open_source(&store, CaptionSource::Truth).unwrap();
        assert!(out.dir().ends_with("captions/truth"));
        let r = import_truth(&labels, &frames, &out).unwrap();
        assert_eq!((r.written, r.unchanged, r.not_in_store.clone()), (1, 0, vec!["frames/b_201711010100.png".to_string()]));
        let rec = out.get("sim_201711010000").unwrap().unwrap();
        assert_eq!(rec.labels, c);
        assert!(CaptionSource::Truth.matches(&rec.captioner) && !CaptionSource::Physical.matches(&rec.captioner));
        let CaptionerInfo::Truth { generator, labels_sha256, .. } = &rec.captioner else { panic!() };
        assert_eq!(generator.as_deref(), Some("wxsim 1.0"));
        assert_eq!(labels_sha256.len(), 16);
        let r = import_truth(&labels, &frames, &out).unwrap();
        assert_eq!((r.written, r.unchanged), (0, 1));

        // Labels of another archive attach to nothing: an error naming the labels file.
        let other = tmpdir("other");
        std::fs::write(other.join("frames/a_201711010000.png"), b"").unwrap();
        let frames_other = vec![meta("sim_201711010000", &other.join("frames/a_201711010000.png"))];
        let e = import_truth(&labels, &frames_other, &out).unwrap_err().to_string();
        assert!(e.contains("labels.jsonl") && e.contains("none of its 2 labelled frames"), "{e}");
        // Missing file and bad lines are named.
        let e = import_truth(&archive.join("nope.jsonl"), &frames, &out).unwrap_err().to_string();
        assert!(e.contains("nope.jsonl"), "{e}");
        std::fs::write(&labels, format!("{}\n{{\"file\": \"x\"}}", label("frames/a_201711010000.png", &c))).unwrap();
        let e = import_truth(&labels, &frames, &out).unwrap_err().to_string();
        assert!(e.contains("labels.jsonl") && e.contains("line 2"), "{e}");
        for d in [archive, store, other] {
            std::fs::remove_dir_all(d).ok();
        }
    }

    #[test]
    fn a_caption_file_of_another_frame_is_refused() {
        let store = tmpdir("swap");
        let out = CaptionStore::open_source(&store, CaptionSource::Physical).unwrap();
        let c = Caption::filled(Phenomenon::Clear);
        let rec = CaptionRecord {
            frame_id: "a".into(),
            time: "2017-11-01T00:00:00Z".parse().unwrap(),
            caption: c.to_bullets(),
            labels: c,
            uncovered: Vec::new(),
            captioner: CaptionerInfo::Physical { rules_sha256: "x".into(), besttrack: None },
            details: serde_json::Value::Null,
        };
        out.put(&rec).unwrap();
        std::fs::copy(out.record_path("a"), out.record_path("b")).unwrap();
        let e = out.get("b").unwrap_err().to_string();
        assert!(e.contains("b.json") && e.contains("caption of frame \"a\""), "{e}");
        std::fs::remove_dir_all(store).ok();
        assert!(CaptionSource::parse("truth").is_ok());
        assert!(CaptionSource::parse("gold").unwrap_err().to_string().contains("physical, mllm, truth"));
    }
}
