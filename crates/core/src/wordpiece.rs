//! all-MiniLM-L6-v2's tokenizer: the BERT pipeline of a Hugging Face `tokenizer.json`
//! (added tokens → `BertNormalizer` → `BertPreTokenizer` → `WordPiece` → `[CLS] … [SEP]`),
//! written out here so that the browser's worker does not carry the `tokenizers` crate
//! (its regex engines, serde machinery and Unicode tables were about a third of the
//! worker's code). It gives the same ids as `tokenizers` 0.22 for the files it accepts
//! (`tests/wordpiece_parity.rs` checks every evaluation query and a set of adversarial
//! strings against that crate); a file using any other step or option is refused rather
//! than tokenized differently.
//!
//! Each step follows its `tokenizers` counterpart: `normalizers/bert.rs`,
//! `pre_tokenizers/bert.rs`, `models/wordpiece/mod.rs`, `tokenizer/added_vocabulary.rs`
//! (split on the added tokens first, leftmost-longest, on the raw text), and the same
//! Unicode tables (`unicode_categories`, `unicode-normalization-alignments`).

use std::fmt;

use ahash::AHashMap;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::UnicodeNormalization;

/// A BERT WordPiece tokenizer read from a `tokenizer.json` (map or list vocabulary).
#[derive(Debug, Clone)]
pub struct BertWordPiece {
    vocab: AHashMap<String, u32>,
    unk: u32,
    prefix: String,
    max_chars: usize,
    /// `(content, id)`: matched on the raw text before anything else.
    added: Vec<(String, u32)>,
    cls: u32,
    sep: u32,
    normalizer: BertNormalizer,
}

#[derive(Debug, Clone, Copy, Deserialize)]
struct BertNormalizer {
    clean_text: bool,
    handle_chinese_chars: bool,
    strip_accents: Option<bool>,
    lowercase: bool,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
    normalizer: Option<serde_json::Value>,
    pre_tokenizer: Option<serde_json::Value>,
    post_processor: Option<serde_json::Value>,
    model: Model,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
    #[serde(default)]
    single_word: bool,
    #[serde(default)]
    lstrip: bool,
    #[serde(default)]
    rstrip: bool,
    #[serde(default)]
    normalized: bool,
}

#[derive(Deserialize)]
struct Model {
    #[serde(rename = "type")]
    kind: String,
    unk_token: String,
    continuing_subword_prefix: String,
    max_input_chars_per_word: usize,
    vocab: Vocab,
}

/// `{token: id}` or the list of tokens in id order (`text::compact_tokenizer_json`).
struct Vocab(AHashMap<String, u32>);

impl<'de> Deserialize<'de> for Vocab {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vocab;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map {token: id} or a list of tokens")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Vocab, A::Error> {
                let mut vocab = AHashMap::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((token, id)) = map.next_entry::<String, u32>()? {
                    vocab.insert(token, id);
                }
                Ok(Vocab(vocab))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Vocab, A::Error> {
                let mut vocab = AHashMap::with_capacity(seq.size_hint().unwrap_or(32_000));
                let mut id = 0u32;
                while let Some(token) = seq.next_element::<String>()? {
                    if vocab.insert(token, id).is_some() {
                        return Err(de::Error::custom(format!("vocabulary entry {id} repeats a token")));
                    }
                    id = id.checked_add(1).ok_or_else(|| de::Error::custom("vocabulary past u32"))?;
                }
                Ok(Vocab(vocab))
            }
        }
        d.deserialize_any(V)
    }
}

