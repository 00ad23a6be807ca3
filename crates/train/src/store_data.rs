//! Training data from a frame store: the frames `skycase ingest` wrote, captioned by one
//! caption source (`<store>/captions/<source>/`, [`CaptionSource`]), each resampled onto
//! the canonical grid ([`skycase_ingest::canonical`]) so frames of every satellite, product
//! and projection train one model.
//!
//! Contract:
//! - a sample is a stored frame with a caption of the chosen source that covers every one
//!   of the 13 regions to [`MIN_REGION_COVERAGE`]; frames without a caption or with partial
//!   coverage are counted in [`StoreDataReport`], not trained on;
//! - a caption whose frame is not in the store, or written by another caption source, is an
//!   error naming the caption file (captions of another store);
//! - truth captions are used only when asked for by name: the source is always explicit.
//!
//! Inputs are cached like [`crate::load_archive`]'s, keyed by the frames' ids and BT
//! checksums, the captions and the preprocessing.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use skycase_caption::{CaptionSource, CaptionStore};
use skycase_vocab::{phenomenon_of, PHENOMENA, REGIONS};
use skycase_ingest::canonical::{resample, GridSpec, MIN_REGION_COVERAGE};
use skycase_ingest::FrameStore;

use crate::data::{Dataset, Sample};
use crate::error::{Error, Result};
use crate::model::{preprocess, ModelConfig, RegionWeights, N_REGIONS};

/// What [`load_store`] used and left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreDataReport {
    /// Frames in the store.
    pub frames: usize,
    /// Captioned frames trained on.
    pub samples: usize,
    /// Frames without a caption of the source.
    pub uncaptioned: usize,
    /// Captioned frames left out because they do not cover every region (id, reason).
    pub partial: Vec<(String, String)>,
}

