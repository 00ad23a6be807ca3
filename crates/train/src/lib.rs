//! skycase-train: learns the joint text–image space that skycase ranks in.
//!
//! - [`model`]: [`ImageModel`], a compact encoder over brightness-temperature frames with a
//!   global head (one embedding per frame) and a region head (one per frame × region), plus
//!   the text projection from MiniLM's 384-d space into the joint space.
//! - [`loss`]: the study's triplet loss with in-batch hardest negatives, symmetric InfoNCE
//!   with a learned temperature, and the frame-level ranking term ([`loss::frame_rank`]).
//! - [`data`]: captioned archives → cached model inputs, region weights, time-disjoint split.
//! - [`archive`]: frames to embed, from a simulated archive or a frame store ([`Archive`]).
//! - [`period_index`]: a frame store's image index, one period (month) per job, resampled
//!   onto the canonical grid, incremental and atomic.
//! - [`store_data`]: training data from a frame store and one caption source, on the
//!   canonical grid.
//! - [`text`]: phrasings, the study's queries and the cache of frozen text embeddings.
//! - [`train`]: the loop (AdamW, early stopping, checkpoints that resume).
//! - [`eval`]: R@k both ways and the study's Table I hit rate, per storage (f32/f16/int8).
//! - [`multilingual`]: a second text encoder's projection (Korean queries) into a frozen
//!   checkpoint's joint space.
//! - [`reduce`]: a trained checkpoint in fewer joint dimensions (its leading directions),
//!   without retraining.
//! - [`rng`]: the seeded generator behind initialisation and shuffling.

pub mod archive;
pub mod calibration;
pub mod data;
pub mod error;
pub mod eval;
pub mod loss;
pub mod model;
pub mod multilingual;
pub mod period_index;
pub mod reduce;
pub mod rng;
pub mod store_data;
pub mod text;
pub mod train;

pub use error::{Error, Result};
pub use loss::Loss;
pub use model::{FrameEmbedding, Granularity, ImageModel, ModelConfig, RegionWeights};
pub use train::{train, RunOptions, TrainConfig, TrainSummary};
pub use archive::Archive;
pub use data::{load_archive, Dataset, Sample, Split};
pub use text::TextBank;
