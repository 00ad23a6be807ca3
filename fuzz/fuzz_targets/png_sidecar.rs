//! Fuzz the meta.json sidecar parser and the PNG frame decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    skycase_ingest::fuzz::png_sidecar(data);
});
