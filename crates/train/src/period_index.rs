//! The image index of a frame store, one period (calendar month, `YYYY-MM`) per job.
//!
//! ```text
//! <index>/<period>.skyshard   the period's frames, sorted by (time, id): 13 region vectors
//!                             per frame (region model) or one (global model)
//! <index>/<period>.json       PeriodInfo: checkpoint (folder + SHA-256 of its files), storage,
//!                             the frames with their BT checksums, frames left out and why
//! ```
//!
//! Contract:
//! - Every frame is resampled onto the canonical grid ([`skycase_ingest::canonical`]) first,
//!   so one checkpoint embeds every source. A region the frame covers less than
//!   [`MIN_REGION_COVERAGE`] gets a zero vector (it scores 0 against every query, so it is
//!   never a match); a frame that covers no region, or cannot be placed on the grid
//!   (storm-centred), is left out and listed with the reason.
//! - Both files are written to a temporary name and renamed, the shard first: a period is
//!   done when its `.json` exists and names the shard's SHA-256. A job killed at any point
//!   leaves the period as it was (or absent); the rerun then embeds exactly what an
//!   uninterrupted run would have, in the same batches, so the shard bytes are the same.
//! - A rerun embeds only frames whose (id, BT checksum) the period's `.json` does not list
//!   under the same checkpoint and storage; it writes nothing when the shard it would write
//!   is byte-identical to the one there. A different checkpoint re-embeds the whole period.
//! - A job touches only its own period's two files, so jobs of different periods run in
//!   parallel (`xargs -P`, a Slurm array, a Kubernetes Indexed Job).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use skycase_vocab::REGIONS;
use skycase_core::shard::{quantize_i8, FrameRecord, Shard, VectorKind, Vectors};
use skycase_ingest::canonical::{resample, GridSpec, MIN_REGION_COVERAGE};
use skycase_ingest::{FrameMeta, FrameStore};

use crate::error::{Error, Result};
use crate::model::{ImageModel, CONFIG_FILE, PROJECTION_FILE, WEIGHTS_FILE};
use crate::Granularity;

/// A loaded checkpoint and the fingerprint of its files.
pub struct Checkpoint {
    /// The folder.
    pub dir: PathBuf,
    /// The model.
    pub model: ImageModel,
    /// SHA-256 (hex) over `config.json`, `model.safetensors` and `projection.safetensors`.
    pub sha256: String,
}

impl Checkpoint {
    /// Loads `dir` and fingerprints its files.
    pub fn open(dir: &Path) -> Result<Self> {
        let sha256 = checkpoint_sha256(dir, true)?;
        let model = ImageModel::load(dir)?;
        Ok(Checkpoint { dir: dir.to_path_buf(), model, sha256 })
    }
}

/// SHA-256 (hex) over a checkpoint's `config.json`, `model.safetensors` and
/// `projection.safetensors`, each as its length and bytes, with `named` each preceded by its
/// file name. Two forms, both recorded: [`Checkpoint::sha256`] (named, in every period's
/// `.json`) and `skycase eval`'s (unnamed: it keys the eval cache and is quoted in its
/// reports).
pub fn checkpoint_sha256(dir: &Path, named: bool) -> Result<String> {
    let mut h = Sha256::new();
    for f in [CONFIG_FILE, WEIGHTS_FILE, PROJECTION_FILE] {
        let p = dir.join(f);
        let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        if named {
            h.update(f.as_bytes());
        }
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}

/// One embedded frame in a period's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedFrame {
    /// Frame id in the store.
    pub id: String,
    /// The frame's BT checksum when it was embedded.
    pub checksum: String,
    /// Regions with a vector (bit k = region k); the others are zero vectors.
    pub regions: u16,
}

/// `<period>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodInfo {
    /// `YYYY-MM`.
    pub period: String,
    /// `image-region` or `image-global`.
    pub vectors: String,
    /// Joint dimension.
    pub joint_dim: usize,
    /// `int8`, `f16` or `f32`.
    pub storage: String,
    /// Checkpoint folder as given.
    pub checkpoint: String,
    /// [`Checkpoint::sha256`].
    pub checkpoint_sha256: String,
    /// Shard file name (beside this file).
    pub shard: String,
    /// SHA-256 (hex) of the shard file.
    pub shard_sha256: String,
    /// Frames in shard order.
    pub frames: Vec<IndexedFrame>,
    /// Frames of the period left out, with the reason.
    pub skipped: Vec<(String, String)>,
    /// BT checksum of each frame left out, so a rerun does not resample it again to find
    /// the same reason (the reasons depend on the frame alone, not on the checkpoint).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub skipped_checksums: std::collections::BTreeMap<String, String>,
    /// The command that wrote it.
    pub command: String,
}

