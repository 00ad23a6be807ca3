//! The part of skycase that the browser app and the native companion share, so both rank
//! identically:
//!
//! - [`text`]: the tokenizers and the all-MiniLM-L6-v2 sentence encoder
//!   (BERT, attention-masked mean pooling, L2 normalisation), in f32 or quantized.
//! - [`wordpiece`]: MiniLM's BERT WordPiece tokenizer (the steps of its `tokenizer.json`,
//!   the same ids as the `tokenizers` crate, which the browser's wasm does without).
//! - [`unigram`]: the SentencePiece Unigram tokenizer of multilingual-e5-small, the
//!   encoder of Korean queries (same BERT forward as MiniLM, 12 layers).
//! - [`kernel`]: the f32 kernels of the encoder's forward pass (thin matrix products,
//!   layer norm, GELU, softmax), with one summation order in wasm and natively;
//!   [`qkernel`]: the integer products of the quantized linear layers (plain SIMD, or
//!   relaxed SIMD with the `relaxed-simd` feature), exact and the same everywhere.
//! - [`format`]: the weight formats of the bundle's encoder file ([`format::Quantization`]);
//!   `skycase-quant` writes that file at export time, this crate only reads it.
//! - [`embeddings`]: the word-embedding table, loaded chunk by chunk as queries need rows.
//! - [`projection`]: the learned map from text embeddings into the joint space.
//! - [`episodes`]: consecutive matching frames of one region folded into one weather case.
//! - [`filters`]: which frames a query may return, parsed strictly (dates, months, names).
//! - [`bundle`]: the versioned web bundle — `manifest.json`, hashes, sizes.
//! - [`overlay`]: coastlines and region outlines drawn over result thumbnails.
//! - [`shard`]: a period's frames: embeddings (int8 + per-vector scale), times, captions,
//!   thumbnail references.
//! - [`partition`]: the partitioned index of long archives: a two-level coarse quantizer,
//!   content-hashed partition files per leaf and month, the plan of what a query fetches.
//! - [`rank`]: exact nearest-neighbour scan over a shard with integer dot products.
//! - [`storms`]: named tropical cyclones of the archive; a query naming one searches its days.
//! - [`search`]: a loaded bundle answering queries ([`Searcher`], [`Filters`]);
//!   [`load`]: which bundle files it needs, in which order ([`load::StartupFiles`]).
//!
//! Region and phenomenon names are `skycase_vocab`'s.
//!
//! Nothing here depends on a UI, a CLI or the operating system, so it compiles for
//! `wasm32-unknown-unknown` and native alike.

pub mod bundle;
pub mod embeddings;
pub mod episodes;
pub mod error;
pub mod filters;
pub mod format;
pub mod kernel;
pub mod load;
pub mod overlay;
pub mod partition;
pub mod projection;
pub mod qkernel;
pub mod rank;
pub mod reading;
pub mod search;
pub mod shard;
pub mod source;
pub mod storms;
pub mod strength;
pub mod text;
pub mod unigram;
pub mod when;
pub mod wordpiece;

pub use bundle::{FileEntry, Manifest, ShardEntry, WordTableInfo, FORMAT_VERSION};
pub use embeddings::WordEmbeddings;
pub use error::{Error, Result};
pub use projection::Projection;
pub use rank::{rank, Hit, QueryVector};
pub use search::{Answer, Filters, Searcher};
pub use shard::{FrameRecord, Shard, VectorKind};
pub use text::{MiniLm, MiniLmConfig, TextEncoder, TextTokenizer};

/// The benchmark queries (5–16 tokens, as the targets specify), shared by `skycase bench`
/// and the encoder example; tests/e2e/bench.mjs sends the same eight in the browser.
pub const BENCH_QUERIES: [&str; 8] = [
    "typhoon approaching Kyushu",
    "heavy snow over Hokkaido",
    "clear skies across Mongolia",
    "rain along the Pacific coast of Japan",
    "a typhoon over the South China Sea with clear skies in Mongolia",
    "snow in Manchuria and the Korean Peninsula",
    "cloudy East China Sea",
    "Honshu, Japan is experiencing a typhoon.",
];
