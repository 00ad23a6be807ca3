//! Replay the corpus kept by the cargo-fuzz runs (fuzz/) through the same entry points.
//! Corpus files: tests/fixtures/ingest/fuzz-corpus/<target>.corpus.gz, a gzip of
//! `(u32 LE length, bytes)*` (cmin-minimized corpus plus the seeds).
use std::io::Read;
use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ingest/fuzz-corpus").join(format!("{target}.corpus.gz"));
    let mut buf = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&p).unwrap()).read_to_end(&mut buf).unwrap();
    let (mut at, mut n) = (0usize, 0usize);
    while at + 4 <= buf.len() {
        let len = u32::from_le_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
        let input = &buf[at + 4..at + 4 + len];
        run(input);
        at += 4 + len;
        n += 1;
    }
    assert_eq!(at, buf.len(), "corpus file framing");
    n
}

#[test]
fn xrit_corpus_replays_without_panic() {
    let n = replay("xrit", skycase_ingest::fuzz::xrit);
    assert!(n > 100, "{n}");
}

#[test]
fn png_sidecar_corpus_replays_without_panic() {
    let n = replay("png_sidecar", skycase_ingest::fuzz::png_sidecar);
    assert!(n > 100, "{n}");
}
