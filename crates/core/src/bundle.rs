//! The versioned web bundle: a folder of static files described by `manifest.json`.
//!
//! ```text
//! manifest.json          format version, model, dims, quantization, every file's sha256 + size
//! tokenizer.json         WordPiece tokenizer of the text encoder
//! encoder.gguf           quantized all-MiniLM-L6-v2 without its word-embedding table (written by skycase-quant)
//! words/<k>.<format>     the word-embedding table in chunks of rows, fetched per query (see crate::embeddings)
//! projection.safetensors optional: text → joint space
//! shards/<period>.skyshard  one shard per period (see crate::shard)
//! thumbs/<id>.png        thumbnails
//! medium/<id>.png        optional: the same frames 512 px wide, for the case view and its loop
//!                        (fetched when a case opens; a frame without one shows its thumbnail)
//! overlay.json           optional: coastlines and region outlines per image grid (see crate::overlay)
//! multilingual/          optional: the encoder of Korean queries (multilingual-e5-small), loaded
//!   model.<sha>.json     only when a query needs it: its ModelInfo (word chunks), named after its content
//!   tokenizer.unigram    Unigram pieces (see crate::unigram)
//!   encoder.gguf         its 12 layers, 4-bit
//!   projection.safetensors  its own map into the joint space
//!   words/<k>.q4_0       its word rows in chunks, fetched per query
//! ```
//! Readers check the format version first, then each file's size and hash as it arrives.
//!
//! Version 2 moved the word-embedding table out of `encoder.gguf` into chunk files listed
//! under `model.word_embeddings`. The optional multilingual encoder (a second [`ModelInfo`],
//! its files under the `multilingual-*` roles) leaves version-2 readers that ignore it
//! working on English queries. Its [`ModelInfo`] is either inline (`multilingual`) or, as
//! `skycase export` writes it, in its own file (role [`MULTILINGUAL_MODEL`]): most of its
//! bytes are the list of its word chunks, which only a Korean query needs, so the manifest
//! that every visit loads first stays without them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The bundle format this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// The `format` string every manifest carries.
pub const FORMAT_NAME: &str = "skycase-bundle";

/// Roles of the multilingual encoder's files: loaded on the first query that needs it.
pub const MULTILINGUAL_TOKENIZER: &str = "multilingual-tokenizer";
/// See [`MULTILINGUAL_TOKENIZER`].
pub const MULTILINGUAL_ENCODER: &str = "multilingual-encoder";
/// See [`MULTILINGUAL_TOKENIZER`].
pub const MULTILINGUAL_PROJECTION: &str = "multilingual-projection";
/// Role of `multilingual/model.<sha256 prefix>.json`: the multilingual encoder's
/// [`ModelInfo`] (its word chunks), read with the encoder's files ([`Manifest::multilingual_info`]).
pub const MULTILINGUAL_MODEL: &str = "multilingual-model";
/// Role of the multilingual encoder's word-embedding chunks.
pub const MULTILINGUAL_WORDS: &str = "multilingual-word-embeddings";

/// Role of the medium images (`medium/<thumbnail's file name>`): not part of the first load.
pub const MEDIUM_ROLE: &str = "medium";
/// Their folder in the bundle (and beside `thumbs/` in a packed folder).
pub const MEDIUM_DIR: &str = "medium";

/// The medium image's path for thumbnail `thumb` (`thumbs/x.png` → `medium/x.png`): one
/// rule for export, which writes it, and the worker, which looks it up in the manifest.
///
/// ```
/// assert_eq!(skycase_core::bundle::medium_path("thumbs/sim_201711031200.png"), "medium/sim_201711031200.png");
/// ```
pub fn medium_path(thumb: &str) -> String {
    format!("{MEDIUM_DIR}/{}", thumb.rsplit('/').next().unwrap_or(thumb))
}

