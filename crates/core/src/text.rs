//! all-MiniLM-L6-v2: WordPiece tokenizer + 6-layer BERT + masked mean pooling; the same
//! BERT forward with 12 layers and a Unigram tokenizer ([`crate::unigram`]) is
//! multilingual-e5-small, the encoder of Korean queries.
//!
//! One code path serves the browser (wasm32) and the companion. Weights come either from the
//! original f32 `model.safetensors` (parity with sentence-transformers) or from the quantized
//! GGUF file that a bundle ships (written by `skycase-quant`; formats in [`crate::format`]) plus its word-embedding table, which
//! may be only partly loaded (see [`crate::embeddings`]). Quantized linear layers in the
//! `_0` block formats run as integer dot products ([`crate::qkernel`]); everything else is
//! f32. Either way the arithmetic is the same on both sides.
//!
//! candle reads the weights (safetensors, GGUF, the ggml block formats); the forward pass
//! runs on plain row-major `Vec<f32>`s with the kernels of [`crate::kernel`], which fit a
//! query's few tokens (candle's matmul packs each whole weight matrix per call, and its
//! small ops allocate) and add in the same order in wasm and natively.
//!
//! Shapes: a batch's token rows, all sequences one after another (no padding), `(Σn, 384)`
//! → per sequence, pooled `384`, L2-normalised.

use std::io::Cursor;

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::embeddings::WordEmbeddings;
use crate::error::{Error, Result};
use crate::kernel;
use crate::qkernel::{self, QMatrix};
use crate::format::{Quantization, GGUF_CONFIG_KEY, GGUF_QUERY_PREFIX_KEY};
use crate::unigram::Unigram;
use crate::wordpiece::BertWordPiece;

/// Longest input in tokens, as sentence-transformers' `max_seq_length` for this model.
pub const MAX_TOKENS: usize = 256;

/// The parts of a BERT `config.json` that the encoder uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiniLmConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

impl MiniLmConfig {
    /// Parses a Hugging Face `config.json`.
    pub fn from_json(bytes: &[u8], file: &str) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::format(file, format!("not a BERT config: {e}")))
    }

    fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// The tokenizer, set up as sentence-transformers uses it: no padding (the model's
/// `tokenizer.json` pads every input to 128 tokens, which would make each query cost a
/// 128-token forward pass), truncation at [`MAX_TOKENS`].
pub struct TextTokenizer {
    inner: Inner,
}

enum Inner {
    /// A Hugging Face `tokenizer.json` (MiniLM's WordPiece; [`crate::wordpiece`]).
    WordPiece(BertWordPiece),
    /// A `tokenizer.unigram` file (multilingual-e5-small's pieces).
    Unigram(Unigram),
}

impl TextTokenizer {
    /// Loads a `tokenizer.json` (its vocabulary a map or, as [`compact_tokenizer_json`]
    /// writes it, a list), or a `tokenizer.unigram` file (told apart by its magic). The
    /// file's own padding and truncation are not used (see [`TextTokenizer`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.starts_with(crate::unigram::MAGIC) {
            return Ok(Self { inner: Inner::Unigram(Unigram::from_bytes(bytes, "tokenizer.unigram")?) });
        }
        let inner = BertWordPiece::from_json(bytes).map_err(|e| Error::Tokenizer(format!("tokenizer.json: {e}")))?;
        Ok(Self { inner: Inner::WordPiece(inner) })
    }

    /// Token ids of one text, with `[CLS]` and `[SEP]` (`<s>` and `</s>`).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match &self.inner {
            Inner::WordPiece(t) => Ok(t.encode(text, MAX_TOKENS)),
            Inner::Unigram(t) => Ok(t.encode(text, MAX_TOKENS)),
        }
    }
}

