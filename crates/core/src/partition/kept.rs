//! Which partitions a searcher keeps in memory between queries.
//!
//! Two kinds: a whole partition, kept under its key (`PartRef::key`) for good and reused by
//! any later plan naming it; and an answer's partition (skypart-3: the few rows of a segment
//! that one answer's hits need), kept in a group for that answer. An answer is numbered when
//! it starts (a later one has a larger number); it may keep several groups (partial answers,
//! then the whole one). What stays of the answers' groups:
//!
//! - of each answer, its latest group, and the one before while the latest is partial (a
//!   partial answer that found nothing to show leaves the previous one shown); a whole
//!   answer's group releases that answer's earlier ones;
//! - the groups of the [`ANSWERS_KEPT`] answers with the largest numbers only: an older
//!   answer's partitions (its frames no longer shown) are released, so searching for an hour
//!   keeps as much as a few answers do.
//!
//! A slot's index (a hit's `shard`) is valid until the next [`Kept::keep_answer`]: a released
//! slot is reused. Whoever must hold a partition across it (an `await`) clones the entry.
//!
//! ```
//! use skycase_core::partition::kept::Kept;
//! let mut kept: Kept<&str> = Kept::default();
//! let whole = kept.keep_whole("leaf-a", "a");
//! let first = kept.keep_answer(1, vec!["x"], true);
//! assert_eq!(kept.get(first[0]), Some(&"x"));
//! // Answers 2, 3, ... replace answer 1's partitions; the whole one stays under its key.
//! for n in 2..20 {
//!     kept.keep_answer(n, vec!["y"], true);
//! }
//! assert_eq!(kept.whole("leaf-a"), Some(whole));
//! assert_eq!(kept.answer_slots(), skycase_core::partition::kept::ANSWERS_KEPT);
//! ```

use std::collections::{HashMap, VecDeque};

/// Answers whose partitions are kept (each with at most two groups). Enough for the page's
/// results and the cases and "more like this" opened from them (each one answer more), which
/// find their frames among what is kept.
pub const ANSWERS_KEPT: usize = 8;

/// One answer's groups, oldest first: slot indices, and whether the group is a whole answer.
#[derive(Debug, Default)]
struct Answer {
    number: u64,
    groups: VecDeque<(Vec<usize>, bool)>,
}

/// Partitions (or any `T`) in slots, whole ones under their keys and answers' ones in groups.
#[derive(Debug)]
pub struct Kept<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
    at: HashMap<String, usize>,
    /// By number, ascending.
    answers: VecDeque<Answer>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept { slots: Vec::new(), free: Vec::new(), at: HashMap::new(), answers: VecDeque::new() }
    }
}

impl<T> Kept<T> {
    /// The entry in slot `i`, if it holds one.
    pub fn get(&self, i: usize) -> Option<&T> {
        self.slots.get(i).and_then(Option::as_ref)
    }

    /// The slot of the whole partition kept under `key`.
    pub fn whole(&self, key: &str) -> Option<usize> {
        self.at.get(key).copied()
    }

    /// Keeps `item` for good under `key` (replacing nothing: an entry kept already under it
    /// stays, and its slot is returned).
    pub fn keep_whole(&mut self, key: &str, item: T) -> usize {
        if let Some(i) = self.whole(key) {
            return i;
        }
        let i = self.put(item);
        self.at.insert(key.to_string(), i);
        i
    }

    /// Keeps `items`, a group of answer `number` (`whole`: its whole answer, else a partial
    /// one), releases what the rules (module doc) no longer keep and returns the items' slots.
    pub fn keep_answer(&mut self, number: u64, items: Vec<T>, whole: bool) -> Vec<usize> {
        let slots: Vec<usize> = items.into_iter().map(|item| self.put(item)).collect();
        let at = match self.answers.iter().position(|a| a.number >= number) {
            Some(p) if self.answers[p].number == number => p,
            Some(p) => {
                self.answers.insert(p, Answer { number, groups: VecDeque::new() });
                p
            }
            None => {
                self.answers.push_back(Answer { number, groups: VecDeque::new() });
                self.answers.len() - 1
            }
        };
        let answer = &mut self.answers[at];
        answer.groups.push_back((slots.clone(), whole));
        let keep = if whole { 1 } else { 2 };
        let mut released: Vec<usize> = Vec::new();
        while answer.groups.len() > keep {
            released.extend(answer.groups.pop_front().map(|g| g.0).unwrap_or_default());
        }
        while self.answers.len() > ANSWERS_KEPT {
            released.extend(self.answers.pop_front().into_iter().flat_map(|a| a.groups).flat_map(|g| g.0));
        }
        self.release(released);
        slots
    }

    /// Releases every group of answer `number` (one that ranked and is not shown: the worker's
    /// rehearsal of an answer); other answers keep theirs.
    pub fn forget_answer(&mut self, number: u64) {
        let Some(at) = self.answers.iter().position(|a| a.number == number) else { return };
        let released = self.answers.remove(at).into_iter().flat_map(|a| a.groups).flat_map(|g| g.0);
        self.release(released);
    }

