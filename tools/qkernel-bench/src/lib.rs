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
/// The 24 matrices' ggml bytes, format and shape, for `load_all`.
static mut GGML: Vec<(GgmlDType, Vec<u8>, usize, usize)> = Vec::new();
static mut X: Vec<f32> = Vec::new();

fn rnd(s: &mut u32) -> f32 { *s ^= *s << 13; *s ^= *s >> 17; *s ^= *s << 5; (*s as f32 / u32::MAX as f32) * 2.0 - 1.0 }

#[no_mangle]
pub extern "C" fn setup(m: usize) {
    let mut s = 12345u32;
    let shapes = [(1152, 384), (384, 384), (1536, 384), (384, 1536)];
    let mut layers = Vec::new();
    // As the shipped encoder: attention q8_0, feed-forward q5_0 (random integers, scale 0.01).
    for _ in 0..6 { for (i, &(out, inp)) in shapes.iter().enumerate() {
        let q5 = i >= 2;
        let mut bytes = Vec::new();
        for _ in 0..out * inp / 32 {
            bytes.extend_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
            let n = if q5 { 4 + 16 } else { 32 };
            for _ in 0..n { bytes.push(((rnd(&mut s) * 127.0) as i8) as u8); }
        }
        let dtype = if q5 { GgmlDType::Q5_0 } else { GgmlDType::Q8_0 };
        let q = QMatrix::from_ggml(dtype, &bytes, out, inp).unwrap();
        unsafe { (*std::ptr::addr_of_mut!(GGML)).push((dtype, bytes.clone(), out, inp)) };
        let w = q.dequantize();
        layers.push(Layer { w, q, b: vec![0.0; out], inp });
    }}
    for &inp in &[1536usize, 384] {
        let mut bytes = Vec::new();
        for _ in 0..4 * inp / 32 { bytes.extend_from_slice(&half::f16::from_f32(0.01).to_le_bytes()); for _ in 0..32 { bytes.push(((rnd(&mut s) * 127.0) as i8) as u8); } }
        let q = QMatrix::from_ggml(GgmlDType::Q8_0, &bytes, 4, inp).unwrap();
        layers.push(Layer { w: q.dequantize(), q, b: vec![0.0; 4], inp });
    }
    unsafe { LAYERS = layers; X = (0..m * 1536).map(|_| rnd(&mut s)).collect(); }
}