/// `tokenizer.json` with its WordPiece vocabulary as the list of tokens in id order instead
/// of the map `{token: id}` (ids 0, 1, … n − 1): the same tokenizer, which [`TextTokenizer`]
/// reads back, in less: all-MiniLM-L6-v2's is 193 kB gzipped as a map, 119 kB as a list
/// (the map's ids and separators do not compress away), and the browser loads it before
/// its first answer, so the bundle ships this form (`skycase export`). `None` when the
/// vocabulary is not such a map: then the file is shipped as it is.
pub fn compact_tokenizer_json(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let vocab = v.get_mut("model")?.get_mut("vocab")?;
    let map = vocab.as_object()?;
    let mut tokens = vec![None; map.len()];
    for (token, id) in map {
        let slot = tokens.get_mut(usize::try_from(id.as_u64()?).ok()?)?;
        if slot.replace(serde_json::Value::String(token.clone())).is_some() {
            return None;
        }
    }
    *vocab = serde_json::Value::Array(tokens.into_iter().collect::<Option<Vec<_>>>()?);
    serde_json::to_vec(&v).ok()
}

/// Where the weights come from while building the model.
enum Weights<'a> {
    F32(VarBuilder<'a>),
    Gguf { content: gguf_file::Content, bytes: &'a [u8] },
}

impl Weights<'_> {
    /// A GGUF tensor's block format, bytes and shape, straight from the file.
    fn raw(&self, name: &str) -> Result<(GgmlDType, &[u8], Vec<usize>)> {
        match self {
            Weights::Gguf { content, bytes } => {
                let info = content
                    .tensor_infos
                    .get(name)
                    .ok_or_else(|| Error::format("encoder.gguf", format!("tensor {name} is missing")))?;
                let dtype = info.ggml_dtype;
                let len = info.shape.elem_count() / dtype.block_size() * dtype.type_size();
                let data = usize::try_from(content.tensor_data_offset + info.offset)
                    .ok()
                    .and_then(|start| bytes.get(start..start.checked_add(len)?))
                    .ok_or_else(|| Error::format("encoder.gguf", format!("tensor {name} lies past the end of the file")))?;
                Ok((dtype, data, info.shape.dims().to_vec()))
            }
            Weights::F32(_) => unreachable!("raw is only asked of GGUF weights"),
        }
    }

    fn qtensor(&self, name: &str) -> Result<QTensor> {
        // Straight from the file's bytes: candle's `Content::tensor` reads into a buffer
        // first and then copies it again.
        let (dtype, data, dims) = self.raw(name)?;
        Ok(qtensor_from_ggml(dtype, data, dims, &Device::Cpu)?)
    }

    /// A dense tensor (dequantized if stored quantized).
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = match self {
            Weights::F32(vb) => vb.get(shape, name)?,
            Weights::Gguf { .. } => self.qtensor(name)?.dequantize(&Device::Cpu)?,
        };
        if t.dims() != shape {
            return Err(Error::format(
                "encoder weights",
                format!("tensor {name} has shape {:?}, expected {shape:?}", t.dims()),
            ));
        }
        Ok(t)
    }

    /// A weight matrix `(out, in)` used as `x · Wᵀ`, row-major: as integers and block
    /// scales where the file stores it in a format [`qkernel`] multiplies directly, else f32.
    fn matrix(&self, name: &str, out_dim: usize, in_dim: usize) -> Result<Weight> {
        let t = match self {
            Weights::F32(vb) => vb.get((out_dim, in_dim), name)?,
            Weights::Gguf { .. } => {
                let (dtype, data, dims) = self.raw(name)?;
                if dims != [out_dim, in_dim] {
                    return Err(Error::format(
                        "encoder weights",
                        format!("tensor {name} has shape {dims:?}, expected [{out_dim}, {in_dim}]"),
                    ));
                }
                // The integer kernel quantizes the activations too, but in a fixed way
                // (qkernel's contract, exact integer sums), so browser and companion still
                // compute the same bits. (ggml's own quantized matmul did not: its float sums
                // ran in a different order on x86 and wasm, and a value near a rounding
                // boundary then flipped differently, moving scores by ~2e-4.)
                if let Some(q) = QMatrix::from_ggml(dtype, data, out_dim, in_dim) {
                    return Ok(Weight::Int(q));
                }
                self.qtensor(name)?.dequantize(&Device::Cpu)?
            }
        };
        Ok(Weight::F32(t.flatten_all()?.to_vec1::<f32>()?))
    }

    /// A vector or matrix as row-major values.
    fn values(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        Ok(self.tensor(name, shape)?.flatten_all()?.to_vec1::<f32>()?)
    }

    fn linear(&self, prefix: &str, out_dim: usize, in_dim: usize) -> Result<Linear> {
        Ok(Linear {
            weight: self.matrix(&format!("{prefix}.weight"), out_dim, in_dim)?,
            bias: self.values(&format!("{prefix}.bias"), &[out_dim])?,
        })
    }

    fn layer_norm(&self, prefix: &str, dim: usize, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm {
            gamma: self.values(&format!("{prefix}.weight"), &[dim])?,
            beta: self.values(&format!("{prefix}.bias"), &[dim])?,
            eps: eps as f32,
        })
    }
}

