//! Training data: frames of a simulated archive (PNG + `meta.json` + `labels.jsonl`), read
//! with skycase-ingest, turned into model inputs once and cached.
//!
//! `labels.jsonl` has one JSON object per frame with at least `time`, `file` (relative to the
//! archive folder) and `caption` (13 lines `- Region - Phenomenon`). The per-region labels
//! used for evaluation are parsed from the caption, so any captioner's output can be used.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use skycase_ingest::Sidecar;
use skycase_vocab::{phenomenon_of, PHENOMENA, REGIONS};

use crate::archive::sidecar_masks;
use crate::error::{Error, Result};
use crate::model::{preprocess, ModelConfig, RegionWeights, N_REGIONS};

/// One captioned frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// UTC time as written in the labels (`2017-11-01T00:00Z`).
    pub time: String,
    /// Frame file, relative to the archive folder.
    pub file: String,
    /// The 13-line caption.
    pub caption: String,
    /// Phenomenon index (into [`PHENOMENA`]) of each region.
    pub labels: [u8; N_REGIONS],
}

impl Sample {
    /// The calendar day (`YYYY-MM-DD`) of the frame.
    pub fn day(&self) -> &str {
        self.time.get(..10).unwrap_or(&self.time)
    }
}

/// Reads `labels.jsonl`; a file without captions, or a caption missing a region, is an error
/// naming the line.
pub fn read_labels(path: &Path) -> Result<Vec<Sample>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| Error::format(path, format!("line {}: {reason}", i + 1));
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let field = |name: &str| v.get(name).and_then(|x| x.as_str()).map(str::to_string);
        let time = field("time").ok_or_else(|| bad("no `time`".into()))?;
        let file = field("file").ok_or_else(|| bad("no `file`".into()))?;
        let caption = field("caption").filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            Error::dataset(path, format!("line {}: frame {time} has no caption; caption the archive first", i + 1))
        })?;
        let mut labels = [0u8; N_REGIONS];
        for (k, region) in REGIONS.iter().enumerate() {
            let p = phenomenon_of(&caption, k).ok_or_else(|| bad(format!("caption has no line for '{region}'")))?;
            let j = PHENOMENA.iter().position(|q| *q == p).ok_or_else(|| bad(format!("unknown phenomenon '{p}' for '{region}'")))?;
            labels[k] = j as u8;
        }
        out.push(Sample { time, file, caption, labels });
    }
    if out.is_empty() {
        return Err(Error::dataset(path, "no captioned frames"));
    }
    out.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(out)
}

/// A loaded archive: samples, model inputs `[N, H4, W4, 3]` and region pooling weights.
pub struct Dataset {
    /// The archive folder.
    pub root: PathBuf,
    /// Frames in time order.
    pub samples: Vec<Sample>,
    /// Preprocessed inputs, same order.
    pub inputs: Tensor,
    /// Region pooling weights of the archive's grid.
    pub weights: RegionWeights,
    /// Full-resolution region masks (`masks[k]`, row-major).
    pub masks: Vec<Vec<bool>>,
    /// The preprocessing (frame size, cells, BT normalisation) the inputs were made with.
    pub config: ModelConfig,
    /// How many samples at the end come from extra archives ([`Dataset::append_training`]):
    /// they are training frames whatever their dates, never validation or test.
    pub train_only: usize,
}

impl Dataset {
    /// Inputs of the frames `idx` as one batch.
    pub fn batch(&self, idx: &[usize]) -> Result<Tensor> {
        let ids: Vec<u32> = idx.iter().map(|&i| i as u32).collect();
        let ids = Tensor::new(ids.as_slice(), self.inputs.device())?;
        Ok(self.inputs.index_select(&ids, 0)?)
    }

    /// Adds the frames of another archive of the same grid as training-only frames (e.g. other
    /// simulated months), so the held-out days of this archive stay exactly as they were.
    pub fn append_training(&mut self, other: Dataset) -> Result<()> {
        let c = (&self.config, &other.config);
        if (c.0.frame_width, c.0.frame_height, c.0.downsample) != (c.1.frame_width, c.1.frame_height, c.1.downsample) {
            return Err(Error::shape(
                format!("frames of {}", other.root.display()),
                format!("{}×{} (as {})", c.0.frame_width, c.0.frame_height, self.root.display()),
                format!("{}×{}", c.1.frame_width, c.1.frame_height),
            ));
        }
        if other.masks != self.masks {
            return Err(Error::dataset(
                &other.root,
                format!("its region masks differ from those of {}; extra archives must share the grid and regions", self.root.display()),
            ));
        }
        self.inputs = Tensor::cat(&[&self.inputs, &other.inputs], 0)?;
        self.train_only += other.samples.len();
        self.samples.extend(other.samples);
        Ok(())
    }