/// What the text side of the bundle is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Upstream model id, e.g. `sentence-transformers/all-MiniLM-L6-v2`.
    pub id: String,
    /// Text embedding dimension before projection.
    pub text_dim: usize,
    /// Encoder weight formats, e.g. `attention=q8_0,ffn_up=q4_0,ffn_down=q4_0,embeddings=q4_0`.
    pub quantization: String,
    /// Longest query in tokens.
    pub max_tokens: usize,
    /// The word-embedding table's chunk files.
    pub word_embeddings: WordTableInfo,
}

/// The word-embedding table as chunk files: chunk `k` holds rows
/// `k * rows_per_chunk .. min((k + 1) * rows_per_chunk, rows)`, each row `dim` values in
/// `format`'s ggml blocks, row after row, nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordTableInfo {
    /// Block format of the rows, e.g. `q4_0`.
    pub format: String,
    /// Rows (the vocabulary size).
    pub rows: usize,
    /// Values per row (the encoder's hidden size).
    pub dim: usize,
    /// Rows per chunk file (the last chunk may hold fewer).
    pub rows_per_chunk: usize,
    /// The chunk files in row order (role `word-embeddings`).
    pub chunks: Vec<FileEntry>,
}

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the manifest.
    pub path: String,
    /// What the file is: `tokenizer`, `encoder`, `projection`, `thumbnail`, `overlay`.
    pub role: String,
    /// Lower-case hex sha256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// One shard: the frames of one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// Period label, e.g. `2017-11`.
    pub period: String,
    /// Path relative to the manifest.
    pub path: String,
    /// Lower-case hex sha256.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Number of frames.
    pub frames: usize,
    /// First frame time (UTC, ISO 8601).
    pub start: String,
    /// Last frame time (UTC, ISO 8601).
    pub end: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Version of skycase that wrote it.
    pub generator: String,
    /// Text encoder.
    pub model: ModelInfo,
    /// Dimension of the vectors in the shards (= projection output, or `text_dim`).
    pub joint_dim: usize,
    /// Where the shard vectors come from, e.g. `caption-text` or `image-global`.
    pub vectors: String,
    /// Every file except the shards.
    pub files: Vec<FileEntry>,
    /// The shards, oldest first.
    pub shards: Vec<ShardEntry>,
    /// The second text encoder, for queries the first does not read (Korean), when described
    /// inline; its files are in `files` under the `multilingual-*` roles (where the
    /// description is in its own file, role [`MULTILINGUAL_MODEL`], this is `None` on disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multilingual: Option<ModelInfo>,
    /// The partitioned index (then `shards` is empty): only this manifest is fetched at
    /// start, partitions per query (see [`crate::partition`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<crate::partition::PartitionIndex>,
    /// The named storms whose days the archive's frames overlap ([`crate::storms`]): a query
    /// naming one searches its days.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storms: Vec<crate::storms::Storm>,
}

