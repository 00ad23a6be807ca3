//! Batch ingest: find the readable files under some paths, group them into frames, read,
//! store, and report. A bad file is skipped with its reason; the batch goes on.
//! Frames whose input files (path, size, mtime) are already in the store are not redone.
//!
//! The walk never stops at a bad path either: a dangling symbolic link, a link loop, a
//! folder that cannot be listed or one reached twice through links becomes a
//! [`Job::Unreadable`] that is skipped with its reason while the good files are ingested.
//! Two inputs that make the same frame id in one run do not overwrite each other: the
//! first is stored, the later one is skipped with a reason naming both.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::frame::{Frame, InputFile};
use crate::sidecar::{find_sidecar, Sidecar};
use crate::store::FrameStore;

/// One unit of work: the files that make one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// xRIT segments of one image.
    Xrit(Vec<PathBuf>),
    /// GK-2A AMI L1B netCDF (or another netCDF/HDF5 product, refused with a reason).
    Netcdf(PathBuf),
    /// Digital Typhoon HDF5.
    DigitalTyphoon(PathBuf),
    /// KMA product PNG.
    KmaPng(PathBuf),
    /// PNG with a `meta.json` sidecar.
    SidecarPng(PathBuf, PathBuf),
    /// Nothing reads it.
    Unknown(PathBuf),
    /// A path the walk could not use (dangling link, link loop, unlistable folder), and why.
    Unreadable(PathBuf, String),
}

impl Job {
    /// Files this job reads.
    pub fn files(&self) -> Vec<&Path> {
        match self {
            Job::Xrit(v) => v.iter().map(|p| p.as_path()).collect(),
            Job::Netcdf(p) | Job::DigitalTyphoon(p) | Job::KmaPng(p) | Job::Unknown(p) | Job::Unreadable(p, _) => vec![p],
            Job::SidecarPng(p, _) => vec![p],
        }
    }
}

/// Files that are not frames but support them (tracks, sidecars, docs): not reported as skips.
fn is_auxiliary(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    matches!(ext.as_str(), "md" | "tsv" | "json" | "jsonl" | "geojson" | "txt" | "cdl") || name.starts_with('.')
}

/// Expand `paths` (files or folders, recursively) into jobs, plus the auxiliary files seen.
/// Paths that cannot be used come back as [`Job::Unreadable`] jobs.
pub fn plan(paths: &[PathBuf]) -> Result<(Vec<Job>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut jobs = Vec::new();
    let mut seen_dirs = HashSet::new();
    for p in paths {
        walk(p, &mut files, &mut jobs, &mut seen_dirs);
    }
    files.sort();
    files.dedup();
    let mut aux = Vec::new();
    let mut xrit: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for f in files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let inner_ext = Path::new(name.strip_suffix(".gz").unwrap_or(&name)).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let ext = if ext == "gz" && (inner_ext == "hrit" || inner_ext == "lrit") { inner_ext } else { ext };
        if is_auxiliary(&f) {
            aux.push(f);
        } else if ext == "hrit" || ext == "lrit" {
            match crate::xrit::group_key(&f) {
                Some(k) => xrit.entry(k).or_default().push(f),
                None => jobs.push(Job::Xrit(vec![f])),
            }
        } else if ext == "nc" {
            jobs.push(Job::Netcdf(f));
        } else if ext == "h5" || ext == "hdf5" {
            jobs.push(Job::DigitalTyphoon(f));
        } else if ext == "png" && crate::kma::is_kma_name(&f) {
            jobs.push(Job::KmaPng(f));
        } else if ext == "png" {
            match find_sidecar(&f) {
                Some(s) => jobs.push(Job::SidecarPng(f, s)),
                None => jobs.push(Job::Unknown(f)),
            }
        } else {
            jobs.push(Job::Unknown(f));
        }
    }
    jobs.extend(xrit.into_values().map(Job::Xrit));
    Ok((jobs, aux))
}