    /// Answers whose groups are kept now (at most [`ANSWERS_KEPT`]).
    pub fn answers(&self) -> usize {
        self.answers.len()
    }

    /// Every entry kept, with its slot.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
    }

    /// Slots holding answers' partitions now (not whole ones).
    pub fn answer_slots(&self) -> usize {
        self.answers.iter().flat_map(|a| &a.groups).map(|g| g.0.len()).sum()
    }

    /// Empties `slots` for reuse.
    fn release(&mut self, slots: impl IntoIterator<Item = usize>) {
        for i in slots {
            self.slots[i] = None;
            self.free.push(i);
        }
    }

    fn put(&mut self, item: T) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(item);
                i
            }
            None => {
                self.slots.push(Some(item));
                self.slots.len() - 1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_answer_releases_its_partial_ones() {
        let mut kept: Kept<u32> = Kept::default();
        let p1 = kept.keep_answer(1, vec![10, 11], false);
        let p2 = kept.keep_answer(1, vec![12], false);
        // Two partial groups stay (the latest may have shown nothing).
        assert!(p1.iter().chain(&p2).all(|&i| kept.get(i).is_some()));
        let p3 = kept.keep_answer(1, vec![13], false);
        assert!(p1.iter().all(|&i| kept.get(i).is_none()), "the oldest partial group is released");
        assert!(p2.iter().chain(&p3).all(|&i| kept.get(i).is_some()));
        let done = kept.keep_answer(1, vec![20, 21, 22], true);
        assert_eq!(done.iter().map(|&i| kept.get(i).copied()).collect::<Vec<_>>(), vec![Some(20), Some(21), Some(22)]);
        assert_eq!(kept.answer_slots(), 3);
        assert_eq!(kept.iter().count(), 3);
    }

    #[test]
    fn many_answers_keep_a_bounded_number_of_slots() {
        let mut kept: Kept<u64> = Kept::default();
        let whole = kept.keep_whole("leaf", 7);
        for n in 0..1000u64 {
            kept.keep_answer(n, vec![n; 5], false);
            kept.keep_answer(n, vec![n; 5], true);
        }
        assert_eq!(kept.answer_slots(), 5 * ANSWERS_KEPT);
        // Released slots are reused: the slab grows no further than what is kept (plus the
        // groups released by the keep that filled it).
        assert!(kept.slots.len() <= 1 + 5 * (ANSWERS_KEPT + 2), "{} slots", kept.slots.len());
        assert_eq!(kept.whole("leaf"), Some(whole));
        assert_eq!(kept.get(whole), Some(&7));
        // What is kept: the last answers' whole groups, each entry once.
        let mut numbers: Vec<u64> = kept.iter().filter(|&(i, _)| i != whole).map(|(_, &n)| n).collect();
        assert_eq!(numbers.len(), 5 * ANSWERS_KEPT);
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers, (1000 - ANSWERS_KEPT as u64..1000).collect::<Vec<_>>());
    }

    #[test]
    fn an_older_answer_finishing_late_does_not_release_newer_ones() {
        let mut kept: Kept<u64> = Kept::default();
        let newest = kept.keep_answer(100, vec![100], true);
        for n in 1..=ANSWERS_KEPT as u64 * 2 {
            // Answers that started earlier and finish after answer 100.
            kept.keep_answer(n, vec![n], true);
            assert_eq!(kept.get(newest[0]), Some(&100));
        }
        assert_eq!(kept.answer_slots(), ANSWERS_KEPT);
    }

    #[test]
    fn a_forgotten_answer_releases_its_groups_only() {
        let mut kept: Kept<u64> = Kept::default();
        let shown = kept.keep_answer(1, vec![10, 11], true);
        let rehearsal = kept.keep_answer(2, vec![20, 21], true);
        assert_eq!(kept.answers(), 2);
        kept.forget_answer(2);
        assert_eq!(kept.answers(), 1);
        assert_eq!(kept.answer_slots(), 2);
        assert!(rehearsal.iter().all(|&i| kept.get(i).is_none()));
        assert_eq!(shown.iter().map(|&i| kept.get(i).copied()).collect::<Vec<_>>(), vec![Some(10), Some(11)]);
        // Its slots are reused; an answer not kept is nothing to forget.
        let next = kept.keep_answer(3, vec![30, 31], true);
        assert_eq!(next.iter().copied().collect::<std::collections::HashSet<_>>(), rehearsal.iter().copied().collect());
        kept.forget_answer(99);
        assert_eq!(kept.answers(), 2);
    }

    #[test]
    fn a_whole_partition_is_kept_once_under_its_key() {
        let mut kept: Kept<&str> = Kept::default();
        let a = kept.keep_whole("k", "first");
        assert_eq!(kept.keep_whole("k", "second"), a);
        assert_eq!(kept.get(a), Some(&"first"));
        for n in 0..50 {
            kept.keep_answer(n, vec!["x"], true);
        }
        assert_eq!(kept.get(a), Some(&"first"));
    }
}
