//! Loading a bundle folder natively, with every file checked against the manifest.

use std::path::Path;

use anyhow::{Context, Result};
use skycase_core::search::TextSide;
use skycase_core::{Manifest, Searcher, Shard};

use crate::util::read;

/// Reads `manifest.json` and the files the search needs, verifies their sizes and hashes,
/// and builds the searcher — exactly what the browser worker does after downloading — with
/// every word-embedding chunk loaded (the browser fetches them per query), and the
/// multilingual encoder too if the bundle has one (the browser loads it on the first Korean
/// query).
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
    let mut shards = Vec::new();
    for entry in &manifest.shards {
        let bytes = load(&entry.path, &|b| entry.verify(b))?;
        shards.push(Shard::from_bytes(&bytes, &entry.path)?);
    }
    let chunks = manifest.model.word_embeddings.chunks.clone();
    let multilingual_chunks = manifest.multilingual.as_ref().map(|m| m.word_embeddings.chunks.clone());
    let mut searcher = Searcher::new(manifest, &tokenizer, &encoder, projection.as_deref(), shards)?;
    for (k, chunk) in chunks.iter().enumerate() {
        searcher.insert_chunk(k, read(&dir.join(&chunk.path))?).with_context(|| format!("bundle {}", dir.display()))?;
    }
    if let Some(chunks) = multilingual_chunks {
        let [tok, enc, proj] = searcher.multilingual_files()?;
        let (tok, enc, proj) = (load(&tok.path, &|b| tok.verify(b))?, load(&enc.path, &|b| enc.verify(b))?, load(&proj.path, &|b| proj.verify(b))?);
        searcher.load_multilingual(&tok, &enc, &proj).with_context(|| format!("bundle {}", dir.display()))?;
        for (k, chunk) in chunks.iter().enumerate() {
            searcher
                .insert_chunk_of(TextSide::Multilingual, k, read(&dir.join(&chunk.path))?)
                .with_context(|| format!("bundle {}", dir.display()))?;
        }
    }
    Ok(searcher)
}
