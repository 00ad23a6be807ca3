//! Which layer matrices are sensitive to quantization: starting from every linear layer at
//! q8_0 (word embeddings q4_0), one group of one layer at a time goes down to a lower format,
//! and the worst cosine to the sentence-transformers reference is printed.
//!
//!     cargo run --release -p skycase-core --example quant_layers [FORMAT] [MODEL_DIR]

use std::path::PathBuf;

use skycase_core::quant::{quantize_with, Quantization};
use skycase_core::text::{cosine, TextEncoder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let low = Quantization::parse(&std::env::args().nth(1).unwrap_or_else(|| "q4_0".into()))?;
    let dir = std::env::args().nth(2).map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        PathBuf::from(home).join(".cache/skycase/models/all-MiniLM-L6-v2")
    });
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()));
    let (st, cfg, tok) = (read("model.safetensors")?, read("config.json")?, read("tokenizer.json")?);
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/minilm_reference.json"))?)?;
    let items: Vec<(String, Vec<f32>)> = reference["items"]
        .as_array()
        .ok_or("reference: no items")?
        .iter()
        .map(|it| {
            let text = it["text"].as_str().unwrap_or_default().to_string();
            let e = it["embedding"].as_array().map(|a| a.iter().filter_map(|v| v.as_f64()).map(|v| v as f32).collect()).unwrap_or_default();
            (text, e)
        })
        .collect();
    let groups = [("attention", ".attention."), ("ffn_up", ".intermediate."), ("ffn_down", ".output.dense")];
    println!("| layer | group at {} | worst cosine |", low.name());
    println!("|---|---|---:|");
    for layer in 0..6 {
        for (group, pat) in groups {
            let prefix = format!("encoder.layer.{layer}.");
            let pick = |name: &str| {
                let in_group = if pat == ".output.dense" { name.contains(pat) && !name.contains(".attention.") } else { name.contains(pat) };
                if name.starts_with(&prefix) && in_group { low } else { Quantization::Q8_0 }
            };
            let q = quantize_with(&st, &cfg, Quantization::Q4_0, "sweep", pick)?;
            let enc = TextEncoder::from_bundle_files(&tok, &q.gguf, q.word_embeddings()?)?;
            let worst = items.iter().map(|(t, e)| enc.embed(t).map(|v| cosine(&v, e))).collect::<Result<Vec<_>, _>>()?.into_iter().fold(1f32, f32::min);
            println!("| {layer} | {group} | {worst:.4} |");
        }
    }
    Ok(())
}