impl BertWordPiece {
    /// Reads a `tokenizer.json` whose steps are BERT's; the error names what is not.
    pub fn from_json(bytes: &[u8]) -> std::result::Result<Self, String> {
        let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if file.model.kind != "WordPiece" {
            return Err(format!("model {:?} is not WordPiece", file.model.kind));
        }
        let vocab = file.model.vocab.0;
        let normalizer = match &file.normalizer {
            Some(v) if v.get("type").and_then(|t| t.as_str()) == Some("BertNormalizer") => {
                BertNormalizer::deserialize(v).map_err(|e| format!("normalizer: {e}"))?
            }
            other => return Err(format!("normalizer {other:?} is not a BertNormalizer")),
        };
        match &file.pre_tokenizer {
            Some(v) if v.get("type").and_then(|t| t.as_str()) == Some("BertPreTokenizer") => {}
            other => return Err(format!("pre-tokenizer {other:?} is not a BertPreTokenizer")),
        }
        // An added token takes the model's id for its content where there is one (as
        // `tokenizers`' AddedVocabulary does), else its own.
        let mut added = Vec::with_capacity(file.added_tokens.len());
        for t in &file.added_tokens {
            if t.single_word || t.lstrip || t.rstrip || t.normalized {
                return Err(format!(
                    "added token {:?}: single_word, lstrip, rstrip and normalized are not supported",
                    t.content
                ));
            }
            if !t.content.is_empty() {
                added.push((t.content.clone(), vocab.get(&t.content).copied().unwrap_or(t.id)));
            }
        }
        let special = |name: &str| -> std::result::Result<u32, String> {
            added
                .iter()
                .find(|(c, _)| c == name)
                .map(|&(_, id)| id)
                .or_else(|| vocab.get(name).copied())
                .ok_or_else(|| format!("special token {name} is neither added nor in the vocabulary"))
        };
        let (cls, sep) = post_processor(file.post_processor.as_ref(), &special)?;
        let unk = *vocab
            .get(&file.model.unk_token)
            .ok_or_else(|| format!("unknown token {:?} is not in the vocabulary", file.model.unk_token))?;
        Ok(Self {
            vocab,
            unk,
            prefix: file.model.continuing_subword_prefix,
            max_chars: file.model.max_input_chars_per_word,
            added,
            cls,
            sep,
            normalizer,
        })
    }

    /// Token ids of `text` with `[CLS]` and `[SEP]`, at most `max_len` in all (the text's
    /// tokens cut at `max_len − 2`, as `tokenizers`' truncation does).
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let keep = max_len.saturating_sub(2);
        let mut ids = vec![self.cls];
        let mut rest = text;
        while !rest.is_empty() && ids.len() <= keep {
            let (before, token) = match self.next_added(rest) {
                Some((at, len, id)) => {
                    let before = &rest[..at];
                    rest = &rest[at + len..];
                    (before, Some(id))
                }
                None => (std::mem::take(&mut rest), None),
            };
            self.encode_plain(before, &mut ids);
            ids.extend(token);
        }
        ids.truncate(keep + 1);
        ids.push(self.sep);
        ids
    }

    /// The leftmost added token in `text`, the longest of those starting there:
    /// `(byte offset, byte length, id)`.
    fn next_added(&self, text: &str) -> Option<(usize, usize, u32)> {
        if self.added.is_empty() {
            return None;
        }
        let bytes = text.as_bytes();
        (0..bytes.len()).filter(|&i| text.is_char_boundary(i)).find_map(|i| {
            self.added
                .iter()
                .filter(|(c, _)| bytes[i..].starts_with(c.as_bytes()))
                .max_by_key(|(c, _)| c.len())
                .map(|(c, id)| (i, c.len(), *id))
        })
    }

    /// Normalizes, splits and looks up a span without added tokens.
    fn encode_plain(&self, text: &str, ids: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        let normalized = self.normalizer.normalize(text);
        let mut word = String::new();
        let flush = |word: &mut String, ids: &mut Vec<u32>| {
            if !word.is_empty() {
                self.word_pieces(word, ids);
                word.clear();
            }
        };
        for c in normalized.chars() {
            if c.is_whitespace() {
                flush(&mut word, ids);
            } else if c.is_ascii_punctuation() || c.is_punctuation() {
                flush(&mut word, ids);
                word.push(c);
                flush(&mut word, ids);
            } else {
                word.push(c);
            }
        }
        flush(&mut word, ids);
    }

    /// Greedy longest-match WordPiece of one word; `[UNK]` for the whole word when a
    /// part has no match or the word is longer than `max_input_chars_per_word`.
    fn word_pieces(&self, word: &str, ids: &mut Vec<u32>) {
        if word.chars().count() > self.max_chars {
            ids.push(self.unk);
            return;
        }
        let first = ids.len();
        let mut key = String::with_capacity(self.prefix.len() + word.len());
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let found = loop {
                if start >= end {
                    break None;
                }
                key.clear();
                if start > 0 {
                    key.push_str(&self.prefix);
                }
                key.push_str(&word[start..end]);
                if let Some(&id) = self.vocab.get(key.as_str()) {
                    break Some(id);
                }
                end -= word[start..end].chars().next_back().map_or(1, char::len_utf8);
            };
            match found {
                Some(id) => ids.push(id),
                None => {
                    ids.truncate(first);
                    ids.push(self.unk);
                    return;
                }
            }
            start = end;
        }
    }
}