/// What [`embed_period`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodSummary {
    /// `YYYY-MM`.
    pub period: String,
    /// Frames in the shard.
    pub frames: usize,
    /// Frames embedded by this run.
    pub embedded: usize,
    /// Frames whose vectors were kept from the existing shard.
    pub reused: usize,
    /// Frames left out, with the reason.
    pub skipped: Vec<(String, String)>,
    /// False when the period was already complete (nothing written).
    pub written: bool,
}

/// Options of [`embed_period`].
#[derive(Debug, Clone)]
pub struct EmbedOptions {
    /// Vector storage.
    pub kind: VectorKind,
    /// Frames per forward pass.
    pub batch: usize,
    /// Recorded in `<period>.json`.
    pub command: String,
}

/// The period (`YYYY-MM`) of a frame.
pub fn period_of(meta: &FrameMeta) -> String {
    meta.time.format("%Y-%m").to_string()
}

/// Checks a period name (`YYYY-MM`).
pub fn check_period(p: &str) -> Result<()> {
    let ok = p.len() == 7
        && p.as_bytes()[4] == b'-'
        && p[..4].bytes().all(|b| b.is_ascii_digit())
        && p[5..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!("period '{p}' is not YYYY-MM")))
    }
}

/// Reads `<index>/<period>.json` if it exists and its shard is there with the recorded
/// checksum; `Ok(None)` when the period is absent or half-written.
pub fn read_period(index: &Path, period: &str) -> Result<Option<(PeriodInfo, Shard)>> {
    let info_path = index.join(format!("{period}.json"));
    let bytes = match std::fs::read(&info_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&info_path, e)),
    };
    let info: PeriodInfo = serde_json::from_slice(&bytes).map_err(|e| Error::format(&info_path, format!("not a period description: {e}")))?;
    let shard_path = index.join(&info.shard);
    let Ok(shard_bytes) = std::fs::read(&shard_path) else { return Ok(None) };
    if hex::encode(Sha256::digest(&shard_bytes)) != info.shard_sha256 {
        return Ok(None);
    }
    let shard = Shard::from_bytes(&shard_bytes, &shard_path.display().to_string())?;
    Ok(Some((info, shard)))
}