/// `y = x · Wᵀ + b`, with `W` `(out, in)` row-major as the checkpoint stores it.
struct Linear {
    weight: Weight,
    bias: Vec<f32>,
}

/// A linear layer's weights: f32 (the original model, or a format [`qkernel`] does not
/// read) or block integers.
enum Weight {
    F32(Vec<f32>),
    Int(QMatrix),
}

impl Weight {
    fn to_f32(&self) -> Vec<f32> {
        match self {
            Weight::F32(w) => w.clone(),
            Weight::Int(q) => q.dequantize(),
        }
    }
}

impl Linear {
    /// One layer from several with the same input, their outputs side by side.
    fn concat(parts: [Linear; 3]) -> Linear {
        let ints: Vec<QMatrix> = parts
            .iter()
            .filter_map(|p| match &p.weight {
                Weight::Int(q) => Some(q.clone()),
                Weight::F32(_) => None,
            })
            .collect();
        let weight = match (ints.len() == parts.len()).then(|| QMatrix::concat(&ints)).flatten() {
            Some(q) => Weight::Int(q),
            None => Weight::F32(parts.iter().flat_map(|p| p.weight.to_f32()).collect()),
        };
        Linear { weight, bias: parts.iter().flat_map(|p| p.bias.iter().copied()).collect() }
    }

    /// `x`: rows of the input width; returns rows of the output width.
    fn forward(&self, x: &[f32]) -> Vec<f32> {
        let out = self.bias.len();
        match &self.weight {
            Weight::F32(w) => {
                let mut y = vec![0.0; x.len() / (w.len() / out) * out];
                kernel::linear(x, w, &self.bias, &mut y);
                y
            }
            Weight::Int(q) => {
                let mut y = vec![0.0; x.len() / q.inp() * out];
                qkernel::linear(x, q, &self.bias, &mut y);
                y
            }
        }
    }
}

struct LayerNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl LayerNorm {
    /// Normalises `x` row by row, in place.
    fn norm(&self, x: &mut [f32]) {
        kernel::layer_norm(x, &self.gamma, &self.beta, self.eps);
    }

    /// `x + residual`, normalised row by row, in place of `x`.
    fn add_and_norm(&self, x: &mut [f32], residual: &[f32]) {
        x.iter_mut().zip(residual).for_each(|(v, r)| *v += r);
        self.norm(x);
    }
}

struct Layer {
    /// Query, key and value projections in one `(3h, h)` matrix: each output row is
    /// `[q | k | v]`, and the weights stream once.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

/// The BERT encoder of all-MiniLM-L6-v2 with pooling.
pub struct MiniLm {
    config: MiniLmConfig,
    word_embeddings: WordEmbeddings,
    /// `(positions, h)` row-major.
    position_embeddings: Vec<f32>,
    /// Token type 0's row (single-sentence input).
    token_type_embedding: Vec<f32>,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    /// Put before every text (multilingual-e5 expects `query: `); empty for MiniLM.
    query_prefix: String,
}

impl MiniLm {
    /// Builds the encoder from the original f32 `model.safetensors` bytes.
    pub fn from_safetensors(bytes: &[u8], config: MiniLmConfig) -> Result<Self> {
        let vb = VarBuilder::from_buffered_safetensors(bytes.to_vec(), DType::F32, &Device::Cpu)?;
        let (rows, h) = (config.vocab_size, config.hidden_size);
        let table = vb.get((rows, h), "embeddings.word_embeddings.weight")?;
        let data = table.flatten_all()?.to_vec1::<f32>()?.iter().flat_map(|x| x.to_le_bytes()).collect();
        let words = WordEmbeddings::loaded(Quantization::F32, rows, h, data)?;
        Self::build(Weights::F32(vb), config, words)
    }

