//! The text side: phrasings of region × phenomenon, the study's query form, and a cache of
//! frozen text-encoder embeddings (the encoder is frozen, so each distinct text is embedded
//! once and reused across epochs and runs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use skycase_vocab::{bullet, region_prose, PHENOMENA, PHENOMENA_PROSE, REGIONS};

use crate::error::{Error, Result};
use crate::model::write_atomic;

/// The study's query form, held out of training: `Honshu, Japan is experiencing a typhoon.`
pub fn study_query(r: usize, p: usize) -> String {
    format!("{} is experiencing {}.", region_prose(r), PHENOMENA_PROSE[p])
}

/// Seed of the grammar's training phrasings (fixed, so the text bank is reused across runs).
pub const GRAMMAR_SEED: u64 = 2017;

/// Phrasings trained on for region × phenomenon: the bullet first, four fixed forms, then
/// `grammar` English phrasings from [`skycase_vocab::grammar::phrasings`] (aliases, places,
/// synonyms, word orders, questions, keywords). Every cell gets the same number. The
/// study's query form is deliberately not among them (the grammar never writes
/// "experiencing"), so the evaluation measures generalisation to a new phrasing.
pub fn train_phrasings(r: usize, p: usize, grammar: usize) -> Vec<String> {
    let (reg, ph) = (region_prose(r), PHENOMENA_PROSE[p]);
    let word = PHENOMENA[p].to_lowercase();
    let mut v = vec![
        bullet(r, p),
        format!("{reg}: {word}"),
        format!("{} over {reg}", capitalise(ph)),
        format!("Weather in {reg}: {ph}"),
        format!("{reg} has {ph}"),
    ];
    let fixed = v.len();
    for t in skycase_vocab::grammar::phrasings(r, p, skycase_vocab::grammar::Lang::En, grammar + fixed, GRAMMAR_SEED) {
        if v.len() == fixed + grammar {
            break;
        }
        if !v.contains(&t) {
            v.push(t);
        }
    }
    v
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// Something that embeds texts (the frozen encoder, or a stand-in in tests).
pub type Embedder<'a> = dyn FnMut(&[&str]) -> Result<Vec<Vec<f32>>> + 'a;

/// Text → embedding cache, stored as JSON.
#[derive(Debug, Clone, Default)]
pub struct TextBank {
    path: Option<PathBuf>,
    dim: usize,
    map: HashMap<String, Vec<f32>>,
}

#[derive(Serialize, Deserialize)]
struct BankFile {
    dim: usize,
    texts: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

impl TextBank {
    /// An empty bank that lives in memory only.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Opens the bank at `path` (empty when the file does not exist yet).
    pub fn open(path: &Path) -> Result<Self> {
        let mut bank = Self { path: Some(path.to_path_buf()), ..Self::default() };
        if path.is_file() {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let f: BankFile = serde_json::from_slice(&bytes).map_err(|e| Error::format(path, format!("not a text bank: {e}")))?;
            if f.texts.len() != f.vectors.len() || f.vectors.iter().any(|v| v.len() != f.dim) {
                return Err(Error::format(path, format!("text bank entries do not all have {} dimensions", f.dim)));
            }
            bank.dim = f.dim;
            bank.map = f.texts.into_iter().zip(f.vectors).collect();
        }
        Ok(bank)
    }

    /// Embedding dimension (0 while empty).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of cached texts.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the bank is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Texts of `texts` not cached yet.
    pub fn missing<'t>(&self, texts: &'t [String]) -> Vec<&'t str> {
        let mut m: Vec<&str> = texts.iter().map(String::as_str).filter(|t| !self.map.contains_key(*t)).collect();
        m.sort_unstable();
        m.dedup();
        m
    }

    /// Embeds and caches whatever of `texts` is missing, then saves (when file-backed).
    pub fn ensure(&mut self, texts: &[String], embed: &mut Embedder<'_>) -> Result<usize> {
        let missing: Vec<String> = self.missing(texts).into_iter().map(str::to_string).collect();
        if missing.is_empty() {
            return Ok(0);
        }
        for chunk in missing.chunks(64) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let vecs = embed(&refs)?;
            if vecs.len() != chunk.len() {
                return Err(Error::shape("text embeddings", chunk.len(), vecs.len()));
            }
            for (t, v) in chunk.iter().zip(vecs) {
                if self.dim == 0 {
                    self.dim = v.len();
                }
                if v.len() != self.dim {
                    return Err(Error::shape(format!("embedding of {t:?}"), self.dim, v.len()));
                }
                self.map.insert(t.clone(), v);
            }
        }
        self.save()?;
        Ok(missing.len())
    }

    /// The embedding of `text`.
    pub fn get(&self, text: &str) -> Result<&[f32]> {
        self.map
            .get(text)
            .map(Vec::as_slice)
            .ok_or_else(|| Error::Usage(format!("text {text:?} has no cached embedding; run with the text encoder")))
    }

    fn save(&self) -> Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        let mut texts: Vec<&String> = self.map.keys().collect();
        texts.sort();
        let f = BankFile {
            dim: self.dim,
            vectors: texts.iter().map(|t| self.map[*t].clone()).collect(),
            texts: texts.into_iter().cloned().collect(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let bytes = serde_json::to_vec(&f).map_err(|e| Error::format(path, e.to_string()))?;
        write_atomic(path, &bytes)
    }
}