/// Embeds one period of `store` into `index` (see the module docs). `record` gives each
/// frame's shard record (caption, thumbnail, source label).
pub fn embed_period(
    store: &FrameStore,
    index: &Path,
    period: &str,
    ckpt: &Checkpoint,
    opts: &EmbedOptions,
    record: &dyn Fn(&FrameMeta) -> Result<FrameRecord>,
) -> Result<PeriodSummary> {
    check_period(period)?;
    if opts.batch == 0 {
        return Err(Error::Usage("batch must be at least 1".into()));
    }
    let cfg = ckpt.model.config().clone();
    let canon = GridSpec::canonical();
    if (cfg.frame_width, cfg.frame_height) != (canon.width, canon.height) {
        return Err(Error::checkpoint(
            &ckpt.dir,
            format!(
                "dimension mismatch: the model was trained on {}×{} px frames, the canonical grid is {}×{}",
                cfg.frame_width, cfg.frame_height, canon.width, canon.height
            ),
        ));
    }
    let metas: Vec<FrameMeta> = store.list()?.into_iter().filter(|m| period_of(m) == period).collect();
    if metas.is_empty() {
        return Err(Error::dataset(store.root(), format!("period {period}: no frames in this store")));
    }
    let names: Vec<String> = match cfg.granularity {
        Granularity::Region => REGIONS.iter().map(|r| r.to_string()).collect(),
        Granularity::Global => vec!["global".to_string()],
    };
    let storage = kind_name(opts.kind);
    let existing = read_period(index, period)?.filter(|(info, shard)| {
        info.checkpoint_sha256 == ckpt.sha256
            && info.storage == storage
            && shard.vector_names() == names.as_slice()
            && shard.dim() == cfg.joint_dim
            && shard.len() == info.frames.len()
    });
    let old_rows: HashMap<(String, String), (usize, u16)> = existing
        .as_ref()
        .map(|(info, _)| info.frames.iter().enumerate().map(|(i, f)| ((f.id.clone(), f.checksum.clone()), (i, f.regions))).collect())
        .unwrap_or_default();

    let canon_masks = store.masks_for_grid(canon.width, canon.height, &canon.nav)?;
    let vpf = names.len();
    let mut frames: Vec<IndexedFrame> = Vec::new();
    let mut records = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut skipped = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let (mut embedded, mut reused) = (0, 0);
    for meta in &metas {
        if let Some(&(i, regions)) = old_rows.get(&(meta.id.clone(), meta.checksum.clone())) {
            let (_, shard) = existing.as_ref().ok_or_else(|| Error::Usage("internal: reuse without a shard".into()))?;
            rows.extend((0..vpf).map(|k| Row::Old(shard_row(shard, i * vpf + k))));
            frames.push(IndexedFrame { id: meta.id.clone(), checksum: meta.checksum.clone(), regions });
            records.push(record(meta)?);
            reused += 1;
            continue;
        }
        if let Some(why) = existing.as_ref().and_then(|(info, _)| {
            (info.skipped_checksums.get(&meta.id) == Some(&meta.checksum)).then(|| info.skipped.iter().find(|(id, _)| *id == meta.id)).flatten()
        }) {
            skipped.push(why.clone());
            continue;
        }
        let frame = store.load(&meta.id)?;
        let r = match resample(&frame, &canon) {
            Ok(r) => r,
            Err(e) => {
                skipped.push((meta.id.clone(), e.to_string()));
                continue;
            }
        };
        let covered = r.regions_covered(&canon_masks);
        let bits = covered.iter().enumerate().fold(0u16, |b, (k, c)| if *c { b | 1 << k } else { b });
        if bits == 0 {
            skipped.push((meta.id.clone(), format!("covers none of the 13 regions to {:.0} %", 100.0 * MIN_REGION_COVERAGE)));
            continue;
        }
        // Pool each region over its pixels with data only.
        let masks: Vec<Vec<bool>> = (0..REGIONS.len())
            .map(|k| canon_masks.mask(k).into_iter().zip(&r.bt).map(|(m, v)| m && v.is_finite()).collect())
            .collect();
        let slot = rows.len();
        rows.extend((0..vpf).map(|_| Row::New(Vec::new())));
        frames.push(IndexedFrame { id: meta.id.clone(), checksum: meta.checksum.clone(), regions: bits });
        records.push(record(meta)?);
        pending.push(Pending { slot, bt: r.bt, masks, bits });
        embedded += 1;
    }
    if frames.is_empty() {
        return Err(Error::dataset(
            store.root(),
            format!("period {period}: none of its {} frames can be embedded (first: {} — {})", metas.len(), skipped[0].0, skipped[0].1),
        ));
    }

    // Batches of consecutive frames with the same pixels with data (same pooling weights).
    let mut i = 0;
    while i < pending.len() {
        let mut j = i + 1;
        while j < pending.len() && j - i < opts.batch && pending[j].masks == pending[i].masks {
            j += 1;
        }
        let bts: Vec<&[f32]> = pending[i..j].iter().map(|p| p.bt.as_slice()).collect();
        let emb = ckpt.model.embed_frames(&bts, &pending[i].masks)?;
        for (p, e) in pending[i..j].iter().zip(emb) {
            let vs = match cfg.granularity {
                Granularity::Region => e.regions,
                Granularity::Global => vec![e.global],
            };
            for (k, v) in vs.into_iter().enumerate() {
                if v.len() != cfg.joint_dim {
                    return Err(Error::shape("embedding", cfg.joint_dim, v.len()));
                }
                let keep = cfg.granularity == Granularity::Global || p.bits & (1 << k) != 0;
                rows[p.slot + k] = Row::New(if keep { v } else { vec![0.0; cfg.joint_dim] });
            }
        }
        i = j;
    }

    let shard = build_shard(period, names, records, cfg.joint_dim, rows, opts.kind)?;
    let bytes = shard.to_bytes();
    let shard_name = format!("{period}.skyshard");
    let shard_path = index.join(&shard_name);
    if index.is_dir() {
        remove_stale_temporaries(index, period)?;
    }
    if embedded == 0 && std::fs::read(&shard_path).is_ok_and(|old| old == bytes) {
        return Ok(PeriodSummary { period: period.into(), frames: frames.len(), embedded, reused, skipped, written: false });
    }
    std::fs::create_dir_all(index).map_err(|e| Error::io(index, e))?;
    write_atomic(&shard_path, &bytes)?;
    let info = PeriodInfo {
        period: period.into(),
        vectors: match cfg.granularity {
            Granularity::Region => "image-region".into(),
            Granularity::Global => "image-global".into(),
        },
        joint_dim: cfg.joint_dim,
        storage: storage.into(),
        checkpoint: ckpt.dir.display().to_string(),
        checkpoint_sha256: ckpt.sha256.clone(),
        shard: shard_name,
        shard_sha256: hex::encode(Sha256::digest(&bytes)),
        frames: frames.clone(),
        skipped: skipped.clone(),
        skipped_checksums: metas.iter().filter(|m| skipped.iter().any(|(id, _)| *id == m.id)).map(|m| (m.id.clone(), m.checksum.clone())).collect(),
        command: opts.command.clone(),
    };
    let info_path = index.join(format!("{period}.json"));
    let mut json = serde_json::to_vec_pretty(&info).map_err(|e| Error::format(&info_path, e.to_string()))?;
    json.push(b'\n');
    write_atomic(&info_path, &json)?;
    Ok(PeriodSummary { period: period.into(), frames: frames.len(), embedded, reused, skipped, written: true })
}