    /// Builds the encoder from a quantized GGUF file written by `skycase_quant::quantize`
    /// and its word-embedding table, whose chunks may still be arriving.
    pub fn from_gguf(bytes: &[u8], words: WordEmbeddings) -> Result<Self> {
        let content = gguf_file::Content::read(&mut Cursor::new(bytes))
            .map_err(|e| Error::format("encoder.gguf", format!("not a GGUF file: {e}")))?;
        let config_json = content
            .metadata
            .get(GGUF_CONFIG_KEY)
            .and_then(|v| v.to_string().ok())
            .ok_or_else(|| Error::format("encoder.gguf", format!("metadata key {GGUF_CONFIG_KEY} is missing")))?;
        let config = MiniLmConfig::from_json(config_json.as_bytes(), "encoder.gguf")?;
        let query_prefix = match content.metadata.get(GGUF_QUERY_PREFIX_KEY) {
            Some(v) => v.to_string().map_err(|_| Error::format("encoder.gguf", format!("{GGUF_QUERY_PREFIX_KEY} is not a string")))?.clone(),
            None => String::new(),
        };
        if (words.rows(), words.dim()) != (config.vocab_size, config.hidden_size) {
            return Err(Error::format(
                "manifest.json",
                format!(
                    "the word-embedding table is {} × {}, the encoder expects {} × {}",
                    words.rows(),
                    words.dim(),
                    config.vocab_size,
                    config.hidden_size
                ),
            ));
        }
        let mut model = Self::build(Weights::Gguf { content, bytes }, config, words)?;
        model.query_prefix = query_prefix;
        Ok(model)
    }

    fn build(w: Weights<'_>, config: MiniLmConfig, word_embeddings: WordEmbeddings) -> Result<Self> {
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        if config.num_attention_heads == 0 || h % config.num_attention_heads != 0 {
            return Err(Error::format("config.json", "hidden_size is not a multiple of num_attention_heads"));
        }
        let position_embeddings = match &w {
            // Quantized files keep only the positions that can occur (MAX_TOKENS).
            Weights::Gguf { content, .. } => {
                let n = content
                    .tensor_infos
                    .get("embeddings.position_embeddings.weight")
                    .map(|i| i.shape.dims()[0])
                    .unwrap_or(0);
                w.values("embeddings.position_embeddings.weight", &[n, h])?
            }
            Weights::F32(_) => w.values("embeddings.position_embeddings.weight", &[config.max_position_embeddings, h])?,
        };
        let token_type = w.values("embeddings.token_type_embeddings.weight", &[config.type_vocab_size, h])?;
        let token_type_embedding = token_type[..h].to_vec();
        let embed_norm = w.layer_norm("embeddings.LayerNorm", h, eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                qkv: Linear::concat([
                    w.linear(&format!("{p}.attention.self.query"), h, h)?,
                    w.linear(&format!("{p}.attention.self.key"), h, h)?,
                    w.linear(&format!("{p}.attention.self.value"), h, h)?,
                ]),
                attn_out: w.linear(&format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: w.layer_norm(&format!("{p}.attention.output.LayerNorm"), h, eps)?,
                intermediate: w.linear(&format!("{p}.intermediate.dense"), config.intermediate_size, h)?,
                output: w.linear(&format!("{p}.output.dense"), h, config.intermediate_size)?,
                out_norm: w.layer_norm(&format!("{p}.output.LayerNorm"), h, eps)?,
            });
        }
        Ok(Self { config, word_embeddings, position_embeddings, token_type_embedding, embed_norm, layers, query_prefix: String::new() })
    }

    /// The text put before every input (`query: ` for multilingual-e5, empty for MiniLM).
    pub fn query_prefix(&self) -> &str {
        &self.query_prefix
    }

    /// The model's configuration.
    pub fn config(&self) -> &MiniLmConfig {
        &self.config
    }

    /// The word-embedding table.
    pub fn word_embeddings(&self) -> &WordEmbeddings {
        &self.word_embeddings
    }

    /// The word-embedding table, to insert chunks as they arrive.
    pub fn word_embeddings_mut(&mut self) -> &mut WordEmbeddings {
        &mut self.word_embeddings
    }

    /// Output dimension (384).
    pub fn dim(&self) -> usize {
        self.config.hidden_size
    }

