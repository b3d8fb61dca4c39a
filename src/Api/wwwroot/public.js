// The public board (/public, 信息公示): anonymous. A region's closure and on-time rates with colours, its children's,
// each grid's responsible workers as the city publishes them, and the latest closed cases. /public?region={code}.
(() => {
  "use strict";

  const { esc } = gd;
  const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)} %`);
  const day = (d) => d; // the city's own date, as the board gives it (yyyy-mm-dd)
  const colourText = { green: "good 良好", yellow: "watch 关注", red: "behind 滞后", none: "no cases yet 暂无" };
  const levelText = { city: "City 市", district: "District 区", street: "Street 街道", community: "Community 社区", grid: "Grid 网格" };

  async function show() {
    const main = document.querySelector("#board");
    let code = new URLSearchParams(location.search).get("region");
    if (!code) {
      const city = await fetch("/api/public/city").then((r) => (r.ok ? r.json() : null)).catch(() => null);
      code = city && city.code;
    }
    const response = code ? await fetch(`/api/public/regions/${encodeURIComponent(code)}`).catch(() => null) : null;
    if (!response || !response.ok) {
      main.innerHTML = `<p class="result error">No board for ${esc(code || "this city")}.</p>`;
      document.body.dataset.ready = "true";
      return;
    }
    const b = await response.json();
    const r = b.region;
    document.title = `${r.name} — 信息公示 public board`;
    const rate = (x, link) => `<a class="rate" data-colour="${esc(x.rate.colour)}" ${link ? `href="/public?region=${esc(x.code)}"` : ""}>
      <b>${esc(x.name)}</b> ${esc(levelText[x.level] || x.level)} · ${esc(colourText[x.rate.colour])}<br>
      closure 办结率 ${pct(x.rate.closure)} · on time 按时率 ${pct(x.rate.onTime)}</a>`;
    main.innerHTML = `
      <section class="card" aria-labelledby="region-h"><h1 id="region-h">${esc(r.name)}</h1>
        <p class="sub">${esc(levelText[r.level] || r.level)} ${esc(r.code)} · as of ${new Date(b.asOf).toLocaleString()}</p>
        <ul class="rates"><li>${rate(r, false)}</li></ul></section>
      ${b.children.length ? `<section class="card" aria-labelledby="children-h"><h2 id="children-h">Below 下辖</h2>
        <ul class="rates">${b.children.map((c) => `<li>${rate(c, true)}</li>`).join("")}</ul></section>` : ""}
      ${b.grids.length ? `<section class="card" aria-labelledby="grids-h"><h2 id="grids-h">Your grid workers 网格员</h2>
        <ul class="cards">${b.grids.map((g) => `<li class="card" data-grid="${esc(g.code)}"><b>${esc(g.name)}</b> <span class="sub">${esc(g.code)}</span>
          <ul class="tasks">${g.workers.map((w) => `<li>${esc(w.name || "")} ${w.kind ? `<span class="tag">${esc(w.kind)}</span>` : ""} ${w.phone ? `<a href="tel:${esc(w.phone)}">${esc(w.phone)}</a>` : ""}</li>`).join("")
            || "<li class=\"sub\">No worker published.</li>"}</ul></li>`).join("")}</ul></section>` : ""}
      <section class="card" aria-labelledby="closed-h"><h2 id="closed-h">Closed cases 办结公示</h2>
        <div class="table-wrap"><table class="cases"><thead><tr><th scope="col">Category 类别</th><th scope="col">Grid 网格</th><th scope="col">Reported 受理</th>
          <th scope="col">Closed 办结</th><th scope="col">Outcome 结果</th></tr></thead>
        <tbody>${b.closed.map((c) => `<tr><td>${esc(c.categoryName)}${c.description ? `<br><span class="sub">${esc(c.description)}</span>` : ""}</td>
          <td>${esc(c.gridName)}</td><td>${esc(day(c.reportedOn))}</td><td>${esc(day(c.closedOn))}</td><td>${esc(c.outcome)}${c.rating ? ` · ${c.rating}★` : ""}</td></tr>`).join("")
          || "<tr><td colspan=\"5\" class=\"sub\">No closed case yet.</td></tr>"}</tbody></table></div></section>`;
    document.body.dataset.ready = "true";
  }

  show();
})();
