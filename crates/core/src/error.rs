//! The one error type of skycase-core.

/// Everything that can go wrong while loading, verifying, encoding or ranking.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor operation or a model file failed inside candle.
    #[error("model: {0}")]
    Candle(#[from] candle_core::Error),

    /// The tokenizer file could not be read or a text could not be tokenized.
    #[error("tokenizer: {0}")]
    Tokenizer(String),

    /// A file is not what its format says it should be.
    #[error("{file}: {reason}")]
    Format {
        /// The file (path or bundle-relative name).
        file: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A file's bytes do not hash to what the manifest promises.
    #[error("{file}: sha256 mismatch (manifest says {expected}, file has {actual}); the download is corrupt or the bundle was changed after export")]
    Checksum {
        /// Bundle-relative path.
        file: String,
        /// Hash recorded in the manifest.
        expected: String,
        /// Hash of the bytes received.
        actual: String,
    },

    /// A file's size does not match the manifest.
    #[error("{file}: size mismatch (manifest says {expected} bytes, got {actual})")]
    Size {
        /// Bundle-relative path.
        file: String,
        /// Size recorded in the manifest.
        expected: u64,
        /// Size received.
        actual: u64,
    },

    /// The bundle was written by an incompatible version of skycase.
    #[error("manifest.json: bundle format version {found} is not supported (this build reads version {supported}); re-export the bundle with a matching skycase")]
    UnsupportedVersion {
        /// Version found in the manifest.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },

    /// A query needs a word-embedding chunk that has not been inserted yet.
    #[error("{file}: word-embedding chunk {chunk} is not loaded yet (fetch it, then insert_chunk)")]
    MissingChunk {
        /// Bundle-relative path of the chunk.
        file: String,
        /// Its index.
        chunk: usize,
    },

    /// A search filter's value does not parse (see [`crate::filters`]).
    #[error("{key} {value:?}: {reason}")]
    Filter {
        /// The parameter: `from`, `to`, `months`, `region` or `phenomenon`.
        key: &'static str,
        /// The value as given.
        value: String,
        /// Why it is refused.
        reason: String,
    },

    /// The caller asked for something that cannot work (empty query, dimension mismatch).
    #[error("{0}")]
    Usage(String),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn format(file: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Format { file: file.into(), reason: reason.into() }
    }
}
