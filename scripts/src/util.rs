//! Small helpers shared by the subcommands.

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename, so a
/// crash never leaves a half-written file under the final name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    let tmp = path.with_extension(format!("{}.partial", path.extension().and_then(|e| e.to_str()).unwrap_or("tmp")));
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot rename into place", path.display()))?;
    Ok(())
}

/// A folder that a partitioned index is written into ([`skycase_core::partition::build::Store`]):
/// whole files atomically, leaf files appended to (a file appended to for the first time by
/// this store starts empty, so a half-built file of an interrupted run is not continued).
pub struct DirStore {
    dir: std::path::PathBuf,
    started: std::collections::HashSet<String>,
}

impl DirStore {
    /// Writes under `dir`.
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), started: Default::default() }
    }
}

fn usage(e: anyhow::Error) -> skycase_core::Error {
    skycase_core::Error::Usage(format!("{e:#}"))
}

impl skycase_core::partition::build::Store for DirStore {
    fn write(&mut self, rel: &str, bytes: &[u8]) -> skycase_core::Result<()> {
        write_atomic(&self.dir.join(rel), bytes).map_err(usage)
    }
    fn append(&mut self, rel: &str, bytes: &[u8]) -> skycase_core::Result<()> {
        use std::io::Write;
        let path = self.dir.join(rel);
        let first = self.started.insert(rel.to_string());
        let open = || -> Result<()> {
            if first {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
                }
            }
            let mut f = std::fs::OpenOptions::new().create(true).append(!first).write(true).truncate(first).open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
            f.write_all(bytes).with_context(|| format!("{}: cannot write", path.display()))
        };
        open().map_err(usage)
    }
    fn rename(&mut self, from: &str, to: &str) -> skycase_core::Result<()> {
        let (a, b) = (self.dir.join(from), self.dir.join(to));
        std::fs::rename(&a, &b).with_context(|| format!("{}: cannot rename to {}", a.display(), b.display())).map_err(usage)
    }
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// A progress bar with the house style.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta} left)")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// The command line (program name `skycase`), shell-quoted where needed, as
/// reports and index descriptions record it.
pub fn command_line() -> String {
    std::iter::once("skycase".to_string())
        .chain(std::env::args().skip(1))
        .map(|a| {
            if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c)) {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