fn walk(p: &Path, out: &mut Vec<PathBuf>, bad: &mut Vec<Job>, seen_dirs: &mut HashSet<PathBuf>) {
    let md = match std::fs::metadata(p) {
        Ok(md) => md,
        Err(e) => {
            let link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
            let reason = match (link, e.kind()) {
                (true, std::io::ErrorKind::NotFound) => "dangling symbolic link (its target does not exist)".to_string(),
                (true, _) => format!("symbolic link that cannot be followed: {e}"),
                _ => format!("cannot read: {e}"),
            };
            bad.push(Job::Unreadable(p.to_path_buf(), reason));
            return;
        }
    };
    if !md.is_dir() {
        out.push(p.to_path_buf());
        return;
    }
    // Links can lead back to a folder already walked (a loop): walk each folder once.
    if !seen_dirs.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())) {
        bad.push(Job::Unreadable(p.to_path_buf(), "folder already walked (symbolic links lead back to it)".into()));
        return;
    }
    let entries = match std::fs::read_dir(p) {
        Ok(entries) => entries,
        Err(e) => {
            bad.push(Job::Unreadable(p.to_path_buf(), format!("cannot list folder: {e}")));
            return;
        }
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        walk(&e, out, bad, seen_dirs);
    }
}

/// What happened to one job.
#[derive(Debug)]
pub enum Outcome {
    /// Stored as this frame id.
    Ingested(String),
    /// Inputs unchanged since a previous run: nothing done.
    Unchanged(String),
    /// Refused, with the error (names file and reason).
    Skipped(Error),
}

/// Summary of a batch.
#[derive(Debug, Default)]
pub struct Summary {
    /// Frames written this run.
    pub ingested: Vec<String>,
    /// Frames already in the store with the same inputs.
    pub unchanged: Vec<String>,
    /// Refused inputs.
    pub skipped: Vec<Error>,
    /// Auxiliary files seen (tracks, sidecars, docs).
    pub auxiliary: Vec<PathBuf>,
    /// Of the ingested frames, how many are incomplete / uncalibrated.
    pub incomplete: Vec<String>,
    /// Uncalibrated frames (kelvin assumed).
    pub uncalibrated: Vec<String>,
}

fn input_file(p: &Path) -> Result<InputFile> {
    let md = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
    let mtime = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let path = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    Ok(InputFile { path: path.display().to_string(), size: md.len(), mtime })
}

/// Read one job into a frame (no store involved).
pub fn read_job(job: &Job, sidecars: &mut HashMap<PathBuf, Sidecar>) -> Result<Frame> {
    match job {
        Job::Xrit(paths) => crate::xrit::read_frame(paths),
        Job::Netcdf(p) => crate::gk2a::read_frame(p),
        Job::DigitalTyphoon(p) => crate::dt::read_frame(p),
        Job::KmaPng(p) => crate::kma::read_frame(p),
        Job::SidecarPng(p, s) => {
            if !sidecars.contains_key(s) {
                let bytes = std::fs::read(s).map_err(|e| Error::io(s, e))?;
                sidecars.insert(s.clone(), Sidecar::parse(&bytes, s)?);
            }
            sidecars[s].read_frame(p)
        }
        Job::Unknown(p) => Err(Error::unsupported(p, unknown_reason(p))),
        Job::Unreadable(p, reason) => Err(Error::io(p, std::io::Error::other(reason.clone()))),
    }
}

fn unknown_reason(p: &Path) -> String {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext.eq_ignore_ascii_case("png") {
        "PNG without a meta.json navigation sidecar and not a KMA ea040ps product: unknown product".into()
    } else {
        format!("unknown product (extension {ext:?}; readers: .hrit/.lrit, .nc, .h5, KMA ea040ps .png, .png + meta.json)")
    }
}

/// Progress callback payload.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Jobs done.
    pub done: usize,
    /// Jobs in total.
    pub total: usize,
}

