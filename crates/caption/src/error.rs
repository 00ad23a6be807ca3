//! The crate's one error type.

use std::path::PathBuf;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while captioning. Messages name the file, frame or
/// endpoint and the reason; the API key never appears in any of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JMA best-track file is malformed.
    #[error("{}:{line}: bad best-track record: {reason}", path.display())]
    BestTrack {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A JSON file (caption record, rules, cache entry, labels) could not be read.
    #[error("{}: bad JSON: {reason}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde said.
        reason: String,
    },
    /// A caption text is not 13 well-formed region bullets.
    #[error("bad caption: {0}")]
    Caption(String),
    /// Input to a captioner is unusable (missing region masks, mismatched sizes, ...).
    #[error("frame {frame}: {reason}")]
    Frame {
        /// Frame id or time.
        frame: String,
        /// What is wrong.
        reason: String,
    },
    /// Captioner rules or settings are invalid.
    #[error("bad captioner configuration: {0}")]
    Config(String),
    /// The chat-completions endpoint could not be used (after retries).
    #[error("endpoint {url}: {reason}")]
    Endpoint {
        /// The URL called (never carries the key).
        url: String,
        /// What happened, with the HTTP status when there was one.
        reason: String,
    },
    /// Encoding the image for the MLLM failed.
    #[error("frame {frame}: cannot encode image: {reason}")]
    Image {
        /// Frame id.
        frame: String,
        /// What the encoder said.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn json(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        Error::Json { path: path.into(), reason: err.to_string() }
    }
}
