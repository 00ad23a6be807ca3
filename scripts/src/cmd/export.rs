//! `skycase export`: writes the versioned web bundle the browser app serves.
//!
//! The bundle is assembled in `<out>.partial/` and swapped into place at the end, so an
//! interrupted export never leaves a half-written bundle behind the app.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use skycase_core::bundle::{FileEntry, Manifest, ModelInfo, ShardEntry, FORMAT_NAME, FORMAT_VERSION};
use skycase_core::quant::{quantize, Quantization, QuantizeOptions};
use skycase_core::shard::{FrameRecord, Shard, VectorKind};
use skycase_core::text::MAX_TOKENS;
use skycase_core::TextEncoder;

use crate::cmd::sample::DemoFrame;
use crate::util::{default_model_dir, progress, read, write_atomic};

/// Arguments of `skycase export`.
#[derive(clap::Args)]
pub struct Args {
    /// Captioned frames to index (frames.jsonl from `skycase sample`); thumbnails are
    /// resolved relative to its folder.
    #[arg(long, default_value = "data/demo/frames.jsonl")]
    frames: PathBuf,
    /// The all-MiniLM-L6-v2 folder (tokenizer.json, config.json, model.safetensors).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "www/bundle")]
    out: PathBuf,
    /// Encoder weight format for the attention/feed-forward matrices: q8_0, q4_0, f16, f32.
    #[arg(long, default_value = "q8_0")]
    quant: String,
    /// Format of the word-embedding table: q8_0, q4_0, f16, f32.
    #[arg(long, default_value = "q8_0")]
    embed_quant: String,
    /// How shard vectors are stored: int8, f16, f32.
    #[arg(long, default_value = "int8")]
    vectors: String,
}

pub fn run(args: Args) -> Result<()> {
    let model_dir = args.model.clone().unwrap_or_else(default_model_dir);
    let opts = QuantizeOptions { linear: Quantization::parse(&args.quant)?, embeddings: Quantization::parse(&args.embed_quant)? };
    let kind = VectorKind::parse(&args.vectors)?;
    let frames = read_frames(&args.frames)?;
    let frames_dir = args.frames.parent().unwrap_or(Path::new(".")).to_path_buf();

    let tokenizer = read(&model_dir.join("tokenizer.json")).context("the text model is missing: run scripts/fetch-model")?;
    let config = read(&model_dir.join("config.json"))?;
    let weights = read(&model_dir.join("model.safetensors"))?;

    let staging = args.out.with_extension("partial");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("{}: cannot clear", staging.display()))?;
    }
    let mut files = Vec::new();
    let mut put = |rel: &str, role: &str, bytes: &[u8]| -> Result<()> {
        write_atomic(&staging.join(rel), bytes)?;
        files.push(FileEntry::describe(rel, role, bytes));
        Ok(())
    };

    eprintln!("quantizing the text encoder ({}/{})", opts.linear.name(), opts.embeddings.name());
    let gguf = quantize(&weights, &config, opts)?;
    put("tokenizer.json", "tokenizer", &tokenizer)?;
    put("encoder.gguf", "encoder", &gguf)?;

    // Shard vectors: the f32 encoder's embeddings of each frame's caption text.
    let encoder = TextEncoder::from_f32_files(&tokenizer, &config, &weights)?;
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
    for f in &frames {
        let period = f.time.get(..7).with_context(|| format!("frame {}: time {:?} is not ISO 8601", f.id, f.time))?;
        periods.entry(period.to_string()).or_default().push(f);
    }
    let mut shards = Vec::new();
    for (period, members) in &periods {
        let mut records = Vec::with_capacity(members.len());
        let mut rows = Vec::with_capacity(members.len());
        for f in members {
            let thumb_src = frames_dir.join(&f.thumb);
            let thumb = read(&thumb_src)?;
            let rel = format!("thumbs/{}", thumb_src.file_name().and_then(|n| n.to_str()).unwrap_or("thumb.png"));
            put(&rel, "thumbnail", &thumb)?;
            records.push(FrameRecord { id: f.id.clone(), time: f.time.clone(), caption: f.caption.clone(), thumb: rel, source: f.source.clone() });
            rows.push(by_caption[f.caption.as_str()].clone());
        }
        let shard = Shard::from_f32(period.clone(), vec!["global".into()], records, encoder.model().dim(), &rows, kind)?;
        let bytes = shard.to_bytes();
        let rel = format!("shards/{period}.skyshard");
        write_atomic(&staging.join(&rel), &bytes)?;
        let e = FileEntry::describe(&rel, "shard", &bytes);
        shards.push(ShardEntry {
            period: period.clone(),
            path: rel,
            sha256: e.sha256,
            bytes: e.bytes,
            frames: members.len(),
            start: members.first().map(|f| f.time.clone()).unwrap_or_default(),
            end: members.last().map(|f| f.time.clone()).unwrap_or_default(),
        });
    }

    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        generator: format!("skycase {}", env!("CARGO_PKG_VERSION")),
        model: ModelInfo {
            id: "sentence-transformers/all-MiniLM-L6-v2".into(),
            text_dim: encoder.model().dim(),
            quantization: format!("linear={},embeddings={}", opts.linear.name(), opts.embeddings.name()),
            max_tokens: MAX_TOKENS,
        },
        joint_dim: encoder.model().dim(),
        vectors: "caption-text".into(),
        files,
        shards,
    };
    write_atomic(&staging.join("manifest.json"), manifest.to_json().as_bytes())?;
    if args.out.exists() {
        std::fs::remove_dir_all(&args.out).with_context(|| format!("{}: cannot replace", args.out.display()))?;
    }
    std::fs::rename(&staging, &args.out).with_context(|| format!("{}: cannot move the bundle into place", args.out.display()))?;
    eprintln!(
        "bundle {}: {} frames in {} shard(s), {:.1} MB before the first answer",
        args.out.display(),
        frames.len(),
        manifest.shards.len(),
        manifest.startup_bytes() as f64 / 1e6
    );
    Ok(())
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
