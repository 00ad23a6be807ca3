//! Month directories of a `skypart-3` index: a query whose filters allow one or two months
//! plans by them instead of by list files (issue 11).
//!
//! Through the list files a month-filtered cold query takes three network rounds after it is
//! embedded: the list files it probes (decade H: ~20 of them under a one-month filter, which
//! widens the plan), the codes areas of its leaves, then the row blocks of its best
//! candidates with their records. Which list files it needs depends on the query vector, so
//! they cannot come earlier. A month's directory holds, for every list, its list file's rows
//! of that month (their partition table; not the sub-centroids nor the leaf file names, which
//! the leaf directory has): it depends on the filters alone, so the worker fetches it while
//! the query's word chunks come and it is embedded, and a later query in the same month needs
//! no list file at all.
//!
//! ```text
//! parts/months/<YYYY-MM>-<sha16>.json   {"period": p, "lists": [ListFile…]}
//!     each list with a partition in month p, in list order, its columns cut to that month;
//!     `centroids` and `leaves` empty
//! ```
//!
//! (Not the directory a leaf's tail ends with, which places that leaf's months in its file:
//! [`super::leaves`].)
//!
//! Written for indexes that plan lean only ([`PartitionIndex::plans_lean`]): a smaller one is
//! fetched whole before its first query. The lists a plan makes of month directories
//! ([`PartitionIndex::lists_of_months`]) are its list files cut to those months, with the
//! sub-centroids and leaf names of the leaf directory, so the plan is the list files' plan
//! (tested: `partition::tests`).

use serde::{Deserialize, Serialize};

use super::{searched_days, ListFile, PartitionIndex};
use crate::error::{Error, Result};
use crate::filters::Filters;

/// Role of month directories among a bundle's files.
pub const MONTHS_ROLE: &str = "partition-month";
/// The most months a query plans by their directories; more read the list files as before
/// (a directory is ~86 kB gzip on decade H, about two list files, where a one-month plan
/// reads ~20 list files).
pub const MONTH_DIRS_MAX: usize = 2;

/// Path of the directory of month `period` (`YYYY-MM`).
pub fn month_path(period: &str, sha256: &str) -> String {
    format!("parts/months/{period}-{}.json", &sha256[..16.min(sha256.len())])
}

/// One month's directory (see the module header).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthDir {
    /// Index into the manifest's periods.
    pub period: u32,
    /// The lists with a partition in it, in list order, cut to it.
    pub lists: Vec<ListFile>,
}

impl MonthDir {
    /// The directory of month `period` of list files `lists`.
    pub fn of(lists: &[ListFile], period: u32) -> Self {
        let lists = lists.iter().map(|lf| lf.of_periods(&|p| p == period)).filter(|lf| !lf.sub.is_empty()).map(|lf| ListFile { centroids: String::new(), leaves: Vec::new(), ..lf }).collect();
        Self { period, lists }
    }

    /// Parses a month directory (already verified against its manifest entry); `file` names
    /// it in errors.
    pub fn from_json(bytes: &[u8], file: &str) -> Result<Self> {
        let dir: Self = serde_json::from_slice(bytes).map_err(|e| Error::format(file, format!("not a month directory: {e}")))?;
        if let Some(lf) = dir.lists.iter().find(|lf| lf.period.iter().any(|&p| p != dir.period)) {
            return Err(Error::format(file, format!("list {} has partitions of another month than {}", lf.list, dir.period)));
        }
        if dir.lists.windows(2).any(|w| w[0].list >= w[1].list) {
            return Err(Error::format(file, "its lists are not in list order"));
        }
        if let Some(lf) = dir.lists.iter().find(|lf| !lf.columns_agree()) {
            return Err(Error::format(file, format!("the columns of list {} differ in length", lf.list)));
        }
        Ok(dir)
    }
}

impl ListFile {
    /// Whether every column of its partition table has one entry a partition (hashes: 32
    /// hex digits each; the per-vector counts and `skypart-3` columns may be empty).
    fn columns_agree(&self) -> bool {
        let n = self.sub.len();
        let each = [self.period.len(), self.offset.len(), self.bytes.len(), self.rows.len(), self.first.len(), self.last.len()];
        let optional = [self.codes_at.len(), self.codes_bytes.len(), self.recs_at.len(), self.recs_bytes.len()];
        each.iter().all(|&c| c == n)
            && optional.iter().all(|&c| c == 0 || c == n)
            && self.sha256.len() == n * 32
            && (self.codes_sha.is_empty() || self.codes_sha.len() == n * 32)
            && (n == 0 || self.vector_rows.len() % n == 0)
    }

