// GridDispatch dashboard: one page, hash routes, live over SignalR (/hubs/live). Every page is the snapshot returned by
// Subscribe(topic), then kept current by pushes newer than the version it shows.
(() => {
  "use strict";

  const $ = (sel) => document.querySelector(sel);
  const { esc, when } = window.gd;
  const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)} %`);
  const register = window.gdRegister;
  const levels = { grid: "Grid 网格", community: "Community 社区", street: "Street 街道", district: "District 区", city: "City 市" };

  const versions = new Map(); // "kind:id" -> newest version shown
  const fresh = (kind, id, version) => {
    const key = `${kind}:${id}`;
    if ((versions.get(key) ?? -1) > version) return false;
    versions.set(key, version);
    return true;
  };

  // ---- sign-in: a bearer token for the API and the hub ----------------------------------------------------------
  let token = sessionStorage.getItem("gd_token");
  const session = { get token() { return token; } }; // for gd.loadPhotos
  let me = JSON.parse(sessionStorage.getItem("gd_user") || "null");

  async function signIn() {
    const panel = $("#login");
    panel.hidden = false;
    const response = await fetch("/dev/users");
    if (!response.ok) {
      panel.innerHTML = "<h2>Sign in</h2><p class=\"result error\">No development sign-in here: use a token from the city's identity provider.</p>";
      return new Promise(() => {});
    }
    const users = await response.json();
    $("#login-user").innerHTML = users.map((u) => `<option value="${esc(u.id)}">${esc(u.name)} — ${esc(u.role)}${u.scope ? ` ${esc(u.scope)}` : ""}</option>`).join("");
    return new Promise((resolve) => {
      $("#login-submit").addEventListener("click", async () => {
        const r = await fetch("/dev/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: $("#login-user").value }) });
        if (!r.ok) { $("#login-result").textContent = `${r.status}`; return; }
        const body = await r.json();
        token = body.access_token;
        me = body.user;
        sessionStorage.setItem("gd_token", token);
        sessionStorage.setItem("gd_user", JSON.stringify(me));
        panel.hidden = true;
        resolve();
      });
    });
  }

  function signOut() {
    sessionStorage.removeItem("gd_token");
    sessionStorage.removeItem("gd_user");
    location.hash = "#/";
    location.reload();
  }

  async function api(path, options = {}) {
    options.headers = { ...(options.headers || {}), Authorization: `Bearer ${token}` };
    const response = await fetch(path, options);
    if (response.status === 401) { signOut(); throw new Error("401 signed out: the token expired or was refused"); }
    const type = response.headers.get("content-type") || "";
    const body = type.includes("json") ? await response.json() : null;
    if (!response.ok) {
      const detail = body && (body.detail || body.title);
      throw new Error(`${response.status} ${detail || response.statusText}${body && body.field ? ` (${body.field})` : ""}`);
    }
    return body;
  }

  // ---- live connection ------------------------------------------------------------------------------------------
  const connection = new signalR.HubConnectionBuilder().withUrl("/hubs/live", { accessTokenFactory: () => token }).withAutomaticReconnect().build();
  const status = (state, text) => { const el = $("#connection"); el.dataset.state = state; el.textContent = text; };
  let current = null; // { topic, render }

  connection.onreconnecting(() => status("connecting", "reconnecting…"));
  connection.onclose(() => status("offline", "offline"));
  // The topic a user starts from: their own region (the city for a city commander); residents and departments have none.
  const homeTopic = () => !me || !me.scope || me.scope.includes(":") ? null
    : me.scope.length === 4 ? "city" : me.scope.length === 15 ? `grid:${me.scope}` : `region:${me.scope}`;

  connection.onreconnected(async () => {
    status("live", "live");
    if (homeTopic()) await connection.invoke("Subscribe", homeTopic());
    if (current) await show(current.topic, current.render); // a fresh versioned snapshot: nothing stale stays
  });

  connection.on("regionChanged", (items) => items.forEach((i) => fresh("unit", i.id, i.version) && unitChanged(i.state)));
  connection.on("gridChanged", (items) => items.forEach((i) => fresh("unit", i.id, i.version) && unitChanged(i.state)));
  connection.on("workerChanged", (items) => items.forEach((i) => fresh("worker", i.id, i.version) && workerChanged(i.state)));
  connection.on("incidentChanged", (items) => items.forEach((i) => fresh("incident", i.id, i.version) && incidentChanged(i)));

  async function show(topic, render) {
    if (current && current.topic !== topic && current.topic !== homeTopic()) {
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
    <div class="figures">${s.level === "grid" ? "" : `G ${s.green} · Y ${s.yellow} · R ${s.red} · `}load ${s.load}/${s.capacity}${s.surgeWorkers ? ` · <span class="surge">surge ${s.surgeWorkers}</span>` : ""}${s.overloaded ? ` · <span class="overdue">overloaded ${s.overloaded}</span>` : ""}</div>
    ${campaignBar(s)}`;

  // The running campaigns' combined progress on a tile: done of total, with the overdue share in red.
  function campaignBar(s) {
    const list = Object.values(s.campaigns || {});
    if (!list.length) return "";
    const total = list.reduce((n, p) => n + p.total, 0), done = list.reduce((n, p) => n + p.done, 0), overdue = list.reduce((n, p) => n + p.overdue, 0);
    return `<div class="figures campaign-bar" data-done="${done}" data-total="${total}"><span class="load"><span style="width:${total ? ((done / total) * 100).toFixed(0) : 0}%"></span></span>
      tasks ${done}/${total}${overdue ? ` · <span class="overdue">overdue ${overdue}</span>` : ""}</div>`;
  }

  function unitChanged(s) {
    register.unitChanged(gd, s);
    const el = document.getElementById(`tile-${s.code}`);
    if (el) { el.dataset.colour = s.colour; el.innerHTML = tileBody(s); }
    if (s.level === "grid") window.gdMap.recolour(s.code, s.colour);
    const head = document.getElementById(`summary-${s.code}`);
    if (head) head.innerHTML = summaryLine(s);
    const campaigns = document.getElementById(`campaigns-${s.code}`);
    if (campaigns) campaigns.innerHTML = campaignRows(s);
    const load = document.getElementById(`load-${s.code}`);
    if (load) load.innerHTML = loadPanel(s);
  }

  // ---- emergency operation: command forms, campaigns, load ----------------------------------------------------------
  const campaignInfo = new Map(); // id -> { title, kind, status }
  async function refreshCampaignInfo() {
    if (!me || !me.scope || me.scope.includes(":")) return;
    const list = await api(`/api/campaigns?scope=${me.scope}`).catch(() => []);
    for (const c of list) campaignInfo.set(c.id, c);
  }

  function campaignRows(s) {
    const entries = Object.entries(s.campaigns || {});
    if (!entries.length) return "<p class=\"sub\">No campaign here.</p>";
    return `<table><thead><tr><th>Campaign</th><th>Round</th><th>Done</th><th>In progress</th><th>Waiting</th><th>Not reachable</th><th>Overdue</th><th>Closed</th></tr></thead><tbody>${entries.map(([id, p]) => {
      const info = campaignInfo.get(id);
      return `<tr class="campaign-row" data-campaign="${esc(id)}"><td><a href="#/campaign/${esc(id)}">${esc(info ? info.title : id)}</a>${info ? ` <span class="badge">${esc(info.kind)}</span>` : ""}</td>
        <td>${p.round}</td><td class="done">${p.done}/${p.total}</td><td>${p.inProgress}</td><td>${p.pending + p.assigned}</td><td>${p.notReachable}</td>
        <td class="${p.overdue ? "overdue" : ""}">${p.overdue}</td><td>${p.closed}</td></tr>`;
    }).join("")}</tbody></table>`;
  }

  function loadPanel(s) {
    const top = s.topLoaded || [];
    return `<div class="sub">load ${s.load}/${s.capacity} · overloaded workers ${s.overloaded || 0} · surge workers <b class="surge-count">${s.surgeWorkers || 0}</b></div>
      ${top.length ? `<table><thead><tr><th>Most loaded</th><th>Kind</th><th>Home</th><th>Status</th><th>Load</th></tr></thead><tbody>${top.map((w) =>
        `<tr class="${w.load > w.capacity ? "overloaded" : ""}"><td>${esc(w.workerId)}${w.temporary ? " <span class=\"badge\">surge</span>" : ""}</td><td>${esc(w.kind)}</td>
         <td><a href="${w.homeUnit.length === 15 ? "#/grid/" : "#/region/"}${esc(w.homeUnit)}">${esc(w.homeUnit)}</a></td><td>${esc(w.status)}</td>
         <td><span class="load"><span style="width:${(Math.min(1, w.load / w.capacity) * 100).toFixed(0)}%"></span></span> ${w.load}/${w.capacity}</td></tr>`).join("")}</tbody></table>` : ""}`;
  }

  function commandPanel(s) {
    if (!["city", "district", "street"].includes(s.level)) return "";
    return `<section class="panel command"><h2>Command (${esc(levels[s.level])} ${esc(s.code)})</h2>
      <form id="command-form">
        <label>Commander <input id="command-actor" value="${esc(me ? me.id : "")}"></label>
        <div class="row">
          <label>Mode <select id="command-mode"><option value="emergency">emergency</option><option value="everyday">everyday</option></select></label>
          <label>Level <select id="command-level"><option>I</option><option selected>II</option><option>III</option><option>IV</option></select></label>
        </div>
        <label>Reason <input id="command-reason" placeholder="typhoon landfall expected tonight"></label>
        <button type="button" id="command-switch">Switch mode</button>
        <div class="row">
          <label>Campaign <select id="campaign-kind"><option value="sweep-buildings">sweep every building</option><option value="check-households">check every household</option><option value="deliver-supplies">deliver to every isolated home</option></select></label>
          <label>Times (HH:mm, optional) <input id="campaign-times" placeholder="08:00 14:00"></label>
        </div>
        <label>Title <input id="campaign-title" value="Sweep every building"></label>
        <button type="button" id="campaign-launch">Launch campaign</button>
        <label>Volunteers to call in (by need) <input id="surge-count" type="number" min="1" max="500" value="5"></label>
        <button type="button" id="surge-call">Call in volunteers</button>
        <p id="command-result" class="result" role="status"></p>
      </form></section>`;
  }

  function wireCommands(code) {
    const form = $("#command-form");
    if (!form) return;
    const result = $("#command-result");
    const run = async (what) => {
      try { result.className = "result"; result.textContent = await what(); }
      catch (e) { result.className = "result error"; result.textContent = e.message; }
    };
    const post = (path, body) => api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    $("#command-switch").addEventListener("click", () => run(async () => {
      const mode = $("#command-mode").value;
      const body = { mode, reason: $("#command-reason").value || `${mode} by the dashboard`, actor: $("#command-actor").value };
      if (mode === "emergency") body.level = $("#command-level").value;
      const view = await post(`/api/regions/${code}/mode`, body);
      const report = view.reports && view.reports.length && !view.active ? view.reports[view.reports.length - 1] : null;
      return report ? `Back to everyday. Episode: ${report.tasksDone}/${report.tasks} tasks done, ${report.tasksClosedAtStandDown} closed, ${report.surgeReleased} surge workers released.`
        : `Mode is now ${mode}${view.active ? ` (level ${view.level})` : ""}.`;
    }));
    $("#campaign-launch").addEventListener("click", () => run(async () => {
      const times = $("#campaign-times").value.split(/[\s,]+/).filter(Boolean);
      const body = { scope: code, kind: $("#campaign-kind").value, title: $("#campaign-title").value, actor: $("#command-actor").value };
      if (times.length) body.schedule = { timesOfDay: times };
      const c = await post("/api/campaigns", body);
      campaignInfo.set(c.id, { id: c.id, title: c.spec.title, kind: c.spec.kind, status: c.status });
      return `Campaign launched: ${c.id}`;
    }));
    $("#surge-call").addEventListener("click", () => run(async () => {
      const n = Math.max(1, Math.min(500, Number($("#surge-count").value) || 1));
      const stamp = Date.now().toString(36);
      const workers = Array.from({ length: n }, (_, i) => ({ id: `vol-${stamp}-${i + 1}`, name: `Volunteer ${stamp}-${i + 1}`, kind: "volunteer", capacity: 5 }));
      const r = await post("/api/workers/surge", { scope: code, actor: $("#command-actor").value, attach: "by-need", workers });
      return `${r.placements.length} volunteer(s) attached: ${[...new Set(r.placements.map((p) => p.gridCode))].join(", ")}`;
    }));
  }

  let campaignTimer = null;
  async function renderCampaign(id) {
    const c = await api(`/api/campaigns/${encodeURIComponent(id)}?limit=100`);
    if (current && current.topic !== `campaign:${id}`) return;
    crumbs(c.spec.scope);
    const p = c.progress;
    $("#view").innerHTML = `<h1>${esc(c.spec.title)}</h1>
      <div class="sub">${esc(c.spec.kind)} over ${esc(c.spec.scope)} · <span id="campaign-status">${esc(c.status)}</span>${c.emergency ? " · emergency" : ""} · round ${c.rounds.length}
        · launched ${when(c.launchedAt)} by ${esc(c.spec.actor)}${c.nextRoundAt ? ` · next round ${when(c.nextRoundAt)}` : ""}${c.endReason ? ` · ended: ${esc(c.endReason)}` : ""}</div>
      <section class="panel"><h2>Progress</h2><div class="kpis">
        <div class="kpi"><b id="campaign-coverage">${pct(p.total ? p.done / p.total : null)}</b>covered (${p.done}/${p.total})</div>
        <div class="kpi"><b>${p.inProgress}</b>in progress</div><div class="kpi"><b>${p.pending + p.assigned}</b>waiting</div>
        <div class="kpi"><b class="${p.overdue ? "overdue" : ""}">${p.overdue}</b>overdue</div><div class="kpi"><b>${p.notReachable}</b>not reachable</div>
        <div class="kpi"><b>${p.findings}</b>findings → incidents</div><div class="kpi"><b>${p.closed}</b>closed unfinished</div>
        <div class="kpi"><b>${p.responses ? (p.responseSeconds / 60 / p.responses).toFixed(1) : "–"}</b>mean minutes to done</div></div></section>
      <section class="panel"><h2>By region</h2><table><thead><tr><th>Region</th><th>Done</th><th>Waiting</th><th>In progress</th><th>Overdue</th></tr></thead><tbody>${c.byRegion.map((r) =>
        `<tr><td><a href="${r.level === "grid" ? "#/grid/" : "#/region/"}${esc(r.code)}">${esc(r.name)}</a></td><td>${r.progress.done}/${r.progress.total}</td>
         <td>${r.progress.pending + r.progress.assigned}</td><td>${r.progress.inProgress}</td><td class="${r.progress.overdue ? "overdue" : ""}">${r.progress.overdue}</td></tr>`).join("")}</tbody></table></section>
      <section class="panel"><h2>Not covered (${c.accountabilityTotal})</h2><table id="accountability"><thead><tr><th>Grid</th><th>Target</th><th>Status</th><th>Worker</th><th>Note</th></tr></thead><tbody>${c.accountability.map((u) =>
        `<tr><td>${esc(u.gridCode)}</td><td>${esc(u.target)}</td><td class="${u.overdue ? "overdue" : ""}">${esc(u.status)}</td><td>${esc(u.workerId || "")}</td><td>${esc(u.note || "")}</td></tr>`).join("")}</tbody></table></section>`;
  }

  function showCampaign(id) {
    if (current && current.topic !== homeTopic()) connection.invoke("Unsubscribe", current.topic).catch(() => {});
    current = { topic: `campaign:${id}`, render: () => renderCampaign(id) };
    const tick = () => renderCampaign(id).catch((e) => { $("#view").innerHTML = `<p class="result error">${esc(e.message)}</p>`; });
    tick();
    campaignTimer = setInterval(tick, 2000);
  }

  // A household's page has no topic of its own: its grid's pushes do not carry personal data, so it is read on demand.
  function showHousehold(id) {
    if (current && current.topic !== homeTopic()) connection.invoke("Unsubscribe", current.topic).catch(() => {});
    current = null;
    return register.householdPage(gd, id);
  }

  const summaryLine = (s) => `mode ${modeBadge(s.mode)} (${esc(modeSource(s.mode))}) · <span class="state">${esc(s.colour)}</span> · open ${s.openIncidents} · overdue ${s.overdue} · workers ${s.workers} · load ${s.load}/${s.capacity}`;

  function rosterTable(entries) {
    if (!entries.length) return "<p class=\"sub\">No workers.</p>";
    return `<table><thead><tr><th>Worker</th><th>Kind</th><th>Status</th><th>Load</th></tr></thead><tbody>${entries.map(workerRow).join("")}</tbody></table>`;
  }

  function workerRow(w) {
    const id = w.workerId ?? w.id;
    const share = w.capacity ? Math.min(1, w.load / w.capacity) : 1;
    return `<tr id="worker-${esc(id)}" class="${w.load >= w.capacity ? "overloaded" : ""}"><td>${esc(id)}${w.temporary ? " <span class=\"badge\">surge</span>" : ""}</td><td>${esc(w.kind)}</td><td>${esc(w.status)}</td>
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
      <section class="panel"><h2>Map</h2><div class="map" id="map-${esc(s.code)}" role="region" aria-label="Map of ${esc(s.name)}: grids in their colours, open incidents, workers"></div>
        <p class="map-legend" aria-live="polite"></p></section>
      ${commandPanel(s)}
      ${register.regionPanel(gd, view)}
      <section class="panel"><h2>Campaigns</h2><div id="campaigns-${esc(s.code)}">${campaignRows(s)}</div></section>
      <section class="panel"><h2>Load</h2><div id="load-${esc(s.code)}">${loadPanel(s)}</div></section>
      ${kpis(s.kpi)}
      <section class="panel"><h2>Staff of this ${esc(s.level)}</h2>${rosterTable(view.staff)}</section>
      ${view.awaitingAssignment.length ? `<section class="panel"><h2>Awaiting a commander</h2><ul>${view.awaitingAssignment.map((id) => `<li><a href="#/incident/${esc(id)}">${esc(id)}</a></li>`).join("")}</ul></section>` : ""}`;
    wireCommands(s.code);
    drawMap(s.code);
    if (s.campaigns && Object.keys(s.campaigns).some((id) => !campaignInfo.has(id))) {
      refreshCampaignInfo().then(() => { const el = document.getElementById(`campaigns-${s.code}`); if (el) el.innerHTML = campaignRows(s); });
    }
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
      <section class="panel"><h2>Map</h2><div class="map" id="map-${esc(s.code)}" role="region" aria-label="Map of ${esc(s.name)}: grids in their colours, open incidents, workers"></div>
        <p class="map-legend" aria-live="polite"></p></section>
      <section class="panel"><h2>Grid</h2>${d.households} households · ${d.rentedHomes} rented · ${d.floatingPopulation} floating · ${d.shops} shops ·
        ${d.highRiseBuildings} high-rise · difficulty ${view.difficultyScore.toFixed(0)} → ${view.recommendedWorkers} worker(s) recommended</section>
      ${register.gridPanel(gd, s)}
      <section class="panel"><h2>Workers (normal and surge)</h2>${rosterTable(view.roster)}</section>
      <section class="panel"><h2>Campaigns</h2><div id="campaigns-${esc(d.code)}">${campaignRows(s)}</div></section>
      ${kpis(s.kpi)}
      <section class="panel"><h2>Open incidents</h2><div id="open-incidents">${incidentRows(view.openIncidents)}</div></section>
      <section class="panel"><h2>Recently finished</h2>${incidentRows(view.recentlyFinished)}</section>`;
    drawMap(d.code);
  }

  function drawMap(code) {
    const el = document.getElementById(`map-${code}`);
    if (el) window.gdMap.draw(api, el, code).catch((e) => { el.textContent = `The map could not be drawn: ${e.message}`; });
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
          ${e.assignee ? ` → ${esc(e.assignee.id)}` : ""}${e.unitCode ? ` @ ${esc(e.level)} ${esc(e.unitCode)}` : ""}${e.reason ? `<br>${esc(e.reason)}` : ""}
          ${window.gd.photoStrip(e.photos, `photo of ${e.kind}`)}</li>`).join("")}</ol></section>`;
    window.gd.loadPhotos(session, $("#view"));
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

  /** What register.js uses of this page. */
  const gd = { api, esc, when, crumbs };

  // ---- routing and the report form -----------------------------------------------------------------------------
  let cityCode = null;
  function route() {
    if (campaignTimer) { clearInterval(campaignTimer); campaignTimer = null; }
    const [, kind, key] = (location.hash || "#/").split("/");
    if (kind === "campaign" && key) return showCampaign(key);
    if (kind === "household" && key) return showHousehold(decodeURIComponent(key));
    if (kind === "region" && key) return show(`region:${key}`, renderRegion);
    if (kind === "grid" && key) return show(`grid:${key}`, renderGrid);
    if (kind === "incident" && key) return show(`incident:${key}`, renderIncident);
    const home = homeTopic();
    if (home && home.startsWith("grid:")) return show(home, renderGrid);
    if (home) return show(home, renderRegion);
    current = null;
    $("#view").innerHTML = `<h1>Welcome, ${esc(me ? me.name : "")}</h1><p class="sub">Report an incident with the form; follow it from the link you get back.</p>`;
    return Promise.resolve();
  }

  async function loadCategories() {
    const classes = await api("/api/categories");
    $("#report-category").innerHTML = classes.map((c) => `<optgroup label="${esc(c.code)} ${esc(c.name)} ${esc(c.nameZh)}">${c.categories.filter((s) => s.reportable !== false).map((s) =>
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
    if (!token) await signIn();
    $("#user").innerHTML = me ? `${esc(me.name)} (${esc(me.role)}) <a href="#" id="sign-out">sign out</a>` : "";
    const out = $("#sign-out");
    if (out) out.addEventListener("click", (e) => { e.preventDefault(); signOut(); });
    await loadCategories().catch((e) => { $("#report-result").textContent = e.message; });
    try {
      await connection.start();
      status("live", "live");
      cityCode = me && me.scope ? me.scope.slice(0, 4) : "";
      if (homeTopic()) await connection.invoke("Subscribe", homeTopic());
      await refreshCampaignInfo();
    } catch (e) {
      status("offline", "offline");
    }
    await route();
    document.body.dataset.ready = cityCode !== null ? "true" : "false";
  })();
})();
