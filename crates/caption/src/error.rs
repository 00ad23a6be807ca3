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
    // The field is not called `source`: thiserror would make it the error's source
    // *and* the message prints it, so `{:#}` chains showed the OS error twice.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (part of this message, not a separate source).
        error: std::io::Error,
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
    /// The frame store could not give a frame or its masks (its message names the file).
    #[error(transparent)]
    Ingest(#[from] skycase_ingest::Error),
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
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io { path: path.into(), error }
    }

    pub(crate) fn json(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        Error::Json { path: path.into(), reason: err.to_string() }
    }
}

/// An error and its sources on one line, `outer: inner: …`: what `{:#}` prints for an
/// anyhow error (the form failure records keep).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(&format!(": {c}"));
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_is_printed_once_in_a_chain() {
        let e = Error::io("/no/such/file", std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        assert!(std::error::Error::source(&e).is_none());
        let chain = chain(&e);
        assert_eq!(chain.matches("gone").count(), 1, "{chain}");
    }
}
