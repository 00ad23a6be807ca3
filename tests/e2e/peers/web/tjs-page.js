// The page side of tjs.html (a file, not inline: the same rules as the app's strict pages).
window.peer = (() => {
  const worker = new Worker(`./tjs-worker.js${location.search}`, { type: 'module' });
  const waiting = new Map();
  let next = 0;
  let settle;
  const ready = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  worker.onmessage = ({ data }) => {
    if (data.id === undefined) {
      if (data.error) settle.reject(new Error(data.error));
      else settle.resolve({ readyMs: performance.now(), info: data.info });
      return;
    }
    const w = waiting.get(data.id);
    waiting.delete(data.id);
    if (data.error) w.reject(new Error(data.error)); else w.resolve(data);
  };
  worker.onerror = (e) => settle.reject(new Error(e.message || 'worker failed'));
  return {
    ready,
    encode(text, withVector = false) {
      next += 1;
      const id = next;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, text, withVector });
      });
    },
  };
})();
