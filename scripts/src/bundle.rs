//! Loading a bundle folder natively, with every file checked against the manifest.

use std::path::Path;

use anyhow::{Context, Result};
use skycase_core::{Manifest, Searcher, Shard};

use crate::util::read;

/// Reads `manifest.json` and the files the search needs, verifies their sizes and hashes,
/// and builds the searcher — exactly what the browser worker does after downloading — with
/// every word-embedding chunk loaded (the browser fetches them per query).
pub fn load_searcher(dir: &Path) -> Result<Searcher> {
    let manifest_path = dir.join("manifest.json");
    let manifest = Manifest::from_json(&read(&manifest_path)?).with_context(|| format!("bundle {}", dir.display()))?;
    let load = |rel: &str, check: &dyn Fn(&[u8]) -> skycase_core::Result<()>| -> Result<Vec<u8>> {
        let bytes = read(&dir.join(rel))?;
        check(&bytes).with_context(|| format!("bundle {}", dir.display()))?;
        Ok(bytes)
    };
    let tok = manifest.file("tokenizer")?.clone();
    let enc = manifest.file("encoder")?.clone();
    let tokenizer = load(&tok.path, &|b| tok.verify(b))?;
    let encoder = load(&enc.path, &|b| enc.verify(b))?;
    let projection = match manifest.files.iter().find(|f| f.role == "projection").cloned() {
        Some(p) => Some(load(&p.path, &|b| p.verify(b))?),
        None => None,
    };
    let calibration = match manifest.files.iter().find(|f| f.role == "calibration").cloned() {
        Some(c) => Some((load(&c.path, &|b| c.verify(b))?, c.path)),
        None => None,
    };
    let mut shards = Vec::new();
    for entry in &manifest.shards {
        let bytes = load(&entry.path, &|b| entry.verify(b))?;
        shards.push(Shard::from_bytes(&bytes, &entry.path)?);
    }
    let chunks = manifest.model.word_embeddings.chunks.clone();
    let mut searcher = Searcher::new(manifest, &tokenizer, &encoder, projection.as_deref(), shards)?;
    // For measuring what region binding does (docs/alignment.md); the default binds.
    if std::env::var_os("SKYCASE_NO_REGION_BINDING").is_some_and(|v| v == "1") {
        searcher.set_region_binding(false);
    }
    if let Some((bytes, path)) = calibration {
        searcher.set_calibration(&bytes, &path).with_context(|| format!("bundle {}", dir.display()))?;
    }
    for (k, chunk) in chunks.iter().enumerate() {
        searcher.insert_chunk(k, read(&dir.join(&chunk.path))?).with_context(|| format!("bundle {}", dir.display()))?;
    }
    Ok(searcher)
}
