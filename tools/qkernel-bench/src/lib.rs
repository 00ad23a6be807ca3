#[path = "../../../crates/core/src/kernel.rs"]
#[allow(dead_code)]
mod kernel;
#[path = "../../../crates/core/src/qkernel.rs"]
#[allow(dead_code)]
mod qkernel;
use candle_core::quantized::GgmlDType;
use qkernel::QMatrix;

struct Layer { w: Vec<f32>, q: QMatrix, b: Vec<f32>, inp: usize }
static mut LAYERS: Vec<Layer> = Vec::new();
static mut X: Vec<f32> = Vec::new();

fn rnd(s: &mut u32) -> f32 { *s ^= *s << 13; *s ^= *s >> 17; *s ^= *s << 5; (*s as f32 / u32::MAX as f32) * 2.0 - 1.0 }

#[no_mangle]
pub extern "C" fn setup(m: usize) {
    let mut s = 12345u32;
    let shapes = [(1152, 384), (384, 384), (1536, 384), (384, 1536)];
    let mut layers = Vec::new();
    for _ in 0..6 { for &(out, inp) in &shapes {
        let mut bytes = Vec::new();
        for _ in 0..out * inp / 32 {
            bytes.extend_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
            for _ in 0..32 { bytes.push(((rnd(&mut s) * 127.0) as i8) as u8); }
        }
        let q = QMatrix::from_ggml(GgmlDType::Q8_0, &bytes, out, inp).unwrap();
        let w = q.dequantize();
        layers.push(Layer { w, q, b: vec![0.0; out], inp });
    }}
    unsafe { LAYERS = layers; X = (0..m * 1536).map(|_| rnd(&mut s)).collect(); }
}

/// kind 0: f32 kernel, 1: integer kernel; one pass over all 24 linears with m tokens.
#[no_mangle]
pub extern "C" fn run(kind: u32, m: usize) -> f32 {
    let layers = unsafe { &*std::ptr::addr_of!(LAYERS) };
    let x = unsafe { &*std::ptr::addr_of!(X) };
    let mut acc = 0.0;
    for l in layers {
        let xi = &x[..m * l.inp];
        let mut y = vec![0f32; m * l.b.len()];
        if kind == 0 { kernel::linear(xi, &l.w, &l.b, &mut y) } else { qkernel::linear(xi, &l.q, &l.b, &mut y) }
        acc += y[0];
    }
    acc
}

/// FNV-1a over the output bits of qkernel::linear for every layer, m tokens (odd and even).
#[no_mangle]
pub extern "C" fn checksum(m: usize) -> u32 {
    let layers = unsafe { &*std::ptr::addr_of!(LAYERS) };
    let mut s = 777u32;
    let x: Vec<f32> = (0..m * 1536).map(|i| rnd(&mut s) * if i % 97 == 0 { 20.0 } else { 1.0 }).collect();
    let mut h = 2166136261u32;
    for l in layers {
        let b: Vec<f32> = (0..l.b.len()).map(|_| rnd(&mut s)).collect();
        let mut y = vec![0f32; m * l.b.len()];
        qkernel::linear(&x[..m * l.inp], &l.q, &b, &mut y);
        for v in y { for byte in v.to_bits().to_le_bytes() { h ^= byte as u32; h = h.wrapping_mul(16777619); } }
    }
    h
}

#[cfg(test)]
#[test]
fn native_checksums() {
    setup(8);
    for m in [1usize, 2, 3, 4, 5, 7, 8] { println!("m {m} checksum {}", checksum(m)); }
}
