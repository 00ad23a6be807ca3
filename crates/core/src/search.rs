//! A loaded bundle ready to answer queries: the one search path that both the browser
//! worker and `skycase search` run.
//!
//! ```text
//! query text → tokenizer → MiniLM (quantized) → projection → i16 query → int8 scan → top k
//! ```
//!
//! The word-embedding table starts empty: before a query, fetch the chunks that
//! [`Searcher::missing_chunks`] names and hand them to [`Searcher::insert_chunk`] (the browser
//! does this per query, the companion for all chunks at load).

use std::time::Duration;

use crate::bundle::Manifest;
use crate::embeddings::WordEmbeddings;
use crate::error::{Error, Result};
use crate::projection::Projection;
use crate::rank::{rank_filtered, Hit, QueryVector};
use crate::shard::Shard;
use crate::text::TextEncoder;

pub use crate::filters::{months_spec, parse_months, Filters, MONTH_NAMES, SEASONS};

/// The query side of a bundle plus its shards.
pub struct Searcher {
    manifest: Manifest,
    encoder: TextEncoder,
    projection: Option<Projection>,
    shards: Vec<Shard>,
}

/// Results of one query with where the time went.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Best first.
    pub hits: Vec<Hit>,
    /// Tokenize + encode + project.
    pub encode: Duration,
    /// Scan + select.
    pub rank: Duration,
}

impl Searcher {
    /// Builds a searcher from verified bundle files. `projection` is the projection file's
    /// bytes if the manifest lists one. No word-embedding chunk is loaded yet.
    pub fn new(manifest: Manifest, tokenizer: &[u8], encoder: &[u8], projection: Option<&[u8]>, shards: Vec<Shard>) -> Result<Self> {
        let words = WordEmbeddings::new(&manifest.model.word_embeddings)?;
        let encoder = TextEncoder::from_bundle_files(tokenizer, encoder, words)?;
        let projection = match projection {
            Some(bytes) => {
                let p = Projection::from_safetensors(bytes, "projection.safetensors")?;
                if p.in_dim() != encoder.model().dim() || p.out_dim() != manifest.joint_dim {
                    return Err(Error::format(
                        "projection.safetensors",
                        format!("maps {}→{}, but the encoder gives {} and the manifest's joint space is {}", p.in_dim(), p.out_dim(), encoder.model().dim(), manifest.joint_dim),
                    ));
                }
                Some(p)
            }
            None if manifest.joint_dim != encoder.model().dim() => {
                return Err(Error::format("manifest.json", format!("joint_dim {} differs from the encoder's {} but no projection is listed", manifest.joint_dim, encoder.model().dim())));
            }
            None => None,
        };
        for s in &shards {
            if s.dim() != manifest.joint_dim {
                return Err(Error::format(s.period(), format!("shard vectors have {} dimensions, the manifest says {}", s.dim(), manifest.joint_dim)));
            }
        }
        Ok(Self { manifest, encoder, projection, shards })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// The shards, in manifest order.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }
    /// The text encoder.
    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }
    /// The word-embedding table: which chunks are loaded, and their files.
    pub fn word_embeddings(&self) -> &WordEmbeddings {
        self.encoder.model().word_embeddings()
    }

    /// The word-embedding chunks that `text` needs and that are not loaded yet.
    pub fn missing_chunks(&self, text: &str) -> Result<Vec<usize>> {
        self.encoder.missing_chunks(text)
    }

    /// Adds word-embedding chunk `k`, checked against the manifest (an error names its file).
    pub fn insert_chunk(&mut self, k: usize, bytes: Vec<u8>) -> Result<()> {
        self.encoder.model_mut().word_embeddings_mut().insert_chunk(k, bytes)
    }

    /// Number of frames across shards.
    pub fn frames(&self) -> usize {
        self.shards.iter().map(Shard::len).sum()
    }

    /// Embeds a query into the joint space.
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        let e = self.encoder.embed_query(text)?;
        match &self.projection {
            Some(p) => p.apply(&e),
            None => Ok(e),
        }
    }

    /// Ranks frames against a joint-space vector.
    pub fn rank_vector(&self, v: &[f32], k: usize, filters: &Filters) -> Result<Vec<Hit>> {
        let q = QueryVector::new(v)?;
        let refs: Vec<&Shard> = self.shards.iter().collect();
        rank_filtered(&refs, &q, k, |s, f| filters.keeps(&refs[s].records()[f]))
    }

    /// Answers a text query; `clock` returns milliseconds (the browser's
    /// `performance.now()`, or a native clock) so timings work on both sides.
    pub fn search(&self, text: &str, k: usize, filters: &Filters, clock: impl Fn() -> f64) -> Result<Answer> {
        let t0 = clock();
        let v = self.embed_query(text)?;
        let t1 = clock();
        let hits = self.rank_vector(&v, k, filters)?;
        let t2 = clock();
        let ms = |a: f64, b: f64| Duration::from_secs_f64(((b - a) / 1000.0).max(0.0));
        Ok(Answer { hits, encode: ms(t0, t1), rank: ms(t1, t2) })
    }

    /// "More like this": ranks by one stored vector of a frame.
    pub fn similar(&self, shard: usize, frame: usize, vector: usize, k: usize, filters: &Filters) -> Result<Vec<Hit>> {
        let s = self.shards.get(shard).ok_or_else(|| Error::Usage(format!("no shard {shard}")))?;
        if frame >= s.len() || vector >= s.vectors_per_frame() {
            return Err(Error::Usage(format!("no frame {frame} / vector {vector} in shard {}", s.period())));
        }
        self.rank_vector(&s.row_f32(frame * s.vectors_per_frame() + vector), k, filters)
    }

    /// The region name of a hit's matched vector, for region-aware shards.
    pub fn matched_region(&self, hit: &Hit) -> Option<&str> {
        let names = self.shards.get(hit.shard)?.vector_names();
        (names.len() > 1).then(|| names.get(hit.vector).map(String::as_str)).flatten()
    }
}
