//! Shared by the quantization examples: the f32 model files and the sentence-transformers
//! reference embeddings (tests/fixtures/minilm_reference.json).

use std::path::{Path, PathBuf};

pub type Error = Box<dyn std::error::Error>;

/// The all-MiniLM-L6-v2 folder: `arg`, or the one scripts/fetch-model fills.
pub fn model_dir(arg: Option<String>) -> PathBuf {
    arg.map(PathBuf::from).unwrap_or_else(skycase_quant::default_model_dir)
}

/// `model.safetensors`, `config.json` and `tokenizer.json` of the folder.
pub fn model_files(dir: &Path) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>), Error> {
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()));
    Ok((read("model.safetensors")?, read("config.json")?, read("tokenizer.json")?))
}

/// The reference sentences with their embeddings.
pub fn reference_items() -> Result<Vec<(String, Vec<f32>)>, Error> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/minilm_reference.json");
    let reference: serde_json::Value = serde_json::from_slice(&std::fs::read(path).map_err(|e| format!("{path}: {e}"))?)?;
    let items = reference["items"].as_array().ok_or("reference: no items")?;
    Ok(items
        .iter()
        .map(|it| {
            let text = it["text"].as_str().unwrap_or_default().to_string();
            let e = it["embedding"].as_array().map(|a| a.iter().filter_map(|v| v.as_f64()).map(|v| v as f32).collect()).unwrap_or_default();
            (text, e)
        })
        .collect())
}
