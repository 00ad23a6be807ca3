//! skycase-quant: export-time quantization of the all-MiniLM-L6-v2 text encoder, kept out of
//! the browser build (`skycase-core` only reads what this crate writes).
//!
//! - [`quantize`](mod@quantize): the f32 checkpoint → `encoder.gguf` + the word-embedding
//!   table as ggml blocks, one block format per weight group ([`QuantizeOptions`]).
//! - [`calibrate`]: an own f32 forward pass over a built-in calibration set that records the
//!   second moments of every linear layer's input.
//! - [`gptq`]: activation-aware rounding of one matrix into a 32-value block format.
//! - [`model`]: where `scripts/fetch-model` puts the model, and reading its files.
//!
//! The formats themselves ([`Quantization`]) are `skycase_core::format`'s: the loader and
//! this writer share one definition.
//!
//! ```no_run
//! use skycase_quant::{quantize, ModelFiles, QuantizeOptions};
//! let files = ModelFiles::read(&skycase_quant::default_model_dir())?;
//! let q = quantize(&files.safetensors, &files.config, &files.tokenizer, QuantizeOptions::default())?;
//! println!("encoder.gguf {} bytes, word table {} bytes", q.gguf.len(), q.words.len());
//! # Ok::<(), skycase_quant::Error>(())
//! ```

pub mod calibrate;
pub mod error;
pub mod gptq;
pub mod model;
pub mod quantize;

pub use error::{Error, Result};
pub use model::{default_model_dir, ModelFiles};
pub use quantize::{quantize, quantize_calibrated, quantize_with, QuantizeOptions, QuantizedEncoder, Rounding};
pub use skycase_core::format::Quantization;