/// Periods that have frames in `store`, sorted.
pub fn store_periods(store: &FrameStore) -> Result<Vec<String>> {
    let mut p: Vec<String> = store.list()?.iter().map(period_of).collect();
    p.sort();
    p.dedup();
    Ok(p)
}

struct Pending {
    slot: usize,
    bt: Vec<f32>,
    masks: Vec<Vec<bool>>,
    bits: u16,
}

/// A vector as stored (kept bit for bit) or freshly embedded.
enum Row {
    Old(StoredRow),
    New(Vec<f32>),
}

enum StoredRow {
    Int8(f32, Vec<i8>),
    Float(Vec<f32>),
}

fn shard_row(shard: &Shard, row: usize) -> StoredRow {
    match shard.vectors() {
        Vectors::Int8 { scales, data } => {
            let d = shard.dim();
            StoredRow::Int8(scales[row], data[row * d..(row + 1) * d].to_vec())
        }
        _ => StoredRow::Float(shard.row_f32(row)),
    }
}

fn build_shard(period: &str, names: Vec<String>, records: Vec<FrameRecord>, dim: usize, rows: Vec<Row>, kind: VectorKind) -> Result<Shard> {
    match kind {
        VectorKind::Int8 => {
            let (mut scales, mut data) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len() * dim));
            for r in rows {
                let (s, q) = match r {
                    Row::Old(StoredRow::Int8(s, q)) => (s, q),
                    Row::Old(StoredRow::Float(v)) | Row::New(v) => quantize_i8(&v),
                };
                scales.push(s);
                data.extend(q);
            }
            Ok(Shard::from_int8(period, names, records, dim, scales, data)?)
        }
        _ => {
            let rows: Vec<Vec<f32>> = rows
                .into_iter()
                .map(|r| match r {
                    Row::Old(StoredRow::Int8(s, q)) => q.iter().map(|&x| f32::from(x) * s).collect(),
                    Row::Old(StoredRow::Float(v)) | Row::New(v) => v,
                })
                .collect();
            Ok(Shard::from_f32(period, names, records, dim, &rows, kind)?)
        }
    }
}

fn kind_name(kind: VectorKind) -> &'static str {
    match kind {
        VectorKind::Int8 => "int8",
        VectorKind::F16 => "f16",
        VectorKind::F32 => "f32",
    }
}