/// `[CLS]` and `[SEP]` ids of a `TemplateProcessing` (`[CLS] $A [SEP]`) or `BertProcessing`.
fn post_processor(
    v: Option<&serde_json::Value>,
    special: &dyn Fn(&str) -> std::result::Result<u32, String>,
) -> std::result::Result<(u32, u32), String> {
    let Some(v) = v else { return Err("no post-processor: [CLS] and [SEP] are not added".into()) };
    let id_of = |name: &str| -> std::result::Result<u32, String> {
        let ids = v["special_tokens"][name]["ids"].as_array().ok_or_else(|| format!("post-processor: no ids for {name}"))?;
        match ids.as_slice() {
            [id] => id.as_u64().and_then(|id| u32::try_from(id).ok()).ok_or_else(|| format!("post-processor: bad id for {name}")),
            _ => Err(format!("post-processor: {name} is not one token")),
        }
    };
    match v["type"].as_str() {
        Some("TemplateProcessing") => {
            let single = v["single"].as_array().map(Vec::as_slice).unwrap_or_default();
            let [a, b, c] = single else {
                return Err("post-processor: template is not [CLS] $A [SEP]".into());
            };
            let (Some(cls), Some(seq), Some(sep)) = (
                a["SpecialToken"]["id"].as_str(),
                b["Sequence"]["id"].as_str(),
                c["SpecialToken"]["id"].as_str(),
            ) else {
                return Err("post-processor: template is not [CLS] $A [SEP]".into());
            };
            if seq != "A" {
                return Err("post-processor: template is not [CLS] $A [SEP]".into());
            }
            Ok((id_of(cls)?, id_of(sep)?))
        }
        Some("BertProcessing") => {
            let pair = |k: &str| -> std::result::Result<u32, String> {
                let id = v[k][1].as_u64().and_then(|id| u32::try_from(id).ok());
                let name = v[k][0].as_str().ok_or_else(|| format!("post-processor: no {k} token"))?;
                id.map(Ok).unwrap_or_else(|| special(name))
            };
            Ok((pair("cls")?, pair("sep")?))
        }
        other => Err(format!("post-processor {other:?} is not TemplateProcessing or BertProcessing")),
    }
}

impl BertNormalizer {
    /// `tokenizers`' order: clean, CJK spacing, strip accents (NFD, drop Mn), lowercase.
    fn normalize(&self, text: &str) -> String {
        let mut s: String = if self.clean_text {
            text.chars()
                .filter(|&c| !(c == '\0' || c == '\u{fffd}' || is_control(c)))
                .map(|c| if is_whitespace(c) { ' ' } else { c })
                .collect()
        } else {
            text.to_owned()
        };
        if self.handle_chinese_chars && s.chars().any(is_chinese_char) {
            let mut spaced = String::with_capacity(s.len() + 16);
            for c in s.chars() {
                if is_chinese_char(c) {
                    spaced.push(' ');
                    spaced.push(c);
                    spaced.push(' ');
                } else {
                    spaced.push(c);
                }
            }
            s = spaced;
        }
        if self.strip_accents.unwrap_or(self.lowercase) {
            s = s.nfd().map(|(c, _)| c).filter(|c| !c.is_mark_nonspacing()).collect();
        }
        if self.lowercase {
            // Per char, as `NormalizedString::lowercase` (no final-sigma rule).
            s = s.chars().flat_map(char::to_lowercase).collect();
        }
        s
    }
}

fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

/// The CJK Unified Ideographs blocks (not Hangul, Hiragana or Katakana).
fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}