    /// Pooled, L2-normalised embeddings of a batch of token-id sequences (of any lengths:
    /// each attends only to itself, so a batch gives the same vectors as one at a time).
    pub fn embed_ids(&self, batch: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let h = self.config.hidden_size;
        let positions = self.position_embeddings.len() / h;
        let mut ids = Vec::with_capacity(batch.iter().map(Vec::len).sum());
        for seq in batch {
            if seq.is_empty() {
                return Err(Error::Usage("cannot embed an empty token sequence".into()));
            }
            if seq.len() > positions {
                return Err(Error::Usage(format!(
                    "input of {} tokens is longer than the model's {positions} positions",
                    seq.len()
                )));
            }
            if let Some(id) = seq.iter().find(|&&id| id as usize >= self.config.vocab_size) {
                return Err(Error::Usage(format!("token id {id} is outside the vocabulary")));
            }
            ids.extend_from_slice(seq);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let words = self.word_embeddings.lookup(&ids)?.flatten_all()?.to_vec1::<f32>()?;
        let lens: Vec<usize> = batch.iter().map(Vec::len).collect();
        Ok(self.forward(words, &lens))
    }

    /// `x`: the `(Σ lens, h)` word-embedding rows of the batch's sequences, one after another.
    fn forward(&self, mut x: Vec<f32>, lens: &[usize]) -> Vec<Vec<f32>> {
        let h = self.config.hidden_size;
        let mut rows = x.chunks_exact_mut(h);
        for &n in lens {
            for (row, pos) in rows.by_ref().take(n).zip(self.position_embeddings.chunks_exact(h)) {
                for ((v, p), t) in row.iter_mut().zip(pos).zip(&self.token_type_embedding) {
                    *v = *v + p + t;
                }
            }
        }
        self.embed_norm.norm(&mut x);

        for layer in &self.layers {
            let context = self.attention(&layer.qkv.forward(&x), lens);
            let mut attn = layer.attn_out.forward(&context);
            layer.attn_norm.add_and_norm(&mut attn, &x);
            let mut inner = layer.intermediate.forward(&attn);
            kernel::gelu(&mut inner);
            x = layer.output.forward(&inner);
            layer.out_norm.add_and_norm(&mut x, &attn);
        }

        // Mean pooling over each sequence's tokens, then L2 normalisation.
        let mut rows = x.chunks_exact(h);
        lens.iter()
            .map(|&n| {
                let mut mean = vec![0f32; h];
                for row in rows.by_ref().take(n) {
                    mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
                }
                mean.iter_mut().for_each(|m| *m /= n as f32);
                let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                mean.iter_mut().for_each(|m| *m /= norm);
                mean
            })
            .collect()
    }

    /// Multi-head self-attention of each sequence over itself. `qkv`: rows `[q | k | v]`
    /// of width `3h`; returns the context rows (width `h`, heads side by side).
    fn attention(&self, qkv: &[f32], lens: &[usize]) -> Vec<f32> {
        let h = self.config.hidden_size;
        let hd = self.config.head_dim();
        let scale = 1.0 / (hd as f32).sqrt();
        let mut context = vec![0f32; qkv.len() / 3];
        let mut probs = Vec::new();
        let mut start = 0;
        for &n in lens {
            let row = |t: usize, part: usize, head: usize| {
                let at = (start + t) * 3 * h + part * h + head * hd;
                &qkv[at..at + hd]
            };
            for head in 0..self.config.num_attention_heads {
                for i in 0..n {
                    probs.clear();
                    probs.extend((0..n).map(|j| kernel::dot(row(i, 0, head), row(j, 1, head)) * scale));
                    kernel::softmax(&mut probs);
                    let at = (start + i) * h + head * hd;
                    let out = &mut context[at..at + hd];
                    for (j, p) in probs.iter().enumerate() {
                        out.iter_mut().zip(row(j, 2, head)).for_each(|(o, v)| *o += p * v);
                    }
                }
            }
            start += n;
        }
        context
    }
}

/// Tokenizer + encoder: text in, embedding out.
pub struct TextEncoder {
    tokenizer: TextTokenizer,
    model: MiniLm,
}

impl TextEncoder {
    /// Pairs a tokenizer with a model.
    pub fn new(tokenizer: TextTokenizer, model: MiniLm) -> Self {
        Self { tokenizer, model }
    }