impl Manifest {
    /// Parses `manifest.json`, refusing unknown formats and versions before anything else.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::format("manifest.json", format!("not JSON: {e}")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(Error::format("manifest.json", format!("not a {FORMAT_NAME} manifest (no \"format\": \"{FORMAT_NAME}\")")));
        }
        let version = match value.get("format_version") {
            Some(serde_json::Value::Number(n)) => n.as_u64().ok_or_else(|| Error::format("manifest.json", format!("format_version {n} is not a whole number")))?,
            Some(other) => return Err(Error::format("manifest.json", format!("format_version is {other} ({}), expected a number such as {FORMAT_VERSION}", json_type(other)))),
            None => return Err(Error::format("manifest.json", "format_version is missing")),
        };
        if version != u64::from(FORMAT_VERSION) {
            return Err(Error::UnsupportedVersion {
                found: u32::try_from(version).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            });
        }
        let manifest: Manifest = serde_json::from_value(value).map_err(|e| Error::format("manifest.json", e.to_string()))?;
        let paths = manifest.files.iter().chain(&manifest.model.word_embeddings.chunks).map(|f| &f.path);
        for path in paths.chain(manifest.shards.iter().map(|s| &s.path)) {
            confined(path)?;
        }
        crate::storms::check(&manifest.storms, "manifest.json")?;
        if let Some(p) = &manifest.partitions {
            p.check()?;
            if p.dim != manifest.joint_dim {
                return Err(Error::format("manifest.json", format!("partitions hold vectors of {}, the joint space is {}", p.dim, manifest.joint_dim)));
            }
        }
        Ok(manifest)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest always serialises")
    }

    /// The file with a given role (the first, if several).
    pub fn file(&self, role: &str) -> Result<&FileEntry> {
        self.files
            .iter()
            .find(|f| f.role == role)
            .ok_or_else(|| Error::format("manifest.json", format!("no file with role '{role}'")))
    }

    /// Total bytes of the files loaded before the index is ready: tokenizer, encoder,
    /// projection and all shards. Thumbnails and word-embedding chunks load as queries
    /// need them, the overlay on the page once the index is ready.
    pub fn startup_bytes(&self) -> u64 {
        let later = |f: &&FileEntry| f.role == "thumbnail" || f.role == MEDIUM_ROLE || f.role == crate::overlay::OVERLAY_ROLE || f.role.starts_with("multilingual-");
        let files: u64 = self.files.iter().filter(|f| !later(f)).map(|f| f.bytes).sum();
        let leaves = self.partitions.as_ref().and_then(|p| p.leaves.as_ref()).map_or(0, |l| l.bytes);
        files + leaves + self.shards.iter().map(|s| s.bytes).sum::<u64>()
    }

    /// Bytes the first query that needs the multilingual encoder loads before its word
    /// chunks: its description, tokenizer, encoder and projection (0 without one).
    pub fn multilingual_bytes(&self) -> u64 {
        let roles = [MULTILINGUAL_MODEL, MULTILINGUAL_TOKENIZER, MULTILINGUAL_ENCODER, MULTILINGUAL_PROJECTION];
        self.files.iter().filter(|f| roles.contains(&f.role.as_str())).map(|f| f.bytes).sum()
    }
}

impl Manifest {
    /// Whether the bundle has a multilingual encoder (described inline or in its own file).
    pub fn has_multilingual(&self) -> bool {
        self.multilingual.is_some() || self.multilingual_model_file().is_some()
    }

    /// The file describing the multilingual encoder, when that description is not inline
    /// and still has to be read ([`read_multilingual_model`](Self::read_multilingual_model)).
    pub fn multilingual_model_file(&self) -> Option<&FileEntry> {
        self.multilingual.is_none().then(|| self.files.iter().find(|f| f.role == MULTILINGUAL_MODEL)).flatten()
    }

    /// Reads the multilingual encoder's description from the bytes of
    /// [`multilingual_model_file`](Self::multilingual_model_file) (checked against its entry
    /// here) into [`multilingual`](Self::multilingual), as if it had been inline.
    pub fn read_multilingual_model(&mut self, bytes: &[u8]) -> Result<()> {
        let entry = self.multilingual_model_file().ok_or_else(|| Error::format("manifest.json", "no multilingual encoder description to read"))?;
        entry.verify(bytes)?;
        let info: ModelInfo = serde_json::from_slice(bytes).map_err(|e| Error::format(&entry.path, e.to_string()))?;
        for chunk in &info.word_embeddings.chunks {
            confined(&chunk.path)?;
        }
        self.multilingual = Some(info);
        Ok(())
    }

    /// The multilingual encoder's description: inline, or read from its own file with
    /// `read` (checked); `None` without a multilingual encoder.
    pub fn multilingual_info(&self, read: impl FnOnce(&FileEntry) -> Result<Vec<u8>>) -> Result<Option<ModelInfo>> {
        match self.multilingual_model_file() {
            Some(entry) => {
                let mut m = self.clone();
                m.read_multilingual_model(&read(entry)?)?;
                Ok(m.multilingual)
            }
            None => Ok(self.multilingual.clone()),
        }
    }
}

