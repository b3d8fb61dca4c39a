// GridDispatch dashboard, the household register (issue 13): a grid's buildings and households with their colours and
// tags, its due revisits, one household's page (people, reasons, log, visits), and a region's counts by child with its
// open household warnings. Loaded after app.js, which hands over its helpers (window.gd).
(() => {
  "use strict";

  const colours = ["green", "yellow", "red"];
  const counts = (h) => h ? `<span class="dot" data-colour="green"></span>${h.green} <span class="dot" data-colour="yellow"></span>${h.yellow}
    <span class="dot" data-colour="red"></span>${h.red} · ${h.households} households · warnings ${h.openWarnings} · revisits overdue ${h.overdueRevisits}` : "no register yet";

  const householdRows = (gd, items) => items.length
    ? `<table class="households"><thead><tr><th>Household</th><th>Size</th><th>Tags</th><th>Colour</th><th>Next revisit</th></tr></thead><tbody>${items.map((h) =>
      `<tr data-colour="${gd.esc(h.colour)}"><td><a href="#/household/${gd.esc(h.id)}">${gd.esc(h.building)} ${gd.esc(h.unit || "")}</a></td><td>${h.size}</td>
       <td>${h.tags.map((t) => `<span class="badge">${gd.esc(t)}</span>`).join(" ")}</td>
       <td class="colour"><span class="dot" data-colour="${gd.esc(h.colour)}"></span>${gd.esc(h.colour)}</td><td>${gd.when(h.revisitDueAt)}</td></tr>`).join("")}</tbody></table>`
    : "<p class=\"sub\">No household matches.</p>";

  /** The grid's register panel: counts (kept live by unitChanged), buildings, households (filtered by colour), due revisits. */
  function gridPanel(gd, s) {
    const code = s.code;
    setTimeout(() => loadGrid(gd, code, ""), 0);
    return `<section class="panel" id="register"><h2>Register 入户</h2>
      <div class="sub" id="households-${gd.esc(code)}">${counts(s.households)}</div>
      <label>Colour <select id="register-colour"><option value="">all</option>${colours.map((c) => `<option>${c}</option>`).join("")}</select></label>
      <h3>Buildings</h3><div id="register-buildings"><p class="sub">Loading…</p></div>
      <h3>Households</h3><div id="register-households"><p class="sub">Loading…</p></div>
      <h3>Revisits due within a day</h3><div id="register-revisits"><p class="sub">Loading…</p></div></section>`;
  }

  async function loadGrid(gd, code, colour) {
    const select = document.getElementById("register-colour");
    if (select && !select.dataset.wired) {
      select.dataset.wired = "true";
      select.addEventListener("change", () => loadGrid(gd, code, select.value));
    }
    const put = (id, html) => { const el = document.getElementById(id); if (el) el.innerHTML = html; };
    try {
      const [buildings, page, revisits] = await Promise.all([
        gd.api(`/api/grids/${code}/buildings`),
        gd.api(`/api/grids/${code}/households?pageSize=200${colour ? `&colour=${colour}` : ""}`),
        gd.api(`/api/grids/${code}/revisits`)]);
      put("register-buildings", buildings.length ? `<table><thead><tr><th>Building</th><th>Address</th><th>Floors</th><th>Households</th><th>Colours</th></tr></thead><tbody>${buildings.map((b) =>
        `<tr><td>${gd.esc(b.name)}</td><td>${gd.esc(b.address || "")}</td><td>${b.floors ?? ""}</td><td>${b.households}</td>
         <td><span class="dot" data-colour="green"></span>${b.green} <span class="dot" data-colour="yellow"></span>${b.yellow} <span class="dot" data-colour="red"></span>${b.red}</td></tr>`).join("")}</tbody></table>`
        : "<p class=\"sub\">No building registered.</p>");
      put("register-households", `${householdRows(gd, page.items)}${page.total > page.items.length ? `<p class="sub">${page.items.length} of ${page.total} shown</p>` : ""}`);
      put("register-revisits", revisits.length ? `<ul id="revisits-due">${revisits.map((r) =>
        `<li><a href="#/household/${gd.esc(r.householdId)}">${gd.esc(r.building)} ${gd.esc(r.unit || "")}</a> · ${gd.esc(r.kind)} · due ${gd.when(r.dueAt)}</li>`).join("")}</ul>`
        : "<p class=\"sub\">None due.</p>");
    } catch (e) {
      put("register-households", `<p class="result error">${gd.esc(e.message)}</p>`);
    }
  }

  /** A region's register: counts for it and for each child, and its open household warnings (incidents 1504/1505). */
  function regionPanel(gd, view) {
    const s = view.summary;
    setTimeout(() => loadWarnings(gd, s.code), 0);
    return `<section class="panel" id="register"><h2>Households 入户监测</h2>
      <div class="sub" id="households-${gd.esc(s.code)}">${counts(s.households)}</div>
      <table><thead><tr><th>Of</th><th>Households</th><th>Green</th><th>Yellow</th><th>Red</th><th>Warnings</th><th>Revisits overdue</th></tr></thead><tbody>${view.children.map((c) => {
        const h = c.households || { households: 0, green: 0, yellow: 0, red: 0, openWarnings: 0, overdueRevisits: 0 };
        return `<tr id="household-counts-${gd.esc(c.code)}"><td>${gd.esc(c.name)}</td><td>${h.households}</td><td>${h.green}</td><td>${h.yellow}</td><td>${h.red}</td><td>${h.openWarnings}</td><td>${h.overdueRevisits}</td></tr>`;
      }).join("")}</tbody></table>
      <h3>Open warnings</h3><div id="register-warnings"><p class="sub">Loading…</p></div></section>`;
  }

  async function loadWarnings(gd, code) {
    const el = () => document.getElementById("register-warnings");
    try {
      const page = await gd.api(`/api/incidents?region=${code}&category=1504,1505&pageSize=100`);
      const open = page.items.filter((i) => i.state !== "closed" && i.state !== "cancelled");
      if (el()) el().innerHTML = open.length ? `<table id="warnings-queue"><thead><tr><th>Warning</th><th>Colour</th><th>Household</th><th>State</th><th>With</th><th>Due</th></tr></thead><tbody>${open.map((i) =>
        `<tr><td><a href="#/incident/${gd.esc(i.id)}">${gd.esc(i.id.slice(0, 10))}</a></td><td>${i.category === "1505" ? "red" : "yellow"}</td>
         <td>${i.household ? `<a href="#/household/${gd.esc(i.household)}">${gd.esc(i.household.slice(16))}</a>` : ""}</td>
         <td class="state ${i.overdue ? "overdue" : ""}">${gd.esc(i.state)}</td><td>${gd.esc(i.assignee ? i.assignee.id : "")}</td><td>${gd.when(i.handleDueAt)}</td></tr>`).join("")}</tbody></table>`
        : "<p class=\"sub\">No open warning.</p>";
    } catch (e) {
      if (el()) el().innerHTML = `<p class="result error">${gd.esc(e.message)}</p>`;
    }
  }

  /** One household: its people (only callers who may see them get this page at all), why it has its colour, its log, and a visit form. */
  async function householdPage(gd, id) {
    const view = document.getElementById("view");
    try {
      const h = await gd.api(`/api/households/${encodeURIComponent(id)}`);
      gd.crumbs(h.gridCode);
      view.innerHTML = `<h1>${gd.esc(h.building)} ${gd.esc(h.unit || "")}</h1>
        <div class="sub"><span class="dot" data-colour="${gd.esc(h.colour)}"></span><span id="household-colour">${gd.esc(h.colour)}</span> · ${h.size} people ·
          ${h.tags.map((t) => `<span class="badge">${gd.esc(t)}</span>`).join(" ")} · next revisit ${gd.esc(h.revisitKind || "–")} ${gd.when(h.revisitDueAt)}</div>
        <section class="panel"><h2>Why</h2>${h.reasons.length ? `<ul>${h.reasons.map((r) => `<li>${gd.esc(r)}</li>`).join("")}</ul>` : "<p class=\"sub\">Nothing to watch.</p>"}
          ${h.warningIncidentId ? `<p>Warning: <a href="#/incident/${gd.esc(h.warningIncidentId)}">${gd.esc(h.warningIncidentId)}</a></p>` : ""}
          ${h.openFindings.length ? `<p>Open findings: ${h.openFindings.map((f) => `<a href="#/incident/${gd.esc(f)}">${gd.esc(f.slice(0, 10))}</a>`).join(", ")}</p>` : ""}</section>
        <section class="panel"><h2>People</h2>${h.people.length ? `<table><thead><tr><th>Name</th><th>Phone</th></tr></thead><tbody>${h.people.map((p) =>
          `<tr><td>${p.erasedAt ? "<i>erased</i>" : gd.esc(p.name || "")}</td><td>${gd.esc(p.phone || "")}</td></tr>`).join("")}</tbody></table>` : "<p class=\"sub\">None recorded.</p>"}</section>
        <section class="panel"><h2>Log a visit</h2><form id="visit-form">
          <label>Kind <select id="visit-kind"><option value="phone">phone</option><option value="in-person">in person</option></select></label>
          <label>Outcome <select id="visit-outcome"><option value="ok">ok</option><option value="problem">problem</option><option value="not-reachable">not reachable</option></select></label>
          <label>Note <input id="visit-note" maxlength="1000"></label>
          <button type="submit">Log visit</button><p id="visit-result" class="result" role="status"></p></form></section>
        <section class="panel"><h2>Log</h2><ol class="timeline">${h.log.map((l) =>
          `<li><span class="when">${gd.when(l.at)}</span> <b>${gd.esc(l.kind)}</b> by ${gd.esc(l.actor)}<br>${gd.esc(l.what)}</li>`).join("")}</ol></section>`;
      document.getElementById("visit-form").addEventListener("submit", async (event) => {
        event.preventDefault();
        const note = document.getElementById("visit-note").value;
        try {
          await gd.api(`/api/households/${encodeURIComponent(id)}/visits`, {
            method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ kind: document.getElementById("visit-kind").value, outcome: document.getElementById("visit-outcome").value, note: note || undefined }),
          });
          await householdPage(gd, id);
        } catch (e) {
          const r = document.getElementById("visit-result");
          r.textContent = e.message;
          r.className = "result error";
        }
      });
    } catch (e) {
      view.innerHTML = `<p class="result error">${gd.esc(e.message)}</p>`;
    }
  }

  /** A pushed summary: the counts line of the grid or region shown, and the row of a child. */
  function unitChanged(gd, s) {
    const line = document.getElementById(`households-${s.code}`);
    if (line) line.innerHTML = counts(s.households);
    const row = document.getElementById(`household-counts-${s.code}`);
    const h = s.households;
    if (row && h) row.innerHTML = `<td>${gd.esc(s.name)}</td><td>${h.households}</td><td>${h.green}</td><td>${h.yellow}</td><td>${h.red}</td><td>${h.openWarnings}</td><td>${h.overdueRevisits}</td>`;
  }

  window.gdRegister = { gridPanel, regionPanel, householdPage, unitChanged };
})();
