//! Which layer matrices are sensitive to quantization: starting from every linear layer at
//! q8_0 (word embeddings q4_0), one group of one layer at a time goes down to a lower format,
//! and the worst cosine to the sentence-transformers reference is printed.
//!
//!     cargo run --release -p skycase-quant --example quant_layers [FORMAT] [MODEL_DIR]

#[path = "support/reference.rs"]
mod reference;

use reference::{model_dir, model_files, reference_items};
use skycase_core::text::{cosine, TextEncoder};
use skycase_quant::{quantize_with, Quantization};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let low = Quantization::parse(&std::env::args().nth(1).unwrap_or_else(|| "q4_0".into()))?;
    let dir = model_dir(std::env::args().nth(2));
    let (st, cfg, tok) = model_files(&dir)?;
    let items = reference_items()?;
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