/// The JSON type of a value, for messages.
fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Checks that a manifest path stays inside the bundle: relative, `/`-separated plain names
/// (no `..`, `.`, empty parts, backslashes, drive letters or URL syntax), so joining it to the
/// bundle folder or its URL can only name a file of the bundle.
pub fn confined(path: &str) -> Result<()> {
    let refuse = |why: &str| Err(Error::format("manifest.json", format!("file path {path:?} {why}; paths must stay inside the bundle")));
    if path.is_empty() {
        return refuse("is empty");
    }
    if path.starts_with('/') {
        return refuse("is absolute");
    }
    if path.contains(['\\', ':', '?', '#', '%', '\0']) {
        return refuse("contains \\, :, ?, #, % or NUL");
    }
    match path.split('/').find(|part| part.is_empty() || *part == "." || *part == "..") {
        Some("..") => refuse("climbs out with .."),
        Some(_) => refuse("has an empty or '.' part"),
        None => Ok(()),
    }
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks a file's bytes against its manifest entry while they stream in, so a download
/// needs no second pass over them.
pub struct StreamCheck {
    path: String,
    sha256: String,
    expected: u64,
    seen: u64,
    hasher: Sha256,
}

impl StreamCheck {
    /// Starts checking bytes against `entry`.
    pub fn new(entry: &FileEntry) -> Self {
        Self { path: entry.path.clone(), sha256: entry.sha256.clone(), expected: entry.bytes, seen: 0, hasher: Sha256::new() }
    }

    /// Feeds the next piece; fails as soon as more bytes arrive than the manifest promises.
    pub fn update(&mut self, piece: &[u8]) -> Result<()> {
        self.seen += piece.len() as u64;
        if self.seen > self.expected {
            return Err(Error::Size { file: self.path.clone(), expected: self.expected, actual: self.seen });
        }
        self.hasher.update(piece);
        Ok(())
    }

    /// Checks the total size and the hash.
    pub fn finish(self) -> Result<()> {
        if self.seen != self.expected {
            return Err(Error::Size { file: self.path, expected: self.expected, actual: self.seen });
        }
        let sha = hex::encode(self.hasher.finalize());
        if sha != self.sha256 {
            return Err(Error::Checksum { file: self.path, expected: self.sha256, actual: sha });
        }
        Ok(())
    }
}

/// Checks downloaded or read bytes against their manifest entry.
pub fn verify(path: &str, expected_sha256: &str, expected_bytes: u64, bytes: &[u8]) -> Result<()> {
    let actual = bytes.len() as u64;
    if actual != expected_bytes {
        return Err(Error::Size { file: path.to_string(), expected: expected_bytes, actual });
    }
    let sha = sha256_hex(bytes);
    if sha != expected_sha256 {
        return Err(Error::Checksum { file: path.to_string(), expected: expected_sha256.to_string(), actual: sha });
    }
    Ok(())
}

impl FileEntry {
    /// Verifies bytes against this entry.
    pub fn verify(&self, bytes: &[u8]) -> Result<()> {
        verify(&self.path, &self.sha256, self.bytes, bytes)
    }

    /// Describes bytes as an entry.
    pub fn describe(path: impl Into<String>, role: impl Into<String>, bytes: &[u8]) -> Self {
        Self { path: path.into(), role: role.into(), sha256: sha256_hex(bytes), bytes: bytes.len() as u64 }
    }
}

impl ShardEntry {
    /// Verifies bytes against this entry.
    pub fn verify(&self, bytes: &[u8]) -> Result<()> {
        verify(&self.path, &self.sha256, self.bytes, bytes)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small valid manifest (one tokenizer file, no shards) for tests here and in `load`.
    pub(crate) fn manifest() -> Manifest {
        Manifest {
            format: FORMAT_NAME.into(),
            format_version: FORMAT_VERSION,
            generator: "test".into(),
            model: ModelInfo {
                id: "m".into(),
                text_dim: 384,
                quantization: "q8_0".into(),
                max_tokens: 256,
                word_embeddings: WordTableInfo {
                    format: "q4_0".into(),
                    rows: 2,
                    dim: 32,
                    rows_per_chunk: 2,
                    chunks: vec![FileEntry::describe("words/000.q4_0", "word-embeddings", &[0; 36])],
                },
            },
            joint_dim: 384,
            vectors: "caption-text".into(),
            files: vec![FileEntry::describe("tokenizer.json", "tokenizer", b"{}")],
            shards: vec![],
            multilingual: None,
            partitions: None,
            storms: Vec::new(),
        }
    }

    #[test]
    fn round_trips() {
        let m = manifest();
        assert_eq!(Manifest::from_json(m.to_json().as_bytes()).unwrap(), m);
        assert!(!m.to_json().contains("multilingual"), "no entry when there is no second encoder");
        let mut two = manifest();
        two.multilingual = Some(two.model.clone());
        two.files.push(FileEntry::describe("multilingual/encoder.gguf", MULTILINGUAL_ENCODER, &[1; 10]));
        two.files.push(FileEntry::describe("multilingual/tokenizer.unigram", MULTILINGUAL_TOKENIZER, &[1; 5]));
        assert_eq!(Manifest::from_json(two.to_json().as_bytes()).unwrap(), two);
        // The second encoder loads with the first query that needs it, not at startup.
        assert_eq!(two.startup_bytes(), m.startup_bytes());
        assert_eq!(two.multilingual_bytes(), 15);
    }

    #[test]
    fn the_multilingual_description_can_live_in_its_own_file() {
        let info = manifest().model;
        let json = serde_json::to_vec(&info).unwrap();
        let mut m = manifest();
        assert!(!m.has_multilingual());
        m.files.push(FileEntry::describe("multilingual/model.json", MULTILINGUAL_MODEL, &json));
        m.files.push(FileEntry::describe("multilingual/encoder.gguf", MULTILINGUAL_ENCODER, &[1; 10]));
        let read = Manifest::from_json(m.to_json().as_bytes()).unwrap();
        assert_eq!((read.has_multilingual(), read.multilingual.is_none()), (true, true), "on disk: a file entry, no inline section");
        assert_eq!(read.startup_bytes(), manifest().startup_bytes(), "not part of the first load");
        assert_eq!(read.multilingual_bytes(), json.len() as u64 + 10);
        assert_eq!(read.multilingual_info(|f| Ok(if f.path == "multilingual/model.json" { json.clone() } else { vec![] })).unwrap(), Some(info.clone()));
        let mut attached = read.clone();
        attached.read_multilingual_model(&json).unwrap();
        assert_eq!(attached.multilingual, Some(info));
        assert_eq!(attached.multilingual_model_file(), None, "read once");
        // Checked against its entry, and its chunk paths kept inside the bundle.
        let mut wrong = read.clone();
        assert!(matches!(wrong.read_multilingual_model(b"{}").unwrap_err(), Error::Size { .. }));
        let mut escaping = manifest().model;
        escaping.word_embeddings.chunks[0].path = "../x".into();
        let bad = serde_json::to_vec(&escaping).unwrap();
        let mut m2 = manifest();
        m2.files.push(FileEntry::describe("multilingual/model.json", MULTILINGUAL_MODEL, &bad));
        assert!(m2.read_multilingual_model(&bad).unwrap_err().to_string().contains("inside the bundle"));
    }

    #[test]
    fn medium_images_and_thumbnails_are_not_part_of_the_first_load() {
        let mut m = manifest();
        let first = m.startup_bytes();
        assert_eq!(first, 2, "tokenizer.json's 2 bytes");
        m.files.push(FileEntry::describe("thumbs/a.png", "thumbnail", &[0; 100]));
        m.files.push(FileEntry::describe(&medium_path("thumbs/a.png"), MEDIUM_ROLE, &[0; 1000]));
        assert_eq!(m.startup_bytes(), first);
        m.files.push(FileEntry::describe("projection.safetensors", "projection", &[0; 10]));
        assert_eq!(m.startup_bytes(), first + 10);
    }

    #[test]
    fn refuses_other_versions_and_formats() {
        let mut m = manifest();
        m.format_version = 99;
        let err = Manifest::from_json(m.to_json().as_bytes()).unwrap_err();
        assert!(matches!(err, Error::UnsupportedVersion { found: 99, supported: FORMAT_VERSION }), "{err}");
        let err = Manifest::from_json(br#"{"format":"other"}"#).unwrap_err();
        assert!(err.to_string().contains("not a skycase-bundle manifest"), "{err}");
        assert!(Manifest::from_json(b"<html>").is_err());
    }

    #[test]
    fn a_version_of_the_wrong_type_is_a_type_error() {
        // See issue 12: `"format_version": "2"` was reported as version 0.
        let text = manifest().to_json().replace(&format!("\"format_version\": {FORMAT_VERSION}"), "\"format_version\": \"2\"");
        let err = Manifest::from_json(text.as_bytes()).unwrap_err().to_string();
        assert_eq!(err, "manifest.json: format_version is \"2\" (a string), expected a number such as 2");
        let text = manifest().to_json().replace(&format!("\"format_version\": {FORMAT_VERSION}"), "\"format_version\": 2.5");
        assert_eq!(Manifest::from_json(text.as_bytes()).unwrap_err().to_string(), "manifest.json: format_version 2.5 is not a whole number");
        let err = Manifest::from_json(br#"{"format":"skycase-bundle"}"#).unwrap_err().to_string();
        assert_eq!(err, "manifest.json: format_version is missing");
    }

    #[test]
    fn paths_that_leave_the_bundle_are_refused() {
        for (path, why) in [
            ("../secret", "climbs out with .."),
            ("words/../../x", "climbs out with .."),
            ("/etc/passwd", "is absolute"),
            ("C:/x", "contains"),
            ("a\\..\\b", "contains"),
            ("%2e%2e/x", "contains"),
            ("", "is empty"),
            ("a//b", "has an empty or '.' part"),
            ("./a", "has an empty or '.' part"),
        ] {
            let mut m = manifest();
            m.files.push(FileEntry::describe(path, "thumbnail", b""));
            let err = Manifest::from_json(m.to_json().as_bytes()).unwrap_err().to_string();
            assert!(err.starts_with(&format!("manifest.json: file path {path:?} {why}")), "{path}: {err}");
            let mut m = manifest();
            m.model.word_embeddings.chunks[0].path = path.to_string();
            assert!(Manifest::from_json(m.to_json().as_bytes()).is_err(), "chunk {path}");
        }
        let mut m = manifest();
        m.shards.push(ShardEntry { period: "p".into(), path: "../p.skyshard".into(), sha256: String::new(), bytes: 0, frames: 0, start: String::new(), end: String::new() });
        assert!(Manifest::from_json(m.to_json().as_bytes()).unwrap_err().to_string().contains("climbs out"));
        confined("shards/2017-11.skyshard").unwrap();
        confined("thumbs/sim-201711101200.png").unwrap();
    }

    #[test]
    fn verify_names_the_file() {
        let e = FileEntry::describe("tokenizer.json", "tokenizer", b"{}");
        e.verify(b"{}").unwrap();
        let err = e.verify(b"[]").unwrap_err();
        assert!(matches!(err, Error::Checksum { .. }));
        assert!(err.to_string().starts_with("tokenizer.json: sha256 mismatch"), "{err}");
        assert!(matches!(e.verify(b"{ }").unwrap_err(), Error::Size { expected: 2, actual: 3, .. }));
    }

    #[test]
    fn streamed_checks_agree_with_whole_ones() {
        let e = FileEntry::describe("encoder.gguf", "encoder", b"hello world");
        let mut ok = StreamCheck::new(&e);
        for piece in [&b"hel"[..], b"lo w", b"orld"] {
            ok.update(piece).unwrap();
        }
        ok.finish().unwrap();
        let mut bad = StreamCheck::new(&e);
        bad.update(b"hello World").unwrap();
        assert!(bad.finish().unwrap_err().to_string().starts_with("encoder.gguf: sha256 mismatch"));
        let mut long = StreamCheck::new(&e);
        assert!(matches!(long.update(b"hello world!").unwrap_err(), Error::Size { expected: 11, actual: 12, .. }));
        let mut short = StreamCheck::new(&e);
        short.update(b"hello").unwrap();
        assert!(matches!(short.finish().unwrap_err(), Error::Size { expected: 11, actual: 5, .. }));
    }

    #[test]
    fn sha256_of_abc() {
        // FIPS 180-2 test vector.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
