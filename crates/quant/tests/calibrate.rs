//! The calibration forward pass (crates/quant/src/calibrate.rs) computes what the encoder
//! computes, and the calibration set leaves out the parity sentences.
//!
//! Needs the model folder that `scripts/fetch-model` installs; `SKYCASE_MODEL_DIR` overrides
//! where it is looked for.

use skycase_core::text::{cosine, TextEncoder};
use skycase_quant::calibrate::{calibration_texts, embed_f32};
use skycase_quant::default_model_dir;

fn read(name: &str) -> Vec<u8> {
    let path = default_model_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}. Run scripts/fetch-model first", path.display()))
}

fn parity_sentences() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/minilm_reference.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    json["items"].as_array().unwrap().iter().map(|it| it["text"].as_str().unwrap().to_string()).collect()
}

#[test]
fn calibration_forward_matches_the_encoder() {
    let (st, cfg, tok) = (read("model.safetensors"), read("config.json"), read("tokenizer.json"));
    let enc = TextEncoder::from_f32_files(&tok, &cfg, &st).unwrap();
    for text in ["typhoon approaching Kyushu", "- Korean Peninsula - Snow\n- Mongolia - Clear", "Is it raining?"] {
        let ids = enc.tokenizer().encode(text).unwrap();
        let c = cosine(&embed_f32(&st, &cfg, &ids).unwrap(), &enc.embed(text).unwrap());
        assert!(c > 0.99999, "cosine {c} for {text:?}");
    }
}

#[test]
fn calibration_set_leaves_out_the_parity_sentences() {
    let texts = calibration_texts();
    for s in parity_sentences() {
        assert!(!texts.contains(&s), "{s:?} is a parity sentence");
    }
}