    /// Loads the original model folder (`tokenizer.json`, `config.json`, `model.safetensors`).
    pub fn from_f32_files(tokenizer_json: &[u8], config_json: &[u8], safetensors: &[u8]) -> Result<Self> {
        let config = MiniLmConfig::from_json(config_json, "config.json")?;
        Ok(Self::new(TextTokenizer::from_bytes(tokenizer_json)?, MiniLm::from_safetensors(safetensors, config)?))
    }

    /// Loads a bundle's tokenizer and quantized encoder with its word-embedding table.
    pub fn from_bundle_files(tokenizer_json: &[u8], encoder_gguf: &[u8], words: WordEmbeddings) -> Result<Self> {
        Ok(Self::new(TextTokenizer::from_bytes(tokenizer_json)?, MiniLm::from_gguf(encoder_gguf, words)?))
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The model.
    pub fn model(&self) -> &MiniLm {
        &self.model
    }

    /// The model, to insert word-embedding chunks as they arrive.
    pub fn model_mut(&mut self) -> &mut MiniLm {
        &mut self.model
    }

    /// Token ids of a text as the model sees it (after the model's query prefix).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        match self.model.query_prefix() {
            "" => self.tokenizer.encode(text),
            prefix => self.tokenizer.encode(&format!("{prefix}{text}")),
        }
    }

    /// The word-embedding chunks that embedding `text` needs and that are not loaded yet.
    pub fn missing_chunks(&self, text: &str) -> Result<Vec<usize>> {
        Ok(self.model.word_embeddings().missing_chunks(&self.token_ids(text)?))
    }

