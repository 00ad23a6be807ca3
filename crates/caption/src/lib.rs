//! skycase-caption: one weather phenomenon per region for every frame.
//!
//! - [`vocab`]: the study's 13 [`Region`]s, 5 [`Phenomenon`]s and the [`Caption`] with
//!   its bullet text (`- Korean Peninsula - Snow`).
//! - [`parse`]: strict parsing of MLLM answers with a documented synonym table.
//! - [`besttrack`]: JMA best-track files, storms interpolated to a frame time.
#![warn(missing_docs)]

pub mod besttrack;
pub mod error;
pub mod parse;
pub mod vocab;

pub use besttrack::{BestTrack, StormFix};
pub use error::{Error, Result};
pub use parse::{parse_answer, ParseError};
pub use vocab::{Caption, Phenomenon, Region};