    /// The list cut to the partitions of the months `keep` allows (indices into the
    /// manifest's periods), in the same order.
    pub fn of_periods(&self, keep: &dyn Fn(u32) -> bool) -> ListFile {
        let rows: Vec<usize> = (0..self.sub.len()).filter(|&i| keep(self.period[i])).collect();
        fn pick<T: Copy>(column: &[T], rows: &[usize]) -> Vec<T> {
            if column.is_empty() {
                return Vec::new();
            }
            rows.iter().map(|&i| column[i]).collect()
        }
        // Hashes are hex of a fixed width, concatenated.
        let hexes = |text: &str| -> String {
            let per = text.len().checked_div(self.sub.len()).unwrap_or(0);
            rows.iter().map(|&i| &text[i * per..(i + 1) * per]).collect()
        };
        let vpf = self.vector_rows.len().checked_div(self.sub.len()).unwrap_or(0);
        ListFile {
            list: self.list,
            centroids: self.centroids.clone(),
            sub: pick(&self.sub, &rows),
            period: pick(&self.period, &rows),
            leaves: self.leaves.clone(),
            offset: pick(&self.offset, &rows),
            sha256: hexes(&self.sha256),
            bytes: pick(&self.bytes, &rows),
            rows: pick(&self.rows, &rows),
            first: pick(&self.first, &rows),
            last: pick(&self.last, &rows),
            vector_rows: rows.iter().flat_map(|&i| self.vector_rows.get(i * vpf..(i + 1) * vpf).unwrap_or(&[]).iter().copied()).collect(),
            codes_at: pick(&self.codes_at, &rows),
            codes_bytes: pick(&self.codes_bytes, &rows),
            codes_sha: hexes(&self.codes_sha),
            recs_at: pick(&self.recs_at, &rows),
            recs_bytes: pick(&self.recs_bytes, &rows),
            decoded: Default::default(),
        }
    }
}

impl PartitionIndex {
    /// The months (indices into [`periods`](Self::periods)) whose directories a query under
    /// `filters` plans by, or `None` when it reads list files: an index that does not plan
    /// lean or has no leaf directory loaded (the sub-centroids come from it), filters that
    /// allow no month or more than [`MONTH_DIRS_MAX`], or an allowed month without a directory.
    /// A query allowing every month whole plans by the leaf directory first
    /// ([`plan_tails`](Self::plan_tails)).
    pub fn month_dirs(&self, filters: &Filters) -> Option<Vec<usize>> {
        if self.leaf_dir().is_none() || !self.plans_lean() {
            return None;
        }
        let months: Vec<usize> = searched_days(&self.periods, filters).iter().enumerate().filter(|(_, a)| a.is_some()).map(|(p, _)| p).collect();
        let fits = (1..=MONTH_DIRS_MAX).contains(&months.len()) && months.iter().all(|&p| self.periods[p].directory.is_some());
        fits.then_some(months)
    }

    /// The list files of lists `planned` as a plan under filters allowing only the months of
    /// `months` needs them (see the module header): each list's rows of those months, months
    /// in order, with the sub-centroids and leaf names of the leaf directory. `months` must
    /// be the directories of every month [`month_dirs`](Self::month_dirs) named, in any order.
    pub fn lists_of_months(&self, planned: &[usize], months: &[&MonthDir]) -> Result<Vec<ListFile>> {
        let dir = self.leaf_dir().ok_or_else(|| Error::Usage("month directories are read with the leaf directory, which is not loaded".into()))?;
        let mut months: Vec<&MonthDir> = months.to_vec();
        months.sort_by_key(|m| m.period);
        let subs = dir.subs();
        let mut out = Vec::with_capacity(planned.len());
        for &l in planned {
            let mut cut: Option<ListFile> = None;
            for m in &months {
                let Ok(at) = m.lists.binary_search_by_key(&l, |lf| lf.list) else { continue };
                let part = &m.lists[at];
                cut = Some(match cut {
                    None => part.clone(),
                    Some(mut whole) => {
                        whole.append(part);
                        whole
                    }
                });
            }
            let mut lf = cut.unwrap_or_else(|| ListFile::empty(l));
            lf.centroids = dir.list_centroids(l).to_hex();
            lf.leaves = (0..subs).map(|sub| dir.leaf(l, sub).map(|e| e.name.clone()).unwrap_or_default()).collect();
            out.push(lf);
        }
        Ok(out)
    }
}

impl ListFile {
    /// List `list` without partitions.
    fn empty(list: usize) -> Self {
        ListFile {
            list,
            centroids: String::new(),
            sub: Vec::new(),
            period: Vec::new(),
            leaves: Vec::new(),
            offset: Vec::new(),
            sha256: String::new(),
            bytes: Vec::new(),
            rows: Vec::new(),
            first: Vec::new(),
            last: Vec::new(),
            vector_rows: Vec::new(),
            codes_at: Vec::new(),
            codes_bytes: Vec::new(),
            codes_sha: String::new(),
            recs_at: Vec::new(),
            recs_bytes: Vec::new(),
            decoded: Default::default(),
        }
    }

    /// Appends the partitions of `other` (a later month of the same list).
    fn append(&mut self, other: &ListFile) {
        self.sub.extend(&other.sub);
        self.period.extend(&other.period);
        self.offset.extend(&other.offset);
        self.sha256.push_str(&other.sha256);
        self.bytes.extend(&other.bytes);
        self.rows.extend(&other.rows);
        self.first.extend(&other.first);
        self.last.extend(&other.last);
        self.vector_rows.extend(&other.vector_rows);
        self.codes_at.extend(&other.codes_at);
        self.codes_bytes.extend(&other.codes_bytes);
        self.codes_sha.push_str(&other.codes_sha);
        self.recs_at.extend(&other.recs_at);
        self.recs_bytes.extend(&other.recs_bytes);
    }
}