/// The frozen all-MiniLM-L6-v2 encoder of skycase-core, from the model folder
/// (`tokenizer.json`, `config.json`, `model.safetensors`).
pub fn minilm(dir: &Path) -> Result<impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>>> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read(&p).map_err(|e| Error::io(&p, e))
    };
    let enc = skycase_core::TextEncoder::from_f32_files(&read("tokenizer.json")?, &read("config.json")?, &read("model.safetensors")?)?;
    Ok(move |texts: &[&str]| Ok(enc.embed_many(texts, 16)?))
}

/// Every text a training run needs: captions, all phrasings (`grammar` from the grammar per
/// cell) and the study queries.
pub fn texts_needed(captions: impl IntoIterator<Item = String>, grammar: usize) -> Vec<String> {
    let mut v: Vec<String> = captions.into_iter().collect();
    for r in 0..REGIONS.len() {
        for p in 0..PHENOMENA.len() {
            v.extend(train_phrasings(r, p, grammar));
            v.push(study_query(r, p));
        }
    }
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A deterministic stand-in encoder: hashed character trigrams, normalised.
    pub(crate) fn fake_embed(dim: usize) -> impl FnMut(&[&str]) -> Result<Vec<Vec<f32>>> {
        move |texts: &[&str]| {
            Ok(texts
                .iter()
                .map(|t| {
                    let mut v = vec![0f32; dim];
                    let b = t.as_bytes();
                    for w in b.windows(3) {
                        let h = w.iter().fold(17u32, |h, &c| h.wrapping_mul(31).wrapping_add(u32::from(c)));
                        v[h as usize % dim] += 1.0;
                    }
                    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                    v.iter_mut().for_each(|x| *x /= n);
                    v
                })
                .collect())
        }
    }

    #[test]
    fn phrasings_and_queries() {
        assert_eq!(study_query(6, 4), "Honshu, Japan is experiencing a typhoon.");
        let ph = train_phrasings(8, 0, 0);
        assert_eq!(ph[0], "- Kyushu (Japan) - Snow");
        assert!(!ph.contains(&study_query(8, 0)));
        assert_eq!(ph[2], "Snow over Kyushu, Japan");
        // 65 × (5 phrasings + 1 query) distinct texts.
        assert_eq!(texts_needed(Vec::new(), 0).len(), 65 * 6);
        // With the grammar: every cell the same count, the fixed five first, never the
        // study's form, and the same texts every time (the text bank is keyed by text).
        for (r, p) in [(0, 0), (6, 3), (12, 4)] {
            let g = train_phrasings(r, p, 40);
            assert_eq!(g.len(), 45);
            assert_eq!(g[..5], train_phrasings(r, p, 0)[..]);
            assert!(!g.contains(&study_query(r, p)) && g.iter().all(|t| !t.contains("experiencing")));
            assert_eq!(g, train_phrasings(r, p, 40));
        }
        assert_eq!(texts_needed(Vec::new(), 40).len(), 65 * 46);
    }

    #[test]
    fn bank_caches_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("skycase-train-bank-{}", std::process::id()));
        let path = dir.join("bank.json");
        let mut calls = 0;
        let mut inner = fake_embed(8);
        let mut counting = |t: &[&str]| {
            calls += t.len();
            inner(t)
        };
        let mut bank = TextBank::open(&path).unwrap();
        let texts = vec!["a b c".to_string(), "d e f".to_string(), "a b c".to_string()];
        assert_eq!(bank.ensure(&texts, &mut counting).unwrap(), 2);
        assert_eq!(bank.ensure(&texts, &mut counting).unwrap(), 0);
        assert_eq!(calls, 2);
        let again = TextBank::open(&path).unwrap();
        assert_eq!(again.get("d e f").unwrap(), bank.get("d e f").unwrap());
        assert!(again.get("zzz").is_err());
        std::fs::write(&path, b"[1,2").unwrap();
        assert!(TextBank::open(&path).unwrap_err().to_string().contains("bank.json"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
