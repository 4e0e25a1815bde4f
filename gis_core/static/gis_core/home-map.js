// The home map (GC-5 keyword search, GC-6 offline-first basemap).
//
// Everything drawn here comes from the platform's own API: there is no remote basemap, no glyph
// server and no sprite, so the map works on a bank intranet with no internet at all. Names are
// shown as HTML labels, tooltips and popups instead of symbol text layers (which need glyphs).
// For end-to-end tests the map object is exposed as `window.__map`.
import { Map as MapLibreMap, NavigationControl, ScaleControl, Popup, Marker, LngLatBounds } from "maplibre-gl";

const config = JSON.parse(document.getElementById("home-map-config").textContent);
const S = config.strings;

const ZOOM = { streets: 11, communities: 13, pois: 12, labelsMin: 8, labelsMax: 12.5 };
const LAYERS = {
  districts: ["districts-fill", "districts-line"],
  streets: ["streets-fill", "streets-line"],
  communities: ["communities-fill", "communities-line"],
  pois: ["pois"],
};
// Topmost first: what a click or hover picks.
const PICK_ORDER = ["pois", "communities-fill", "streets-fill", "districts-fill"];

const css = getComputedStyle(document.documentElement);
const cssVar = (name, fallback) => css.getPropertyValue(name).trim() || fallback;

const statusBox = document.getElementById("map-status");
const tooltip = document.getElementById("map-tooltip");

function showStatus(text, kind = "info") {
  statusBox.textContent = text;
  statusBox.dataset.kind = kind;
  statusBox.hidden = !text;
}

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

async function getJson(url, params = {}, signal) {
  const query = new URLSearchParams(params);
  const response = await fetch(`${url}?${query}`, { headers: { Accept: "application/json" }, credentials: "same-origin", signal });
  if (!response.ok) {
    let message = S.load_failed;
    try {
      message = (await response.json()).error?.message || message;
    } catch { /* not JSON */ }
    throw new Error(message);
  }
  return response.json();
}

function emptyCollection() {
  return { type: "FeatureCollection", features: [] };
}

function geometryBounds(geometry) {
  const bounds = new LngLatBounds();
  const walk = (coords) => {
    if (typeof coords[0] === "number") bounds.extend(coords);
    else coords.forEach(walk);
  };
  if (geometry) walk(geometry.coordinates);
  return bounds.isEmpty() ? null : bounds;
}

// --- the map -------------------------------------------------------------------------------------
const style = {
  version: 8,
  name: "gridmarket-offline",
  sources: {
    districts: { type: "geojson", data: emptyCollection() },
    streets: { type: "geojson", data: emptyCollection() },
    communities: { type: "geojson", data: emptyCollection() },
    pois: { type: "geojson", data: emptyCollection() },
  },
  layers: [
    { id: "background", type: "background", paint: { "background-color": cssVar("--map-background", "#eef1ee") } },
    {
      id: "districts-fill", type: "fill", source: "districts",
      paint: {
        "fill-color": ["get", "colour"],
        "fill-opacity": ["case", ["boolean", ["feature-state", "hover"], false], 0.42, 0.26],
      },
    },
    {
      id: "streets-fill", type: "fill", source: "streets", minzoom: ZOOM.streets,
      paint: { "fill-color": "#1f4e79", "fill-opacity": ["case", ["boolean", ["feature-state", "hover"], false], 0.12, 0] },
    },
    {
      id: "communities-fill", type: "fill", source: "communities", minzoom: ZOOM.communities,
      paint: { "fill-color": "#0f7b55", "fill-opacity": ["case", ["boolean", ["feature-state", "hover"], false], 0.16, 0] },
    },
    {
      id: "communities-line", type: "line", source: "communities", minzoom: ZOOM.communities,
      paint: { "line-color": "#5b7083", "line-width": 0.6, "line-opacity": 0.8, "line-dasharray": [3, 2] },
    },
    {
      id: "streets-line", type: "line", source: "streets", minzoom: ZOOM.streets,
      paint: { "line-color": "#2f4f6f", "line-width": ["interpolate", ["linear"], ["zoom"], 11, 0.8, 15, 1.6] },
    },
    {
      id: "districts-line", type: "line", source: "districts",
      paint: { "line-color": "#1d3347", "line-width": ["interpolate", ["linear"], ["zoom"], 8, 1.2, 14, 2.6] },
    },
    {
      id: "pois", type: "circle", source: "pois", minzoom: ZOOM.pois,
      paint: {
        "circle-color": ["get", "colour"],
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 3, 16, 6],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1,
      },
    },
  ],
};

