//! The one load order of a bundle, shared by the browser worker (which downloads) and the
//! native companion (which reads a folder): which files a [`Searcher`] needs before its first
//! query, in what order, and how their bytes become the searcher.
//!
//! ```text
//! manifest.json → StartupFiles::of → entries(): tokenizer, encoder, [projection], [calibration], shards…
//!              → (caller fetches and verifies each) → StartupFiles::build → Searcher
//! ```
//! Word-embedding chunks are not among them: they load per query
//! ([`Searcher::missing_chunks`]) or all at once after [`StartupFiles::build`].

use crate::bundle::{FileEntry, Manifest};
use crate::error::{Error, Result};
use crate::search::Searcher;
use crate::shard::Shard;
use crate::text::TextTokenizer;

/// Manifest role of the shards as [`StartupFiles`] lists them (shards have their own
/// manifest list, [`Manifest::shards`], without a role).
pub const SHARD_ROLE: &str = "shard";

/// Manifest role of `calibration.json`.
pub const CALIBRATION_ROLE: &str = "calibration";

/// The files a searcher needs at start.
#[derive(Debug, Clone, PartialEq)]
pub struct StartupFiles {
    /// `tokenizer.json`.
    pub tokenizer: FileEntry,
    /// The quantized encoder (`encoder.gguf`).
    pub encoder: FileEntry,
    /// The text projection, when the bundle's vectors live in a learned joint space.
    pub projection: Option<FileEntry>,
    /// The "nothing close" calibration (`calibration.json`, [`crate::strength`]), when the
    /// bundle has one.
    pub calibration: Option<FileEntry>,
    /// The leaf directory of a partitioned index that has one
    /// ([`crate::partition::leaves`]).
    pub leaves: Option<FileEntry>,
    /// One entry per shard, role [`SHARD_ROLE`], in manifest order.
    pub shards: Vec<FileEntry>,
}

impl StartupFiles {
    /// Picks the startup files out of a manifest; an error names a missing role.
    pub fn of(manifest: &Manifest) -> Result<Self> {
        Ok(Self {
            tokenizer: manifest.file("tokenizer")?.clone(),
            encoder: manifest.file("encoder")?.clone(),
            projection: manifest.files.iter().find(|f| f.role == "projection").cloned(),
            calibration: manifest.files.iter().find(|f| f.role == CALIBRATION_ROLE).cloned(),
            leaves: manifest.partitions.as_ref().and_then(|p| p.leaves.clone()),
            shards: manifest
                .shards
                .iter()
                .map(|s| FileEntry { path: s.path.clone(), role: SHARD_ROLE.into(), sha256: s.sha256.clone(), bytes: s.bytes })
                .collect(),
        })
    }

    /// Every file in load order: tokenizer, encoder, projection, calibration and leaf
    /// directory (if any), shards.
    pub fn entries(&self) -> Vec<&FileEntry> {
        [&self.tokenizer, &self.encoder].into_iter().chain(self.projection.as_ref()).chain(self.calibration.as_ref()).chain(self.leaves.as_ref()).chain(&self.shards).collect()
    }

    /// Builds the searcher from the files' bytes, given in [`entries`](Self::entries) order
    /// and already verified against their entries by the caller (the worker checks while
    /// streaming). No word-embedding chunk is loaded yet.
    pub fn build(&self, manifest: Manifest, bytes: Vec<Vec<u8>>) -> Result<Searcher> {
        let expected = self.entries().len();
        if bytes.len() != expected {
            return Err(Error::Usage(format!("{expected} startup files are needed, {} were given", bytes.len())));
        }
        let mut bytes = bytes.into_iter();
        let tokenizer = TextTokenizer::from_bytes(&bytes.next().unwrap_or_default())?;
        self.build_with_tokenizer(manifest, tokenizer, bytes.collect())
    }