/// Ingest `jobs` into `store`, calling `progress` after each job.
pub fn run(jobs: &[Job], store: &FrameStore, mut progress: impl FnMut(Progress, &Outcome)) -> Result<Summary> {
    let index = store.input_index()?;
    let mut sidecars = HashMap::new();
    let mut summary = Summary::default();
    // Frame id → the input that wrote it in this run.
    let mut written: HashMap<String, PathBuf> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        let (outcome, extra) = process(job, store, &index, &mut sidecars, &written);
        summary.skipped.extend(extra);
        progress(Progress { done: i + 1, total: jobs.len() }, &outcome);
        match outcome {
            Outcome::Ingested(id) => {
                written.insert(id.clone(), job.files().first().map(|p| p.to_path_buf()).unwrap_or_default());
                summary.ingested.push(id)
            }
            Outcome::Unchanged(id) => summary.unchanged.push(id),
            Outcome::Skipped(e) => summary.skipped.push(e),
        }
    }
    for id in &summary.ingested {
        if let Ok(m) = store.meta(id) {
            if !m.complete {
                summary.incomplete.push(id.clone());
            }
            if !m.calibration.is_calibrated() {
                summary.uncalibrated.push(id.clone());
            }
        }
    }
    Ok(summary)
}

/// Process one job: the outcome, plus errors of individual bad segments of an xRIT image
/// whose other segments still made an (incomplete) frame.
fn process(
    job: &Job,
    store: &FrameStore,
    index: &HashMap<(String, u64, i64), String>,
    sidecars: &mut HashMap<PathBuf, Sidecar>,
    written: &HashMap<String, PathBuf>,
) -> (Outcome, Vec<Error>) {
    if let Job::Unreadable(..) = job {
        let err = read_job(job, sidecars).err().unwrap_or_else(|| Error::unsupported(Path::new("<walk>"), "unreadable"));
        return (Outcome::Skipped(err), vec![]);
    }
    let inputs: Result<Vec<InputFile>> = job.files().into_iter().map(input_file).collect();
    let inputs = match inputs {
        Ok(i) => i,
        Err(e) => return (Outcome::Skipped(e), vec![]),
    };
    let known: Vec<Option<&String>> = inputs.iter().map(|i| index.get(&(i.path.clone(), i.size, i.mtime))).collect();
    if let Some(Some(id)) = known.first() {
        if known.iter().all(|k| k == &Some(*id)) && store.contains(id) {
            return (Outcome::Unchanged((*id).clone()), vec![]);
        }
    }
    let mut extra = Vec::new();
    let read = match job {
        Job::Xrit(paths) => {
            // Decode segments one by one: a bad segment is reported and left out (its
            // lines stay NaN and the frame is marked incomplete), the others still count.
            let mut segs = Vec::new();
            for p in paths {
                match crate::xrit::read_file(p).and_then(|b| crate::xrit::decode_segment(&b, p)) {
                    Ok(s) => segs.push(s),
                    Err(e) => extra.push(e),
                }
            }
            if segs.is_empty() {
                match extra.pop() {
                    Some(e) => Err(e),
                    None => Err(Error::unsupported(Path::new("<xRIT>"), "no segments")),
                }
            } else {
                crate::xrit::assemble(segs)
            }
        }
        _ => read_job(job, sidecars),
    };
    let mut frame = match read {
        Ok(f) => f,
        Err(e) => return (Outcome::Skipped(e), extra),
    };
    if let Some(first) = written.get(&frame.meta.id) {
        let this = job.files().first().map(|p| p.to_path_buf()).unwrap_or_default();
        let reason = format!("frame id {} was already written in this run from {}; this input is skipped", frame.meta.id, first.display());
        return (Outcome::Skipped(Error::store(&this, reason)), extra);
    }
    frame.meta.inputs = inputs.into_iter().filter(|i| !extra.iter().any(|e| Path::new(&i.path).ends_with(e.path().file_name().unwrap_or_default()))).collect();
    let thumb = crate::render::thumbnail_png(&frame);
    match store.put(&frame, Some(&thumb)) {
        Ok(m) => (Outcome::Ingested(m.id), extra),
        Err(e) => (Outcome::Skipped(e), extra),
    }
}