const map = new MapLibreMap({
  container: "map",
  style,
  center: config.center,
  zoom: config.zoom,
  minZoom: 5,
  maxZoom: 18,
  attributionControl: { compact: true, customAttribution: S.attribution || "" },
  dragRotate: false,
  pitchWithRotate: false,
});
map.touchZoomRotate.disableRotation();
map.addControl(new NavigationControl({ showCompass: false }), "top-right");
map.addControl(new ScaleControl({ unit: "metric" }), "bottom-right");
window.__map = map;

const categoryColour = Object.fromEntries(config.poi_categories.map((c) => [c.value, c.colour]));
const loaded = { districts: false, streets: false, communities: false };
const loading = {};
let districtLabels = [];

async function loadDivisions(layer, level) {
  if (loaded[layer] || loading[layer]) return loading[layer];
  loading[layer] = (async () => {
    try {
      const body = await getJson(config.urls.divisions, { level });
      body.features.forEach((feature, i) => {
        if (layer === "districts") {
          feature.properties.colour = config.district_palette[i % config.district_palette.length];
        }
      });
      map.getSource(layer).setData(body);
      loaded[layer] = true;
      if (layer === "districts") onDistricts(body.features);
    } catch (error) {
      if (error.name !== "AbortError") showStatus(error.message || S.load_failed, "error");
    } finally {
      delete loading[layer];
    }
  })();
  return loading[layer];
}

function onDistricts(features) {
  const list = document.getElementById("district-list");
  list.replaceChildren();
  districtLabels.forEach((marker) => marker.remove());
  districtLabels = [];
  for (const feature of features) {
    const { name, colour, label_point: point } = feature.properties;
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    const dot = document.createElement("span");
    dot.className = "legend-dot";
    dot.style.setProperty("--dot", colour);
    button.append(dot, document.createTextNode(name));
    button.addEventListener("click", () => {
      const bounds = geometryBounds(feature.geometry);
      if (bounds) map.fitBounds(bounds, { padding: 40, maxZoom: 14 });
    });
    item.append(button);
    list.append(item);
    if (point) {
      const label = document.createElement("div");
      label.className = "map-label map-label-district";
      label.textContent = name;
      districtLabels.push(new Marker({ element: label, anchor: "center" }).setLngLat(point).addTo(map));
    }
  }
  updateLabels();
}

function updateLabels() {
  const zoom = map.getZoom();
  const on = document.querySelector('[data-layer="districts"]').checked && zoom >= ZOOM.labelsMin && zoom <= ZOOM.labelsMax;
  districtLabels.forEach((marker) => marker.getElement().classList.toggle("is-hidden", !on));
}

// --- POIs: fetched for the viewport, filtered by category on the client ---------------------------
let poiRequest = null;
let poiTimer = null;
const poiStatus = document.getElementById("poi-status");

function viewportBbox() {
  const b = map.getBounds();
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)]
    .map((v) => v.toFixed(6)).join(",");
}

function schedulePois() {
  clearTimeout(poiTimer);
  poiTimer = setTimeout(loadPois, 250);
}

