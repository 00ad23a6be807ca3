//! Size and parity of candidate encoder quantizations: for each setting, the bytes of
//! `encoder.gguf` and of the word-embedding table, and the worst cosine to the
//! sentence-transformers reference over tests/fixtures/minilm_reference.json.
//!
//!     cargo run --release -p skycase-core --example quant_sweep [MODEL_DIR]
//!
//! Prints a Markdown table (docs/encoder.md holds the last run).

use std::path::PathBuf;

use skycase_core::quant::{quantize_with, Quantization, Quantization::*, QuantizeOptions};
use skycase_core::text::{cosine, TextEncoder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| {
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

    let mix = |attention, ffn_up, ffn_down, embeddings| QuantizeOptions { attention, ffn_up, ffn_down, embeddings };
    let settings = [
        mix(Q8_0, Q8_0, Q8_0, Q8_0),
        mix(Q8_0, Q8_0, Q8_0, Q4_0),
        mix(Q5_1, Q5_1, Q5_1, Q4_0),
        mix(Q5_0, Q5_0, Q5_0, Q4_0),
        mix(Q4_1, Q4_1, Q4_1, Q4_0),
        mix(Q4_0, Q4_0, Q4_0, Q4_0),
        mix(Q8_0, Q5_0, Q5_0, Q4_0),
        mix(Q8_0, Q4_0, Q4_0, Q4_0),
        mix(Q8_0, Q4_0, Q4K, Q4_0),
        mix(Q5_0, Q4_0, Q4_0, Q4_0),
        mix(Q5_0, Q4_0, Q4K, Q4_0),
        mix(Q8_0, Q5_0, Q5K, Q4_0),
        mix(Q8_0, Q4_0, Q3K, Q4_0),
        mix(Q4_0, Q4_0, Q4_0, Q8_0),
        mix(Q5_0, Q5_0, Q5_0, Q5_0),
    ];
    // Per-layer mixes: the feed-forward matrices of the first layers (the least sensitive,
    // see quant_layers) at a lower format, everything else at q8_0.
    let ffn_low = |low: Quantization, down: Quantization, layers: &'static [usize]| {
        let label = format!("q8_0, ffn of layers {layers:?} at {}/{}", low.name(), down.name());
        let pick = move |name: &str| {
            let in_layers = layers.iter().any(|l| name.starts_with(&format!("encoder.layer.{l}.")));
            if !in_layers || name.contains(".attention.") {
                Q8_0
            } else if name.contains(".intermediate.") {
                low
            } else {
                down
            }
        };
        (label, pick)
    };
    let mut rows: Vec<(String, Box<dyn Fn(&str) -> Quantization>, Quantization)> = settings
        .into_iter()
        .map(|o| {
            let label = format!("| {} | {} | {} ", o.attention.name(), o.ffn_up.name(), o.ffn_down.name());
            (label, Box::new(move |n: &str| o.for_matrix(n)) as Box<dyn Fn(&str) -> Quantization>, o.embeddings)
        })
        .collect();
    for (low, down, layers) in [
        (Q5_0, Q5_0, &[0usize, 1, 2][..]),
        (Q5_0, Q5_0, &[0, 1, 2, 3][..]),
        (Q5_0, Q6K, &[0, 1, 2, 3, 4, 5][..]),
        (Q5_1, Q5_1, &[0, 1, 2, 3][..]),
        (Q8_0, Q6K, &[0, 1, 2, 3, 4, 5][..]),
    ] {
        let (label, pick) = ffn_low(low, down, layers);
        rows.push((format!("| {label} | | "), Box::new(pick), Q4_0));
    }
    println!("| attention | ffn_up | ffn_down | embeddings | encoder.gguf | word table | worst cosine | mean cosine |");
    println!("|---|---|---|---|---:|---:|---:|---:|");
    for (label, pick, embeddings) in rows {
        let q = quantize_with(&st, &cfg, embeddings, "sweep", pick)?;
        let enc = TextEncoder::from_bundle_files(&tok, &q.gguf, q.word_embeddings()?)?;
        let cos: Vec<f32> = items.iter().map(|(t, e)| enc.embed(t).map(|v| cosine(&v, e))).collect::<Result<_, _>>()?;
        let worst = cos.iter().copied().fold(1f32, f32::min);
        let mean = cos.iter().sum::<f32>() / cos.len() as f32;
        let mb = |b: usize| format!("{:.2} MB", b as f64 / 1e6);
        println!("{label}| {} | {} | {} | {worst:.4} | {mean:.4} |", embeddings.name(), mb(q.gguf.len()), mb(q.words.len()));
    }
    Ok(())
}
