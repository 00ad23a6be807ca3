//! skycase-train: learns the joint text–image space that skycase ranks in.
//!
//! - [`model`]: [`ImageModel`], a compact encoder over brightness-temperature frames with a
//!   global head (one embedding per frame) and a region head (one per frame × region), plus
//!   the text projection from MiniLM's 384-d space into the joint space.
//! - [`loss`]: the study's triplet loss with in-batch hardest negatives, and symmetric
//!   InfoNCE with a learned temperature.
//! - [`rng`]: the seeded generator behind initialisation and shuffling.

pub mod error;
pub mod loss;
pub mod model;
pub mod rng;

pub use error::{Error, Result};
pub use loss::Loss;
pub use model::{FrameEmbedding, Granularity, ImageModel, ModelConfig, RegionWeights};
