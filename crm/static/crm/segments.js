// 客群管理 (CR-4): the segment list, an editor with a condition builder, the live count, the map
// preview of the members (points, or square cells with counts when many), polygon drawing for
// "within the drawn area", and the approval steps with their log.
//
// Every read and write goes through the REST API (crm.api.segments); the page holds no rule of its
// own: the API validates the definition and answers 400 with the JSON path of the bad node, which
// the builder maps back onto the row it came from. The map uses the platform's own layers only (no
// basemap service, no glyphs): counts and names are shown in tooltips. For end-to-end tests the
// map is exposed as `window.__segmentsMap` and its
// last preview as `window.__segmentsPreview`.
import { Map as MapLibreMap, NavigationControl, ScaleControl } from "maplibre-gl";
import { TerraDraw, TerraDrawPolygonMode } from "terra-draw";
import { TerraDrawMapLibreGLAdapter } from "terra-draw-maplibre-gl-adapter";

const config = JSON.parse(document.getElementById("segments-config").textContent);
const S = config.strings;
const $ = (id) => document.getElementById(id);

// --- small helpers ----------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function api(method, url, { body, params, signal } = {}) {
  const qs = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== undefined && v !== null)) : null;
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(qs && qs.toString() ? `${url}?${qs}` : url, {
      method, headers, credentials: "same-origin", signal, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", S.network_error);
  }
  if (response.status === 401) {
    window.location.assign(`${config.urls.login}?next=${encodeURIComponent(window.location.pathname)}`);
    throw new ApiError(401, "not_authenticated", S.load_failed);
  }
  if (response.status === 204) return null;
  let payload = null;
  try {
    payload = await response.json();
  } catch { /* not JSON */ }
  if (!response.ok) {
    const error = payload?.error || {};
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || S.load_failed, error.details);
  }
  return payload;
}

