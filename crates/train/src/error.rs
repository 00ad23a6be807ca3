//! The crate's error type: every message names the file or value and the reason.

use std::path::{Path, PathBuf};

/// Errors of skycase-train.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file exists but its content is not what it should be (bad JSON, bad PNG, bad tensor).
    #[error("{}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A dataset that cannot be trained on (no captions, too few frames for the split...).
    #[error("dataset {}: {reason}", path.display())]
    Dataset {
        /// The dataset folder or labels file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// A checkpoint folder that is missing pieces or does not match the model.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint folder or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Input whose shape does not match the model (frame size, embedding size, mask count).
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// Which input.
        what: String,
        /// What the model needs.
        expected: String,
        /// What was given.
        got: String,
    },
    /// A caller mistake: an option value out of range, an unknown name.
    #[error("{0}")]
    Usage(String),
    /// The text encoder (skycase-core) failed.
    #[error("text encoder: {0}")]
    Text(#[from] skycase_core::Error),
    /// Frame reading or mask rasterization (skycase-ingest) failed.
    #[error("{0}")]
    Ingest(#[from] skycase_ingest::Error),
    /// A tensor operation failed (a bug or an out-of-memory condition, not bad input).
    #[error("tensor: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }

    pub(crate) fn format(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Format { path: path.as_ref().to_path_buf(), reason: reason.into() }
    }

    pub(crate) fn dataset(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Dataset { path: path.as_ref().to_path_buf(), reason: reason.into() }
    }

    pub(crate) fn checkpoint(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Checkpoint { path: path.as_ref().to_path_buf(), reason: reason.into() }
    }

    pub(crate) fn shape(what: impl Into<String>, expected: impl ToString, got: impl ToString) -> Self {
        Error::Shape { what: what.into(), expected: expected.to_string(), got: got.to_string() }
    }
}