/// Removes the period's temporary files (`<period>.tmp-<pid>`, see [`write_atomic`]) left by a
/// run that was killed before its rename: one job owns a period, so none is in use.
fn remove_stale_temporaries(index: &Path, period: &str) -> Result<()> {
    let prefix = format!("{period}.tmp-");
    for entry in std::fs::read_dir(index).map_err(|e| Error::io(index, e))?.flatten() {
        if entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
            let p = entry.path();
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;
    use candle_core::Device;
    use skycase_ingest::{Frame, MaskStatus, Navigation};

    fn fixture_frame() -> Frame {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ingest/sim/frames/coms_mi_le1b_ir1_ea_201711081200.png");
        skycase_ingest::read_sim_frame(&p).unwrap()
    }

    /// The fixture frame at another time, warmed by `dk` kelvin.
    fn variant(base: &Frame, stamp: &str, dk: f32) -> Frame {
        let mut f = base.clone();
        f.meta.id = format!("sim_{stamp}");
        f.meta.time = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M").unwrap().and_utc();
        f.bt.iter_mut().for_each(|v| *v += dk);
        f
    }

    fn checkpoint(dir: &Path, width: usize, seed: u64) -> Checkpoint {
        let c = ModelConfig { downsample: 4, global_pool: 4, ..ModelConfig::tiny(width, 471) };
        ImageModel::new(c, seed, &Device::Cpu).unwrap().save(dir).unwrap();
        Checkpoint::open(dir).unwrap()
    }

    fn rec(m: &FrameMeta) -> Result<FrameRecord> {
        Ok(FrameRecord { id: m.id.clone(), time: m.time.format("%Y-%m-%dT%H:%MZ").to_string(), caption: String::new(), thumb: format!("thumbs/{}.png", m.id), source: "sim".into(), origin: "simulated".into() })
    }

    fn opts() -> EmbedOptions {
        EmbedOptions { kind: VectorKind::Int8, batch: 2, command: "test".into() }
    }

    /// Both fingerprints are recorded (period `.json` files; the eval cache and its reports),
    /// so their formulas may not drift: values computed independently (Python's hashlib).
    #[test]
    fn checkpoint_fingerprints_keep_their_formulas() {
        let dir = std::env::temp_dir().join(format!("skycase-ckpt-sha-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (f, b) in [(CONFIG_FILE, "{}"), (WEIGHTS_FILE, "weights"), (PROJECTION_FILE, "projection")] {
            std::fs::write(dir.join(f), b).unwrap();
        }
        assert_eq!(checkpoint_sha256(&dir, true).unwrap(), "a119478f0bcf24e2167ebac4d8c6928f081810abccd249c208e9e8052c6aa5ee");
        assert_eq!(checkpoint_sha256(&dir, false).unwrap(), "92a2030db7109c6e714fb3b52e859e3f38e65a6c05f27dcfaf25622eaab0d794");
        std::fs::remove_file(dir.join(WEIGHTS_FILE)).unwrap();
        let e = checkpoint_sha256(&dir, true).unwrap_err().to_string();
        assert!(e.contains(WEIGHTS_FILE), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn periods_are_incremental_atomic_and_reproducible() {
        let base = std::env::temp_dir().join(format!("skycase-period-index-{}", std::process::id()));
        std::fs::remove_dir_all(&base).ok();
        let store = FrameStore::open(base.join("store")).unwrap();
        let index = base.join("store/index");
        let f = fixture_frame();
        store.put(&variant(&f, "201710312300", 0.0), None).unwrap();
        store.put(&variant(&f, "201711010000", 1.0), None).unwrap();
        store.put(&variant(&f, "201711010100", -2.0), None).unwrap();
        // A sector covering only the west of the grid, and a storm-centred frame.
        let mut west = variant(&f, "201711010200", 0.0).crop_lonlat(95.0, 10.0, 120.0, 55.0).unwrap();
        west.meta.id = "west_201711010200".into();
        store.put(&west, None).unwrap();
        let mut storm = variant(&f, "201711010300", 0.0);
        storm.meta.id = "dt_201711010300".into();
        storm.meta.nav = Navigation::StormCentred { centre_lon: 130.0, centre_lat: 20.0, laea: None };
        storm.meta.masks = MaskStatus::NotApplicable { reason: "test".into() };
        store.put(&storm, None).unwrap();
        let ck = checkpoint(&base.join("ckpt"), 819, 7);

        assert_eq!(store_periods(&store).unwrap(), ["2017-10", "2017-11"]);
        let oct = embed_period(&store, &index, "2017-10", &ck, &opts(), &rec).unwrap();
        assert_eq!((oct.frames, oct.embedded, oct.written), (1, 1, true));
        let nov = embed_period(&store, &index, "2017-11", &ck, &opts(), &rec).unwrap();
        assert_eq!((nov.frames, nov.embedded, nov.reused), (3, 3, 0));
        assert_eq!(nov.skipped.len(), 1);
        assert!(nov.skipped[0].0 == "dt_201711010300" && nov.skipped[0].1.contains("storm-centred"), "{:?}", nov.skipped);
        let shard_path = index.join("2017-11.skyshard");
        let first = std::fs::read(&shard_path).unwrap();
        let oct_bytes = std::fs::read(index.join("2017-10.skyshard")).unwrap();

        // The sector frame: regions it does not cover are zero vectors, the others are not.
        let (info, shard) = read_period(&index, "2017-11").unwrap().unwrap();
        assert_eq!(info.checkpoint_sha256, ck.sha256);
        let w = info.frames.iter().position(|x| x.id == "west_201711010200").unwrap();
        let bits = info.frames[w].regions;
        assert!(bits & (1 << 4) != 0 && bits & (1 << 6) == 0, "{bits:b}"); // Southern China yes, Honshu no
        assert!(shard.row_f32(w * 13 + 6).iter().all(|v| *v == 0.0));
        assert!(shard.row_f32(w * 13 + 4).iter().any(|v| *v != 0.0));
        assert_eq!(info.frames.iter().filter(|x| x.regions == (1 << 13) - 1).count(), 2);

        // A rerun does no work and writes nothing.
        let again = embed_period(&store, &index, "2017-11", &ck, &opts(), &rec).unwrap();
        assert_eq!((again.embedded, again.reused, again.written), (0, 3, false));

        // Killed after the shard, before its description (or with a stale shard): the rerun
        // embeds the period again and writes the same bytes.
        std::fs::remove_file(index.join("2017-11.json")).unwrap();
        std::fs::write(&shard_path, b"stale").unwrap();
        let redo = embed_period(&store, &index, "2017-11", &ck, &opts(), &rec).unwrap();
        assert_eq!((redo.embedded, redo.written), (3, true));
        assert_eq!(std::fs::read(&shard_path).unwrap(), first);
        assert_eq!(std::fs::read(index.join("2017-10.skyshard")).unwrap(), oct_bytes, "other periods untouched");

        // A new frame: only it is embedded; the others keep their stored vectors bit for bit.
        store.put(&variant(&f, "201711010400", 3.0), None).unwrap();
        let more = embed_period(&store, &index, "2017-11", &ck, &opts(), &rec).unwrap();
        assert_eq!((more.frames, more.embedded, more.reused), (4, 1, 3));
        let (_, s2) = read_period(&index, "2017-11").unwrap().unwrap();
        let (_, s1) = (info, shard);
        for row in 0..3 * 13 {
            assert_eq!(s1.row_f32(row), s2.row_f32(row), "row {row}");
        }

        // Another checkpoint re-embeds everything; the index records which one.
        let ck2 = checkpoint(&base.join("ckpt2"), 819, 8);
        let other = embed_period(&store, &index, "2017-11", &ck2, &opts(), &rec).unwrap();
        assert_eq!((other.embedded, other.reused), (4, 0));
        assert_eq!(read_period(&index, "2017-11").unwrap().unwrap().0.checkpoint_sha256, ck2.sha256);

        // Bad input: a period without frames, a malformed period, a model of another grid.
        let e = embed_period(&store, &index, "2012-10", &ck, &opts(), &rec).unwrap_err().to_string();
        assert!(e.contains("period 2012-10: no frames"), "{e}");
        assert!(embed_period(&store, &index, "2017-13", &ck, &opts(), &rec).unwrap_err().to_string().contains("YYYY-MM"));
        let ck3 = checkpoint(&base.join("ckpt3"), 800, 7);
        let e = embed_period(&store, &index, "2017-11", &ck3, &opts(), &rec).unwrap_err().to_string();
        assert!(e.contains("dimension mismatch") && e.contains("ckpt3"), "{e}");
        std::fs::remove_dir_all(&base).ok();
    }
}