function format(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function options(select, list, selected, { placeholder } = {}) {
  select.replaceChildren();
  if (placeholder !== undefined) select.append(el("option", { value: "", text: placeholder }));
  const chosen = new Set((Array.isArray(selected) ? selected : [selected]).map(String));
  for (const item of list) {
    select.append(el("option", { value: item.value, text: item.label, selected: chosen.has(String(item.value)) }));
  }
  return select;
}

let toastTimer = null;
function toast(text, kind = "info") {
  const box = $("seg-toast");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 7000 : 3500);
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function segmentUrl(id, suffix = "") {
  return `${config.urls.segments}${id}/${suffix}`;
}

const labelOf = (list, value) => (list.find((item) => String(item.value) === String(value)) || {}).label || String(value);
const fieldSpec = (name) => config.fields.find((f) => f.value === name) || config.fields[0];

// --- state ------------------------------------------------------------------------------------------
const state = {
  segments: [],
  current: null, // the segment as the API gave it, or {} for a new one
  combinator: "all",
  rows: [],
  advanced: null, // a definition the builder cannot show (nested groups): edited as JSON only
  dirty: false,
  membersPage: 1,
  drawingRow: null,
};
let uid = 0;

// --- rows ⇄ definition --------------------------------------------------------------------------
function newRow(type = "field") {
  const row = { uid: ++uid, type, not: false };
  if (type === "field") Object.assign(row, { field: config.fields[0].value, op: "eq", value: config.fields[0].choices?.[0]?.value ?? "" });
  if (type === "tag") row.tag = config.tags[0]?.value || "";
  if (type === "tags_any") row.tags = [];
  if (type === "product") Object.assign(row, { product: config.products[0]?.value || "", min_balance: "" });
  if (type === "product_category") Object.assign(row, { category: config.product_categories[0].value, min_balance: "" });
  if (type === "grid_subtree") Object.assign(row, { grid: null, gridLabel: "" });
  if (type === "within_polygon") row.polygon = null;
  if (type === "within_distance_of_outlet") Object.assign(row, { outlet: config.outlets[0]?.value || "", metres: 1000 });
  if (type === "import_batch") row.batch = "";
  return row;
}

const number = (value) => (value === "" || value === null || value === undefined ? null : Number(value));

function rowToNode(row) {
  let node;
  switch (row.type) {
    case "field": {
      const spec = fieldSpec(row.field);
      let value = row.value;
      const cast = spec.type === "integer" || spec.type === "ref" ? (v) => (v === "" || v === null ? null : Number(v)) : (v) => v;
      if (row.op === "in") value = (Array.isArray(value) ? value : String(value).split(/[,，\s]+/).filter(Boolean)).map(cast);
      else if (row.op === "between") value = (Array.isArray(value) ? value : ["", ""]).map(cast);
      else value = cast(Array.isArray(value) ? value[0] : value);
      node = { field: row.field, op: row.op, value };
      break;
    }
    case "tag": node = { tag: row.tag }; break;
    case "tags_any": node = { tags_any: row.tags }; break;
    case "product": node = { product: row.product }; if (number(row.min_balance) !== null) node.min_balance = number(row.min_balance); break;
    case "product_category":
      node = { product_category: row.category };
      if (number(row.min_balance) !== null) node.min_balance = number(row.min_balance);
      break;
    case "grid_subtree": node = { grid_subtree: row.grid }; break;
    case "within_polygon": node = { within_polygon: row.polygon, crs: "wgs84" }; break;
    case "within_distance_of_outlet": node = { within_distance_of_outlet: { institution: number(row.outlet), metres: number(row.metres) } }; break;
    case "import_batch": node = { import_batch: number(row.batch) }; break;
    default: node = {};
  }
  return row.not ? { not: node } : node;
}

function definition() {
  if (state.advanced) return state.advanced;
  if (!state.rows.length) return { v: 1 };
  return { v: 1, [state.combinator]: state.rows.map(rowToNode) };
}

function nodeToRow(node) {
  let not = false;
  if (node && node.not && Object.keys(node).length === 1) {
    not = true;
    node = node.not;
  }
  if (!node || typeof node !== "object") return null;
  const keys = Object.keys(node);
  const row = { uid: ++uid, not };
  if ("field" in node) return Object.assign(row, { type: "field", field: node.field, op: node.op, value: node.value });
  if ("tag" in node && keys.length === 1) return Object.assign(row, { type: "tag", tag: node.tag });
  if ("tags_any" in node) return Object.assign(row, { type: "tags_any", tags: node.tags_any || [] });
  if ("product" in node) return Object.assign(row, { type: "product", product: node.product, min_balance: node.min_balance ?? "" });
  if ("product_category" in node) {
    return Object.assign(row, { type: "product_category", category: node.product_category, min_balance: node.min_balance ?? "" });
  }
  if ("grid_subtree" in node) return Object.assign(row, { type: "grid_subtree", grid: node.grid_subtree, gridLabel: `#${node.grid_subtree}` });
  if ("within_polygon" in node && (node.crs || "wgs84") === "wgs84") return Object.assign(row, { type: "within_polygon", polygon: node.within_polygon });
  if ("within_distance_of_outlet" in node) {
    const spec = node.within_distance_of_outlet || {};
    return Object.assign(row, { type: "within_distance_of_outlet", outlet: spec.institution, metres: spec.metres });
  }
  if ("import_batch" in node) return Object.assign(row, { type: "import_batch", batch: node.import_batch });
  return null; // a group: the builder cannot show it
}

/** Rows for a definition, or null when only the JSON editor can show it. */
function rowsFrom(def) {
  const keys = Object.keys(def || {}).filter((k) => k !== "v");
  if (!keys.length) return { combinator: "all", rows: [] };
  if (keys.length === 1 && (keys[0] === "all" || keys[0] === "any") && Array.isArray(def[keys[0]])) {
    const rows = def[keys[0]].map(nodeToRow);
    return rows.every(Boolean) ? { combinator: keys[0], rows } : null;
  }
  const { v, ...node } = def;
  const row = nodeToRow(node);
  return row ? { combinator: "all", rows: [row] } : null;
}

// --- the builder's rows -----------------------------------------------------------------------------
function changed() {
  state.dirty = true;
  syncJson();
  scheduleCount();
  drawAreas();
}

function control(tag, attrs, onChange) {
  const node = el(tag, attrs);
  node.addEventListener(tag === "select" ? "change" : "input", () => onChange(node));
  return node;
}

function multiValues(select) {
  return Array.from(select.selectedOptions).map((o) => o.value);
}

function fieldControls(row) {
  const spec = fieldSpec(row.field);
  const out = [];
  const fieldSelect = options(control("select", { "aria-label": S.value }, (node) => {
    const next = fieldSpec(node.value);
    Object.assign(row, { field: next.value, op: next.ops[0], value: next.type === "choice" ? next.choices[0].value : "" });
    renderRows();
    changed();
  }), config.fields, row.field);
  const opSelect = options(control("select", { "aria-label": S.value }, (node) => {
    row.op = node.value;
    row.value = row.op === "between" ? ["", ""] : row.op === "in" ? [] : "";
    renderRows();
    changed();
  }), spec.ops.map((op) => ({ value: op, label: spec.op_labels[op] })), row.op);
  out.push(fieldSelect, opSelect);
  const list = spec.type === "choice" ? spec.choices : spec.type === "ref" ? config[spec.source] : null;
  if (list) {
    const multiple = row.op === "in";
    const select = control("select", { multiple, "aria-label": S.value }, (node) => {
      row.value = multiple ? multiValues(node) : node.value;
      changed();
    });
    out.push(options(select, list, row.value));
    if (!multiple && (row.value === "" || row.value === null || row.value === undefined)) row.value = select.value;
  } else if (row.op === "between") {
    const [lo, hi] = Array.isArray(row.value) ? row.value : ["", ""];
    const type = spec.type === "date" ? "date" : "number";
    const input = (index, value, label) => control("input", { type, value: value ?? "", min: spec.min, max: spec.max, "aria-label": label }, (node) => {
      const pair = Array.isArray(row.value) ? [...row.value] : ["", ""];
      pair[index] = node.value;
      row.value = pair;
      changed();
    });
    out.push(input(0, lo, S.from), el("span", { text: "–" }), input(1, hi, S.to));
  } else if (row.op === "in") {
    out.push(control("input", { type: "text", value: Array.isArray(row.value) ? row.value.join(",") : row.value, placeholder: "1,2,12",
                                "aria-label": S.value }, (node) => { row.value = node.value; changed(); }));
  } else {
    out.push(control("input", { type: spec.type === "date" ? "date" : "number", value: row.value ?? "", min: spec.min, max: spec.max,
                                "aria-label": S.value }, (node) => { row.value = node.value; changed(); }));
  }
  return out;
}

function gridControls(row) {
  const results = el("ul", { class: "seg-grid-results" });
  const picked = el("span", { class: "seg-note", text: row.grid ? row.gridLabel : S.pick_grid });
  const search = debounce(async (text) => {
    results.replaceChildren();
    if (!text.trim()) return;
    try {
      const nodes = await api("GET", config.urls.grid_tree, { params: { q: text.trim() } });
      if (!nodes.length) results.append(el("li", { class: "seg-note", text: S.no_grid_results }));
      for (const node of nodes.slice(0, 30)) {
        const path = [...(node.ancestors || []).map((a) => a.name), node.name].join(" / ");
        results.append(el("li", {}, el("button", {
          type: "button", text: `${path}（${node.code}）`,
          onclick: () => {
            Object.assign(row, { grid: node.id, gridLabel: path });
            picked.textContent = path;
            results.replaceChildren();
            changed();
          },
        })));
      }
    } catch {
      results.replaceChildren(el("li", { class: "seg-note", text: S.grid_search_failed }));
    }
  }, 300);
  const input = el("input", { type: "search", placeholder: S.pick_grid, "aria-label": S.pick_grid, oninput: (e) => search(e.target.value) });
  return [input, picked, results];
}

function rowControls(row) {
  const balance = () => control("input", { type: "number", min: 0, value: row.min_balance ?? "", placeholder: S.min_balance,
                                           "aria-label": S.min_balance }, (node) => { row.min_balance = node.value; changed(); });
  switch (row.type) {
    case "field": return fieldControls(row);
    case "tag": return [options(control("select", { "aria-label": S.value }, (n) => { row.tag = n.value; changed(); }), config.tags, row.tag)];
    case "tags_any":
      return [options(control("select", { multiple: true, "aria-label": S.value }, (n) => { row.tags = multiValues(n); changed(); }), config.tags, row.tags)];
    case "product":
      return [options(control("select", { "aria-label": S.value }, (n) => { row.product = n.value; changed(); }), config.products, row.product), balance()];
    case "product_category":
      return [options(control("select", { "aria-label": S.value }, (n) => { row.category = n.value; changed(); }), config.product_categories, row.category),
        balance()];
    case "grid_subtree": return gridControls(row);
    case "within_polygon": {
      const ring = row.polygon?.coordinates?.[0];
      return [
        el("button", { type: "button", class: "seg-button is-small", text: ring ? S.redraw_polygon : S.draw_polygon, onclick: () => startDrawing(row) }),
        el("span", { class: "seg-note", text: ring ? format(S.polygon_drawn, { n: ring.length - 1 }) : S.no_polygon }),
      ];
    }
    case "within_distance_of_outlet":
      return [
        options(control("select", { "aria-label": S.value }, (n) => { row.outlet = n.value; changed(); }), config.outlets, row.outlet),
        control("input", { type: "number", min: 1, max: 100000, value: row.metres ?? "", "aria-label": S.metres },
                (n) => { row.metres = n.value; changed(); }),
        el("span", { text: S.metres }),
      ];
    case "import_batch":
      return [control("input", { type: "number", min: 1, value: row.batch ?? "", "aria-label": S.value }, (n) => { row.batch = n.value; changed(); })];
    default: return [];
  }
}

function renderRows() {
  const list = $("seg-rows");
  list.replaceChildren();
  const hint = $("seg-rows-hint");
  $("seg-combinator").disabled = Boolean(state.advanced);
  $("seg-add-row").hidden = Boolean(state.advanced) || !editable();
  if (state.advanced) {
    hint.textContent = S.nested_hint;
    return;
  }
  hint.textContent = state.rows.length ? "" : S.no_conditions;
  state.rows.forEach((row, index) => {
    const typeSelect = options(control("select", { "aria-label": S.add_condition }, (node) => {
      state.rows[index] = newRow(node.value);
      renderRows();
      changed();
    }), config.condition_types, row.type);
    const not = el("label", { class: "seg-check" }, control("input", { type: "checkbox", checked: row.not }, (node) => {
      row.not = node.checked;
      changed();
    }), S.exclude);
    const remove = el("button", { type: "button", class: "seg-link", text: S.remove, onclick: () => {
      state.rows.splice(index, 1);
      renderRows();
      changed();
    } });
    list.append(el("li", { class: "seg-row", "data-index": index },
      el("div", { class: "seg-row-head" }, typeSelect, not, editable() ? remove : null),
      el("div", { class: "seg-row-body" }, rowControls(row))));
  });
}

function syncJson() {
  $("seg-json").value = JSON.stringify(definition(), null, 2);
  $("seg-json-error").hidden = true;
}

$("seg-json").addEventListener("input", debounce(() => {
  let parsed;
  try {
    parsed = JSON.parse($("seg-json").value);
  } catch {
    $("seg-json-error").textContent = S.json_invalid;
    $("seg-json-error").hidden = false;
    return;
  }
  $("seg-json-error").hidden = true;
  const rows = parsed && typeof parsed === "object" ? rowsFrom(parsed) : null;
  if (rows) {
    state.advanced = null;
    state.combinator = rows.combinator;
    state.rows = rows.rows;
    $("seg-combinator").value = rows.combinator;
  } else {
    state.advanced = parsed;
  }
  state.dirty = true;
  renderRows();
  scheduleCount();
  drawAreas();
}, 500));

options($("seg-combinator"), [{ value: "all", label: S.match_all }, { value: "any", label: S.match_any }], "all");
$("seg-combinator").addEventListener("change", (e) => {
  state.combinator = e.target.value;
  changed();
});
$("seg-add-row").addEventListener("click", () => {
  state.rows.push(newRow());
  renderRows();
  changed();
});

// --- live count and map preview ---------------------------------------------------------------------
let countController = null;
const scheduleCount = debounce(runCount, 400);

function markErrorRow(path) {
  document.querySelectorAll(".seg-row.has-error").forEach((node) => node.classList.remove("has-error"));
  const match = /^\$\.(?:all|any)\[(\d+)\]/.exec(path || "") || (path && path.startsWith("$") && state.rows.length === 1 ? [null, "0"] : null);
  if (match) document.querySelector(`.seg-row[data-index="${match[1]}"]`)?.classList.add("has-error");
}

async function runCount() {
  if (!state.current) return;
  countController?.abort();
  countController = new AbortController();
  const box = $("seg-count");
  box.dataset.kind = "info";
  box.textContent = S.counting;
  try {
    const { count } = await api("POST", config.urls.count, { body: { definition: definition() }, signal: countController.signal });
    box.textContent = format(S.count, { n: count.toLocaleString() });
    markErrorRow(null);
    schedulePreview();
  } catch (error) {
    if (error.name === "AbortError") return;
    box.dataset.kind = "error";
    box.textContent = format(S.count_error, { message: error.message });
    markErrorRow(error.details?.path);
    setPreview(null);
  }
}

let previewController = null;
const schedulePreview = debounce(runPreview, 300);

async function runPreview() {
  if (!state.current) return;
  previewController?.abort();
  previewController = new AbortController();
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
  try {
    const body = await api("POST", config.urls.preview, { body: { definition: definition(), bbox }, signal: previewController.signal });
    setPreview(body);
  } catch (error) {
    if (error.name !== "AbortError") setPreview(null);
  }
}

function setPreview(body) {
  const empty = { type: "FeatureCollection", features: [] };
  const points = body && body.mode === "points" ? body : empty;
  const cells = body && body.mode === "cells" ? body : empty;
  window.__segmentsPreview = body; // what the map shows, for end-to-end tests
  if (!map.getSource("points")) return;
  map.getSource("points").setData(points);
  map.getSource("cells").setData(cells);
  const status = $("map-status");
  status.hidden = !body;
  if (body) status.textContent = format(body.mode === "cells" ? S.in_view_cells : S.in_view_points, { n: body.in_view.toLocaleString() });
}

// --- the map ----------------------------------------------------------------------------------------
const css = getComputedStyle(document.documentElement);
const emptyCollection = () => ({ type: "FeatureCollection", features: [] });
const GREEN = "#0f6e4a";
const map = new MapLibreMap({
  container: "map",
  style: {
    version: 8,
    name: "gridmarket-segments",
    sources: { basemap: { type: "geojson", data: emptyCollection() }, areas: { type: "geojson", data: emptyCollection() }, points: { type: "geojson", data: emptyCollection() },
               cells: { type: "geojson", data: emptyCollection() } },
    layers: [
      { id: "background", type: "background", paint: { "background-color": css.getPropertyValue("--map-background").trim() || "#eef1ee" } },
      { id: "basemap-fill", type: "fill", source: "basemap", paint: { "fill-color": "#ffffff", "fill-opacity": 0.35 } },
      { id: "basemap-line", type: "line", source: "basemap", paint: { "line-color": "#9aa9b6", "line-width": 1, "line-dasharray": [4, 2] } },
      { id: "areas-fill", type: "fill", source: "areas", paint: { "fill-color": "#c8962e", "fill-opacity": 0.12 } },
      { id: "areas-line", type: "line", source: "areas", paint: { "line-color": "#c8962e", "line-width": 2, "line-dasharray": [3, 1.5] } },
      {
        id: "cells", type: "circle", source: "cells",
        paint: {
          "circle-color": GREEN, "circle-opacity": 0.55, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1,
          "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "count"]], 1, 4, 30, 18, 300, 40],
        },
      },
      {
        id: "points", type: "circle", source: "points",
        paint: {
          "circle-radius": 4.5, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.2,
          "circle-color": ["match", ["get", "status"], "formal", GREEN, "#c8962e"],
        },
      },
    ],
  },
  center: config.center,
  zoom: config.zoom,
  minZoom: 4,
  maxZoom: 19,
  attributionControl: false,
  dragRotate: false,
  pitchWithRotate: false,
});
map.touchZoomRotate.disableRotation();
map.addControl(new NavigationControl({ showCompass: false }), "top-right");
map.addControl(new ScaleControl({ unit: "metric" }), "bottom-right");
window.__segmentsMap = map;
map.on("moveend", () => schedulePreview());

const tooltip = $("map-tooltip");
for (const layer of ["points", "cells"]) {
  map.on("mousemove", layer, (event) => {
    const feature = event.features[0];
    tooltip.textContent = layer === "points" ? feature.properties.name : format(S.member_count, { n: feature.properties.count });
    tooltip.style.transform = `translate(${event.point.x + 12}px, ${event.point.y + 12}px)`;
    tooltip.hidden = false;
    map.getCanvas().style.cursor = "default";
  });
  map.on("mouseleave", layer, () => { tooltip.hidden = true; });
}

function drawAreas() {
  const features = state.rows.filter((r) => r.type === "within_polygon" && r.polygon)
    .map((r) => ({ type: "Feature", properties: {}, geometry: r.polygon }));
  if (map.getSource("areas")) map.getSource("areas").setData({ type: "FeatureCollection", features });
}

// --- polygon drawing (terra-draw) -------------------------------------------------------------------
const draw = new TerraDraw({
  adapter: new TerraDrawMapLibreGLAdapter({ map, coordinatePrecision: 7 }),
  modes: [new TerraDrawPolygonMode({
    pointerDistance: 24,
    styles: { fillColor: "#c8962e", fillOpacity: 0.18, outlineColor: "#c8962e", outlineWidth: 2.5, closingPointColor: "#ffffff",
              closingPointWidth: 6, closingPointOutlineColor: "#c8962e", closingPointOutlineWidth: 2 },
  })],
});
map.on("load", () => {
  draw.start();
  draw.setMode("static");
  loadBasemap();
});

async function loadBasemap() {
  if (!config.urls.divisions) return;
  try {
    const body = await api("GET", config.urls.divisions, { params: { level: "district" } });
    map.getSource("basemap").setData({ type: "FeatureCollection", features: body.features || [] });
  } catch { /* the basemap is decoration only */ }
}

function startDrawing(row) {
  state.drawingRow = row;
  draw.clear();
  draw.setMode("polygon");
  $("seg-draw-hint-text").textContent = S.drawing_hint;
  $("seg-draw-hint").hidden = false;
}

function stopDrawing() {
  state.drawingRow = null;
  draw.clear();
  draw.setMode("static");
  $("seg-draw-hint").hidden = true;
}

draw.on("finish", (id) => {
  const row = state.drawingRow;
  const feature = draw.getSnapshotFeature ? draw.getSnapshotFeature(id) : draw.getSnapshot().find((f) => f.id === id);
  if (row && feature?.geometry?.type === "Polygon") {
    row.polygon = { type: "Polygon", coordinates: feature.geometry.coordinates };
    stopDrawing();
    renderRows();
    changed();
  }
});
$("seg-draw-cancel").addEventListener("click", stopDrawing);

// --- list -------------------------------------------------------------------------------------------
options($("seg-status-filter"), config.statuses, "", { placeholder: $("seg-status-filter").options[0].textContent });
options($("seg-visibility"), config.visibilities, "private");

async function loadList() {
  const form = $("seg-filters");
  const params = { q: form.q.value.trim(), status: form.status.value, mine: form.mine.checked ? "true" : "", page_size: 200 };
  try {
    const body = await api("GET", config.urls.segments, { params });
    state.segments = body.results;
    renderList();
  } catch (error) {
    toast(error.message, "error");
  }
}

function renderList() {
  const list = $("seg-items");
  list.replaceChildren();
  if (!state.segments.length) list.append(el("li", { class: "seg-none", text: S.empty_list }));
  for (const segment of state.segments) {
    list.append(el("li", {}, el("button", {
      type: "button", class: "seg-item", "aria-current": state.current?.id === segment.id ? "true" : "false",
      onclick: () => openSegment(segment.id),
    }, el("strong", { text: segment.name }),
    el("small", { text: `${segment.status_label} · ${segment.visibility_label} · ${format(S.member_count, { n: segment.member_count })}` }))));
  }
}

const reloadList = debounce(loadList, 300);
$("seg-filters").addEventListener("input", reloadList);
$("seg-filters").addEventListener("submit", (e) => { e.preventDefault(); loadList(); });

// --- the editor -------------------------------------------------------------------------------------
function editable() {
  const segment = state.current;
  if (!segment) return false;
  return segment.id ? Boolean(segment.can?.edit) : config.can.edit;
}

function confirmDiscard() {
  return !state.dirty || window.confirm(S.unsaved);
}

function showSegment(segment) {
  state.current = segment;
  state.dirty = false;
  state.membersPage = 1;
  stopDrawing();
  $("seg-empty").hidden = true;
  const form = $("seg-form");
  form.hidden = false;
  form.name.value = segment.name || "";
  form.description.value = segment.description || "";
  form.visibility.value = segment.visibility || "private";
  const rows = rowsFrom(segment.definition || { v: 1 });
  state.advanced = rows ? null : segment.definition;
  state.combinator = rows ? rows.combinator : "all";
  state.rows = rows ? rows.rows : [];
  $("seg-combinator").value = state.combinator;
  const status = $("seg-status");
  status.textContent = segment.status_label || labelOf(config.statuses, "draft");
  status.dataset.status = segment.status || "draft";
  $("seg-visibility-badge").textContent = segment.visibility_label || labelOf(config.visibilities, form.visibility.value);
  $("seg-meta").textContent = segment.id
    ? `${S.owner}：${segment.owner.name} · ${segment.institution.name} · ${format(S.member_count, { n: segment.member_count })} · ${
      segment.refreshed_at ? format(S.refreshed_at, { time: new Date(segment.refreshed_at).toLocaleString() }) : S.never_refreshed}`
    : "";
  const can = segment.id ? segment.can : { edit: config.can.edit, submit: false, approve: false, delete: false, refresh: false };
  for (const input of [form.name, form.description, form.visibility, $("seg-json")]) input.disabled = !can.edit;
  $("seg-save").hidden = !can.edit;
  $("seg-submit").hidden = !can.submit;
  $("seg-approve").hidden = !can.approve;
  $("seg-reject").hidden = !can.approve;
  $("seg-delete").hidden = !can.delete;
  $("seg-refresh").hidden = !can.refresh || !segment.id;
  selectTab("members");
  document.querySelector(".seg-tabs").hidden = !segment.id;
  $("seg-tab-members").hidden = !segment.id;
  renderRows();
  syncJson();
  drawAreas();
  renderList();
  runCount();
  if (segment.id) {
    loadMembers();
    loadApprovals();
  }
}

async function openSegment(id) {
  if (!confirmDiscard()) return;
  try {
    showSegment(await api("GET", segmentUrl(id)));
  } catch (error) {
    toast(error.message, "error");
  }
}

$("seg-new")?.addEventListener("click", () => {
  if (!confirmDiscard()) return;
  showSegment({ name: "", description: "", visibility: "private", definition: { v: 1, all: [] } });
  $("seg-name").focus();
});

for (const input of ["seg-name", "seg-description", "seg-visibility"]) $(input).addEventListener("input", () => { state.dirty = true; });

$("seg-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  if (!form.name.value.trim()) {
    toast(S.name_required, "error");
    form.name.focus();
    return;
  }
  const body = { name: form.name.value.trim(), description: form.description.value.trim(), visibility: form.visibility.value,
                 definition: definition() };
  try {
    const saved = state.current.id ? await api("PATCH", segmentUrl(state.current.id), { body }) : await api("POST", config.urls.segments, { body });
    toast(S.saved);
    await loadList();
    showSegment(saved);
  } catch (error) {
    toast(error.message, "error");
    markErrorRow(error.details?.path);
  }
});

