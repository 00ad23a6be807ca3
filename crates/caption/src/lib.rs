//! skycase-caption: one weather phenomenon per region for every frame.
//!
//! - [`vocab`]: the study's 13 [`Region`]s, 5 [`Phenomenon`]s and the [`Caption`] with
//!   its bullet text (`- Korean Peninsula - Snow`).
//! - [`parse`]: strict parsing of MLLM answers with a documented synonym table.
//! - [`besttrack`]: JMA best-track files, storms interpolated to a frame time.
//! - [`physical`]: the default, offline captioner (BT statistics per region mask, with a
//!   warm-pixel clear-sky [`composite`], plus best-track typhoons).
//! - [`mllm`]: the OpenAI-compatible chat-completions client (retries, cache).
//! - [`store`]: caption records next to the frame store, one folder per [`CaptionSource`]
//!   (`physical`, `mllm`, `truth`), written atomically.
//! - [`truth`]: a simulated archive's `labels.jsonl` imported as the `truth` source.
//! - [`run`]: the captioning loops over a frame store ([`PhysicalRun`], [`MllmRun`]).
//! - [`eval`]: accuracy, confusion matrix and macro-F1 against truth labels.
//! - [`frame`]: glue from `skycase-ingest` frames to the captioners.
#![warn(missing_docs)]

pub mod besttrack;
pub mod composite;
pub mod error;
pub mod eval;
pub mod frame;
pub mod mllm;
pub mod parse;
pub mod physical;
pub mod run;
pub mod store;
pub mod truth;
pub mod vocab;

pub use besttrack::{BestTrack, StormFix};
pub use error::{Error, Result};
pub use mllm::{MllmClient, MllmConfig};
pub use parse::{parse_answer, ParseError};
pub use physical::{PhysicalCaptioner, Rules};
pub use run::{MllmOutcome, MllmRun, PhysicalRun};
pub use store::{CaptionRecord, CaptionSource, CaptionStore};
pub use truth::{import_truth, TruthImport};
pub use vocab::{Caption, Phenomenon, Region};
