// The search worker's entry (index.html starts it): picks the worker build for this engine.
// scripts/build-relaxed-worker puts it in place of Trunk's loader shim beside two builds of
// the same worker: worker_relaxed* uses wasm relaxed SIMD for the encoder's integer products
// (i32x4.relaxed_dot_i8x16_i7x16_add_s: 16 multiply–adds an instruction), worker* plain
// SIMD128 (Safari, and any engine without relaxed SIMD). Both compute the same bits
// (crates/core/src/qkernel.rs). `?simd=plain` on the worker's URL (index.html passes the
// page's through) forces the plain build, for tests and comparisons.
(() => {
  // A module of one function: three v128 constants and i32x4.relaxed_dot_i8x16_i7x16_add_s
  // (0xfd 0x93 0x02). It validates exactly where the engine has relaxed SIMD.
  const v128 = [0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const body = [0x00, ...v128, ...v128, ...v128, 0xfd, 0x93, 0x02, 0x0b];
  const probe = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
    0x03, 0x02, 0x01, 0x00, // one function of that type
    0x0a, body.length + 2, 0x01, body.length, ...body]);
  const forcedPlain = new URLSearchParams(self.location.search).get('simd') === 'plain';
  const relaxed = !forcedPlain && WebAssembly.validate(probe);
  // The service worker precaches only the build it expects this engine to pick (www/sw.js);
  // should the two ever differ offline (an engine that gained relaxed SIMD since), the
  // cached one loads instead of none.
  const builds = relaxed ? ['worker_relaxed', 'worker'] : ['worker', 'worker_relaxed'];
  for (const [i, name] of builds.entries()) {
    try {
      importScripts(`./${name}.js`);
    } catch (e) {
      if (i + 1 < builds.length) continue;
      throw e;
    }
    // A start that fails here (the wasm not fetched, not compiled, no memory for it) would
    // only reject this promise, and the page would wait for a worker that never says it has
    // started; thrown outside the promise, it reaches the page's `error` handler, which says so.
    wasm_bindgen(`./${name}_bg.wasm`).catch((e) => setTimeout(() => { throw new Error(`${name}_bg.wasm: ${e}`); }));
    return;
  }
})();
