// The phone's outbox: every action is written here first (IndexedDB, so it survives a reload or a closed app), then sent
// in the order it was taken. Each action and each of its photos carries its own idempotency key, so sending one again
// after a lost answer lands it once. A request that gets no answer stays queued and is tried again when the connection
// returns; an answer of 5xx is tried again later; any other answer takes it out of the queue (a refusal is shown).
// window.gdOutbox(api, name) -> { add, pending, flush, onChange, takeOutcomes }; one queue per page kind (name), so a
// worker's and a resident's actions on one phone never go out under each other's token.
window.gdOutbox = (api, name) => {
  "use strict";

  const opened = new Promise((resolve, reject) => {
    const request = indexedDB.open(`griddispatch-outbox-${name}`, 1);
    request.onupgradeneeded = () => request.result.createObjectStore("actions", { keyPath: "seq", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

  async function tx(mode, work) {
    const db = await opened;
    return new Promise((resolve, reject) => {
      const t = db.transaction("actions", mode);
      const result = work(t.objectStore("actions"));
      t.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      t.onerror = () => reject(t.error);
    });
  }

  const listeners = [];
  const changed = async () => { const items = await pending(); listeners.forEach((f) => f(items)); };

  /** Every queued action, oldest first. */
  const pending = () => tx("readonly", (s) => s.getAll());

  /**
   * Queues an action: { label, method, path, json, photos: [Blob], target (what it acts on, for the page) }. Keys are given here, once, so every later attempt
   * sends the same ones.
   */
  async function add(action) {
    const item = {
      label: action.label, method: action.method || "POST", path: action.path, json: action.json || {}, target: action.target || null,
      key: gd.newKey(), photos: (action.photos || []).map((blob) => ({ blob, key: gd.newKey() })), at: new Date().toISOString(),
    };
    await tx("readwrite", (s) => s.add(item));
    await changed();
    return flush();
  }

  let flushing = null;
  const outcomes = [];

  /** Sends what is queued, in order, until the queue is empty or the connection is gone. */
  function flush() {
    flushing = flushing || (async () => {
      try {
        for (const item of await pending()) {
          const outcome = await send(item);
          if (outcome === "retry") break;
          await tx("readwrite", (s) => s.delete(item.seq));
          outcomes.push(outcome);
          await changed();
        }
      } finally {
        flushing = null;
      }
    })();
    return flushing;
  }

  async function send(item) {
    try {
      const body = { ...item.json };
      if (item.photos.length) {
        body.photos = [];
        for (const p of item.photos) body.photos.push(await gd.uploadPhoto(api, p.blob, p.key));
      }
      const result = await api(item.path, { method: item.method, json: body, headers: { "Idempotency-Key": item.key } });
      return { item, ok: true, result };
    } catch (e) {
      if (e.offline || e.status >= 500 || e.status === 429) return "retry";
      return { item, ok: false, error: e.message };
    }
  }

  window.addEventListener("online", () => flush());
  setInterval(() => { if (navigator.onLine) flush(); }, 15000);

  return {
    add, pending, flush,
    /** f(items) after every change of the queue. */
    onChange(f) { listeners.push(f); changed(); },
    /** Outcomes of sent actions not yet shown, oldest first (taken). */
    takeOutcomes() { return outcomes.splice(0); },
  };
};