    /// As [`build`](Self::build), with the tokenizer (the first file) already read, so that a
    /// caller can read it while the other files arrive; `rest`: the other files' bytes, in
    /// [`entries`](Self::entries) order after the tokenizer.
    pub fn build_with_tokenizer(&self, manifest: Manifest, tokenizer: TextTokenizer, rest: Vec<Vec<u8>>) -> Result<Searcher> {
        let expected = self.entries().len() - 1;
        if rest.len() != expected {
            return Err(Error::Usage(format!("{expected} startup files after the tokenizer are needed, {} were given", rest.len())));
        }
        let mut bytes = rest.into_iter();
        let encoder = bytes.next().unwrap_or_default();
        let projection = self.projection.as_ref().and_then(|_| bytes.next());
        let calibration = self.calibration.as_ref().and_then(|c| bytes.next().map(|b| (c.path.clone(), b)));
        let mut manifest = manifest;
        // A leaf directory given as no bytes (the worker could not have it): queries plan
        // through the list files.
        if let (Some(entry), Some(index)) = (&self.leaves, manifest.partitions.as_mut()) {
            let leaves = bytes.next().unwrap_or_default();
            if !leaves.is_empty() {
                index.load_leaves(&leaves, &entry.path)?;
            }
        }
        let shards = self.shards.iter().zip(bytes).map(|(entry, b)| Shard::from_bytes(&b, &entry.path)).collect::<Result<Vec<_>>>()?;
        let mut searcher = Searcher::with_tokenizer(manifest, tokenizer, &encoder, projection.as_deref(), shards)?;
        if let Some((path, b)) = calibration {
            searcher.set_calibration(&b, &path)?;
        }
        Ok(searcher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::ShardEntry;

    fn manifest(projection: bool) -> Manifest {
        let mut m = crate::bundle::tests::manifest();
        m.files.insert(0, FileEntry::describe("thumbs/a.png", "thumbnail", b"png"));
        m.files.insert(1, FileEntry::describe("encoder.gguf", "encoder", b"gguf"));
        if projection {
            m.files.push(FileEntry::describe("projection.safetensors", "projection", b"st"));
        }
        m.shards.push(ShardEntry {
            period: "2017-11".into(),
            path: "2017-11.skyshard".into(),
            sha256: "11".into(),
            bytes: 2,
            frames: 1,
            start: "2017-11-01T00:00Z".into(),
            end: "2017-11-01T00:00Z".into(),
        });
        m
    }

    #[test]
    fn load_order_is_tokenizer_encoder_projection_shards() {
        let paths = |m: &Manifest| StartupFiles::of(m).unwrap().entries().iter().map(|f| f.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&manifest(false)), ["tokenizer.json", "encoder.gguf", "2017-11.skyshard"]);
        assert_eq!(paths(&manifest(true)), ["tokenizer.json", "encoder.gguf", "projection.safetensors", "2017-11.skyshard"]);
        let mut with_cal = manifest(true);
        with_cal.files.push(FileEntry::describe("calibration.json", CALIBRATION_ROLE, b"{}"));
        assert_eq!(paths(&with_cal), ["tokenizer.json", "encoder.gguf", "projection.safetensors", "calibration.json", "2017-11.skyshard"]);
        let files = StartupFiles::of(&manifest(false)).unwrap();
        assert_eq!((files.shards[0].role.as_str(), files.shards[0].bytes), (SHARD_ROLE, 2));
    }

    #[test]
    fn a_missing_role_or_file_count_is_an_error() {
        let mut m = manifest(false);
        m.files.retain(|f| f.role != "encoder");
        assert!(StartupFiles::of(&m).unwrap_err().to_string().contains("no file with role 'encoder'"));
        let m = manifest(false);
        let err = StartupFiles::of(&m).unwrap().build(m.clone(), vec![Vec::new()]).err().unwrap();
        assert!(err.to_string().contains("3 startup files are needed, 1 were given"), "{err}");
    }
}