async function loadPois() {
  if (!document.querySelector('[data-layer="pois"]').checked) return;
  if (map.getZoom() < ZOOM.pois) {
    poiStatus.textContent = format(S.pois_zoom_in, { z: ZOOM.pois });
    return;
  }
  poiRequest?.abort();
  poiRequest = new AbortController();
  try {
    const body = await getJson(config.urls.pois, { bbox: viewportBbox(), page_size: 10000 }, poiRequest.signal);
    for (const feature of body.features) feature.properties.colour = categoryColour[feature.properties.category] || "#8c8c8c";
    map.getSource("pois").setData({ type: "FeatureCollection", features: body.features });
    poiStatus.textContent = body.count > body.features.length
      ? format(S.pois_capped, { n: body.features.length })
      : format(S.pois_count, { n: body.count });
  } catch (error) {
    if (error.name !== "AbortError") showStatus(error.message || S.load_failed, "error");
  }
}

function applyCategoryFilter() {
  const enabled = [...document.querySelectorAll("[data-category]")].filter((c) => c.checked).map((c) => c.dataset.category);
  map.setFilter("pois", ["in", ["get", "category"], ["literal", enabled]]);
}

// --- layers on demand ----------------------------------------------------------------------------
function ensureLayers() {
  const zoom = map.getZoom();
  if (document.querySelector('[data-layer="streets"]').checked && zoom >= ZOOM.streets - 0.5) loadDivisions("streets", "street");
  if (document.querySelector('[data-layer="communities"]').checked && zoom >= ZOOM.communities - 0.5) loadDivisions("communities", "community");
}

function setLayerVisible(key, visible) {
  for (const id of LAYERS[key]) map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
  if (key === "districts") updateLabels();
  if (key === "pois" && visible) schedulePois();
  ensureLayers();
}

// --- hover and click -----------------------------------------------------------------------------
let hovered = null;

function pick(point) {
  const layers = PICK_ORDER.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, "visibility") !== "none");
  const features = map.queryRenderedFeatures(point, { layers });
  for (const id of PICK_ORDER) {
    const found = features.find((f) => f.layer.id === id);
    if (found) return found;
  }
  return null;
}

function setHover(feature) {
  if (hovered && (!feature || hovered.id !== feature.id || hovered.source !== feature.source)) {
    map.setFeatureState({ source: hovered.source, id: hovered.id }, { hover: false });
    hovered = null;
  }
  if (feature && feature.id !== undefined && feature.layer.type === "fill") {
    hovered = { source: feature.source, id: feature.id };
    map.setFeatureState(hovered, { hover: true });
  }
}

map.on("mousemove", (event) => {
  const feature = pick(event.point);
  setHover(feature);
  map.getCanvas().style.cursor = feature ? "pointer" : "";
  if (feature) {
    const p = feature.properties;
    tooltip.textContent = p.category_label ? `${p.name} · ${p.category_label}` : `${p.name} · ${p.level_label || ""}`;
    tooltip.style.transform = `translate(${event.point.x + 14}px, ${event.point.y + 14}px)`;
    tooltip.hidden = false;
  } else {
    tooltip.hidden = true;
  }
});
map.getCanvas().addEventListener("mouseleave", () => {
  tooltip.hidden = true;
  setHover(null);
});

function row(label, value) {
  const wrap = document.createElement("div");
  wrap.className = "popup-row";
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.textContent = value;
  wrap.append(dt, dd);
  return wrap;
}

function popupContent(feature) {
  const p = feature.properties;
  const root = document.createElement("div");
  root.className = "map-popup";
  const title = document.createElement("h3");
  title.textContent = p.name;
  const rows = document.createElement("dl");
  if (feature.source === "pois") {
    rows.append(row(S.category, p.category_label || p.category));
    if (p.division_code) rows.append(row(S.division, p.division_code));
  } else {
    rows.append(row(S.level, p.level_label || config.levels[p.level] || p.level));
    rows.append(row(S.code, p.code));
    if (p.area_km2) rows.append(row(S.area, `${Number(p.area_km2).toFixed(2)} ${S.km2}`));
  }
  root.append(title, rows);
  if (p.geometry_source === "synthetic") {
    const note = document.createElement("p");
    note.className = "popup-note";
    note.textContent = S.synthetic;
    root.append(note);
  }
  return root;
}

