//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay test, so
//! both exercise exactly the same code. They never panic on any input; errors are fine.

use std::path::Path;

/// xRIT: parse and decode `data` as one segment; when it holds a marker `\xffSEG2`, the
/// bytes after it are a second segment and both are assembled.
pub fn xrit(data: &[u8]) {
    let p = Path::new("fuzz_01.hrit");
    let (a, b) = match find(data, b"\xffSEG2") {
        Some(i) => (&data[..i], Some(&data[i + 5..])),
        None => (data, None),
    };
    let _ = crate::xrit::parse_header(a, p);
    let mut segs = Vec::new();
    if let Ok(s) = crate::xrit::decode_segment(a, p) {
        segs.push(s);
    }
    if let Some(b) = b {
        if let Ok(s) = crate::xrit::decode_segment(b, Path::new("fuzz_02.hrit")) {
            segs.push(s);
        }
    }
    if !segs.is_empty() {
        let _ = crate::xrit::assemble(segs);
    }
}

/// PNG + sidecar: `data` is `<meta.json bytes>\0<png bytes>`; without a NUL, the whole input
/// is tried both as a sidecar and as a PNG for the simulated archive's sidecar.
pub fn png_sidecar(data: &[u8]) {
    let p = Path::new("meta.json");
    let png_path = Path::new("frames/x_201711010000.png");
    match data.iter().position(|&b| b == 0) {
        Some(i) => {
            if let Ok(s) = crate::sidecar::Sidecar::parse(&data[..i], p) {
                // Keep allocations bounded: the fuzzer controls width × height.
                if s.width * s.height <= 4_000_000 {
                    let _ = s.decode_png(&data[i + 1..], png_path);
                }
            }
        }
        None => {
            let _ = crate::sidecar::Sidecar::parse(data, p);
            let _ = crate::sidecar::Sidecar::sim_nov2017().decode_png(data, png_path);
        }
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}
