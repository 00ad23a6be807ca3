//! Native latency of one query encode with the f32 model, split into tokenization, the
//! word-embedding lookup and the forward pass (p50 over the bench queries × reps).
//!
//!   cargo run --release -p skycase-quant --example encode_bench [reps]
//!
//! Needs the model folder (scripts/fetch-model); `SKYCASE_MODEL_DIR` overrides where.

use std::time::Instant;

use skycase_core::text::TextEncoder;
use skycase_core::BENCH_QUERIES;

fn main() {
    let dir = skycase_quant::default_model_dir();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()));
    let enc = TextEncoder::from_f32_files(&read("tokenizer.json"), &read("config.json"), &read("model.safetensors"))
        .expect("model folder");
    let reps: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);

    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    let (mut tokenize, mut lookup, mut forward) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..=reps {
        for q in BENCH_QUERIES {
            let t = Instant::now();
            let ids = enc.tokenizer().encode(q).unwrap();
            let t_tok = ms(t);
            let t = Instant::now();
            enc.model().word_embeddings().lookup(&ids).unwrap();
            let t_lookup = ms(t);
            let t = Instant::now();
            enc.model().embed_ids(&[ids]).unwrap();
            let t_forward = ms(t);
            // The first pass warms caches and allocator.
            if rep > 0 {
                tokenize.push(t_tok);
                lookup.push(t_lookup);
                forward.push(t_forward);
            }
        }
    }
    let p50 = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "per query, p50 of {}: tokenize {:.3} ms, lookup {:.3} ms, lookup + forward + pooling {:.3} ms",
        forward.len(),
        p50(&mut tokenize),
        p50(&mut lookup),
        p50(&mut forward)
    );
}