/// Loads the frames of `store_root` captioned by `source` for a model of config `cfg` (which
/// must be on the canonical grid), caching the inputs in `cache_dir`.
pub fn load_store(
    store_root: &Path,
    source: CaptionSource,
    cfg: &ModelConfig,
    cache_dir: Option<&Path>,
    device: &Device,
) -> Result<(Dataset, StoreDataReport)> {
    let canon = GridSpec::canonical();
    if (cfg.frame_width, cfg.frame_height) != (canon.width, canon.height) {
        return Err(Error::shape("model frames", format!("{}×{} (the canonical grid)", canon.width, canon.height), format!("{}×{}", cfg.frame_width, cfg.frame_height)));
    }
    if !store_root.join("frames").is_dir() {
        return Err(Error::dataset(store_root, "not a frame store (no frames/ folder); run `skycase ingest` first"));
    }
    let store = FrameStore::open(store_root)?;
    let metas = store.list()?;
    let cap_dir = store_root.join("captions").join(source.name());
    if !cap_dir.is_dir() {
        return Err(Error::dataset(
            &cap_dir,
            format!("the store has no {} captions; run `skycase caption --store {}`{}", source.name(), store_root.display(), match source {
                CaptionSource::Truth => " --import-truth <archive>/labels.jsonl",
                CaptionSource::Mllm => " --captioner mllm …",
                CaptionSource::Physical => "",
            }),
        ));
    }
    let captions = CaptionStore::open_source(store_root, source).map_err(|e| Error::dataset(&cap_dir, e.to_string()))?;
    let ids = captions.ids().map_err(|e| Error::dataset(&cap_dir, e.to_string()))?;
    if ids.is_empty() {
        return Err(Error::dataset(&cap_dir, format!("no {} captions for the {} frames of this store", source.name(), metas.len())));
    }
    let by_id: HashMap<&str, usize> = metas.iter().enumerate().map(|(i, m)| (m.id.as_str(), i)).collect();
    let mut captioned: Vec<(usize, String)> = Vec::new();
    let mut report_partial = Vec::new();
    for id in &ids {
        let file = captions.record_path(id);
        let rec = captions.get(id).map_err(|e| Error::format(&file, e.to_string()))?.ok_or_else(|| Error::format(&file, "vanished while reading"))?;
        let Some(&i) = by_id.get(id.as_str()) else {
            return Err(Error::format(&file, format!("caption of frame {id:?}, which is not in the store {} (captions of another store?)", store_root.display())));
        };
        if !source.matches(&rec.captioner) {
            return Err(Error::format(&file, format!("written by another captioner ({:?}) than the {} source", rec.captioner, source.name())));
        }
        if rec.time != metas[i].time {
            return Err(Error::format(&file, format!("caption time {} differs from the frame's {} (captions of another store?)", rec.time, metas[i].time)));
        }
        if !rec.uncovered.is_empty() {
            // A storm-centred or sector frame, captioned for the regions it covers: never a
            // training frame (every region is needed), counted like the partial ones below.
            report_partial.push((id.clone(), format!("caption covers {} of 13 regions", 13 - rec.uncovered.len())));
            continue;
        }
        captioned.push((i, rec.caption));
    }
    captioned.sort_by_key(|(i, _)| *i);

    let masks = store.masks_for_grid(canon.width, canon.height, &canon.nav)?;
    let mask_vecs: Vec<Vec<bool>> = (0..N_REGIONS).map(|k| masks.mask(k)).collect();
    let weights = RegionWeights::from_masks(cfg, &mask_vecs, device)?;
    let mut report = StoreDataReport {
        frames: metas.len(),
        uncaptioned: metas.len() - captioned.len() - report_partial.len(),
        partial: report_partial,
        ..Default::default()
    };

    let key = {
        let mut h = DefaultHasher::new();
        store_root.canonicalize().unwrap_or_else(|_| store_root.to_path_buf()).hash(&mut h);
        for (i, c) in &captioned {
            metas[*i].id.hash(&mut h);
            metas[*i].checksum.hash(&mut h);
            c.hash(&mut h);
        }
        (cfg.frame_width, cfg.frame_height, cfg.downsample).hash(&mut h);
        cfg.bt_center.to_bits().hash(&mut h);
        cfg.bt_scale.to_bits().hash(&mut h);
        h.finish()
    };
    let (h, w) = cfg.input_hw();
    let per = h * w * 3;
    let cache_file = cache_dir.map(|d| d.join(format!("store-inputs-{key:016x}.safetensors")));
    let cache_meta = cache_file.as_ref().map(|f| f.with_extension("ids.json"));
    if let (Some(f), Some(m)) = (&cache_file, &cache_meta) {
        if let (Ok(t), Ok(ids_json)) = (candle_core::safetensors::load(f, device), std::fs::read(m)) {
            if let (Some(x), Ok(kept)) = (t.get("inputs"), serde_json::from_slice::<Vec<usize>>(&ids_json)) {
                if x.dims() == [kept.len(), h, w, 3] {
                    let samples = samples_of(&metas, &captioned, &kept, &cap_dir)?;
                    report.samples = samples.len();
                    report.partial.extend(captioned.iter().filter(|(i, _)| !kept.contains(i)).map(|(i, _)| (metas[*i].id.clone(), "cached: partial coverage".into())));
                    let ds = Dataset { root: store_root.to_path_buf(), samples, inputs: x.to_dtype(DType::F32)?, weights, masks: mask_vecs, config: cfg.clone(), train_only: 0 };
                    return Ok((ds, report));
                }
            }
        }
    }

    let mut data = Vec::with_capacity(captioned.len() * per);
    let mut kept = Vec::new();
    for (i, _) in &captioned {
        let frame = store.load(&metas[*i].id)?;
        let r = match resample(&frame, &canon) {
            Ok(r) => r,
            Err(e) => {
                report.partial.push((metas[*i].id.clone(), e.to_string()));
                continue;
            }
        };
        let cov = r.region_coverage(&masks);
        if let Some(k) = cov.iter().position(|c| *c < MIN_REGION_COVERAGE) {
            report.partial.push((metas[*i].id.clone(), format!("{} only {:.0} % covered", REGIONS[k], 100.0 * cov[k])));
            continue;
        }
        data.extend(preprocess(cfg, &r.bt)?);
        kept.push(*i);
    }
    if kept.is_empty() {
        return Err(Error::dataset(
            store_root,
            format!("none of the {} frames with {} captions covers all 13 regions (first: {} — {})", captioned.len(), source.name(), report.partial[0].0, report.partial[0].1),
        ));
    }
    let samples = samples_of(&metas, &captioned, &kept, &cap_dir)?;
    report.samples = samples.len();
    let inputs = Tensor::from_vec(data, (kept.len(), h, w, 3), device)?.to_dtype(DType::F16)?;
    if let (Some(f), Some(m), Some(dir)) = (&cache_file, &cache_meta, cache_dir) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut t = std::collections::HashMap::new();
        t.insert("inputs".to_string(), inputs.clone());
        let tmp = f.with_extension("tmp");
        candle_core::safetensors::save(&t, &tmp).map_err(|e| Error::format(&tmp, e.to_string()))?;
        let ids_json = serde_json::to_vec(&kept).map_err(|e| Error::format(m, e.to_string()))?;
        std::fs::write(m, ids_json).map_err(|e| Error::io(m, e))?;
        std::fs::rename(&tmp, f).map_err(|e| Error::io(f, e))?;
    }
    // Train on exactly what a cached run would see (f16 inputs).
    let ds = Dataset { root: store_root.to_path_buf(), samples, inputs: inputs.to_dtype(DType::F32)?, weights, masks: mask_vecs, config: cfg.clone(), train_only: 0 };
    Ok((ds, report))
}