async function act(suffix, { prompt, required, done }) {
  let comment = "";
  if (prompt) {
    comment = window.prompt(prompt, "");
    if (comment === null) return;
    if (required && !comment.trim()) return toast(prompt, "error");
  }
  try {
    const segment = await api("POST", segmentUrl(state.current.id, suffix), { body: { comment } });
    toast(done);
    await loadList();
    showSegment(segment);
  } catch (error) {
    toast(error.message, "error");
  }
}

$("seg-submit").addEventListener("click", () => {
  if (state.dirty) return toast(S.unsaved, "error");
  act("submit/", { prompt: S.submit_prompt, done: S.submitted });
});
$("seg-approve").addEventListener("click", () => act("approve/", { prompt: S.approve_prompt, done: S.approved }));
$("seg-reject").addEventListener("click", () => act("reject/", { prompt: S.reject_prompt, required: true, done: S.rejected }));
$("seg-refresh").addEventListener("click", async () => {
  try {
    await api("POST", segmentUrl(state.current.id, "refresh/"));
    toast(S.refresh_queued);
  } catch (error) {
    toast(error.message, "error");
  }
});
$("seg-delete").addEventListener("click", async () => {
  if (!window.confirm(format(S.confirm_delete, { name: state.current.name }))) return;
  try {
    await api("DELETE", segmentUrl(state.current.id));
    toast(S.deleted);
    state.current = null;
    state.dirty = false;
    $("seg-form").hidden = true;
    $("seg-empty").hidden = false;
    setPreview(null);
    loadList();
  } catch (error) {
    toast(error.message, "error");
  }
});

