// The phone's outbox: every action is written here first (IndexedDB, so it survives a reload or a closed app), then sent
// in the order it was taken. Each action and each of its photos carries its own idempotency key, so sending one again
// after a lost answer lands it once. A request that gets no answer stays queued and is tried again when the connection
// returns; an answer of 5xx is tried again later; any other answer takes it out of the queue (a refusal is shown).
// window.gdOutbox(api, name) -> { add, pending, flush, onChange, takeOutcomes }; name() names the queue (page kind and
// user), so actions never go out under another page's or person's token.
window.gdOutbox = (api, name) => {
  "use strict";

  // Opened on first use, once the page knows who is signed in: one queue per user, so nobody's actions ever go out
  // under the next person's token on a shared phone.
  let opened = null;
  const database = () => opened || (opened = new Promise((resolve, reject) => {
    const request = indexedDB.open(`griddispatch-outbox-${name()}`, 1);
    request.onupgradeneeded = () => request.result.createObjectStore("actions", { keyPath: "seq", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  }));

  async function tx(mode, work) {
    const db = await database();
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
    const pictures = await Promise.all((action.photos || []).map((p) => gd.shrink(p)));
    const item = {
      label: action.label, method: action.method || "POST", path: action.path, json: action.json || {}, target: action.target || null,
      key: gd.newKey(), photos: pictures.map((blob) => ({ blob, key: gd.newKey() })), at: new Date().toISOString(),
    };
    await tx("readwrite", (s) => s.add(item));
    await changed();
    return flush();
  }

  let flushing = null;
  const outcomes = [];

  /** Sends what is queued, in order (the head read again after each, so what is added meanwhile goes too), until the queue is empty or the connection is gone. */
  let again = false;
  function flush() {
    if (flushing) { again = true; return flushing; }
    flushing = (async () => {
      try {
        do {
          again = false;
          for (let [item] = await pending(); item; [item] = await pending()) {
            const outcome = await send(item);
            if (outcome === "retry") return;
            await tx("readwrite", (s) => s.delete(item.seq));
            outcomes.push(outcome);
            await changed();
          }
        } while (again);
      } finally {
        flushing = null;
        await changed();
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
      // No answer, a busy or restarting server, or a token that expired while offline (the page signs in again and
      // the same queue goes on): try again later. Any other answer is final, a refusal shown to the user.
      if (e.offline || e.status === 401 || e.status === 429 || (e.status >= 500 && e.status !== 501 && e.status !== 507)) return "retry";
      return { item, ok: false, error: e.message };
    }
  }

  window.addEventListener("online", () => flush());
  setInterval(() => { if (navigator.onLine) flush(); }, 15000);

  return {
    add, pending, flush,
    /** f(items) after every change of the queue. */
    onChange(f) { listeners.push(f); },
    /** Outcomes of sent actions not yet shown, oldest first (taken). */
    takeOutcomes() { return outcomes.splice(0); },
  };
};
