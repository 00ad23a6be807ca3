//! The crate's error type: every message names the file or value and the reason.

use std::path::{Path, PathBuf};

/// Errors of skycase-eval.
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
    /// A file exists but its content is not what it should be (a query set with a bad line,
    /// a cache file of the wrong size, a study table without a region).
    #[error("{}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, with the line where there is one.
        reason: String,
    },
    /// A caller mistake: no archive, an unknown split or query set, k = 0.
    #[error("{0}")]
    Usage(String),
    /// Bundle, shard or search failure (skycase-core).
    #[error("{0}")]
    Core(#[from] skycase_core::Error),
    /// Quantizing the text encoder failed (skycase-quant).
    #[error("{0}")]
    Quant(#[from] skycase_quant::Error),
    /// Checkpoint or label reading failure (skycase-train).
    #[error("{0}")]
    Train(#[from] skycase_train::Error),
    /// Reading or converting the multilingual encoder failed (skycase-e5).
    #[error("{0}")]
    E5(#[from] skycase_e5::Error),
    /// Frame decoding or mask rasterization failure (skycase-ingest).
    #[error("{0}")]
    Ingest(#[from] skycase_ingest::Error),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }
    pub(crate) fn format(path: &Path, reason: impl Into<String>) -> Self {
        Self::Format { path: path.to_path_buf(), reason: reason.into() }
    }
}

/// Writes `bytes` to `path` through a temporary file beside it, so a reader never sees a
/// half-written file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension(format!("{}.partial", path.extension().and_then(|e| e.to_str()).unwrap_or("tmp")));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