fn samples_of(metas: &[skycase_ingest::FrameMeta], captioned: &[(usize, String)], kept: &[usize], cap_dir: &Path) -> Result<Vec<Sample>> {
    let text: HashMap<usize, &String> = captioned.iter().map(|(i, c)| (*i, c)).collect();
    kept.iter()
        .map(|i| {
            let caption = text.get(i).ok_or_else(|| Error::dataset(cap_dir, "cache lists a frame without a caption; delete the cache"))?;
            let mut labels = [0u8; N_REGIONS];
            for (k, region) in REGIONS.iter().enumerate() {
                let file = cap_dir.join(format!("{}.json", metas[*i].id));
                let p = phenomenon_of(caption, k).ok_or_else(|| Error::format(&file, format!("caption has no line for '{region}'")))?;
                labels[k] = PHENOMENA.iter().position(|q| *q == p).ok_or_else(|| Error::format(&file, format!("unknown phenomenon '{p}'")))? as u8;
            }
            Ok(Sample { time: metas[*i].time.format("%Y-%m-%dT%H:%MZ").to_string(), file: metas[*i].id.clone(), caption: (*caption).clone(), labels })
        })
        .collect()
}

/// Replaces the captions of the test days (the last `test_days` calendar days, as
/// [`crate::Split::by_days`] splits) with those of another caption source, so a model trained
/// on one source (e.g. `physical`) is scored against another (`truth`). Training and
/// validation days keep the training source: model selection never sees the evaluation
/// source. Returns the number of frames relabelled; a test frame without a caption of
/// `source` is an error naming the missing file.
pub fn relabel_test_days(ds: &mut Dataset, source: CaptionSource, val_days: usize, test_days: usize) -> Result<usize> {
    let split = crate::Split::by_days(&ds.samples, val_days, test_days)?;
    let captions = CaptionStore::open_source(&ds.root, source).map_err(|e| Error::dataset(&ds.root, e.to_string()))?;
    let metas: Vec<(String, String)> = split.test.iter().map(|&i| (ds.samples[i].file.clone(), ds.samples[i].time.clone())).collect();
    let mut texts = Vec::with_capacity(metas.len());
    for (id, _) in &metas {
        let file = captions.record_path(id);
        let rec = captions
            .get(id)
            .map_err(|e| Error::format(&file, e.to_string()))?
            .ok_or_else(|| Error::dataset(&file, format!("test frame {id} has no {} caption; every test frame needs one", source.name())))?;
        if !source.matches(&rec.captioner) {
            return Err(Error::format(&file, format!("written by another captioner than the {} source", source.name())));
        }
        texts.push(rec.caption);
    }
    let dir = ds.root.join("captions").join(source.name());
    let relabelled: Vec<(usize, String)> = split.test.iter().copied().zip(texts).collect();
    for (i, text) in relabelled {
        let mut labels = [0u8; N_REGIONS];
        for (k, region) in REGIONS.iter().enumerate() {
            let file = dir.join(format!("{}.json", ds.samples[i].file));
            let p = phenomenon_of(&text, k).ok_or_else(|| Error::format(&file, format!("caption has no line for '{region}'")))?;
            labels[k] = PHENOMENA.iter().position(|q| *q == p).ok_or_else(|| Error::format(&file, format!("unknown phenomenon '{p}'")))? as u8;
        }
        ds.samples[i].caption = text;
        ds.samples[i].labels = labels;
    }
    Ok(metas.len())
}