// --- members and approvals --------------------------------------------------------------------------
function selectTab(name) {
  document.querySelectorAll(".seg-tabs button").forEach((button) => {
    const current = button.dataset.tab === name;
    button.classList.toggle("is-current", current);
    button.setAttribute("aria-selected", String(current));
  });
  $("seg-tab-members").hidden = name !== "members";
  $("seg-tab-approvals").hidden = name !== "approvals";
}
document.querySelectorAll(".seg-tabs button").forEach((button) => button.addEventListener("click", () => selectTab(button.dataset.tab)));

async function loadMembers() {
  const id = state.current.id;
  const body = $("seg-members");
  const pager = $("seg-members-pager");
  try {
    const page = await api("GET", segmentUrl(id, "members/"), { params: { page: state.membersPage, page_size: 20 } });
    if (state.current?.id !== id) return;
    const statuses = fieldSpec("status").choices;
    body.replaceChildren(...page.results.map((m) => el("tr", {},
      el("td", { text: m.name }), el("td", { text: m.phone }), el("td", { text: labelOf(statuses, m.status) }),
      el("td", { text: m.institution }), el("td", { text: m.manager }))));
    if (!page.results.length) body.append(el("tr", {}, el("td", { colspan: 5, text: S.no_members })));
    const pages = Math.max(1, Math.ceil(page.count / 20));
    pager.replaceChildren(
      el("button", { type: "button", class: "seg-button is-small", text: "‹", disabled: !page.previous,
                     onclick: () => { state.membersPage -= 1; loadMembers(); } }),
      el("span", { text: format(S.page_info, { page: state.membersPage, pages, count: page.count }) }),
      el("button", { type: "button", class: "seg-button is-small", text: "›", disabled: !page.next,
                     onclick: () => { state.membersPage += 1; loadMembers(); } }),
    );
  } catch (error) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 5, text: error.message })));
  }
}

async function loadApprovals() {
  const id = state.current.id;
  const list = $("seg-approvals");
  try {
    const entries = await api("GET", segmentUrl(id, "approvals/"));
    if (state.current?.id !== id) return;
    list.replaceChildren(...entries.map((e) => el("li", { "data-action": e.action },
      el("strong", { text: S[`action_${e.action}`] || e.action }),
      e.comment ? el("span", { text: `：${e.comment}` }) : null,
      el("small", { text: `${e.actor ? e.actor.name : ""} · ${new Date(e.created_at).toLocaleString()}` }))));
    if (!entries.length) list.append(el("li", { text: S.no_approvals }));
  } catch (error) {
    list.replaceChildren(el("li", { text: error.message }));
  }
}

window.addEventListener("beforeunload", (event) => {
  if (state.dirty) event.preventDefault();
});

loadList().finally(() => { document.body.dataset.ready = "true"; });
