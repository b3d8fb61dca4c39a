// GridDispatch dashboard: one page, hash routes, live over SignalR (/hubs/live). Every page is the snapshot returned by
// Subscribe(topic), then kept current by pushes newer than the version it shows.
(() => {
  "use strict";

  const $ = (sel) => document.querySelector(sel);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)} %`);
  const when = (t) => (t ? new Date(t).toLocaleString() : "–");
  const levels = { grid: "Grid 网格", community: "Community 社区", street: "Street 街道", district: "District 区", city: "City 市" };

  const versions = new Map(); // "kind:id" -> newest version shown
  const fresh = (kind, id, version) => {
    const key = `${kind}:${id}`;
    if ((versions.get(key) ?? -1) > version) return false;
    versions.set(key, version);
    return true;
  };

  async function api(path, options = {}) {
    const response = await fetch(path, options);
    const type = response.headers.get("content-type") || "";
    const body = type.includes("json") ? await response.json() : null;
    if (!response.ok) {
      const detail = body && (body.detail || body.title);
      throw new Error(`${response.status} ${detail || response.statusText}${body && body.field ? ` (${body.field})` : ""}`);
    }
    return body;
  }

  // ---- live connection ------------------------------------------------------------------------------------------
  const connection = new signalR.HubConnectionBuilder().withUrl("/hubs/live").withAutomaticReconnect().build();
  const status = (state, text) => { const el = $("#connection"); el.dataset.state = state; el.textContent = text; };
  let current = null; // { topic, render }

  connection.onreconnecting(() => status("connecting", "reconnecting…"));
  connection.onclose(() => status("offline", "offline"));
  connection.onreconnected(async () => {
    status("live", "live");
    await connection.invoke("Subscribe", "city");
    if (current) await show(current.topic, current.render); // a fresh versioned snapshot: nothing stale stays
  });

  connection.on("regionChanged", (items) => items.forEach((i) => fresh("unit", i.id, i.version) && unitChanged(i.state)));
  connection.on("gridChanged", (items) => items.forEach((i) => fresh("unit", i.id, i.version) && unitChanged(i.state)));
  connection.on("workerChanged", (items) => items.forEach((i) => fresh("worker", i.id, i.version) && workerChanged(i.state)));
  connection.on("incidentChanged", (items) => items.forEach((i) => fresh("incident", i.id, i.version) && incidentChanged(i)));

  async function show(topic, render) {
    if (current && current.topic !== topic && current.topic !== "city") {
      await connection.invoke("Unsubscribe", current.topic).catch(() => {});
    }
    current = { topic, render };
    try {
      const snapshot = await connection.invoke("Subscribe", topic);
      render(snapshot);
    } catch (e) {
      $("#view").innerHTML = `<p class="result error">${esc(e.message)}</p>`;
    }
  }

  // ---- pages ------------------------------------------------------------------------------------------------------
  function crumbs(code) {
    const parts = [];
    if (code) for (const n of [4, 6, 9, 12, 15]) if (code.length >= n) parts.push(code.slice(0, n));
    $("#crumbs").innerHTML = parts.map((c) => `<a href="${c.length === 15 ? `#/grid/${c}` : `#/region/${c}`}">${esc(c)}</a>`).join("›");
  }

  function kpis(kpi) {
    const all = kpi.all;
    return `<section class="panel"><h2>KPIs</h2><div class="kpis">
      <div class="kpi"><b data-kpi="closure">${pct(all.closureRate)}</b>closure rate</div>
      <div class="kpi"><b>${pct(all.onTimeRate)}</b>on time</div>
      <div class="kpi"><b>${pct(all.reworkRate)}</b>rework</div>
      <div class="kpi"><b>${all.averageRating == null ? "–" : all.averageRating.toFixed(2)}</b>rating</div>
      <div class="kpi"><b>${all.closed}/${all.due - all.deferred}</b>closed / due</div>
      <div class="kpi"><b>${kpi.urgent.closed}/${kpi.urgent.due - kpi.urgent.deferred}</b>urgent closed / due</div>
    </div></section>`;
  }

  function tile(s) {
    const href = s.level === "grid" ? `#/grid/${s.code}` : `#/region/${s.code}`;
    return `<a class="tile" id="tile-${esc(s.code)}" data-colour="${esc(s.colour)}" href="${href}">${tileBody(s)}</a>`;
  }

  const modeText = (m) => (!m || m.mode === "everyday" ? "everyday" : `EMERGENCY${m.level ? ` ${m.level}` : ""}`);
  const modeSource = (m) => (!m || !m.scope ? "city default" : `set at ${m.scope}${m.setBy ? ` by ${m.setBy}` : ""}`);
  const modeBadge = (m) => `<span class="badge mode" data-mode="${esc(m ? m.mode : "everyday")}" title="${esc(modeSource(m))}">${esc(modeText(m))}</span>`;

  const tileBody = (s) => `<div class="name">${esc(s.name)} ${modeBadge(s.mode)}</div>
    <div class="figures">${esc(s.code)}</div>
    <div class="figures">open ${s.openIncidents}${s.overdue ? ` · <span class="overdue">overdue ${s.overdue}</span>` : ""}</div>
    <div class="figures">${s.level === "grid" ? "" : `G ${s.green} · Y ${s.yellow} · R ${s.red} · `}load ${s.load}/${s.capacity}</div>`;

  function unitChanged(s) {
    const el = document.getElementById(`tile-${s.code}`);
    if (el) { el.dataset.colour = s.colour; el.innerHTML = tileBody(s); }
    const head = document.getElementById(`summary-${s.code}`);
    if (head) head.innerHTML = summaryLine(s);
  }

  const summaryLine = (s) => `mode ${modeBadge(s.mode)} (${esc(modeSource(s.mode))}) · <span class="state">${esc(s.colour)}</span> · open ${s.openIncidents} · overdue ${s.overdue} · workers ${s.workers} · load ${s.load}/${s.capacity}`;

  function rosterTable(entries) {
    if (!entries.length) return "<p class=\"sub\">No workers.</p>";
    return `<table><thead><tr><th>Worker</th><th>Kind</th><th>Status</th><th>Load</th></tr></thead><tbody>${entries.map(workerRow).join("")}</tbody></table>`;
  }

  function workerRow(w) {
    const id = w.workerId ?? w.id;
    const share = w.capacity ? Math.min(1, w.load / w.capacity) : 1;
    return `<tr id="worker-${esc(id)}" class="${w.load >= w.capacity ? "overloaded" : ""}"><td>${esc(id)}</td><td>${esc(w.kind)}</td><td>${esc(w.status)}</td>
      <td><span class="load"><span style="width:${(share * 100).toFixed(0)}%"></span></span> ${w.load}/${w.capacity}</td></tr>`;
  }

  function workerChanged(w) {
    const row = document.getElementById(`worker-${w.id}`);
    if (row) row.outerHTML = workerRow(w);
  }

  function renderRegion(view) {
    const s = view.summary;
    crumbs(s.code);
    $("#view").innerHTML = `<h1>${esc(s.name)}</h1>
      <div class="sub">${esc(levels[s.level] || s.level)} ${esc(s.code)} · <span id="summary-${esc(s.code)}">${summaryLine(s)}</span></div>
      <div class="tiles">${view.children.map(tile).join("") || "<p class=\"sub\">No children reported yet.</p>"}</div>
      ${kpis(s.kpi)}
      <section class="panel"><h2>Staff of this ${esc(s.level)}</h2>${rosterTable(view.staff)}</section>
      ${view.awaitingAssignment.length ? `<section class="panel"><h2>Awaiting a commander</h2><ul>${view.awaitingAssignment.map((id) => `<li><a href="#/incident/${esc(id)}">${esc(id)}</a></li>`).join("")}</ul></section>` : ""}`;
  }

  function incidentRows(list) {
    if (!list.length) return "<p class=\"sub\">None.</p>";
    return `<table><thead><tr><th>Incident</th><th>Category</th><th>Severity</th><th>State</th><th>Level</th><th>With</th></tr></thead><tbody>${list.map((i) =>
      `<tr><td><a href="#/incident/${esc(i.id)}">${esc(i.id.slice(0, 10))}</a></td><td>${esc(i.category)}</td><td>${esc(i.severity)}</td>
       <td class="state ${i.overdue ? "overdue" : ""}">${esc(i.state)}</td><td>${esc(i.level)}</td><td>${esc(i.assignee ? i.assignee.id : "")}</td></tr>`).join("")}</tbody></table>`;
  }

  function renderGrid(view) {
    const s = view.summary, d = view.definition;
    crumbs(d.code);
    $("#report-grid").value = d.code;
    $("#view").innerHTML = `<h1>${esc(d.name)}</h1>
      <div class="sub">Grid 网格 ${esc(d.code)} · <span id="summary-${esc(d.code)}">${summaryLine(s)}</span></div>
      <div class="tiles">${tile(s)}</div>
      <section class="panel"><h2>Grid</h2>${d.households} households · ${d.rentedHomes} rented · ${d.floatingPopulation} floating · ${d.shops} shops ·
        ${d.highRiseBuildings} high-rise · difficulty ${view.difficultyScore.toFixed(0)} → ${view.recommendedWorkers} worker(s) recommended</section>
      <section class="panel"><h2>Workers</h2>${rosterTable(view.roster)}</section>
      ${kpis(s.kpi)}
      <section class="panel"><h2>Open incidents</h2><div id="open-incidents">${incidentRows(view.openIncidents)}</div></section>
      <section class="panel"><h2>Recently finished</h2>${incidentRows(view.recentlyFinished)}</section>`;
  }

  const allowed = {
    reported: ["accept", "cancel"], accepted: ["assign", "cancel", "defer", "escalate"],
    dispatched: ["acknowledge", "decline", "start", "hand-back", "cancel", "defer", "escalate"],
    inProgress: ["resolve", "hand-back", "cancel", "defer", "escalate"], resolved: ["verify", "rework"],
    verified: ["rate", "close"], rated: ["close"], deferred: ["resume", "cancel"], closed: [], cancelled: [],
  };
  const workerSteps = new Set(["acknowledge", "decline", "start", "resolve", "hand-back"]);

  function renderIncident(v) {
    crumbs(v.gridCode);
    const deadlines = Object.entries(v.deadlines || {}).map(([k, t]) => `${esc(k)}: ${when(t)}`).join(" · ") || "none";
    const assignee = v.assignee ? `${esc(v.assignee.kind)} ${esc(v.assignee.id)}` : "nobody";
    $("#view").innerHTML = `<h1>${esc(v.category)} · ${esc(v.id)}</h1>
      <div class="sub"><span class="state ${v.overdue ? "overdue" : ""}" id="incident-state">${esc(v.state)}</span> · ${esc(v.severity)} · at ${esc(v.level)} ${esc(v.levelCode)} · with ${assignee}
        · reworked ${v.reworkCount}× ${v.rating ? `· rated ${v.rating}★` : ""}</div>
      <section class="panel"><p>${esc(v.description)}</p><p class="sub">Deadlines: ${deadlines}</p></section>
      <section class="panel"><h2>Actions</h2>
        <form id="action-form">
          <label>Actor <input name="actor" id="action-actor" value="${esc(v.assignee && v.assignee.kind === "worker" ? v.assignee.id : "supervisor")}"></label>
          <label>Reason / feedback <input name="reason" id="action-reason"></label>
          <label>Worker id (assign) <input name="workerId" id="action-worker"></label>
          <label>Stars (rate) <input name="stars" id="action-stars" type="number" min="1" max="5" value="5"></label>
          <div>${(allowed[v.state] || []).map((a) => `<button type="button" data-action="${a}">${a}</button>`).join("") || "<span class=\"sub\">The loop is finished.</span>"}</div>
          <p id="action-result" class="result" role="status"></p>
        </form></section>
      <section class="panel"><h2>Timeline</h2><ol class="timeline">${v.timeline.map((e) =>
        `<li><span class="when">${when(e.at)}</span> <b>${esc(e.kind)}</b> ${esc(e.from)} → ${esc(e.to)} by ${esc(e.actor)}
          ${e.assignee ? ` → ${esc(e.assignee.id)}` : ""}${e.unitCode ? ` @ ${esc(e.level)} ${esc(e.unitCode)}` : ""}${e.reason ? `<br>${esc(e.reason)}` : ""}</li>`).join("")}</ol></section>`;
    for (const button of document.querySelectorAll("#action-form button[data-action]")) {
      button.addEventListener("click", () => act(v, button.dataset.action));
    }
  }

  async function act(v, action) {
    const body = { actor: $("#action-actor").value || (workerSteps.has(action) && v.assignee ? v.assignee.id : "supervisor") };
    if ($("#action-reason").value) body.reason = $("#action-reason").value;
    if (action === "assign") body.workerId = $("#action-worker").value;
    if (action === "rate") { body.stars = Number($("#action-stars").value); body.actor = v.reporter && v.reporter.id ? v.reporter.id : body.actor; }
    try {
      const view = await api(`/api/incidents/${encodeURIComponent(v.id)}/${action}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      fresh("incident", view.id, view.version);
      renderIncident(view);
    } catch (e) {
      $("#action-result").textContent = e.message;
      $("#action-result").className = "result error";
    }
  }

  function incidentChanged(item) {
    const i = item.state;
    const feed = $("#feed");
    const existing = document.getElementById(`feed-${i.id}`);
    const html = `<a href="#/incident/${esc(i.id)}">${esc(i.id.slice(0, 10))}</a> ${esc(i.category)} <span class="state ${i.overdue ? "overdue" : ""}">${esc(i.state)}</span>
      in ${esc(i.gridCode)} (${esc(i.level)})`;
    if (existing) existing.innerHTML = html;
    else {
      const li = document.createElement("li");
      li.id = `feed-${i.id}`;
      li.innerHTML = html;
      feed.prepend(li);
      while (feed.children.length > 60) feed.lastChild.remove();
    }
    if (current && current.topic === `incident:${i.id}`) {
      api(`/api/incidents/${encodeURIComponent(i.id)}`).then((v) => { if (v.version >= item.version) renderIncident(v); }).catch(() => {});
    }
    if (current && current.topic === `grid:${i.gridCode}`) {
      api(`/api/grids/${i.gridCode}`).then((g) => { const el = $("#open-incidents"); if (el) el.innerHTML = incidentRows(g.openIncidents); }).catch(() => {});
    }
  }

  // ---- routing and the report form -----------------------------------------------------------------------------
  let cityCode = null;
  function route() {
    const [, kind, key] = (location.hash || "#/").split("/");
    if (kind === "region" && key) return show(`region:${key}`, renderRegion);
    if (kind === "grid" && key) return show(`grid:${key}`, renderGrid);
    if (kind === "incident" && key) return show(`incident:${key}`, renderIncident);
    return show("city", renderRegion);
  }

  async function loadCategories() {
    const classes = await api("/api/categories");
    $("#report-category").innerHTML = classes.map((c) => `<optgroup label="${esc(c.code)} ${esc(c.name)} ${esc(c.nameZh)}">${c.categories.map((s) =>
      `<option value="${esc(s.code)}">${esc(s.code)} ${esc(s.name)} ${esc(s.nameZh)}</option>`).join("")}</optgroup>`).join("");
  }

  let pendingKey = null; // one idempotency key per report, kept until it succeeds, so a double click reports once
  $("#report-form").addEventListener("input", () => { pendingKey = null; });
  $("#report-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = $("#report-result");
    pendingKey = pendingKey || (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
    const name = $("#report-reporter").value.trim();
    const body = {
      category: $("#report-category").value, severity: $("#report-severity").value, gridCode: $("#report-grid").value.trim(),
      description: $("#report-description").value, source: "dashboard", reporter: name ? { name } : undefined,
    };
    try {
      const view = await api("/api/incidents", { method: "POST", headers: { "Content-Type": "application/json", "Idempotency-Key": pendingKey }, body: JSON.stringify(body) });
      result.className = "result";
      result.innerHTML = `Reported: <a id="report-link" href="#/incident/${esc(view.id)}">${esc(view.id)}</a> — ${esc(view.state)}${view.assignee ? ` to ${esc(view.assignee.id)}` : ""}`;
      pendingKey = null;
    } catch (e) {
      result.className = "result error";
      result.textContent = e.message;
    }
  });

  window.addEventListener("hashchange", route);
  (async () => {
    await loadCategories().catch((e) => { $("#report-result").textContent = e.message; });
    try {
      await connection.start();
      status("live", "live");
      const city = await connection.invoke("Subscribe", "city");
      cityCode = city.definition.code;
    } catch (e) {
      status("offline", "offline");
    }
    await route();
    document.body.dataset.ready = cityCode ? "true" : "false";
  })();
})();
