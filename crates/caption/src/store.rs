//! Captions on disk, next to the frame store.
//!
//! ```text
//! <store>/captions/<source>/<frame id>.json  CaptionRecord of one caption source
//!                                           (`physical`, `mllm`, `truth`; [`CaptionSource`])
//! <store>/captions/<frame id>.json         CaptionRecord (the layout before caption sources;
//!                                           still what [`CaptionStore::open`] reads and writes)
//! <store>/captions/failed/<frame id>.json  FailureRecord (parse error + raw answer, or why
//!                                           the frame could not be captioned)
//! <store>/captions/mllm-cache/..           MLLM answer cache (see [`crate::mllm`])
//! ```
//! Every file is written to a temporary name in the same folder, flushed, and renamed
//! into place: an interrupted run leaves each caption either absent or whole, and a
//! rerun captions exactly the frames without a record.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::parse::ParseError;
use crate::vocab::{Caption, Region};

/// Write `bytes` to `path` atomically (temp file in the same folder + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), fastrand::u64(..)));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Which captioner wrote a caption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaptionerInfo {
    /// The physical captioner.
    Physical {
        /// SHA-256 (hex, 16 chars) of the rules JSON used.
        rules_sha256: String,
        /// The best-track file used, if any.
        besttrack: Option<String>,
    },
    /// Truth labels imported from a simulated archive (for evaluation; never used for
    /// training unless asked for by name).
    Truth {
        /// The `labels.jsonl` file, as given.
        labels: String,
        /// SHA-256 (hex, 16 chars) of that file.
        labels_sha256: String,
        /// The simulator that wrote it (`meta.json` `generator`), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        generator: Option<String>,
    },
    /// An MLLM endpoint.
    Mllm {
        /// Endpoint base URL.
        base_url: String,
        /// Model name.
        model: String,
        /// SHA-256 (hex) of the filled prompt.
        prompt_sha256: String,
    },
}

/// A stored caption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptionRecord {
    /// Frame id in the frame store.
    pub frame_id: String,
    /// Frame time (UTC).
    pub time: DateTime<Utc>,
    /// The study's bullet text, 13 lines.
    pub caption: String,
    /// The same as structured labels `{region: phenomenon}`.
    pub labels: Caption,
    /// Regions the frame does not cover (a storm-centred crop, a sector): `caption` has no
    /// line for them and their `labels` entry is a placeholder, not an observation. Empty for
    /// frames that cover the whole map.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncovered: Vec<String>,
    /// Who wrote it.
    pub captioner: CaptionerInfo,
    /// Captioner-specific evidence (region statistics, storms, the raw MLLM answer).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

impl CaptionRecord {
    /// The regions this caption has a line for (all but [`CaptionRecord::uncovered`]).
    pub fn covered(&self) -> std::result::Result<[bool; 13], String> {
        let mut covered = [true; 13];
        for name in &self.uncovered {
            let r = Region::from_name(name).ok_or_else(|| format!("unknown region {name:?} in `uncovered`"))?;
            covered[r.index()] = false;
        }
        Ok(covered)
    }
}

/// A frame that could not be captioned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// Frame id.
    pub frame_id: String,
    /// Frame time.
    pub time: DateTime<Utc>,
    /// Who tried.
    pub captioner: CaptionerInfo,
    /// Why: a parse error of the answer, or another reason.
    pub error: FailureReason,
    /// The raw MLLM answer, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_answer: Option<String>,
}

/// Why a frame has no caption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum FailureReason {
    /// The answer did not parse strictly.
    Parse {
        /// The parse error.
        error: ParseError,
        /// Its message.
        message: String,
    },
    /// Anything else (no region masks, endpoint down, ...).
    Other {
        /// The message.
        message: String,
    },
}

/// Which captioner's output a caption folder holds: `<store>/captions/<source>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptionSource {
    /// The physical captioner (BT statistics + best track).
    Physical,
    /// An MLLM endpoint.
    Mllm,
    /// A simulated archive's truth labels (`labels.jsonl`), imported.
    Truth,
}

impl CaptionSource {
    /// All sources, in folder order.
    pub const ALL: [CaptionSource; 3] = [CaptionSource::Physical, CaptionSource::Mllm, CaptionSource::Truth];

    /// The folder name: `physical`, `mllm` or `truth`.
    pub fn name(self) -> &'static str {
        match self {
            CaptionSource::Physical => "physical",
            CaptionSource::Mllm => "mllm",
            CaptionSource::Truth => "truth",
        }
    }

    /// Parses a folder name.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| Error::Config(format!("caption source '{s}' is not one of physical, mllm, truth")))
    }

    /// Whether a record's captioner belongs to this source.
    pub fn matches(self, info: &CaptionerInfo) -> bool {
        matches!(
            (self, info),
            (CaptionSource::Physical, CaptionerInfo::Physical { .. })
                | (CaptionSource::Mllm, CaptionerInfo::Mllm { .. })
                | (CaptionSource::Truth, CaptionerInfo::Truth { .. })
        )
    }
}

/// The captions folder of a frame store.
#[derive(Debug, Clone)]
pub struct CaptionStore {
    dir: PathBuf,
}