const popup = new Popup({ closeButton: true, maxWidth: "300px" });
map.on("click", (event) => {
  const feature = pick(event.point);
  if (!feature) return;
  popup.setLngLat(event.lngLat).setDOMContent(popupContent(feature)).addTo(map);
});

// --- keyword search (GC-5) -----------------------------------------------------------------------
const searchForm = document.getElementById("map-search");
const searchInput = document.getElementById("map-search-input");
const results = document.getElementById("map-search-results");
let searchRequest = null;
let searchTimer = null;
let searchMarker = null;
let lastResults = [];

function goTo(result) {
  searchMarker?.remove();
  if (result.bbox) {
    const [xmin, ymin, xmax, ymax] = result.bbox;
    map.fitBounds([[xmin, ymin], [xmax, ymax]], { padding: 48, maxZoom: 15 });
  } else if (result.point) {
    map.flyTo({ center: result.point, zoom: Math.max(map.getZoom(), 16) });
  }
  if (result.point) {
    const pin = document.createElement("div");
    pin.className = "map-search-pin";
    searchMarker = new Marker({ element: pin }).setLngLat(result.point).addTo(map);
  }
}

function renderResults(items) {
  lastResults = items;
  results.replaceChildren();
  if (!items.length) {
    const empty = document.createElement("li");
    empty.className = "search-empty";
    empty.textContent = S.no_results;
    results.append(empty);
    return;
  }
  for (const item of items) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = `search-result search-result-${item.kind}`;
    const name = document.createElement("span");
    name.className = "search-result-name";
    name.textContent = item.name;
    const meta = document.createElement("span");
    meta.className = "search-result-meta";
    meta.textContent = [item.label, item.context].filter(Boolean).join(" · ");
    button.append(name, meta);
    button.addEventListener("click", () => goTo(item));
    li.append(button);
    results.append(li);
  }
}

async function search(q) {
  searchRequest?.abort();
  if (!q) {
    results.replaceChildren();
    lastResults = [];
    return;
  }
  searchRequest = new AbortController();
  try {
    const body = await getJson(config.urls.search, { q }, searchRequest.signal);
    renderResults(body.results);
  } catch (error) {
    if (error.name !== "AbortError") showStatus(error.message || S.load_failed, "error");
  }
}

searchInput.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => search(searchInput.value.trim()), 250);
});
searchForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearTimeout(searchTimer);
  await search(searchInput.value.trim());
  if (lastResults.length) goTo(lastResults[0]);
});

// --- panel controls ------------------------------------------------------------------------------
document.querySelectorAll("[data-layer]").forEach((box) => {
  box.addEventListener("change", () => setLayerVisible(box.dataset.layer, box.checked));
});
document.querySelectorAll("[data-category]").forEach((box) => box.addEventListener("change", applyCategoryFilter));

const panelToggle = document.getElementById("map-panel-toggle");
panelToggle.addEventListener("click", () => {
  const page = document.getElementById("map-page");
  const collapsed = page.classList.toggle("panel-collapsed");
  panelToggle.setAttribute("aria-expanded", String(!collapsed));
  setTimeout(() => map.resize(), 220);
});

// --- start ---------------------------------------------------------------------------------------
map.on("load", async () => {
  map.on("moveend", () => {
    ensureLayers();
    schedulePois();
  });
  map.on("zoom", updateLabels);
  await loadDivisions("districts", "district");
  ensureLayers();
  schedulePois();
  map.once("idle", () => {
    document.body.dataset.mapReady = "true";
  });
  map.triggerRepaint();
});

// Follow the system's light/dark switch without a reload.
window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
  const colour = getComputedStyle(document.documentElement).getPropertyValue("--map-background").trim();
  if (map.getLayer("background")) map.setPaintProperty("background", "background-color", colour || "#eef1ee");
});
