//! The crate's one error type. Every message names the file (or store path) and the reason.

use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while reading archives or using a frame store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not what its format says it must be (bad magic, truncated, inconsistent).
    #[error("{}: invalid {format}: {reason}", path.display())]
    Format {
        /// File concerned.
        path: PathBuf,
        /// Format being read ("xRIT", "GK-2A L1B", ...).
        format: &'static str,
        /// What is wrong, with the values found.
        reason: String,
    },
    /// A valid file this crate does not handle (unknown product, other channel, ...).
    #[error("{}: unsupported: {reason}", path.display())]
    Unsupported {
        /// File concerned.
        path: PathBuf,
        /// What is not supported.
        reason: String,
    },
    /// A multi-file frame lacks files (e.g. xRIT segments).
    #[error("{}: incomplete frame: {reason}", path.display())]
    Incomplete {
        /// First file of the group.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A frame cannot be resampled onto another grid (no lon/lat mapping, bad size).
    #[error("frame {frame}: cannot resample: {reason}")]
    Resample {
        /// Frame id.
        frame: String,
        /// Why.
        reason: String,
    },
    /// The frame store is inconsistent or a requested frame does not exist.
    #[error("{}: frame store: {reason}", path.display())]
    Store {
        /// Store path concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), source }
    }

    pub(crate) fn format(path: &Path, format: &'static str, reason: impl Into<String>) -> Self {
        Error::Format { path: path.to_path_buf(), format, reason: reason.into() }
    }

    pub(crate) fn unsupported(path: &Path, reason: impl Into<String>) -> Self {
        Error::Unsupported { path: path.to_path_buf(), reason: reason.into() }
    }

    pub(crate) fn store(path: &Path, reason: impl Into<String>) -> Self {
        Error::Store { path: path.to_path_buf(), reason: reason.into() }
    }

    /// The file this error is about (the frame id for [`Error::Resample`]).
    pub fn path(&self) -> &Path {
        match self {
            Error::Io { path, .. }
            | Error::Format { path, .. }
            | Error::Unsupported { path, .. }
            | Error::Incomplete { path, .. }
            | Error::Store { path, .. } => path,
            Error::Resample { frame, .. } => Path::new(frame.as_str()),
        }
    }
}
