//! The one error type of skycase-quant.

/// Everything that can go wrong while reading the f32 checkpoint, calibrating or quantizing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The encoder side of skycase-core (config, tokenizer, formats) refused an input.
    #[error(transparent)]
    Core(#[from] skycase_core::Error),

    /// A tensor operation or a model file failed inside candle.
    #[error("model: {0}")]
    Candle(#[from] candle_core::Error),

    /// A file is not what its format says it should be.
    #[error("{file}: {reason}")]
    Format {
        /// The file (path or name).
        file: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The caller asked for something that cannot work (unknown format, bad option string).
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
