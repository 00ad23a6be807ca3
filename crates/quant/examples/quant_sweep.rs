//! Size and parity of candidate encoder quantizations: for each setting, the bytes of
//! `encoder.gguf` and of the word-embedding table, and the worst cosine to the
//! sentence-transformers reference over tests/fixtures/minilm_reference.json, with
//! round-to-nearest (candle's quantizer) and with activation-aware rounding (GPTQ on the
//! built-in calibration set, see skycase_quant::calibrate).
//!
//!     cargo run --release -p skycase-quant --example quant_sweep [MODEL_DIR]
//!
//! Prints a Markdown table (docs/encoder.md holds the last run).

#[path = "support/reference.rs"]
mod reference;

use reference::{model_dir, model_files, reference_items};
use skycase_core::text::{cosine, TextEncoder, TextTokenizer};
use skycase_quant::calibrate::{calibration_texts, Calibration};
use skycase_quant::{quantize_calibrated, Quantization, Quantization::*, QuantizeOptions, Rounding};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = model_dir(std::env::args().nth(1));
    let (st, cfg, tok) = model_files(&dir)?;
    let items = reference_items()?;

    let texts = calibration_texts();
    let started = std::time::Instant::now();
    let calibration = Calibration::collect(&st, &cfg, &TextTokenizer::from_bytes(&tok)?, &texts)?;
    eprintln!("calibration: {} texts in {:.1} s", texts.len(), started.elapsed().as_secs_f64());

    let mix = |attention, ffn_up, ffn_down, embeddings| QuantizeOptions { attention, ffn_up, ffn_down, embeddings, rounding: Rounding::Nearest };
    let settings = [
        mix(Q8_0, Q8_0, Q8_0, Q8_0),
        mix(Q8_0, Q8_0, Q8_0, Q4_0),
        mix(Q8_0, Q8_0, Q6K, Q4_0),
        mix(Q5_1, Q5_1, Q5_1, Q4_0),
        mix(Q5_0, Q5_0, Q5_0, Q4_0),
        mix(Q5_0, Q5_0, Q6K, Q4_0),
        mix(Q4_1, Q4_1, Q4_1, Q4_0),
        mix(Q4_0, Q4_0, Q4_0, Q4_0),
        mix(Q8_0, Q5_0, Q5_0, Q4_0),
        mix(Q8_0, Q5_0, Q6K, Q4_0),
        mix(Q8_0, Q5_0, Q5K, Q4_0),
        mix(Q8_0, Q5_0, Q4K, Q4_0),
        mix(Q5_1, Q5_0, Q5_0, Q4_0),
        mix(Q5_0, Q8_0, Q5_0, Q4_0),
        mix(Q8_0, Q4_1, Q5_0, Q4_0),
        mix(Q8_0, Q4_0, Q4_0, Q4_0),
        mix(Q5_0, Q4_0, Q4_0, Q4_0),
        mix(Q8_0, Q4_0, Q3K, Q4_0),
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
    for (low, down, layers) in [(Q5_0, Q5_0, &[0usize, 1, 2][..]), (Q5_1, Q5_1, &[0, 1, 2, 3][..])] {
        let (label, pick) = ffn_low(low, down, layers);
        rows.push((format!("| {label} | | "), Box::new(pick), Q4_0));
    }
    println!("| attention | ffn_up | ffn_down | embeddings | encoder.gguf | word table | worst cosine, RTN | worst cosine, GPTQ | mean cosine, GPTQ |");
    println!("|---|---|---|---|---:|---:|---:|---:|---:|");
    for (label, pick, embeddings) in rows {
        let mut worst_mean = Vec::new();
        let mut sizes = (0, 0);
        for calibration in [None, Some(&calibration)] {
            let q = quantize_calibrated(&st, &cfg, embeddings, "sweep", &pick, calibration)?;
            let enc = TextEncoder::from_bundle_files(&tok, &q.gguf, q.word_embeddings()?)?;
            let cos: Vec<f32> = items.iter().map(|(t, e)| enc.embed(t).map(|v| cosine(&v, e))).collect::<Result<_, _>>()?;
            worst_mean.push((cos.iter().copied().fold(1f32, f32::min), cos.iter().sum::<f32>() / cos.len() as f32));
            sizes = (q.gguf.len(), q.words.len());
        }
        let mb = |b: usize| format!("{:.2} MB", b as f64 / 1e6);
        let (rtn, gptq) = (worst_mean[0].0, worst_mean[1]);
        println!(
            "{label}| {} | {} | {} | {rtn:.4} | {:.4} | {:.4} |",
            embeddings.name(),
            mb(sizes.0),
            mb(sizes.1),
            gptq.0,
            gptq.1
        );
    }
    Ok(())
}