/// kind 0: f32 kernel, 1: integer kernel; one pass over all 24 linears with m tokens.
#[no_mangle]
pub extern "C" fn run(kind: u32, m: usize) -> f32 {
    let layers = unsafe { &*std::ptr::addr_of!(LAYERS) };
    let x = unsafe { &*std::ptr::addr_of!(X) };
    let mut acc = 0.0;
    for l in &layers[..24] {
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
    for l in &layers[..24] {
        let b: Vec<f32> = (0..l.b.len()).map(|_| rnd(&mut s)).collect();
        let mut y = vec![0f32; m * l.b.len()];
        qkernel::linear(&x[..m * l.inp], &l.q, &b, &mut y);
        for v in y { for byte in v.to_bits().to_le_bytes() { h ^= byte as u32; h = h.wrapping_mul(16777619); } }
    }
    h
}

/// FNV-1a over a 7 × 64 matrix's dequantized values and its product with 3 tokens (7 rows:
/// a group of four and three rows past it, which each build stores in its own layout).
#[no_mangle]
pub extern "C" fn layout_checksum() -> u32 {
    let mut s = 99u32;
    let mut bytes = Vec::new();
    for _ in 0..7 * 64 / 32 { bytes.extend_from_slice(&half::f16::from_f32(0.02).to_le_bytes()); for _ in 0..32 { bytes.push(((rnd(&mut s) * 127.0) as i8) as u8); } }
    let q = QMatrix::from_ggml(GgmlDType::Q8_0, &bytes, 7, 64).unwrap();
    let x: Vec<f32> = (0..3 * 64).map(|_| rnd(&mut s)).collect();
    let mut y = vec![0f32; 3 * 7];
    qkernel::linear(&x, &q, &[0.5; 7], &mut y);
    // And stacked under a 4-row matrix: 11 rows, two groups of four and three past them.
    let mut four = Vec::new();
    for _ in 0..4 * 64 / 32 { four.extend_from_slice(&half::f16::from_f32(0.03).to_le_bytes()); for _ in 0..32 { four.push(((rnd(&mut s) * 127.0) as i8) as u8); } }
    let c = QMatrix::concat(&[QMatrix::from_ggml(GgmlDType::Q8_0, &four, 4, 64).unwrap(), q.clone()]).unwrap();
    let mut yc = vec![0f32; 3 * 11];
    qkernel::linear(&x, &c, &[0.25; 11], &mut yc);
    // And two 4-row matrices stacked: 8 rows, whole groups.
    let four = QMatrix::from_ggml(GgmlDType::Q8_0, &four, 4, 64).unwrap();
    let c8 = QMatrix::concat(&[four.clone(), four]).unwrap();
    let mut y8 = vec![0f32; 3 * 8];
    qkernel::linear(&x, &c8, &[0.125; 8], &mut y8);
    let mut h = 2166136261u32;
    for v in q.dequantize().into_iter().chain(y).chain(c.dequantize()).chain(yc).chain(c8.dequantize()).chain(y8) { for byte in v.to_bits().to_le_bytes() { h ^= byte as u32; h = h.wrapping_mul(16777619); } }
    h
}

/// Reads the 24 matrices from their ggml bytes, to time what loading costs.
#[no_mangle]
pub extern "C" fn load_all() -> usize {
    let ggml = unsafe { &*std::ptr::addr_of!(GGML) };
    ggml.iter().map(|(dtype, bytes, out, inp)| QMatrix::from_ggml(*dtype, bytes, *out, *inp).unwrap().out()).sum()
}

/// Stacks each layer's three 384-wide matrices (as the encoder stacks query, key and value),
/// to time what loading costs.
#[no_mangle]
pub extern "C" fn concat_all() -> usize {
    let layers = unsafe { &*std::ptr::addr_of!(LAYERS) };
    (0..6).map(|l| QMatrix::concat(&[layers[4 * l].q.clone(), layers[4 * l + 1].q.clone(), layers[4 * l + 2].q.clone()]).unwrap().out()).sum()
}

#[cfg(test)]
#[test]
fn native_checksums() {
    setup(8);
    for m in [1usize, 2, 3, 4, 5, 7, 8] { println!("m {m} checksum {}", checksum(m)); }
}

// Phases of the forward pass, to see where a query's time goes (run-phases.mjs).
static mut QKV: Vec<f32> = Vec::new();

/// As `MiniLm::attention` in crates/core/src/text.rs, for one sequence of `n` tokens.
fn attention(qkv: &[f32], n: usize) -> Vec<f32> {
    let (h, hd, heads) = (384, 32, 12);
    let scale = 1.0 / (hd as f32).sqrt();
    let mut context = vec![0f32; qkv.len() / 3];
    let mut probs = Vec::new();
    let row = |t: usize, part: usize, head: usize| { let at = t * 3 * h + part * h + head * hd; &qkv[at..at + hd] };
    for head in 0..heads {
        for i in 0..n {
            probs.clear();
            probs.extend((0..n).map(|j| kernel::dot(row(i, 0, head), row(j, 1, head)) * scale));
            kernel::softmax(&mut probs);
            let at = i * h + head * hd;
            let out = &mut context[at..at + hd];
            for (j, p) in probs.iter().enumerate() { out.iter_mut().zip(row(j, 2, head)).for_each(|(o, v)| *o += p * v); }
        }
    }
    context
}

/// One phase of the forward pass over the six layers with `m` tokens: 1 attention, 2 residual
/// add + layer norm (twice), 3 GELU, then the integer linears alone: 4 query/key/value,
/// 5 `attention.output.dense`, 6 `intermediate.dense`, 7 `output.dense`; 8 and 9: the
/// activations' quantization (twice per layer, 1536 and 384 wide; through a 4-row matrix,
/// whose products cost little beside it).
#[no_mangle]
pub extern "C" fn phase(kind: u32, m: usize) -> f32 {
    let layers = unsafe { &*std::ptr::addr_of!(LAYERS) };
    let x = unsafe { &*std::ptr::addr_of!(X) };
    let qkv = unsafe { &mut *std::ptr::addr_of_mut!(QKV) };
    if qkv.len() != m * 1152 { *qkv = x.iter().cycle().take(m * 1152).copied().collect(); }
    let g = vec![1.0f32; 384];
    let mut acc = 0.0;
    for layer in 0..6 {
        match kind {
            1 => acc += attention(qkv, m)[0],
            2 => for _ in 0..2 {
                let mut a: Vec<f32> = x[..m * 384].to_vec();
                a.iter_mut().zip(&x[m..]).for_each(|(v, r)| *v += r);
                kernel::layer_norm(&mut a, &g, &g, 1e-12);
                acc += a[0];
            },
            3 => { let mut a = x[..m * 1536].to_vec(); kernel::gelu(&mut a); acc += a[0]; }
            8 | 9 => {
                let l = &layers[24 + kind as usize - 8];
                for _ in 0..2 { let mut y = vec![0f32; m * 4]; qkernel::linear(&x[..m * l.inp], &l.q, &l.b, &mut y); acc += y[0]; }
            }
            _ => {
                let l = &layers[layer * 4 + (kind as usize - 4)];
                let mut y = vec![0f32; m * l.b.len()];
                qkernel::linear(&x[..m * l.inp], &l.q, &l.b, &mut y);
                acc += y[0];
            }
        }
    }
    acc
}
