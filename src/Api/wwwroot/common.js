// What every GridDispatch page shares: escaping, the signed-in session (bearer token), calls to the API, the development
// sign-in and photos (fetched with the token, since an <img> cannot send one). window.gd.
window.gd = (() => {
  "use strict";

  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const when = (t) => (t ? new Date(t).toLocaleString() : "–");
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`);

  // A session per page kind: the dashboard keeps its token for the tab (sessionStorage); the phone pages keep theirs
  // across restarts (localStorage), so actions queued offline can still be sent after the app is reopened.
  function session(name, storage) {
    const load = () => ({ token: storage.getItem(`${name}_token`), user: JSON.parse(storage.getItem(`${name}_user`) || "null") });
    let state = load();
    return {
      get token() { return state.token; },
      get user() { return state.user; },
      save(token, user) { storage.setItem(`${name}_token`, token); storage.setItem(`${name}_user`, JSON.stringify(user)); state = load(); },
      clear() { storage.removeItem(`${name}_token`); storage.removeItem(`${name}_user`); state = load(); },
    };
  }

  /** An error with the response's status and problem details; offline is true when the request never got an answer. */
  class ApiError extends Error {
    constructor(message, status, problem) { super(message); this.status = status; this.problem = problem; this.offline = status === 0; }
  }

  /** Calls the API with the session's token; JSON in and out. Throws ApiError; calls onUnauthorized on a 401. */
  function client(current, onUnauthorized) {
    return async function api(path, options = {}) {
      const headers = { ...(options.headers || {}) };
      if (current.token) headers.Authorization = `Bearer ${current.token}`;
      if (options.json !== undefined) { headers["Content-Type"] = "application/json"; options.body = JSON.stringify(options.json); }
      let response;
      try {
        response = await fetch(path, { method: options.method || "GET", headers, body: options.body });
      } catch (e) {
        throw new ApiError("No connection: the request did not reach the server", 0, null);
      }
      if (response.status === 401 && onUnauthorized) onUnauthorized();
      const type = response.headers.get("content-type") || "";
      const body = type.includes("json") ? await response.json().catch(() => null) : null;
      if (!response.ok) {
        const detail = body && (body.detail || body.title);
        throw new ApiError(`${response.status} ${detail || response.statusText}${body && body.field ? ` (${body.field})` : ""}`, response.status, body);
      }
      return body;
    };
  }

  /**
   * The development issuer's sign-in (a real deployment signs in at the city's identity provider): a list of demo users,
   * optionally only those of some roles. Resolves with { token, user } once one is chosen.
   */
  async function devSignIn(panel, roles) {
    panel.hidden = false;
    const response = await fetch("/dev/users").catch(() => null);
    if (!response || !response.ok) {
      panel.innerHTML = "<h2>Sign in</h2><p class=\"result error\">No development sign-in here: use a token from the city's identity provider.</p>";
      return new Promise(() => {});
    }
    const users = (await response.json()).filter((u) => !roles || roles.includes(u.role));
    const select = panel.querySelector("select");
    select.innerHTML = users.map((u) => `<option value="${esc(u.id)}">${esc(u.name)} — ${esc(u.role)}${u.scope ? ` ${esc(u.scope)}` : ""}</option>`).join("");
    return new Promise((resolve) => {
      panel.querySelector("button").addEventListener("click", async () => {
        const r = await fetch("/dev/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: select.value }) });
        if (!r.ok) { panel.querySelector(".result").textContent = `Sign-in refused: ${r.status}`; return; }
        const body = await r.json();
        panel.hidden = true;
        resolve({ token: body.access_token, user: body.user });
      });
    });
  }

  // ---- photos -----------------------------------------------------------------------------------------------------
  /** Thumbnails of photo ids, filled in by loadPhotos; a click shows the photo itself. */
  const photoStrip = (ids, label) => (ids && ids.length
    ? `<span class="photos">${ids.map((id, i) => `<button type="button" class="photo" data-photo="${esc(id)}" aria-label="${esc(label || "photo")} ${i + 1} of ${ids.length}, open">
        <img alt="" width="96" height="72"></button>`).join("")}</span>`
    : "");

  const objectUrls = new Map(); // "id/thumbnail" -> object URL, so a photo is fetched once per page

  async function photoUrl(current, id, thumbnail) {
    const key = `${id}/${thumbnail ? "t" : "f"}`;
    if (objectUrls.has(key)) return objectUrls.get(key);
    const r = await fetch(`/api/photos/${encodeURIComponent(id)}${thumbnail ? "/thumbnail" : ""}`, { headers: { Authorization: `Bearer ${current.token}` } });
    if (!r.ok) throw new Error(`photo ${id}: ${r.status}`);
    const url = URL.createObjectURL(await r.blob());
    objectUrls.set(key, url);
    return url;
  }

  /** Fills every photo button under root with its thumbnail; a click opens the full photo in a dialog. */
  function loadPhotos(current, root) {
    for (const button of root.querySelectorAll("button.photo[data-photo]")) {
      if (button.dataset.loaded) continue;
      button.dataset.loaded = "1";
      photoUrl(current, button.dataset.photo, true).then((url) => { button.querySelector("img").src = url; })
        .catch(() => { button.classList.add("missing"); });
      button.addEventListener("click", async () => {
        let dialog = document.getElementById("photo-dialog");
        if (!dialog) {
          dialog = document.createElement("dialog");
          dialog.id = "photo-dialog";
          dialog.innerHTML = "<img alt=\"\"><form method=\"dialog\"><button>Close</button></form>";
          document.body.append(dialog);
        }
        dialog.querySelector("img").alt = button.getAttribute("aria-label").replace(/, open$/, "");
        dialog.querySelector("img").src = await photoUrl(current, button.dataset.photo, false).catch(() => "");
        dialog.showModal();
      });
    }
  }

  /** Uploads one picture (a File or Blob) under an idempotency key; resolves with its id. */
  async function uploadPhoto(api, blob, key) {
    const info = await api("/api/photos", { method: "POST", headers: { "Content-Type": blob.type || "image/jpeg", "Idempotency-Key": key }, body: blob });
    return info.id;
  }

  /**
   * A camera's picture made small enough to send on a bad connection (and under the server's 5 MiB): upright, at most
   * 1600 px on its long side, JPEG. A small JPEG, or a file the browser cannot read, is sent as it is.
   */
  async function shrink(file, side = 1600) {
    try {
      const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
      const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.type === "image/jpeg" && file.size <= 1024 * 1024) return file;
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return await new Promise((resolve) => { canvas.toBlob((b) => resolve(b || file), "image/jpeg", 0.85); });
    } catch (e) {
      return file;
    }
  }

  /** The phone's position ({ latitude, longitude }), or null when it gives none within 8 s. */
  function locate() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve(null);
      return navigator.geolocation.getCurrentPosition((p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude }), () => resolve(null),
        { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 });
    });
  }

  /**
   * What a phone page does first: installs the service worker (the page opens offline), then signs in with the
   * development issuer unless the session already holds a token (a role's users only).
   */
  async function startPhone(current, panel, role) {
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
    if (!current.token) {
      const signed = await devSignIn(panel, [role]);
      current.save(signed.token, signed.user);
    }
  }

  /** The categories a report may name, each with its "中文 English" name; none when the catalogue cannot be read. */
  async function reportableCategories(api) {
    const classes = await api("/api/categories").catch(() => []);
    return classes.flatMap((c) => c.categories.filter((s) => s.reportable !== false)).map((c) => ({ ...c, label: `${c.nameZh} ${c.name}` }));
  }

  /** Says in el what the outbox still holds (nothing when it is empty); data-pending has the count. */
  function showOutbox(el, items) {
    el.textContent = items.length === 0 ? "" : `${items.length} waiting to be sent 待发送: ${items.map((i) => i.label).join(" · ")}`;
    el.dataset.pending = String(items.length);
  }

  return { esc, when, newKey, session, client, ApiError, devSignIn, photoStrip, loadPhotos, uploadPhoto, shrink, locate, showOutbox, startPhone, reportableCategories };
})();