impl CaptionStore {
    /// Open (creating) `<frame store>/captions`.
    pub fn open(frame_store_root: impl AsRef<Path>) -> Result<Self> {
        Self::open_dir(frame_store_root.as_ref().join("captions"))
    }

    /// Open (creating) `<frame store>/captions/<source>/`.
    pub fn open_source(frame_store_root: impl AsRef<Path>, source: CaptionSource) -> Result<Self> {
        Self::open_dir(frame_store_root.as_ref().join("captions").join(source.name()))
    }

    /// Open (creating) any folder as a caption store.
    pub fn open_dir(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(CaptionStore { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The MLLM answer-cache folder.
    pub fn mllm_cache_dir(&self) -> PathBuf {
        self.dir.join("mllm-cache")
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// The file a frame's caption is (or would be) stored in.
    pub fn record_path(&self, id: &str) -> PathBuf {
        self.path(id)
    }

    fn failed_path(&self, id: &str) -> PathBuf {
        self.dir.join("failed").join(format!("{id}.json"))
    }

    /// Whether a frame has a caption.
    pub fn contains(&self, id: &str) -> bool {
        self.path(id).is_file()
    }

    /// Store a caption (and clear an earlier failure of that frame).
    pub fn put(&self, rec: &CaptionRecord) -> Result<()> {
        let p = self.path(&rec.frame_id);
        let bytes = serde_json::to_vec_pretty(rec).map_err(|e| Error::json(&p, e))?;
        write_atomic(&p, &bytes)?;
        let f = self.failed_path(&rec.frame_id);
        if f.exists() {
            std::fs::remove_file(&f).map_err(|e| Error::io(&f, e))?;
        }
        Ok(())
    }

    /// Record a failure.
    pub fn put_failure(&self, rec: &FailureRecord) -> Result<()> {
        let p = self.failed_path(&rec.frame_id);
        let bytes = serde_json::to_vec_pretty(rec).map_err(|e| Error::json(&p, e))?;
        write_atomic(&p, &bytes)
    }

    /// A frame's recorded failure, if any (`None` also for an unreadable record: the frame is
    /// then simply tried again).
    pub fn get_failure(&self, id: &str) -> Option<FailureRecord> {
        std::fs::read(self.failed_path(id)).ok().and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// A frame's caption, if stored. The bullet text and the labels must agree.
    pub fn get(&self, id: &str) -> Result<Option<CaptionRecord>> {
        let p = self.path(id);
        let bytes = match std::fs::read(&p) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&p, e)),
        };
        let rec: CaptionRecord = serde_json::from_slice(&bytes).map_err(|e| Error::json(&p, e))?;
        let covered = rec.covered().map_err(|e| Error::json(&p, e))?;
        if rec.labels.bullets_of(&covered) != rec.caption {
            return Err(Error::json(&p, "caption text and labels disagree"));
        }
        if rec.frame_id != id {
            return Err(Error::json(&p, format!("holds the caption of frame {:?}, not {id:?}", rec.frame_id)));
        }
        Ok(Some(rec))
    }

    /// Ids of all stored captions, sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))? {
            let e = e.map_err(|e| Error::io(&self.dir, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json") {
                if !name.starts_with('.') && e.path().is_file() {
                    out.push(id.to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Phenomenon;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("skycase-caption-{name}-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn put_get_round_trip_and_no_temp_left() {
        let d = tmpdir("store");
        let s = CaptionStore::open(&d).unwrap();
        let mut c = Caption::filled(Phenomenon::Clear);
        c.set(Region::Hokkaido, Phenomenon::Snow);
        let rec = CaptionRecord {
            frame_id: "sim_201711010000".into(),
            time: "2017-11-01T00:00:00Z".parse().unwrap(),
            caption: c.to_bullets(),
            labels: c,
            uncovered: Vec::new(),
            captioner: CaptionerInfo::Physical { rules_sha256: "x".into(), besttrack: None },
            details: serde_json::Value::Null,
        };
        assert!(!s.contains(&rec.frame_id));
        s.put(&rec).unwrap();
        assert_eq!(s.get(&rec.frame_id).unwrap(), Some(rec.clone()));
        assert_eq!(s.ids().unwrap(), vec!["sim_201711010000".to_string()]);
        let names: Vec<_> = std::fs::read_dir(s.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")), "{names:?}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn inconsistent_record_is_rejected() {
        let d = tmpdir("bad");
        let s = CaptionStore::open(&d).unwrap();
        let c = Caption::filled(Phenomenon::Clear);
        let rec = CaptionRecord {
            frame_id: "f".into(),
            time: "2017-11-01T00:00:00Z".parse().unwrap(),
            caption: Caption::filled(Phenomenon::Rain).to_bullets(),
            labels: c,
            uncovered: Vec::new(),
            captioner: CaptionerInfo::Physical { rules_sha256: "x".into(), besttrack: None },
            details: serde_json::Value::Null,
        };
        s.put(&rec).unwrap();
        let err = s.get("f").unwrap_err().to_string();
        assert!(err.contains("disagree") && err.contains("f.json"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
