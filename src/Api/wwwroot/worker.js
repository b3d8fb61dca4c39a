// The grid worker's phone page (/worker): my offers, tasks, sweeps and revisits, each with the buttons to act on it; my
// status, position, load and KPIs; a finding reported where I stand. Live on worker:{id}; every action goes through the
// outbox (outbox.js), so it is kept and sent once when the connection comes back.
(() => {
  "use strict";

  const $ = (s) => document.querySelector(s);
  const { esc } = gd;
  const me = gd.session("gd_worker", localStorage);
  const api = gd.client(me, () => { me.clear(); location.reload(); });
  const outbox = gdOutbox(api, () => `worker-${me.user.id}`);
  const stateText = { offered: "offered 待接单", acknowledged: "accepted 已接单", inProgress: "in progress 处置中", resolved: "resolved 待核查" };

  let view = null;                 // my WorkerView, as the last snapshot or push left it
  let position = null;             // { latitude, longitude } once the phone gave one
  const details = new Map();       // incident or campaign-task id -> its view (description, deadlines, target)
  const queuedFor = new Set();     // ids with an action waiting in the outbox
  const categoryNames = new Map();

  const status = (state, text) => { const el = $("#connection"); el.dataset.state = state; el.textContent = text; };
  const notice = (text, error) => { const el = $("#notice"); el.textContent = text || ""; el.className = `result${error ? " error" : ""}`; };

  // ---- the outbox and what it says --------------------------------------------------------------------------------
  outbox.onChange((items) => {
    queuedFor.clear();
    for (const i of items) if (i.target) queuedFor.add(i.target);
    gd.showOutbox($("#outbox"), items);
    for (const outcome of outbox.takeOutcomes()) {
      if (!outcome.ok) notice(`${outcome.item.label}: not done — ${outcome.error}`, true);
    }
    render();
    refresh();
  });

  /** Queues an action; json.target (the item acted on, marked as waiting until it is sent) is not part of the request. */
  function queue(label, path, json, photos, method) {
    notice("");
    const { target, ...body } = json;
    return outbox.add({ label, path, method, json: body, photos, target });     // its change refreshes the page
  }

  // ---- reading --------------------------------------------------------------------------------------------------
  async function refresh() {
    if (!me.user) return;
    try {
      take(await api(`/api/workers/${encodeURIComponent(me.user.id)}`));
      loadRevisits();
    } catch (e) {
      if (e.offline) status("offline", "offline 离线");
    }
  }

  /** Reads what the list shows of each task once per state; keeps only the tasks held now (a day's tasks come and go). */
  async function loadDetails() {
    const held = new Set((view.tasks || []).map((t) => `${t.incidentId}:${t.status}`));
    for (const key of details.keys()) if (!held.has(key)) details.delete(key);
    const wanted = (view.tasks || []).filter((t) => !details.has(`${t.incidentId}:${t.status}`));
    await Promise.all(wanted.map(async (t) => {
      const path = t.campaign ? `/api/campaigns/tasks/${encodeURIComponent(t.incidentId)}` : `/api/incidents/${encodeURIComponent(t.incidentId)}`;
      const d = await api(path).catch(() => null);
      if (d) details.set(`${t.incidentId}:${t.status}`, d);
    }));
  }

  async function loadRevisits() {
    const list = await api(`/api/workers/${encodeURIComponent(me.user.id)}/revisits`).catch(() => null);
    if (!list) return;
    $("#revisits-count").textContent = String(list.length);
    $("#revisits").innerHTML = list.map((r) => { const off = queuedFor.has(r.householdId) ? " disabled" : ""; return `<li class="task" data-household="${esc(r.householdId)}">
      <div class="what"><b>${esc(r.building)}${r.unit ? ` ${esc(r.unit)}` : ""}</b> <span class="tag ${esc(r.colour)}">${esc(r.colour)}</span></div>
      <div class="sub">${esc(r.kind)} visit due ${gd.when(r.dueAt)}</div>
      <div class="actions">
        <button type="button" data-visit="ok"${off}>Visited, all well 正常</button>
        <button type="button" data-visit="problem"${off}>Problem 有问题</button>
        <button type="button" data-visit="not-reachable"${off}>Nobody home 未见到</button>
      </div>${off ? "<p class=\"sub\"><b>waiting to be sent 待发送</b></p>" : ""}</li>`; }).join("") || "<li class=\"sub\">None due.</li>";
    for (const b of document.querySelectorAll("#revisits [data-visit]")) {
      const id = b.closest("[data-household]").dataset.household;
      b.addEventListener("click", () => queue(`visit ${id.slice(-6)}`, `/api/households/${encodeURIComponent(id)}/visits`,
        { kind: "in-person", outcome: b.dataset.visit, target: id }, []));
    }
  }

  // ---- rendering --------------------------------------------------------------------------------------------------
  const left = (due) => {
    if (!due) return "";
    const s = Math.round((new Date(due) - Date.now()) / 1000);
    if (s <= 0) return "time is up 已超时";
    return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s left to accept 剩余`;
  };

  function card(t) {
    const d = details.get(`${t.incidentId}:${t.status}`) || {};
    const id = esc(t.incidentId);
    const waiting = queuedFor.has(t.incidentId);
    const due = d.deadlines && (d.deadlines.taskAcceptance || d.deadlines.TaskAcceptance);
    const head = `<div class="what"><b>${esc(categoryNames.get(t.category) || t.category)}</b> <span class="sev ${esc(t.severity)}">${esc(t.severity)}</span>
        ${t.overdue ? "<span class=\"tag red\">overdue 超时</span>" : ""}</div>
      <div class="sub">${esc(d.description || "")}</div>
      <div class="sub">${esc(stateText[t.status] || t.status)}${waiting ? " · <b>waiting to be sent 待发送</b>" : ""}</div>`;
    const disabled = waiting ? " disabled" : "";
    let actions = "";
    if (t.status === "offered") {
      actions = `<p class="due" data-due="${esc(due || "")}">${left(due)}</p>
        <button type="button" class="primary" data-act="acknowledge"${disabled}>Accept 接单</button>
        <label>Reason to decline 拒单原因 <input data-field="reason"></label>
        <button type="button" data-act="decline"${disabled}>Decline 拒单</button>`;
    } else if (t.status === "acknowledged") {
      actions = `<button type="button" class="primary" data-act="start"${disabled}>Start work 开始处置</button>
        <label>Reason to hand back 退回原因 <input data-field="reason"></label>
        <button type="button" data-act="hand-back"${disabled}>Hand back 退回</button>`;
    } else if (t.status === "inProgress") {
      actions = `<label>What was done 处置说明 <textarea data-field="note" rows="2"></textarea></label>
        <label>Photos 照片 <input type="file" data-field="photos" accept="image/jpeg,image/png,image/webp" capture="environment" multiple></label>
        <button type="button" class="primary" data-act="resolve"${disabled}>Resolved 已处置</button>
        <label>Reason to hand back 退回原因 <input data-field="reason"></label>
        <button type="button" data-act="hand-back"${disabled}>Hand back 退回</button>`;
    }
    return `<li class="task" data-id="${id}" data-status="${esc(t.status)}">${head}<div class="actions">${actions}</div>
      ${gd.photoStrip(photosOf(d), "photo")}</li>`;
  }

  const photosOf = (d) => (d.timeline || []).flatMap((e) => e.photos || []).concat(d.photos || []);

  function campaignCard(t) {
    const d = details.get(`${t.incidentId}:${t.status}`) || {};
    const waiting = queuedFor.has(t.incidentId);
    const disabled = waiting ? " disabled" : "";
    const started = d.status === "inProgress";
    return `<li class="task" data-id="${esc(t.incidentId)}" data-campaign="1">
      <div class="what"><b>${esc(d.target || t.incidentId)}</b></div>
      <div class="sub">due ${gd.when(d.dueAt)} · ${esc(d.status || t.status)}${waiting ? " · <b>waiting to be sent 待发送</b>" : ""}</div>
      <div class="actions">
        ${started ? "" : `<button type="button" data-act="task-start"${disabled}>Start 开始</button>`}
        <label>Note 备注 <input data-field="note"></label>
        <label>Finding 发现问题 <select data-field="finding"><option value="">none 无</option>${categoryOptions()}</select></label>
        <label>Photos 照片 <input type="file" data-field="photos" accept="image/jpeg,image/png,image/webp" capture="environment" multiple></label>
        <button type="button" class="primary" data-act="task-done"${disabled}>Done 已完成</button>
        <button type="button" data-act="task-unreachable"${disabled}>Not reachable 无法入户</button>
      </div></li>`;
  }

  let categoryList = [];
  const categoryOptions = () => categoryList.map((c) => `<option value="${esc(c.code)}">${esc(c.code)} ${esc(c.nameZh)} ${esc(c.name)}</option>`).join("");

  /**
   * Keeps a card whose item has not changed; replaces the others. A card the worker is using (a field of it has the
   * focus, or its camera or file picker is open) is not replaced under their hands: it is marked stale and drawn again
   * once they leave it, so a push never breaks off typing (an IME composition, the phone's keyboard) or lands a chosen
   * photo on a card no longer shown. A card drawn again for the same task takes over what was typed or picked in the
   * old one.
   */
  function sync(list, items, make) {
    const keep = new Map([...list.children].filter((li) => li.dataset.key).map((li) => [li.dataset.key, li]));
    const before = new Map([...list.children].filter((li) => li.dataset.id).map((li) => [li.dataset.id, li]));
    const next = items.map((t) => {
      const key = `${t.incidentId}:${t.status}:${queuedFor.has(t.incidentId)}:${details.has(`${t.incidentId}:${t.status}`)}`;
      if (keep.has(key)) return keep.get(key);
      const old = before.get(t.incidentId);
      if (old && busy(old)) {
        old.dataset.stale = "1";
        return old;
      }
      const holder = document.createElement("ul");
      holder.innerHTML = make(t);
      const li = holder.firstElementChild;
      li.dataset.key = key;
      wire(li, t);
      if (old) carryOver(old, li);
      return li;
    });
    // Only what moved is touched: a node taken out of the document, even to be put back at once, loses the focus.
    next.forEach((li, i) => { if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null); });
    while (list.children.length > next.length) list.lastElementChild.remove();
    if (items.length === 0) list.innerHTML = "<li class=\"sub\">Nothing here.</li>";
  }

  /** Typing or choosing in the card (a button with the focus does not count: a press is over once it is pressed). */
  const busy = (li) => (li.contains(document.activeElement) && document.activeElement.matches("input, textarea, select"))
    || li.dataset.picking === "1";

  /** Draws stale cards again once nobody is using them (after the focus has moved on, so it has a place to land). */
  const redrawStale = () => setTimeout(() => {
    if ([...document.querySelectorAll("li[data-stale]")].some((li) => !busy(li))) render();
  }, 0);
  document.addEventListener("focusout", redrawStale);
  // A picker closed without a choice fires "cancel" in current browsers; older ones only give the window its focus back
  // (before "change", hence the wait).
  window.addEventListener("focus", () => setTimeout(() => {
    for (const li of document.querySelectorAll("li[data-picking]")) delete li.dataset.picking;
    redrawStale();
  }, 1000));

  /** Copies what was typed or picked in the old card into the new one. */
  function carryOver(from, to) {
    for (const input of from.querySelectorAll("[data-field]")) {
      const twin = to.querySelector(`[data-field="${input.dataset.field}"]`);
      if (!twin || twin.tagName !== input.tagName) continue;
      if (input.type === "file") { if (input.files && input.files.length > 0) twin.files = input.files; }
      else if (input.tagName === "SELECT") twin.value = input.value;
      else if (input.value !== "" && twin.value === "") twin.value = input.value;
    }
  }

  function render() {
    if (!view) return;
    const p = view.profile;
    $("#me-name").textContent = `${p.name} · ${p.kind}`;
    $("#me-sub").textContent = `${p.id} · grid ${p.units.join(", ")} · load ${view.load}/${view.capacity}`;
    for (const b of document.querySelectorAll(".status button[data-status]")) b.setAttribute("aria-pressed", String(b.dataset.status === view.status));
    const all = view.kpi && view.kpi.all;
    if (all) {
      const rate = (a, b) => (b > 0 ? `${Math.round((100 * a) / b)} %` : "–");
      $("#kpis").innerHTML = `<div class="kpi"><b>${all.closed}</b>closed 办结</div><div class="kpi"><b>${rate(all.closedOnTime, all.closed)}</b>on time 按时</div>
        <div class="kpi"><b>${all.rated ? (all.ratingSum / all.rated).toFixed(1) : "–"}</b>rating 评价</div>`;
    }
    const tasks = view.tasks || [];
    const offers = tasks.filter((t) => !t.campaign && t.status === "offered");
    const mine = tasks.filter((t) => !t.campaign && t.status !== "offered");
    const sweeps = tasks.filter((t) => t.campaign);
    sync($("#offers"), offers, card);
    sync($("#tasks"), mine, card);
    sync($("#campaign"), sweeps, campaignCard);
    $("#offers-count").textContent = String(offers.length);
    $("#tasks-count").textContent = String(mine.length);
    $("#campaign-count").textContent = String(sweeps.length);
    gd.loadPhotos(me, $("#worker"));
  }

  function wire(li, t) {
    const field = (name) => li.querySelector(`[data-field="${name}"]`);
    for (const picker of li.querySelectorAll("input[type=file]")) {
      picker.addEventListener("click", () => { li.dataset.picking = "1"; });
      const done = () => { delete li.dataset.picking; redrawStale(); };
      picker.addEventListener("change", done);
      picker.addEventListener("cancel", done);
    }
    const files = () => [...((field("photos") && field("photos").files) || [])];
    const incident = `/api/incidents/${encodeURIComponent(t.incidentId)}`;
    const task = `/api/campaigns/tasks/${encodeURIComponent(t.incidentId)}`;
    const short = t.incidentId.slice(0, 8);
    for (const b of li.querySelectorAll("[data-act]")) {
      b.addEventListener("click", () => {
        const reason = field("reason") ? field("reason").value.trim() : "";
        const note = field("note") ? field("note").value.trim() : "";
        switch (b.dataset.act) {
          case "acknowledge": return queue(`accept ${short}`, `${incident}/acknowledge`, { target: t.incidentId }, []);
          case "start": return queue(`start ${short}`, `${incident}/start`, { target: t.incidentId }, []);
          case "decline":
          case "hand-back":
            if (!reason && b.dataset.act === "hand-back") return notice("Say why you hand it back 请填写退回原因", true);
            return queue(`${b.dataset.act} ${short}`, `${incident}/${b.dataset.act}`, { target: t.incidentId, reason: reason || undefined }, []);
          case "resolve": return queue(`resolve ${short}`, `${incident}/resolve`, { target: t.incidentId, reason: note || undefined }, files());
          case "task-start": return queue(`start sweep ${short}`, `${task}/start`, { target: t.incidentId }, []);
          case "task-done":
          case "task-unreachable": {
            const finding = field("finding").value;
            return queue(`finish sweep ${short}`, `${task}/finish`, {
              target: t.incidentId, outcome: b.dataset.act === "task-done" ? "done" : "not-reachable", note: note || undefined,
              findings: finding ? [{ category: finding, severity: "routine", description: note || `found on a sweep of ${t.incidentId}` }] : undefined,
            }, files());
          }
          default: return undefined;
        }
      });
    }
  }

  // ---- my status, position and findings ---------------------------------------------------------------------------
  for (const b of document.querySelectorAll(".status button[data-status]")) {
    b.addEventListener("click", () => queue(`status ${b.dataset.status}`, `/api/workers/${encodeURIComponent(me.user.id)}/status`, { status: b.dataset.status }, [], "PUT"));
  }

  $("#share-position").addEventListener("click", async () => {
    position = await gd.locate();
    if (!position) return notice("The phone gave no position 未获得位置", true);
    $("#position").textContent = `${position.latitude.toFixed(5)}, ${position.longitude.toFixed(5)}`;
    return queue("position", `/api/workers/${encodeURIComponent(me.user.id)}/location`, position, [], "PUT");
  });

  $("#finding-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const where = await gd.locate();
    position = where || position;
    const category = $("#finding-category").value;
    const description = $("#finding-description").value.trim() || `Found on patrol: ${categoryNames.get(category) || category}`;
    const json = { category, severity: "routine", gridCode: view.profile.units[0], description, source: "worker-app" };
    if (position) json.location = position;
    $("#finding-where").textContent = position ? `at ${position.latitude.toFixed(5)}, ${position.longitude.toFixed(5)}` : "no position: reported at my grid";
    await queue(`finding ${category}`, "/api/incidents", json, [...$("#finding-photos").files]);
    $("#finding-form").reset();
  });

  // ---- live -------------------------------------------------------------------------------------------------------
  function alertNewOffer() {
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.2);
    } catch (e) { /* no sound where the browser allows none */ }
  }

  // The snapshot is my whole record; a push says only that it changed (and my load), so a newer one is read again.
  let shownVersion = -1;
  function take(next) {
    if (!next || next.version < shownVersion) return;
    const before = new Set((view ? view.tasks : []).filter((t) => t.status === "offered").map((t) => t.incidentId));
    shownVersion = next.version;
    view = next;
    if (next.tasks.some((t) => t.status === "offered" && !before.has(t.incidentId))) alertNewOffer();
    loadDetails().then(render);
  }

  async function changed(item) {
    if (item.version <= shownVersion) return;
    const next = await api(`/api/workers/${encodeURIComponent(me.user.id)}`).catch(() => null);
    take(next);
  }

  async function live() {
    const connection = new signalR.HubConnectionBuilder().withUrl("/hubs/live", { accessTokenFactory: () => me.token })
      .withAutomaticReconnect({ nextRetryDelayInMilliseconds: () => 3000 }).build();
    connection.on("workerChanged", (items) => items.filter((i) => i.id === me.user.id).forEach(changed));
    connection.onreconnecting(() => status("connecting", "reconnecting… 重连中"));
    connection.onreconnected(async () => { status("live", "live 在线"); take(await connection.invoke("Subscribe", `worker:${me.user.id}`)); outbox.flush(); });
    connection.onclose(() => { status("offline", "offline 离线"); setTimeout(live, 5000); });
    try {
      await connection.start();
      status("live", "live 在线");
      take(await connection.invoke("Subscribe", `worker:${me.user.id}`));
    } catch (e) {
      status("offline", "offline 离线");
      setTimeout(live, 5000);
    }
  }

  setInterval(() => { for (const el of document.querySelectorAll("[data-due]")) el.textContent = left(el.dataset.due); }, 1000);

  (async () => {
    await gd.startPhone(me, $("#login"), "worker");
    $("#worker").hidden = false;
    categoryList = await gd.reportableCategories(api);
    for (const c of categoryList) categoryNames.set(c.code, c.label);
    $("#finding-category").innerHTML = categoryOptions();
    await refresh();
    await live();
    await outbox.flush();
    document.body.dataset.ready = "true";
  })();
})();