    /// The time-disjoint split of this archive's own frames ([`Split::by_days`]), with the
    /// training-only frames of appended archives added to the training set.
    pub fn split(&self, val_days: usize, test_days: usize) -> Result<Split> {
        let own = self.samples.len() - self.train_only;
        let mut s = Split::by_days(&self.samples[..own], val_days, test_days)?;
        s.train.extend(own..self.samples.len());
        Ok(s)
    }
}

/// Opens a simulated archive folder (`meta.json`, `labels.jsonl`, frame PNGs, optionally
/// `regions.geojson`) for a model of config `cfg`, caching the preprocessed inputs in
/// `cache_dir` (reused when the archive, frame count and preprocessing are the same).
pub fn load_archive(root: &Path, cfg: &ModelConfig, cache_dir: Option<&Path>, device: &Device) -> Result<Dataset> {
    let meta_path = root.join("meta.json");
    let meta = std::fs::read(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
    let sidecar = Sidecar::parse(&meta, &meta_path)?;
    if (sidecar.width, sidecar.height) != (cfg.frame_width, cfg.frame_height) {
        return Err(Error::shape(
            format!("frames of {}", root.display()),
            format!("{}×{} (model config)", cfg.frame_width, cfg.frame_height),
            format!("{}×{}", sidecar.width, sidecar.height),
        ));
    }
    let samples = read_labels(&root.join("labels.jsonl"))?;
    let masks = sidecar_masks(root, &sidecar)?;
    let weights = RegionWeights::from_masks(cfg, &masks, device)?;

    let (h, w) = cfg.input_hw();
    let key = cache_key(root, &samples, cfg);
    let cache_file = cache_dir.map(|d| d.join(format!("inputs-{key:016x}.safetensors")));
    if let Some(f) = cache_file.as_ref().filter(|f| f.is_file()) {
        if let Ok(t) = candle_core::safetensors::load(f, device) {
            if let Some(x) = t.get("inputs").filter(|x| x.dims() == [samples.len(), h, w, 3]) {
                let inputs = x.to_dtype(DType::F32)?;
                return Ok(Dataset { root: root.to_path_buf(), samples, inputs, weights, masks, config: cfg.clone(), train_only: 0 });
            }
        }
    }

    // Decode on all cores; each worker takes every n-th frame.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    let per = h * w * 3;
    let mut data = vec![0f32; samples.len() * per];
    let results: Vec<Result<Vec<(usize, Vec<f32>)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (samples, sidecar) = (&samples, &sidecar);
                s.spawn(move || {
                    let mut out = Vec::new();
                    for i in (t..samples.len()).step_by(threads) {
                        let path = root.join(&samples[i].file);
                        let png = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                        let (bt, _, _) = sidecar.decode_png(&png, &path)?;
                        out.push((i, preprocess(cfg, &bt)?));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(Error::Usage("a decoding thread panicked".into())))).collect()
    });
    for r in results {
        for (i, x) in r? {
            data[i * per..(i + 1) * per].copy_from_slice(&x);
        }
    }
    let inputs = Tensor::from_vec(data, (samples.len(), h, w, 3), device)?;
    if let (Some(f), Some(dir)) = (cache_file, cache_dir) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut m = std::collections::HashMap::new();
        m.insert("inputs".to_string(), inputs.to_dtype(DType::F16)?);
        let tmp = f.with_extension("tmp");
        candle_core::safetensors::save(&m, &tmp).map_err(|e| Error::format(&tmp, e.to_string()))?;
        std::fs::rename(&tmp, &f).map_err(|e| Error::io(&f, e))?;
        // Train on exactly what a cached run would see.
        let inputs = inputs.to_dtype(DType::F16)?.to_dtype(DType::F32)?;
        return Ok(Dataset { root: root.to_path_buf(), samples, inputs, weights, masks, config: cfg.clone(), train_only: 0 });
    }
    let inputs = inputs.to_dtype(DType::F16)?.to_dtype(DType::F32)?;
    Ok(Dataset { root: root.to_path_buf(), samples, inputs, weights, masks, config: cfg.clone(), train_only: 0 })
}

fn cache_key(root: &Path, samples: &[Sample], cfg: &ModelConfig) -> u64 {
    let mut h = DefaultHasher::new();
    root.canonicalize().unwrap_or_else(|_| root.to_path_buf()).hash(&mut h);
    for s in samples {
        s.file.hash(&mut h);
    }
    (cfg.frame_width, cfg.frame_height, cfg.downsample).hash(&mut h);
    cfg.bt_center.to_bits().hash(&mut h);
    cfg.bt_scale.to_bits().hash(&mut h);
    h.finish()
}

/// Time-disjoint split: the last `test_days` calendar days are the test set, the `val_days`
/// before them validation, the rest training.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Training frame indices.
    pub train: Vec<usize>,
    /// Validation frame indices (early stopping).
    pub val: Vec<usize>,
    /// Held-out test frame indices (the report).
    pub test: Vec<usize>,
}

