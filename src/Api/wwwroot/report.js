// The resident's page (/report, 随手拍): report a problem with a category, a description, photos and where it is (the
// phone's position or a grid code); follow my reports to the end and rate them when asked. Reports go through the
// outbox (outbox.js), so one taken on a bad connection is sent once when it returns.
(() => {
  "use strict";

  const $ = (s) => document.querySelector(s);
  const { esc } = gd;
  const me = gd.session("gd_resident", localStorage);
  const api = gd.client(me, () => { me.clear(); location.reload(); });
  const outbox = gdOutbox(api, () => `resident-${me.user.id}`);
  const stateText = {
    reported: "received 已受理", accepted: "accepted 已立案", dispatched: "sent to a grid worker 已派遣", inProgress: "being handled 处置中",
    resolved: "handled, being checked 已处置", verified: "done: please rate 请评价", rated: "rated 已评价", closed: "closed 已结案",
    cancelled: "cancelled 已撤销", deferred: "deferred 暂缓",
  };
  const names = new Map();
  let position = null;

  const notice = (text, error) => { const el = $("#notice"); el.textContent = text || ""; el.className = `result${error ? " error" : ""}`; };

  outbox.onChange((items) => {
    gd.showOutbox($("#outbox"), items);
    for (const outcome of outbox.takeOutcomes()) {
      if (!outcome.ok) notice(`${outcome.item.label}: not sent — ${outcome.error}`, true);
      else if (outcome.item.label.startsWith("report")) notice(`Sent. Your report is ${outcome.result.id.slice(0, 8)}. 已提交`);
    }
    loadMine();
  });

  async function loadMine() {
    if (!me.user) return;
    const list = await api("/api/me/reports").catch(() => null);
    if (!list) return;
    $("#mine-count").textContent = String(list.length);
    $("#mine").innerHTML = list.map((v) => {
      const closed = v.timeline.find((e) => e.kind === "closed");
      const photos = v.timeline.flatMap((e) => e.photos || []);
      return `<li class="task" data-id="${esc(v.id)}" data-state="${esc(v.state)}">
        <div class="what"><b>${esc(names.get(v.category) || v.category)}</b></div>
        <div class="sub">${esc(v.description)}</div>
        <div class="sub">${esc(stateText[v.state] || v.state)} · reported ${gd.when(v.reportedAt)}${closed ? ` · closed ${gd.when(closed.at)}` : ""}${v.rating ? ` · ${v.rating}★` : ""}</div>
        ${v.state === "verified" ? `<fieldset class="stars"><legend>How well was it handled? 满意度</legend>
          ${[1, 2, 3, 4, 5].map((n) => `<button type="button" data-stars="${n}" aria-label="${n} of 5 stars">${n}★</button>`).join("")}</fieldset>` : ""}
        ${gd.photoStrip(photos, "photo")}</li>`;
    }).join("") || "<li class=\"sub\">You have reported nothing yet.</li>";
    for (const b of document.querySelectorAll("#mine [data-stars]")) {
      const id = b.closest("[data-id]").dataset.id;
      b.addEventListener("click", () => outbox.add({ label: `rating ${id.slice(0, 8)}`, path: `/api/incidents/${encodeURIComponent(id)}/rate`, json: { stars: Number(b.dataset.stars) } }));
    }
    gd.loadPhotos(me, $("#mine"));
  }

  $("#report-locate").addEventListener("click", async () => {
    position = await gd.locate();
    $("#report-where").textContent = position ? `At ${position.latitude.toFixed(5)}, ${position.longitude.toFixed(5)} 已定位` : "The phone gave no position: give the grid code. 未能定位";
  });

  $("#report-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const grid = $("#report-grid").value.trim();
    if (!grid && !position) position = await gd.locate();
    if (!grid && !position) return notice("Give the grid code, or allow the location. 请填写网格编码或允许定位", true);
    const json = { category: $("#report-category").value, severity: "routine", description: $("#report-description").value.trim(), source: "resident-app" };
    if (grid) json.gridCode = grid;
    if (position) json.location = position;
    notice("");
    await outbox.add({ label: `report ${json.category}`, path: "/api/incidents", json, photos: [...$("#report-photos").files] });
    $("#report-form").reset();
    position = null;
    return undefined;
  });

  (async () => {
    await gd.startPhone(me, $("#login"), "resident");
    $("#resident").hidden = false;
    const reportable = await gd.reportableCategories(api);
    for (const c of reportable) names.set(c.code, c.label);
    $("#report-category").innerHTML = reportable.map((c) => `<option value="${esc(c.code)}">${esc(c.label)}</option>`).join("");
    await loadMine();
    await outbox.flush();
    document.body.dataset.ready = "true";
  })();
})();
