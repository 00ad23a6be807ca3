// transformers.js with onnxruntime-web's single-threaded wasm backend (the page is not
// cross-origin isolated, as an embedded page usually is not), every file from this origin.
import { env, pipeline } from '/lib/transformers.min.js';

const params = new URLSearchParams(self.location.search);
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.backends.onnx.wasm.numThreads = 1;
env.backends.onnx.wasm.wasmPaths = {
  mjs: new URL('/ort/ort-wasm-simd-threaded.asyncify.mjs', self.location).href,
  wasm: new URL('/ort/ort-wasm-simd-threaded.asyncify.wasm', self.location).href,
};

let extract;
try {
  extract = await pipeline('feature-extraction', params.get('model'), { dtype: params.get('dtype'), device: 'wasm' });
  postMessage({ info: { version: env.version, dtype: params.get('dtype'), model: params.get('model'), isolated: self.crossOriginIsolated } });
} catch (e) {
  postMessage({ error: String(e?.stack || e) });
}

self.onmessage = async ({ data: { id, text, withVector } }) => {
  try {
    const start = performance.now();
    const out = await extract(text, { pooling: 'mean', normalize: true });
    const ms = performance.now() - start;
    const reply = { id, ms };
    if (withVector) {
      reply.vector = Array.from(out.data);
      reply.ntok = extract.tokenizer(text).input_ids.dims[1];
    }
    postMessage(reply);
  } catch (e) {
    postMessage({ id, error: String(e?.stack || e) });
  }
};