impl Split {
    /// Splits `samples` (in time order) by day.
    pub fn by_days(samples: &[Sample], val_days: usize, test_days: usize) -> Result<Self> {
        let mut days: Vec<&str> = samples.iter().map(Sample::day).collect();
        days.dedup();
        if days.len() < val_days + test_days + 1 {
            return Err(Error::Usage(format!(
                "the dataset spans {} days; a split with {val_days} validation and {test_days} test days needs at least {}",
                days.len(),
                val_days + test_days + 1
            )));
        }
        let first_test = days[days.len() - test_days];
        let first_val = days[days.len() - test_days - val_days];
        let mut s = Split { train: vec![], val: vec![], test: vec![] };
        for (i, x) in samples.iter().enumerate() {
            let d = x.day();
            if d >= first_test {
                s.test.push(i);
            } else if d >= first_val {
                s.val.push(i);
            } else {
                s.train.push(i);
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skycase_ingest::{Navigation, RegionMasks, Regions};

    fn caption(p: &str) -> String {
        REGIONS.iter().map(|r| format!("- {r} - {p}")).collect::<Vec<_>>().join("\n")
    }

    fn write(dir: &Path, lines: &[String]) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let p = dir.join("labels.jsonl");
        std::fs::write(&p, lines.join("\n")).unwrap();
        p
    }

    #[test]
    fn labels_parse_and_reject_missing_captions() {
        let dir = std::env::temp_dir().join(format!("skycase-train-labels-{}", std::process::id()));
        let line = |t: &str, c: &str| serde_json::json!({"time": t, "file": "f.png", "caption": c}).to_string();
        let p = write(&dir, &[line("2017-11-02T00:00Z", &caption("Rain")), line("2017-11-01T00:00Z", &caption("Snow"))]);
        let s = read_labels(&p).unwrap();
        assert_eq!(s[0].time, "2017-11-01T00:00Z"); // sorted by time
        assert_eq!(s[0].labels, [0; 13]);
        assert_eq!(s[1].labels, [3; 13]);

        let p = write(&dir, &[line("2017-11-01T00:00Z", "")]);
        let err = read_labels(&p).unwrap_err().to_string();
        assert!(err.contains("no caption") && err.contains("labels.jsonl"), "{err}");
        let p = write(&dir, &[]);
        assert!(read_labels(&p).unwrap_err().to_string().contains("no captioned frames"));
        let p = write(&dir, &[line("2017-11-01T00:00Z", "- Mongolia - Clear")]);
        assert!(read_labels(&p).unwrap_err().to_string().contains("Korean Peninsula"));
        let p = write(&dir, &["{".to_string()]);
        assert!(read_labels(&p).unwrap_err().to_string().contains("line 1"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn split_is_time_disjoint() {
        let s: Vec<Sample> = (1..=6)
            .flat_map(|d| {
                (0..2).map(move |h| Sample {
                    time: format!("2017-11-{d:02}T{h:02}:00Z"),
                    file: String::new(),
                    caption: String::new(),
                    labels: [0; 13],
                })
            })
            .collect();
        let sp = Split::by_days(&s, 1, 2).unwrap();
        assert_eq!(sp.train, (0..6).collect::<Vec<_>>()); // days 1-3
        assert_eq!(sp.val, vec![6, 7]); // day 4
        assert_eq!(sp.test, vec![8, 9, 10, 11]); // days 5-6
        assert!(Split::by_days(&s, 3, 3).is_err());
    }

    #[test]
    #[ignore = "needs ../shared/data/sim-nov2017; run with: cargo test -p skycase-train --lib -- --ignored sim_archive_loads"]
    fn sim_archive_loads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sim-nov2017");
        assert!(root.join("labels.jsonl").is_file(), "{} not found: this test needs ../shared/data/sim-nov2017", root.display());
        let s = read_labels(&root.join("labels.jsonl")).unwrap();
        assert_eq!(s.len(), 720);
        // Region pixel counts of the rasterized masks match meta.json (Korean Peninsula 2248).
        let cfg = ModelConfig::for_frame(819, 471, crate::model::Granularity::Region);
        let meta = std::fs::read(root.join("meta.json")).unwrap();
        let side = Sidecar::parse(&meta, &root.join("meta.json")).unwrap();
        let rm = RegionMasks::rasterize(&Regions::bundled(), &Navigation::Geos(side.nav), 819, 471);
        assert_eq!(rm.count(0), 2248);
        let w = RegionWeights::from_masks(&cfg, &(0..13).map(|k| rm.mask(k)).collect::<Vec<_>>(), &Device::Cpu).unwrap();
        let sums = w.coarse.sum(1).unwrap().to_vec1::<f32>().unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-4), "{sums:?}");
    }
}
