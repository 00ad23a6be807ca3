//! Fuzz the xRIT header parser, segment decoder and assembly (two segments from one input).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    skycase_ingest::fuzz::xrit(data);
});