    /// Embedding of a search query: as [`embed`](Self::embed), but a blank query is a usage
    /// error rather than the embedding of `[CLS] [SEP]`.
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        if text.trim().is_empty() {
            return Err(Error::Usage("the query is empty: type a few words, e.g. \"typhoon approaching Kyushu\"".into()));
        }
        self.embed(text)
    }

    /// Embedding of one text (an empty text embeds `[CLS] [SEP]`, as sentence-transformers does).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let ids = self.token_ids(text)?;
        let mut out = self.model.embed_ids(&[ids])?;
        Ok(out.remove(0))
    }

    /// Embeddings of many texts, `batch` at a time (texts of similar length batch best).
    pub fn embed_many(&self, texts: &[&str], batch: usize) -> Result<Vec<Vec<f32>>> {
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| self.token_ids(t)).collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(texts.len());
        for chunk in ids.chunks(batch.max(1)) {
            out.extend(self.model.embed_ids(chunk)?);
        }
        Ok(out)
    }
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WordPiece tokenizer.json in all-MiniLM-L6-v2's shape, with a ten-token vocabulary.
    fn tiny_tokenizer(vocab: &str) -> String {
        let special = |id: u32, t: &str| format!(r###"{{"id":{id},"content":"{t}","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}}"###);
        format!(
            r###"{{"version":"1.0","truncation":null,"padding":null,"added_tokens":[{},{},{},{}],
"normalizer":{{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true}},
"pre_tokenizer":{{"type":"BertPreTokenizer"}},
"post_processor":{{"type":"TemplateProcessing","single":[{{"SpecialToken":{{"id":"[CLS]","type_id":0}}}},{{"Sequence":{{"id":"A","type_id":0}}}},{{"SpecialToken":{{"id":"[SEP]","type_id":0}}}}],
"pair":[{{"SpecialToken":{{"id":"[CLS]","type_id":0}}}},{{"Sequence":{{"id":"A","type_id":0}}}},{{"SpecialToken":{{"id":"[SEP]","type_id":0}}}},{{"Sequence":{{"id":"B","type_id":1}}}},{{"SpecialToken":{{"id":"[SEP]","type_id":1}}}}],
"special_tokens":{{"[CLS]":{{"id":"[CLS]","ids":[2],"tokens":["[CLS]"]}},"[SEP]":{{"id":"[SEP]","ids":[3],"tokens":["[SEP]"]}}}}}},
"decoder":null,
"model":{{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{vocab}}}}}"###,
            special(0, "[PAD]"),
            special(1, "[UNK]"),
            special(2, "[CLS]"),
            special(3, "[SEP]")
        )
    }

    #[test]
    fn a_compact_tokenizer_json_tokenizes_as_the_original() {
        let json = tiny_tokenizer(r###"{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"typhoon":4,"ky":5,"##ush":6,"##u":7,"over":8,",":9}"###);
        let compact = compact_tokenizer_json(json.as_bytes()).expect("a WordPiece map with ids 0..n");
        let text = String::from_utf8(compact.clone()).unwrap();
        assert!(text.contains(r###""vocab":["[PAD]","[UNK]","[CLS]","[SEP]","typhoon","ky","##ush","##u","over",","]"###), "{text}");
        let (a, b) = (TextTokenizer::from_bytes(json.as_bytes()).unwrap(), TextTokenizer::from_bytes(&compact).unwrap());
        for q in ["Typhoon over Kyushu, typhoon!", "", "kyu ky over,over"] {
            assert_eq!(a.encode(q).unwrap(), b.encode(q).unwrap(), "{q:?}");
        }
        // [CLS] typhoon over ky ##ush ##u , typhoon [UNK] ("!" is not in the vocabulary) [SEP]
        assert_eq!(b.encode("Typhoon over Kyushu, typhoon!").unwrap(), [2, 4, 8, 5, 6, 7, 9, 4, 1, 3]);
    }

    #[test]
    fn a_compact_tokenizer_json_tokenizes_as_the_tokenizers_crate() {
        // Added tokens both in the vocabulary and past it ([MASK]), ids not in list order.
        let json = tiny_tokenizer(r###"{"ky":5,"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"typhoon":4,"##ush":6,"##u":7,"over":8,",":9}"###)
            .replace(r###""added_tokens":["###, r###""added_tokens":[{"id":10,"content":"[MASK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},"###);
        let compact = compact_tokenizer_json(json.as_bytes()).expect("a WordPiece map with ids 0..n");
        let mut reference = tokenizers::Tokenizer::from_bytes(json.as_bytes()).unwrap();
        reference.with_truncation(Some(tokenizers::TruncationParams { max_length: MAX_TOKENS, ..Default::default() })).unwrap();
        let (a, b) = (TextTokenizer::from_bytes(json.as_bytes()).unwrap(), TextTokenizer::from_bytes(&compact).unwrap());
        let long = "typhoon ".repeat(300);
        for q in ["Typhoon over Kyushu, typhoon!", "[MASK] over [CLS] ky", "[MASK][MASK]ky[SEP]", "", long.as_str()] {
            let want = reference.encode(q, true).unwrap().get_ids().to_vec();
            assert_eq!(a.encode(q).unwrap(), want, "{q:?}");
            assert_eq!(b.encode(q).unwrap(), want, "{q:?}");
        }
        assert_eq!(b.encode("[MASK] over").unwrap(), [2, 10, 8, 3]);
        assert_eq!(b.encode(&long).unwrap().len(), MAX_TOKENS);
        // Steps it does not implement are refused, not tokenized differently.
        let text = String::from_utf8(compact).unwrap();
        for (from, to) in [
            (r###""type":"WordPiece""###, r###""type":"BPE""###),
            (r###""lstrip":false"###, r###""lstrip":true"###),
            (r###""type":"BertPreTokenizer""###, r###""type":"Whitespace""###),
            (r###""type":"BertNormalizer""###, r###""type":"NFC""###),
        ] {
            assert!(TextTokenizer::from_bytes(text.replacen(from, to, 1).as_bytes()).is_err(), "{to}");
        }
    }

    #[test]
    fn only_a_map_of_ids_0_to_n_is_made_compact() {
        // A gap (no id 4) and a repeated id: shipped as they are.
        assert_eq!(compact_tokenizer_json(tiny_tokenizer(r###"{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"over":5}"###).as_bytes()), None);
        assert_eq!(compact_tokenizer_json(tiny_tokenizer(r###"{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"over":3}"###).as_bytes()), None);
        assert_eq!(compact_tokenizer_json(b"not json"), None);
        // A list with a repeated token is refused on reading.
        let bad = tiny_tokenizer(r###"["[PAD]","[UNK]","[CLS]","[SEP]","over","over"]"###);
        let err = TextTokenizer::from_bytes(bad.as_bytes()).err().expect("refused").to_string();
        assert!(err.contains("vocabulary entry 5 repeats a token"), "{err}");
    }
}
