//! The learned linear map from the text encoder's space into the joint text–image space.
//!
//! `z = normalize(W · e + b)` with `W` of shape `(joint_dim, text_dim)`. A bundle without a
//! projection ranks in the text encoder's own space (the identity map).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Projection weights, stored row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    in_dim: usize,
    out_dim: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Projection {
    /// Builds a projection; `weight` is `out_dim × in_dim`, row-major.
    pub fn new(in_dim: usize, out_dim: usize, weight: Vec<f32>, bias: Vec<f32>) -> Result<Self> {
        if weight.len() != in_dim * out_dim || bias.len() != out_dim {
            return Err(Error::Usage(format!(
                "projection {out_dim}×{in_dim} needs {} weights and {out_dim} biases, got {} and {}",
                in_dim * out_dim,
                weight.len(),
                bias.len()
            )));
        }
        Ok(Self { in_dim, out_dim, weight, bias })
    }

    /// Reads the projection from a safetensors file with tensors `weight` and `bias`.
    pub fn from_safetensors(bytes: &[u8], file: &str) -> Result<Self> {
        let tensors = candle_core::safetensors::load_buffer(bytes, &candle_core::Device::Cpu)
            .map_err(|e| Error::format(file, format!("cannot read safetensors: {e}")))?;
        let get = |name: &str| {
            tensors.get(name).ok_or_else(|| Error::format(file, format!("tensor '{name}' is missing")))
        };
        let w = get("weight")?;
        let (out_dim, in_dim) = w.dims2().map_err(|e| Error::format(file, format!("weight: {e}")))?;
        let weight = w.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let bias = get("bias")?.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?;
        Self::new(in_dim, out_dim, weight, bias)
    }

    /// Input dimension.
    pub fn in_dim(&self) -> usize {
        self.in_dim
    }

    /// Output (joint) dimension.
    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    /// Projects and L2-normalises.
    pub fn apply(&self, x: &[f32]) -> Result<Vec<f32>> {
        if x.len() != self.in_dim {
            return Err(Error::Usage(format!("projection expects {}-d input, got {}", self.in_dim, x.len())));
        }
        let mut z: Vec<f32> = self
            .weight
            .chunks_exact(self.in_dim)
            .zip(&self.bias)
            .map(|(row, b)| row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>() + b)
            .collect();
        let norm = z.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        z.iter_mut().for_each(|v| *v /= norm);
        Ok(z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_and_normalises() {
        // W = [[1, 0], [0, 2], [1, 1]], b = [0, 0, -1]; x = [3, 4] → [3, 8, 6] / sqrt(109)
        let p = Projection::new(2, 3, vec![1., 0., 0., 2., 1., 1.], vec![0., 0., -1.]).unwrap();
        let z = p.apply(&[3., 4.]).unwrap();
        let n = 109f32.sqrt();
        for (a, b) in z.iter().zip([3. / n, 8. / n, 6. / n]) {
            assert!((a - b).abs() < 1e-6, "{z:?}");
        }
    }

    #[test]
    fn rejects_wrong_sizes() {
        assert!(Projection::new(2, 3, vec![0.; 5], vec![0.; 3]).is_err());
        let p = Projection::new(2, 1, vec![1., 1.], vec![0.]).unwrap();
        assert!(p.apply(&[1.]).is_err());
    }
}
