// The drill-down's map (Leaflet, served from wwwroot/lib): a region's grids as polygons in their colours, its open
// incidents and its workers' last positions. Vector only: no tile server unless the deployment names one
// (GridDispatch:Map:TileUrl). Loaded before app.js; window.gdMap.
window.gdMap = (() => {
  "use strict";

  const fills = { green: "#2e7d46", yellow: "#d9a400", red: "#b3261e" };
  const { esc } = window.gd;    // a tooltip's text is HTML to Leaflet
  let map = null;
  let drawing = 0;             // the latest draw; an older one still loading gives way
  const cells = new Map(); // grid code -> polygon

  /** Draws the map of region `code` into `el` (replacing any earlier one); the grids link to their pages. */
  async function draw(api, el, code) {
    const mine = ++drawing;
    const m = await api(`/api/regions/${encodeURIComponent(code)}/map`);
    if (mine !== drawing) return;
    if (map) { map.remove(); map = null; cells.clear(); }
    if (!el.isConnected) return;
    map = L.map(el, { zoomSnap: 0.25, attributionControl: Boolean(m.tileUrl) });
    if (m.tileUrl) L.tileLayer(m.tileUrl, { attribution: m.tileAttribution, maxZoom: 19 }).addTo(map);
    const all = L.featureGroup();     // filled first, added once the map has a view (a path cannot be drawn before)
    for (const g of m.grids) {
      const cell = L.polygon(g.boundary, { color: "#1d2430", weight: 1, fillColor: fills[g.colour], fillOpacity: 0.6, className: "grid-cell" })
        .bindTooltip(`${esc(g.name)} · ${esc(g.colour)} · open ${g.openIncidents} · overdue ${g.overdue}`)
        .on("click", () => { location.hash = `#/grid/${encodeURIComponent(g.code)}`; })
        .addTo(all);
      cells.set(g.code, cell);
    }
    if (all.getLayers().length) map.fitBounds(all.getBounds(), { padding: [8, 8] });
    else map.setView([22.54, 114.05], 12);
    all.addTo(map);
    for (const i of m.incidents) {
      L.circleMarker(i.at, { radius: 6, color: "#fff", weight: 2, fillColor: i.overdue ? "#b3261e" : "#e07b00", fillOpacity: 1, className: "map-incident" })
        .bindTooltip(`${esc(i.category)} · ${esc(i.state)}${i.overdue ? " · overdue" : ""}`).on("click", () => { location.hash = `#/incident/${encodeURIComponent(i.id)}`; }).addTo(map);
    }
    for (const w of m.workers) {
      L.circleMarker(w.at, { radius: 5, color: "#fff", weight: 2, fillColor: "#1d4f91", fillOpacity: 1, className: "map-worker" })
        .bindTooltip(`${esc(w.name)} · ${esc(w.status)}`).addTo(map);
    }
    for (const g of m.grids) {
      const path = cells.get(g.code).getElement();
      path.dataset.grid = g.code;
      path.dataset.colour = g.colour;
    }
    el.dataset.grids = String(m.grids.length);
    el.dataset.ready = "true";
    const legend = el.parentElement.querySelector(".map-legend");
    if (legend) {
      legend.textContent = `${m.grids.length} grids (${["green", "yellow", "red"].map((c) => `${m.grids.filter((g) => g.colour === c).length} ${c}`).join(", ")}), `
        + `${m.incidents.length} open incidents and ${m.workers.length} workers with a position${m.truncated ? " (the largest regions show part)" : ""}.`;
    }
  }

  /** A grid's new colour, from a live push, without drawing the map again. */
  function recolour(code, colour) {
    const cell = cells.get(code);
    if (!cell) return;
    cell.setStyle({ fillColor: fills[colour] });
    if (cell.getElement()) cell.getElement().dataset.colour = colour;
  }

  return { draw, recolour };
})();
