//! Loading a bundle folder natively, with every file checked against the manifest.

use std::path::Path;

use anyhow::{Context, Result};
use skycase_core::load::StartupFiles;
use skycase_core::search::TextSide;
use skycase_core::{FileEntry, Manifest, Searcher};

use crate::util::read;

/// Reads `manifest.json` and the files the search needs, verifies their sizes and hashes,
/// and builds the searcher — exactly what the browser worker does after downloading — with
/// every word-embedding chunk loaded (the browser fetches them per query), and the
/// multilingual encoder too if the bundle has one (the browser loads it on the first Korean
/// query).
pub fn load_searcher(dir: &Path) -> Result<Searcher> {
    let manifest_path = dir.join("manifest.json");
    let manifest = Manifest::from_json(&read(&manifest_path)?).with_context(|| format!("bundle {}", dir.display()))?;
    let load = |f: &FileEntry| -> Result<Vec<u8>> {
        let bytes = read(&dir.join(&f.path))?;
        f.verify(&bytes).with_context(|| format!("bundle {}", dir.display()))?;
        Ok(bytes)
    };
    let files = StartupFiles::of(&manifest)?;
    let bytes = files.entries().into_iter().map(load).collect::<Result<Vec<_>>>()?;
    let chunks = manifest.model.word_embeddings.chunks.clone();
    let model_file = manifest.multilingual_model_file().map(load).transpose()?;
    let mut searcher = files.build(manifest, bytes)?;
    if let Some(model) = model_file {
        searcher.read_multilingual_model(&model).with_context(|| format!("bundle {}", dir.display()))?;
    }
    let multilingual_chunks = searcher.manifest().multilingual.as_ref().map(|m| m.word_embeddings.chunks.clone());
    // For measuring what region binding does (docs/alignment.md); the default binds.
    if std::env::var_os("SKYCASE_NO_REGION_BINDING").is_some_and(|v| v == "1") {
        searcher.set_region_binding(false);
    }
    for (k, chunk) in chunks.iter().enumerate() {
        searcher.insert_chunk(k, read(&dir.join(&chunk.path))?).with_context(|| format!("bundle {}", dir.display()))?;
    }
    if let Some(chunks) = multilingual_chunks {
        let [tok, enc, proj] = searcher.multilingual_files()?;
        let (tok, enc, proj) = (load(&tok)?, load(&enc)?, load(&proj)?);
        searcher.load_multilingual(&tok, &enc, &proj).with_context(|| format!("bundle {}", dir.display()))?;
        for (k, chunk) in chunks.iter().enumerate() {
            searcher
                .insert_chunk_of(TextSide::Multilingual, k, read(&dir.join(&chunk.path))?)
                .with_context(|| format!("bundle {}", dir.display()))?;
        }
    }
    Ok(searcher)
}

/// Reads file `f` of the bundle in `dir`: whole (`at` None), or its `f.bytes` bytes at offset
/// `at` (a partition: a segment of its leaf file, read as the browser reads its byte range).
/// Not verified here.
pub fn read_segment(dir: &Path, f: &FileEntry, at: Option<u64>) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let path = dir.join(&f.path);
    let Some(at) = at else { return std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display())) };
    let mut file = std::fs::File::open(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    let len = usize::try_from(f.bytes).with_context(|| format!("{}: {} bytes at {at} is too large", path.display(), f.bytes))?;
    let mut buf = vec![0; len];
    file.seek(SeekFrom::Start(at)).and_then(|_| file.read_exact(&mut buf)).with_context(|| format!("{}: cannot read {len} bytes at {at} (shorter than its list file says?)", path.display()))?;
    Ok(buf)
}

/// Answers a query on a partitioned bundle as the browser does: embeds it, plans, reads the
/// lists and partitions the plan names (each verified against its entry), ranks exactly
/// inside them. Returns the answer (hits name the partition: index into the returned list)
/// and the partitions with their references, in plan order.
pub fn search_partitioned(
    searcher: &Searcher,
    dir: &Path,
    prepared: skycase_core::search::Prepared,
    k: usize,
    filters: &skycase_core::Filters,
    nprobe: Option<usize>,
    clock: impl Fn() -> f64,
) -> Result<(skycase_core::Answer, Vec<(skycase_core::partition::PartRef, skycase_core::partition::Partition)>)> {
    let index = searcher.partitions().context("the bundle is not partitioned")?;
    let mut get = |f: &FileEntry, at: Option<u64>| -> skycase_core::Result<Vec<u8>> {
        let bytes = read_segment(dir, f, at).map_err(|e| skycase_core::Error::Usage(format!("{e:#}; the manifest lists it")))?;
        f.verify(&bytes)?;
        Ok(bytes)
    };
    let bound = searcher.bound_vectors(&prepared, filters);
    if index.codes.is_some() {
        // skypart-3: the plan's rounds, every area and row block verified as read; one that
        // does not verify twice is left out, and the answer says so on stderr.
        let mut read = |path: &str, range: Option<(u64, u64)>| -> skycase_core::Result<Vec<u8>> {
            let entry = FileEntry { path: path.to_string(), role: String::new(), sha256: String::new(), bytes: range.map_or(0, |(a, e)| e - a) };
            read_segment(dir, &entry, range.map(|r| r.0)).map_err(|e| skycase_core::Error::Usage(format!("{e:#}; the manifest lists it")))
        };
        let got = index.fetch_plan3(&prepared.query, filters, &bound, nprobe, k, &mut read).with_context(|| format!("bundle {}", dir.display()))?;
        for w in &got.warnings {
            eprintln!("warning: {w}");
        }
        let parts: Vec<&skycase_core::partition::Partition> = got.parts.iter().map(|(_, p)| p).collect();
        let answer = searcher.answer_parts(prepared, &parts, k, filters, clock)?;
        return Ok((answer, got.parts));
    }
    let fetched = index.fetch_plan(&prepared.query, filters, &bound, nprobe, &mut get).with_context(|| format!("bundle {}", dir.display()))?;
    let parts: Vec<&skycase_core::partition::Partition> = fetched.iter().map(|(_, p)| p).collect();
    let answer = searcher.answer_parts(prepared, &parts, k, filters, clock)?;
    Ok((answer, fetched))
}
