// The grid editor for branch managers (issue 3 item 9; GR-1 .. GR-6).
//
// Left: the hierarchy tree (lazy, from /api/grids/tree/) with keyword search, and a switch to the
// virtual grids. Centre: the map (the platform's own offline layers, no basemap service) with the
// grids around the selection — the selected grid highlighted, its parent's outline, its siblings
// and children coloured by level or virtual type — and the drawing tools of terra-draw: draw a
// polygon, drag its vertices, split with a line, merge two siblings, retire. While a boundary is
// drawn or edited, /api/grids/validate/ checks it (debounced) and the problems appear on the map
// (numbered pins, overlaps hatched in red) and in the side panel; Save stays disabled until there
// are none. Right: attributes, version, the responsible manager with assign/transfer (which may ask
// for the password again) and the grid's history.
//
// For end-to-end tests the editor is exposed as `window.__gridEditor` ({ map, draw, state, ... }).
import { Map as MapLibreMap, NavigationControl, ScaleControl, LngLatBounds, Marker } from "maplibre-gl";
import { TerraDraw, TerraDrawLineStringMode, TerraDrawPolygonMode, TerraDrawSelectMode } from "terra-draw";
import { TerraDrawMapLibreGLAdapter } from "terra-draw-maplibre-gl-adapter";

import { ApiError, createApi } from "./api.js";
import { addProblemLayers, clearProblems, showProblems } from "./problems.js";
import { createGridSnapper } from "./snapping.js";

const config = JSON.parse(document.getElementById("grid-editor-config").textContent);
const S = config.strings;
const CAN = config.can;
const $ = (id) => document.getElementById(id);

const LEVELS = config.levels.map((l) => l.value);
const LEVEL = Object.fromEntries(config.levels.map((l) => [l.value, l]));
const VTYPE = Object.fromEntries(config.virtual_types.map((t) => [t.value, t]));
const VALIDATE_DELAY = 350;

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const listOf = (body) => (Array.isArray(body) ? body : body?.results || body?.features || []);
const childLevel = (level) => LEVELS[LEVELS.indexOf(level) + 1] || null;
const colourOf = (p) => (p.kind === "virtual" ? VTYPE[p.virtual_type]?.colour : LEVEL[p.level]?.colour) || "#5b7083";
const typeLabel = (p) => (p.kind === "virtual" ? VTYPE[p.virtual_type]?.label : LEVEL[p.level]?.label) || "";

function areaText(m2) {
  if (m2 === undefined || m2 === null) return "—";
  return m2 >= 100000 ? `${(m2 / 1e6).toFixed(2)} ${S.km2}` : `${Math.round(m2).toLocaleString()} ${S.m2}`;
}

function timeText(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function bboxOf(geometry) {
  const bounds = new LngLatBounds();
  const walk = (c) => (typeof c[0] === "number" ? bounds.extend(c) : c.forEach(walk));
  if (geometry) walk(geometry.coordinates);
  return bounds.isEmpty() ? null : bounds;
}

/** Fit the map to `bounds` with a quarter of their size around them, so neighbours stay in view. */
function fitWithMargin(bounds, duration = 0) {
  if (!bounds) return;
  const [w, s, e, n] = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()];
  const dx = (e - w) * 0.25;
  const dy = (n - s) * 0.25;
  map.fitBounds([[w - dx, s - dy], [e + dx, n + dy]], { padding: 40, maxZoom: 17, duration });
}

/** A point well inside the largest polygon (its area-weighted centroid, or the bbox centre). */
function labelPoint(geometry) {
  if (!geometry) return null;
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  let best = null;
  for (const rings of polygons) {
    const ring = rings[0];
    let a = 0, cx = 0, cy = 0;
    for (let i = 0; i < ring.length - 1; i += 1) {
      const [x0, y0] = ring[i];
      const [x1, y1] = ring[i + 1];
      const f = x0 * y1 - x1 * y0;
      a += f; cx += (x0 + x1) * f; cy += (y0 + y1) * f;
    }
    if (!best || Math.abs(a) > best.a) best = { a: Math.abs(a), p: a ? [cx / (3 * a), cy / (3 * a)] : ring[0] };
  }
  return best ? best.p : null;
}

/** Area in m² of a (Multi)Polygon in lng/lat on the WGS-84 sphere (for display; the server measures). */
function geodesicArea(geometry) {
  const R = 6378137;
  const rad = Math.PI / 180;
  const ringArea = (ring) => {
    let total = 0;
    for (let i = 0; i < ring.length - 1; i += 1) {
      const [x0, y0] = ring[i];
      const [x1, y1] = ring[i + 1];
      total += (x1 - x0) * rad * (2 + Math.sin(y0 * rad) + Math.sin(y1 * rad));
    }
    return Math.abs((total * R * R) / 2);
  };
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  return polygons.reduce((sum, rings) => sum + ringArea(rings[0]) - rings.slice(1).reduce((h, r) => h + ringArea(r), 0), 0);
}

/** The single polygon of a (Multi)Polygon geometry, or null when it has several parts. */
function singlePolygon(geometry) {
  if (!geometry) return null;
  if (geometry.type === "Polygon") return geometry;
  if (geometry.type === "MultiPolygon" && geometry.coordinates.length === 1) {
    return { type: "Polygon", coordinates: geometry.coordinates[0] };
  }
  return null;
}

// --- state ------------------------------------------------------------------------------------------
const state = {
  mode: "physical", // or "virtual"
  focus: null, // the selected grid (detail feature)
  parentGrid: null, // the focus's parent (detail feature) when physical
  layerGrids: [], // features in the `grids` source (siblings + children, or virtual grids)
  tool: null, // null | "draw" | "edit" | "split" | "merge"
  draft: null, // { type: "new" | "edit", drawId, parent, kind, level, virtual_type }
  validation: { pending: false, ok: true, problems: [], overlaps: null },
  formDirty: false,
  treeNodes: new Map(), // id → tree node (with ancestors)
  managers: [],
};
let problemMarkers = [];
let labels = [];
let validateTimer = null;
let validateRequest = null;

// --- status, dialogs and the API ----------------------------------------------------------------
const statusBox = $("map-status");
let statusTimer = null;
function toast(text, kind = "info", ms = 4000) {
  clearTimeout(statusTimer);
  statusBox.textContent = text;
  statusBox.dataset.kind = kind;
  statusBox.hidden = !text;
  if (text && ms) statusTimer = setTimeout(() => { statusBox.hidden = true; }, ms);
}

function openDialog(dialog, onClose) {
  return new Promise((resolve) => {
    const handler = () => {
      dialog.removeEventListener("close", handler);
      resolve(onClose(dialog.returnValue));
    };
    dialog.addEventListener("close", handler);
    dialog.returnValue = "";
    dialog.showModal();
  });
}

function askPassword(problem) {
  const dialog = $("ge-reauth-dialog");
  const input = $("ge-reauth-password");
  const error = $("ge-reauth-error");
  input.value = "";
  error.textContent = problem || "";
  error.hidden = !problem;
  const result = openDialog(dialog, (value) => (value === "ok" && input.value ? input.value : null));
  input.focus();
  return result;
}

async function confirmAction({ title, text, extra = null }) {
  $("ge-confirm-title").textContent = title;
  $("ge-confirm-text").textContent = text;
  $("ge-confirm-extra").replaceChildren(...(extra ? [extra] : []));
  $("ge-confirm-reason").value = "";
  return openDialog($("ge-confirm-dialog"), (value) => ({ ok: value === "ok", reason: $("ge-confirm-reason").value.trim() }));
}

const api = createApi({ base: config.urls.api, reauthUrl: config.urls.reauth, strings: S, askPassword });

function showError(error) {
  if (error?.name === "AbortError") return;
  if (error instanceof ApiError && error.status === 409) {
    showConflict(error);
    return;
  }
  if (error instanceof ApiError && error.status === 401) {
    window.location.assign(`${config.urls.login}?next=${encodeURIComponent(window.location.pathname)}`);
    return;
  }
  toast(error instanceof ApiError ? error.message : S.load_failed, "error", 8000);
}

// --- the map -----------------------------------------------------------------------------------------
const css = getComputedStyle(document.documentElement);
const empty = () => ({ type: "FeatureCollection", features: [] });

const map = new MapLibreMap({
  container: "map",
  style: {
    version: 8,
    name: "gridmarket-editor",
    sources: {
      basemap: { type: "geojson", data: empty() },
      parent: { type: "geojson", data: empty() },
      grids: { type: "geojson", data: empty(), promoteId: "gid" },
      selected: { type: "geojson", data: empty() },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": css.getPropertyValue("--map-background").trim() || "#eef1ee" } },
      { id: "basemap-fill", type: "fill", source: "basemap", paint: { "fill-color": "#ffffff", "fill-opacity": 0.35 } },
      { id: "basemap-line", type: "line", source: "basemap", paint: { "line-color": "#9aa9b6", "line-width": 1, "line-dasharray": [4, 2] } },
      { id: "parent-fill", type: "fill", source: "parent", paint: { "fill-color": "#ffffff", "fill-opacity": 0.55 } },
      {
        id: "grids-fill", type: "fill", source: "grids",
        paint: {
          "fill-color": ["get", "colour"],
          "fill-opacity": ["case", ["boolean", ["feature-state", "hover"], false], 0.38, ["==", ["get", "status"], "retired"], 0.06, 0.2],
        },
      },
      {
        id: "grids-line", type: "line", source: "grids",
        paint: { "line-color": ["get", "colour"], "line-width": 1.5, "line-opacity": 0.95 },
      },
      { id: "parent-line", type: "line", source: "parent", paint: { "line-color": "#1d3347", "line-width": 2.2, "line-dasharray": [3, 1.5] } },
      { id: "selected-fill", type: "fill", source: "selected", paint: { "fill-color": "#c8962e", "fill-opacity": 0.16 } },
      { id: "selected-casing", type: "line", source: "selected", paint: { "line-color": "#ffffff", "line-width": 6, "line-opacity": 0.9 } },
      { id: "selected-line", type: "line", source: "selected", paint: { "line-color": "#0b3d2c", "line-width": 3 } },
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

// --- drawing (terra-draw) ------------------------------------------------------------------------
const snapper = createGridSnapper({
  pixels: config.snap_pixels,
  getGeometries: () => {
    const editingId = state.draft?.type === "edit" ? state.draft.gridId : null;
    const geometries = state.layerGrids.filter((f) => f.id !== editingId && f.properties.status !== "retired").map((f) => f.geometry);
    if (state.focus && state.focus.id !== editingId) geometries.push(state.focus.geometry);
    if (state.parentGrid) geometries.push(state.parentGrid.geometry);
    return geometries.filter(Boolean);
  },
});
const GREEN = "#0f6e4a";
const draw = new TerraDraw({
  adapter: new TerraDrawMapLibreGLAdapter({ map, coordinatePrecision: 7 }),
  modes: [
    new TerraDrawPolygonMode({
      snapping: { toCustom: snapper },
      pointerDistance: 24,
      styles: {
        fillColor: GREEN, fillOpacity: 0.18, outlineColor: GREEN, outlineWidth: 2.5,
        closingPointColor: "#ffffff", closingPointWidth: 6, closingPointOutlineColor: GREEN, closingPointOutlineWidth: 2,
        snappingPointColor: "#c8962e", snappingPointWidth: 6, snappingPointOutlineColor: "#ffffff", snappingPointOutlineWidth: 2,
        coordinatePointColor: "#ffffff", coordinatePointWidth: 4, coordinatePointOutlineColor: GREEN, coordinatePointOutlineWidth: 2,
      },
    }),
    new TerraDrawLineStringMode({
      snapping: { toCustom: snapper },
      pointerDistance: 24,
      styles: {
        lineStringColor: "#b3261e", lineStringWidth: 3,
        closingPointColor: "#ffffff", closingPointWidth: 6, closingPointOutlineColor: "#b3261e", closingPointOutlineWidth: 2,
        snappingPointColor: "#c8962e", snappingPointWidth: 6, snappingPointOutlineColor: "#ffffff", snappingPointOutlineWidth: 2,
      },
    }),
    new TerraDrawSelectMode({
      allowManualDeselection: false,
      flags: {
        polygon: {
          feature: {
            draggable: false,
            coordinates: { draggable: true, deletable: true, midpoints: true, snappable: { toCustom: snapper } },
          },
        },
      },
      styles: {
        selectedPolygonColor: GREEN, selectedPolygonFillOpacity: 0.2, selectedPolygonOutlineColor: GREEN, selectedPolygonOutlineWidth: 3,
        selectionPointColor: "#ffffff", selectionPointWidth: 6, selectionPointOutlineColor: GREEN, selectionPointOutlineWidth: 2,
        midPointColor: GREEN, midPointWidth: 4, midPointOutlineColor: "#ffffff", midPointOutlineWidth: 1,
      },
    }),
  ],
});

// --- the layers around the selection -------------------------------------------------------------
function setGridsLayer(features) {
  const editingId = state.draft?.type === "edit" ? state.draft.gridId : null;
  state.layerGrids = features;
  const shown = features
    .filter((f) => f.id !== editingId)
    .map((f) => ({ ...f, properties: { ...f.properties, gid: f.id, colour: colourOf(f.properties) } }));
  map.getSource("grids").setData({ type: "FeatureCollection", features: shown });
  labels.forEach((m) => m.remove());
  // The selected grid is labelled too, unless its children (or a drawing) fill it.
  const focus = state.focus;
  const focusLabelled = focus && !state.draft && !shown.some((f) => f.id === focus.id || f.properties.parent_id === focus.id);
  const withFocus = focusLabelled ? [...shown, focus] : shown;
  labels = withFocus.map((f) => {
    const point = labelPoint(f.geometry);
    const label = el("div", { class: "map-label-grid" }, f.properties.name);
    return point ? new Marker({ element: label, anchor: "center" }).setLngLat(point).addTo(map) : null;
  }).filter(Boolean);
  updateLabels();
}

function updateLabels() {
  const zoom = map.getZoom();
  labels.forEach((marker) => { marker.getElement().style.display = zoom >= 11 ? "" : "none"; });
}

function setSelectedLayer() {
  const editing = state.draft?.type === "edit";
  const f = state.focus;
  map.getSource("selected").setData(f && !editing ? { type: "FeatureCollection", features: [f] } : empty());
  const p = state.parentGrid;
  map.getSource("parent").setData(p ? { type: "FeatureCollection", features: [p] } : empty());
}

async function fetchAll(params) {
  const features = [];
  let page = 1;
  for (;;) {
    const body = await api.get("", { ...params, page, page_size: 500 });
    features.push(...listOf(body));
    if (!body.next || page >= 20) return features;
    page += 1;
  }
}

async function loadLayers() {
  try {
    if (state.mode === "virtual") {
      setGridsLayer(await fetchAll({ kind: "virtual" }));
      return;
    }
    const f = state.focus;
    if (!f) {
      const roots = [...state.treeNodes.values()].filter((n) => n.parent_id === null && n.kind === "physical");
      const details = await Promise.all(roots.slice(0, 50).map((n) => api.get(`${n.id}/`)));
      setGridsLayer(details);
      return;
    }
    const [siblings, children] = await Promise.all([
      f.properties.parent_id ? fetchAll({ parent: f.properties.parent_id, kind: "physical" }) : Promise.resolve([]),
      fetchAll({ parent: f.id, kind: "physical" }),
    ]);
    const byId = new Map();
    for (const g of [...siblings, ...children]) if (g.id !== f.id) byId.set(g.id, g);
    setGridsLayer([...byId.values()]);
  } catch (error) {
    showError(error);
  }
}

// --- the tree ---------------------------------------------------------------------------------------
const treeList = $("ge-tree-list");
const searchInput = $("ge-search-input");
let searchTimer = null;

function treeRow(node, depth = 0) {
  const p = node;
  const li = el("li", { role: "treeitem", dataset: { id: String(node.id), depth: String(depth) } });
  const hasChildren = node.kind === "physical" && node.child_count > 0;
  const caret = el("button", {
    type: "button", class: "open", title: S.children_of ? format(S.children_of, { name: node.name }) : "",
    "aria-label": format(S.children_of, { name: node.name }), "aria-expanded": "false",
    onclick: (event) => { event.stopPropagation(); toggleNode(li, node); },
  }, "▸");
  const meta = [typeLabel(p), node.code, node.ancestors?.length ? node.ancestors.map((a) => a.name).join(" / ") : ""].filter(Boolean).join(" · ");
  const row = el(
    "div",
    {
      class: `ge-tree-item${node.status === "retired" ? " is-retired" : ""}`, role: "button", tabindex: "0",
      "aria-selected": state.focus?.id === node.id ? "true" : "false", style: `padding-left: ${8 + depth * 14}px`,
      onclick: () => selectGrid(node.id, { zoom: true }),
      onkeydown: (event) => { if (event.key === "Enter") selectGrid(node.id, { zoom: true }); },
    },
    el("span", { class: "dot", style: `--dot: ${colourOf(p)}` }),
    el("span", { class: "name" }, el("strong", {}, node.name), el("small", {}, meta)),
    hasChildren ? caret : el("span", { class: "ge-count" }, ""),
  );
  li.append(row);
  return li;
}

async function toggleNode(li, node, { open = null } = {}) {
  const caret = li.querySelector(":scope > .ge-tree-item .open");
  let sub = li.querySelector(":scope > ul");
  const expand = open ?? !sub;
  if (!expand) {
    sub?.remove();
    caret?.setAttribute("aria-expanded", "false");
    if (caret) caret.textContent = "▸";
    return;
  }
  const children = await loadTreeChildren(node.id);
  sub?.remove();
  sub = el("ul", { role: "group", class: "ge-tree-sub" });
  const depth = Number(li.dataset.depth || 0) + 1;
  for (const child of children) sub.append(treeRow(child, depth));
  li.append(sub);
  caret?.setAttribute("aria-expanded", "true");
  if (caret) caret.textContent = "▾";
}

async function loadTreeChildren(parentId) {
  try {
    const nodes = listOf(await api.get("tree/", parentId ? { parent: parentId } : {}));
    nodes.forEach((n) => state.treeNodes.set(n.id, n));
    return nodes.filter((n) => n.kind === "physical");
  } catch (error) {
    showError(error);
    return [];
  }
}

function setTreeMessage(text) {
  treeList.replaceChildren(el("li", { class: "ge-tree-empty" }, text));
}

async function loadTree() {
  const q = searchInput.value.trim();
  $("ge-tree-title").textContent = state.mode === "virtual" ? S.virtual_grids : q ? searchInput.placeholder : $("ge-tree-title").dataset.title;
  try {
    if (state.mode === "virtual") {
      const grids = listOf(await api.get("", { kind: "virtual", q, page_size: 500 }));
      treeList.replaceChildren();
      for (const type of config.virtual_types) {
        const ofType = grids.filter((g) => g.properties.virtual_type === type.value);
        if (!ofType.length) continue;
        treeList.append(el("li", { class: "ge-tree-group" }, el("span", { class: "ge-tree-group-title" }, `${type.label}（${ofType.length}）`)));
        for (const g of ofType) {
          const node = { id: g.id, ...g.properties, child_count: 0, ancestors: [] };
          state.treeNodes.set(node.id, node);
          treeList.append(treeRow(node));
        }
      }
      $("ge-tree-count").textContent = String(grids.length);
      if (!grids.length) setTreeMessage(q ? S.no_results : S.no_children);
      return;
    }
    const nodes = q ? listOf(await api.get("tree/", { q })) : await loadTreeChildren(null);
    nodes.forEach((n) => state.treeNodes.set(n.id, n));
    const physical = nodes.filter((n) => n.kind === "physical");
    treeList.replaceChildren(...physical.map((n) => treeRow(n)));
    $("ge-tree-count").textContent = String(physical.length);
    if (!physical.length) setTreeMessage(q ? S.no_results : S.no_children);
    if (!q && physical.length === 1) await toggleNode(treeList.firstElementChild, physical[0], { open: true });
  } catch (error) {
    showError(error);
  }
}

async function refreshTreeUnder(parentId) {
  if (state.mode === "virtual" || searchInput.value.trim()) return loadTree();
  const li = parentId ? treeList.querySelector(`li[data-id="${parentId}"]`) : null;
  if (li) {
    const node = state.treeNodes.get(parentId) || { id: parentId, kind: "physical" };
    node.child_count = Math.max(1, node.child_count || 0);
    if (!li.querySelector(":scope > .ge-tree-item .open")) {
      li.replaceWith(treeRow(node, Number(li.dataset.depth || 0)));
      return refreshTreeUnder(parentId);
    }
    await toggleNode(li, node, { open: true });
  } else {
    await loadTree();
  }
  markTreeSelection();
}

function markTreeSelection() {
  treeList.querySelectorAll(".ge-tree-item").forEach((row) => {
    const id = Number(row.parentElement.dataset.id);
    row.setAttribute("aria-selected", state.focus && state.focus.id === id ? "true" : "false");
  });
}

function renderCrumbs() {
  const crumbs = $("ge-crumbs");
  crumbs.replaceChildren();
  const f = state.focus;
  if (!f) return;
  const node = state.treeNodes.get(f.id);
  const ancestors = node?.ancestors?.length ? node.ancestors : f.properties.parent_id ? [{ id: f.properties.parent_id, name: f.properties.parent_name }] : [];
  for (const a of ancestors) {
    crumbs.append(el("button", { type: "button", onclick: () => selectGrid(a.id, { zoom: true }) }, a.name), el("span", { class: "sep" }, "/"));
  }
  crumbs.append(el("span", { class: "current" }, f.properties.name));
}

// --- selection and the side panel ----------------------------------------------------------------
async function selectGrid(id, { zoom = false, keepDraft = false } = {}) {
  if (!keepDraft && !(await leaveDraft())) return;
  try {
    const detail = await api.get(`${id}/`);
    state.focus = detail;
    state.parentGrid = detail.properties.parent_id ? await api.get(`${detail.properties.parent_id}/`) : null;
  } catch (error) {
    showError(error);
    return;
  }
  hideConflict();
  setSelectedLayer();
  renderDetail();
  markTreeSelection();
  renderCrumbs();
  updateTools();
  if (zoom) fitWithMargin(bboxOf(state.focus.geometry), 400);
  await Promise.all([loadLayers(), loadHistory(), loadAssignments()]);
}

function clearSelection() {
  state.focus = null;
  state.parentGrid = null;
  setSelectedLayer();
  renderDetail();
  markTreeSelection();
  renderCrumbs();
  updateTools();
}

const form = $("ge-form");
const fields = {
  code: $("ge-code"), name: $("ge-name"), level: $("ge-level"), virtualType: $("ge-virtual-type"),
  description: $("ge-description"), reason: $("ge-reason"),
};
const businessBoxes = () => [...document.querySelectorAll('#ge-business-lines input[type="checkbox"]')];

function fillForm(p, { isNew = false } = {}) {
  fields.code.value = p.code || "";
  fields.name.value = p.name || "";
  fields.description.value = p.description || "";
  fields.reason.value = "";
  const virtual = p.kind === "virtual";
  $("ge-level-field").hidden = virtual;
  $("ge-virtual-type-field").hidden = !virtual;
  if (virtual) fields.virtualType.value = p.virtual_type || config.virtual_types[0].value;
  else fields.level.value = p.level || LEVELS[0];
  fields.virtualType.disabled = !(isNew && virtual);
  businessBoxes().forEach((box) => { box.checked = (p.business_lines || []).includes(box.value); });
  [fields.code, fields.name].forEach((input) => input.removeAttribute("aria-invalid"));
  state.formDirty = false;
}

function renderDetail() {
  const draftNew = state.draft?.type === "new";
  const f = state.focus;
  $("ge-empty").hidden = Boolean(f || draftNew);
  $("ge-detail").hidden = !(f || draftNew);
  $("ge-assignment").hidden = draftNew;
  document.querySelector(".ge-history").closest("section").hidden = draftNew;
  if (draftNew) {
    const d = state.draft;
    $("ge-title").textContent = S.new_grid;
    $("ge-subtitle").textContent = [d.kind === "virtual" ? VTYPE[d.virtual_type]?.label : LEVEL[d.level]?.label, d.parent ? format(S.children_of, { name: d.parent.properties.name }) : S.top_level].join(" · ");
    const badge = $("ge-version");
    badge.textContent = S.unsaved;
    badge.classList.add("is-new");
    $("ge-parent-name").textContent = d.parent ? d.parent.properties.name : S.top_level;
    $("ge-institution").textContent = d.parent?.properties.institution?.name || "—";
    const geometry = draftGeometry();
    $("ge-area").textContent = geometry ? `≈ ${areaText(geodesicArea(geometry))}` : "—";
    return;
  }
  if (!f) return;
  const p = f.properties;
  $("ge-title").textContent = p.name;
  $("ge-subtitle").textContent = [config.kinds[p.kind], typeLabel(p), p.code, p.status === "retired" ? S.retired_status : ""].filter(Boolean).join(" · ");
  const badge = $("ge-version");
  badge.textContent = `${S.version} ${p.version}`;
  badge.classList.remove("is-new");
  $("ge-parent-name").textContent = p.parent_name || S.top_level;
  $("ge-area").textContent = areaText(p.area_m2);
  $("ge-institution").textContent = p.institution?.name || "—";
  $("ge-manager").textContent = p.responsible?.name || S.no_manager;
  if (!state.draft) fillForm(p);
  const retired = p.status === "retired";
  form.querySelector("fieldset").disabled = !CAN.edit || retired;
  updateSaveState();
}

// --- history and assignment ---------------------------------------------------------------------
async function loadHistory() {
  const list = $("ge-history");
  if (!state.focus) return;
  try {
    const items = listOf(await api.get(`${state.focus.id}/history/`));
    list.replaceChildren();
    if (!items.length) list.append(el("li", { class: "ge-history-empty" }, S.no_history));
    for (const h of items.slice(0, 50)) {
      list.append(el(
        "li", {},
        el("span", { class: "what" }, `${h.action_label || config.history_actions[h.action] || h.action} · v${h.version}`),
        el("span", { class: "meta" }, format(S.by_actor, { actor: h.actor?.name || S.system, time: timeText(h.created_at) })),
        h.reason ? el("span", { class: "reason" }, h.reason) : null,
      ));
    }
  } catch (error) {
    showError(error);
  }
}

async function loadManagers() {
  if (!CAN.assign || state.managers.length) return;
  try {
    const body = await api.get(config.urls.users, { role: "account_manager", is_active: "true", page_size: 200 });
    state.managers = listOf(body);
    const select = $("ge-manager-select");
    for (const u of state.managers) {
      select.append(el("option", { value: String(u.id) }, `${u.display_name || u.username}${u.institution ? `（${u.institution.name}）` : ""}`));
    }
  } catch (error) {
    showError(error);
  }
}

async function loadAssignments() {
  if (!state.focus) return;
  $("ge-manager").textContent = state.focus.properties.responsible?.name || S.no_manager;
  try {
    const items = listOf(await api.get(`${state.focus.id}/assignments/`));
    const open = items.find((a) => a.post === "responsible" && (a.is_open ?? !a.ends_on));
    $("ge-manager").textContent = open ? `${open.person.name}（${open.starts_on} 起）` : S.no_manager;
    state.focus.properties.responsible = open ? open.person : null;
  } catch (error) {
    showError(error);
  }
}

async function assignOrTransfer(kind) {
  const person = Number($("ge-manager-select").value);
  if (!state.focus) return;
  if (!person) {
    toast(S.pick_manager, "error");
    return;
  }
  const current = state.focus.properties.responsible;
  if (kind === "transfer" && !current) {
    toast(S.transfer_needs_manager, "error");
    return;
  }
  if (current && current.id === person) {
    toast(S.same_manager, "error");
    return;
  }
  const reason = fields.reason.value.trim();
  try {
    if (kind === "assign") {
      await api.post(`${state.focus.id}/assignments/`, { person, post: "responsible", reason });
      toast(S.assigned, "success");
    } else {
      await api.post(`${state.focus.id}/transfer/`, { to_user: person, reason });
      toast(S.transferred, "success");
    }
    await selectGrid(state.focus.id, { keepDraft: true });
  } catch (error) {
    showError(error);
  }
}

// --- conflicts ---------------------------------------------------------------------------------------
function showConflict(error) {
  $("ge-conflict-text").textContent = error.message || S.conflict_hint;
  $("ge-conflict").hidden = false;
  updateSaveState();
}

function hideConflict() {
  $("ge-conflict").hidden = true;
}

$("ge-conflict-reload").addEventListener("click", async () => {
  hideConflict();
  const id = state.focus?.id;
  discardDraft();
  if (id) await selectGrid(id, { keepDraft: true });
});

// --- drafts, validation and saving ---------------------------------------------------------------
function draftGeometry() {
  if (!state.draft) return null;
  const feature = draw.getSnapshotFeature(state.draft.drawId);
  return feature ? feature.geometry : null;
}

function scheduleValidate() {
  clearTimeout(validateTimer);
  state.validation.pending = true;
  renderChecks();
  validateTimer = setTimeout(validateNow, VALIDATE_DELAY);
}

async function validateNow() {
  clearTimeout(validateTimer);
  const geometry = draftGeometry();
  if (!state.draft || !geometry) return null;
  validateRequest?.abort();
  validateRequest = new AbortController();
  const d = state.draft;
  const body = {
    geometry, crs: "wgs84", kind: d.kind, level: d.kind === "physical" ? d.level : "",
    virtual_type: d.kind === "virtual" ? fields.virtualType.value : "", parent: d.parent ? d.parent.id : null,
  };
  if (d.type === "edit") body.exclude = d.gridId;
  state.validation.pending = true;
  renderChecks();
  try {
    const result = await api.post("validate/", body, { signal: validateRequest.signal });
    state.validation = { pending: false, ok: Boolean(result.ok) && !(result.problems || []).length, problems: result.problems || [], overlaps: result.overlaps };
  } catch (error) {
    if (error.name === "AbortError") return null;
    // A malformed shape (e.g. fewer than 3 points) is a problem of the drawing, not of the page.
    const problem = error instanceof ApiError && error.status === 400
      ? { code: error.code, message: error.message, location: error.details?.location || null, details: error.details }
      : null;
    state.validation = { pending: false, ok: false, problems: problem ? [problem] : [], overlaps: null };
    if (!problem) showError(error);
  }
  problemMarkers = showProblems(map, state.validation, problemMarkers);
  renderChecks();
  const area = draftGeometry();
  if (area) $("ge-area").textContent = `≈ ${areaText(geodesicArea(area))}`;
  return state.validation;
}

function renderChecks() {
  const section = $("ge-problems");
  const list = $("ge-problem-list");
  const v = state.validation;
  const check = $("ge-check-state");
  if (!state.draft) {
    section.hidden = true;
    if (check) check.textContent = "";
    updateSaveState();
    return;
  }
  section.hidden = v.pending && !v.problems.length;
  section.classList.toggle("is-ok", !v.pending && v.ok);
  list.replaceChildren();
  if (!v.pending && v.ok) list.append(el("li", {}, el("span", { class: "ge-problem-pin", style: "background: var(--gm-brand)" }, "✓"), el("span", {}, S.no_problems)));
  v.problems.forEach((problem, i) => {
    const item = el(
      "li", { title: S.problem_location, dataset: { code: problem.code } },
      el("span", { class: "ge-problem-pin" }, String(i + 1)),
      el("span", {}, problem.message),
    );
    if (problem.location) item.addEventListener("click", () => map.easeTo({ center: [problem.location.lng, problem.location.lat], duration: 300 }));
    list.append(item);
  });
  if (check) {
    check.textContent = v.pending ? S.checking : v.ok ? S.no_problems : format(S.problems_found, { n: v.problems.length });
    check.className = `ge-check-state ${v.pending ? "" : v.ok ? "is-good" : "is-bad"}`;
  }
  updateSaveState();
}

function updateSaveState() {
  const save = $("ge-save");
  if (!save) return;
  const conflict = !$("ge-conflict").hidden;
  const v = state.validation;
  let enabled;
  if (state.draft) enabled = !v.pending && v.ok && !conflict;
  else enabled = Boolean(state.focus) && state.formDirty && !conflict && state.focus.properties.status !== "retired";
  save.disabled = !enabled;
  save.title = state.draft && !enabled && !v.pending && !v.ok ? S.fix_problems : "";
}

function startDraft(draft) {
  state.draft = draft;
  state.validation = { pending: true, ok: false, problems: [], overlaps: null };
  setGridsLayer(state.layerGrids);
  if (draft.type === "new") {
    fillForm({ kind: draft.kind, level: draft.level, virtual_type: draft.virtual_type, business_lines: [] }, { isNew: true });
    renderDetail();
  }
  scheduleValidate();
  updateTools();
}

function discardDraft() {
  clearTimeout(validateTimer);
  validateRequest?.abort();
  state.draft = null;
  state.validation = { pending: false, ok: true, problems: [], overlaps: null };
  problemMarkers = clearProblems(map, problemMarkers);
  setTool(null);
  draw.clear();
  setGridsLayer(state.layerGrids);
  setSelectedLayer();
  renderChecks();
  renderDetail();
  updateTools();
}

async function leaveDraft() {
  if (!state.draft && !state.tool) return true;
  if (state.draft) {
    const answer = await confirmAction({ title: S.unsaved, text: S.discard_changes });
    if (!answer.ok) return false;
  }
  discardDraft();
  return true;
}

function formValues() {
  return {
    code: fields.code.value.trim(),
    name: fields.name.value.trim(),
    business_lines: businessBoxes().filter((b) => b.checked).map((b) => b.value),
    description: fields.description.value.trim(),
    reason: fields.reason.value.trim(),
  };
}

async function save(event) {
  event?.preventDefault();
  const values = formValues();
  const missing = [fields.code, fields.name].filter((input) => !input.value.trim());
  [fields.code, fields.name].forEach((input) => input.toggleAttribute("aria-invalid", missing.includes(input)));
  if (missing.length) {
    toast(S.required, "error");
    missing[0].focus();
    return;
  }
  if (state.draft) {
    const result = await validateNow();
    if (!result || !result.ok) {
      toast(S.fix_problems, "error");
      return;
    }
  }
  const saveButton = $("ge-save");
  saveButton.disabled = true;
  try {
    let saved;
    if (state.draft?.type === "new") {
      const d = state.draft;
      saved = await api.post("", {
        ...values, geometry: draftGeometry(), crs: "wgs84", kind: d.kind,
        level: d.kind === "physical" ? d.level : "", virtual_type: d.kind === "virtual" ? fields.virtualType.value : "",
        parent: d.parent ? d.parent.id : null, institution: d.parent?.properties.institution?.id ?? config.institution,
      });
      toast(format(S.created, { name: values.name }), "success");
    } else if (state.focus) {
      const body = { ...values, version: state.focus.properties.version };
      if (state.draft?.type === "edit") {
        body.geometry = draftGeometry();
        body.crs = "wgs84";
      }
      saved = await api.patch(`${state.focus.id}/`, body);
      toast(S.saved, "success");
    }
    const parentId = saved?.properties?.parent_id ?? null;
    discardDraft();
    await refreshTreeUnder(parentId);
    if (saved?.id) await selectGrid(saved.id, { keepDraft: true });
  } catch (error) {
    showError(error);
    updateSaveState();
  }
}

// --- tools -----------------------------------------------------------------------------------------
const hint = $("ge-hint");
function setTool(tool, hintText = "") {
  state.tool = tool;
  document.querySelectorAll(".ge-tool[data-tool]").forEach((b) => b.classList.toggle("is-active", b.dataset.tool === tool));
  $("ge-hint-text").textContent = hintText;
  hint.hidden = !hintText;
  if (!tool && draw.enabled) draw.setMode(state.draft ? "select" : "static");
}

function updateTools() {
  if (!CAN.edit) return;
  const f = state.focus;
  const active = f && f.properties.status === "active";
  const busy = Boolean(state.draft) || (state.tool && state.tool !== "merge");
  const setDisabled = (id, disabled) => { const b = $(id); if (b) b.disabled = disabled; };
  setDisabled("tool-draw", busy);
  setDisabled("tool-edit", !active || busy);
  setDisabled("tool-split", !active || busy);
  setDisabled("tool-merge", !active || busy);
  setDisabled("tool-retire", !active || busy);
}

function startDraw() {
  let draft;
  if (state.mode === "virtual") {
    draft = { type: "new", kind: "virtual", virtual_type: fields.virtualType.value || config.virtual_types[0].value, level: "", parent: null };
  } else {
    const parent = state.focus;
    if (!parent || parent.properties.kind !== "physical") {
      toast(S.need_parent, "error");
      return;
    }
    const level = childLevel(parent.properties.level);
    if (!level) {
      toast(format(S.no_child_level, { name: parent.properties.name }), "error");
      return;
    }
    draft = { type: "new", kind: "physical", level, virtual_type: "", parent };
  }
  state.pendingDraft = draft;
  draw.setMode("polygon");
  setTool("draw", S.drawing_hint);
  updateTools();
}

function startEdit() {
  const f = state.focus;
  const polygon = singlePolygon(f?.geometry);
  if (!polygon) {
    toast(S.load_failed, "error");
    return;
  }
  const [result] = draw.addFeatures([{ type: "Feature", geometry: polygon, properties: { mode: "polygon" } }]);
  if (!result?.valid) {
    toast(result?.reason || S.load_failed, "error");
    return;
  }
  setTool("edit", S.editing_hint);
  draw.setMode("select");
  draw.selectFeature(result.id);
  startDraft({
    type: "edit", gridId: f.id, drawId: result.id, kind: f.properties.kind, level: f.properties.level,
    virtual_type: f.properties.virtual_type, parent: state.parentGrid,
  });
  setGridsLayer(state.layerGrids);
  setSelectedLayer();
}

function startSplit() {
  draw.setMode("linestring");
  setTool("split", S.split_hint);
  updateTools();
}

function startMerge() {
  setTool("merge", S.merge_hint);
  updateTools();
}

async function retire() {
  const f = state.focus;
  if (!f) return;
  const answer = await confirmAction({ title: $("tool-retire").textContent.trim(), text: format(S.confirm_retire, { name: f.properties.name }) });
  if (!answer.ok) return;
  try {
    await api.post(`${f.id}/retire/`, { version: f.properties.version, reason: answer.reason });
    toast(format(S.retired, { name: f.properties.name }), "success");
    const parentId = f.properties.parent_id;
    await refreshTreeUnder(parentId);
    if (parentId) await selectGrid(parentId, { keepDraft: true });
    else clearSelection();
  } catch (error) {
    showError(error);
  }
}

async function finishSplit(lineId) {
  const f = state.focus;
  const line = draw.getSnapshotFeature(lineId)?.geometry;
  draw.clear();
  setTool(null);
  updateTools();
  if (!f || !line) return;
  const answer = await confirmAction({ title: $("tool-split").textContent.trim(), text: format(S.confirm_split, { name: f.properties.name }) });
  if (!answer.ok) return;
  try {
    const result = await api.post(`${f.id}/split/`, { line, crs: "wgs84", version: f.properties.version, reason: answer.reason });
    toast(format(S.split_done, { n: listOf(result).length || 2 }), "success");
    await refreshTreeUnder(f.properties.parent_id);
    await selectGrid(f.id, { keepDraft: true });
  } catch (error) {
    showError(error);
  }
}

async function finishMerge(otherId) {
  const f = state.focus;
  setTool(null);
  updateTools();
  if (!f || otherId === f.id) {
    toast(S.merge_pick_other, "error");
    return;
  }
  let other;
  try {
    other = await api.get(`${otherId}/`);
  } catch (error) {
    showError(error);
    return;
  }
  const answer = await confirmAction({
    title: $("tool-merge").textContent.trim(),
    text: format(S.confirm_merge, { a: f.properties.name, b: other.properties.name }),
  });
  if (!answer.ok) return;
  try {
    const merged = await api.post("merge/", {
      ids: [f.id, other.id],
      versions: { [f.id]: f.properties.version, [other.id]: other.properties.version },
      reason: answer.reason,
    });
    toast(format(S.merged, { name: merged?.properties?.name || f.properties.name }), "success");
    await refreshTreeUnder(f.properties.parent_id);
    await selectGrid(f.id, { keepDraft: true });
  } catch (error) {
    showError(error);
  }
}

draw.on("finish", (id, context) => {
  if (state.tool === "draw" && context?.mode === "polygon" && context.action === "draw") {
    const draft = { ...state.pendingDraft, drawId: id };
    state.pendingDraft = null;
    setTool("edit", S.editing_hint);
    draw.setMode("select");
    draw.selectFeature(id);
    startDraft(draft);
  } else if (state.tool === "split" && context?.mode === "linestring" && context.action === "draw") {
    finishSplit(id);
  } else if (state.draft && id === state.draft.drawId) {
    scheduleValidate();
  }
});

draw.on("change", (ids, type) => {
  if (state.draft && type !== "delete" && ids.includes(state.draft.drawId)) scheduleValidate();
});

// --- map interaction ----------------------------------------------------------------------------
const tooltip = $("map-tooltip");
let hovered = null;

function pickGrid(point) {
  const features = map.queryRenderedFeatures(point, { layers: ["grids-fill"] });
  if (!features.length) return null;
  const areas = features.map((f) => ({ f, a: f.properties.area_m2 || 0 }));
  areas.sort((x, y) => x.a - y.a);
  return areas[0].f;
}

map.on("mousemove", (event) => {
  if (state.tool && state.tool !== "merge") {
    tooltip.hidden = true;
    return;
  }
  const feature = pickGrid(event.point);
  if (hovered !== null && (!feature || feature.id !== hovered)) map.setFeatureState({ source: "grids", id: hovered }, { hover: false });
  hovered = feature ? feature.id : null;
  if (feature) {
    map.setFeatureState({ source: "grids", id: hovered }, { hover: true });
    tooltip.textContent = `${feature.properties.name} · ${typeLabel(feature.properties)}`;
    tooltip.style.transform = `translate(${event.point.x + 14}px, ${event.point.y + 14}px)`;
  }
  tooltip.hidden = !feature;
  map.getCanvas().style.cursor = feature ? "pointer" : "";
});
map.getCanvas().addEventListener("mouseleave", () => { tooltip.hidden = true; });

map.on("click", (event) => {
  if (state.tool === "merge") {
    const feature = pickGrid(event.point);
    if (feature) finishMerge(Number(feature.id));
    return;
  }
  if (state.tool || state.draft) return;
  const feature = pickGrid(event.point);
  if (feature) selectGrid(Number(feature.id), { zoom: false });
});

// --- import and export -----------------------------------------------------------------------------
function importTarget() {
  if (state.mode === "virtual") return { kind: "virtual", parent: null, text: S.virtual_grids };
  const parent = state.focus;
  if (!parent) return null;
  const level = childLevel(parent.properties.level);
  if (!level) return null;
  return { kind: "physical", level, parent: parent.id, text: `${format(S.children_of, { name: parent.properties.name })} · ${LEVEL[level].label}` };
}

async function openImport() {
  const target = importTarget();
  if (!target) {
    toast(state.focus ? format(S.no_child_level, { name: state.focus.properties.name }) : S.need_parent, "error");
    return;
  }
  $("ge-import-target").textContent = target.text;
  $("ge-import-virtual-type-field").hidden = target.kind !== "virtual";
  $("ge-import-problems").replaceChildren();
  $("ge-import-file").value = "";
  const dialog = $("ge-import-dialog");
  dialog.showModal();
}

$("ge-import-form")?.addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "ok") return;
  event.preventDefault();
  const target = importTarget();
  const file = $("ge-import-file").files[0];
  const problems = $("ge-import-problems");
  problems.replaceChildren();
  if (!file) {
    problems.append(el("li", {}, S.import_pick_file));
    return;
  }
  const data = new FormData();
  data.append("file", file);
  data.append("crs", $("ge-import-crs").value);
  data.append("kind", target.kind);
  if (target.kind === "physical") {
    data.append("level", target.level);
    data.append("parent", String(target.parent));
  } else {
    data.append("virtual_type", $("ge-import-virtual-type").value);
  }
  const ok = $("ge-import-ok");
  ok.disabled = true;
  try {
    const result = await api.upload("import/", data);
    $("ge-import-dialog").close("done");
    toast(format(S.imported, { n: result.created ?? listOf(result.ids).length }), "success");
    await refreshTreeUnder(target.parent);
    await loadLayers();
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) {
      problems.append(el("li", {}, error.message));
      for (const p of error.details?.problems || []) {
        problems.append(el("li", {}, format(S.import_problem, { n: (p.feature ?? 0) + 1, message: p.message })));
      }
      for (const [key, messages] of Object.entries(error.details || {})) {
        if (key !== "problems" && key !== "features" && Array.isArray(messages)) problems.append(el("li", {}, `${key}: ${messages.join(" ")}`));
      }
    } else {
      showError(error);
    }
  } finally {
    ok.disabled = false;
  }
});

function exportParams() {
  if (state.mode === "virtual") return { kind: "virtual", text: S.virtual_grids };
  if (state.focus) return { parent: state.focus.id, text: format(S.children_of, { name: state.focus.properties.name }) };
  return { kind: "physical", text: S.physical_mode_on };
}

$("tool-export")?.addEventListener("click", () => {
  $("ge-export-target").textContent = exportParams().text;
  $("ge-export-dialog").showModal();
});

$("ge-export-form")?.addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "ok") return;
  event.preventDefault();
  const { text, ...params } = exportParams();
  const button = $("ge-export-ok");
  button.disabled = true;
  try {
    const response = await api.download("export/", { ...params, fmt: $("ge-export-fmt").value, crs: $("ge-export-crs").value });
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = disposition.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i);
    const name = match ? decodeURIComponent(match[1]) : `grids.${$("ge-export-fmt").value}`;
    const link = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(link);
    link.click();
    setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    $("ge-export-dialog").close("done");
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
});

// --- wiring ---------------------------------------------------------------------------------------
$("ge-tree-title").dataset.title = $("ge-tree-title").textContent;
form.addEventListener("submit", save);
form.addEventListener("input", (event) => {
  if (event.target === fields.reason) return;
  state.formDirty = true;
  event.target.removeAttribute?.("aria-invalid");
  if (event.target === fields.virtualType && state.draft) scheduleValidate();
  updateSaveState();
});
$("ge-cancel")?.addEventListener("click", () => {
  if (state.draft || state.tool) discardDraft();
  else if (state.focus) fillForm(state.focus.properties);
  updateSaveState();
});
$("ge-hint-cancel").addEventListener("click", () => discardDraft());
$("tool-draw")?.addEventListener("click", () => startDraw());
$("tool-edit")?.addEventListener("click", () => startEdit());
$("tool-split")?.addEventListener("click", () => startSplit());
$("tool-merge")?.addEventListener("click", () => startMerge());
$("tool-retire")?.addEventListener("click", () => retire());
$("tool-import")?.addEventListener("click", () => openImport());
$("ge-assign")?.addEventListener("click", () => assignOrTransfer("assign"));
$("ge-transfer")?.addEventListener("click", () => assignOrTransfer("transfer"));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && (state.tool || state.draft) && !document.querySelector("dialog[open]")) discardDraft();
});

searchInput.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(loadTree, 250);
});
$("ge-search").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(searchTimer);
  loadTree();
});

document.querySelectorAll(".ge-segmented button").forEach((button) => {
  button.addEventListener("click", async () => {
    if (button.dataset.mode === state.mode || !(await leaveDraft())) return;
    state.mode = button.dataset.mode;
    $("grid-editor").dataset.mode = state.mode;
    document.querySelectorAll(".ge-segmented button").forEach((b) => {
      b.classList.toggle("is-current", b === button);
      b.setAttribute("aria-pressed", String(b === button));
    });
    clearSelection();
    state.layerGrids = [];
    await loadTree();
    await loadLayers();
    const bounds = new LngLatBounds();
    state.layerGrids.forEach((f) => { const b = bboxOf(f.geometry); if (b) bounds.extend(b); });
    if (!bounds.isEmpty()) fitWithMargin(bounds, 400);
  });
});

function renderLegend() {
  const legend = $("ge-legend");
  const items = state.mode === "virtual" ? config.virtual_types : config.levels;
  legend.replaceChildren(
    ...items.map((item) => el("span", {}, el("i", { style: `--dot: ${item.colour}` }), item.label)),
    el("span", {}, el("i", { class: "problem" }), S.problem_area),
  );
}

async function loadBasemap() {
  if (!config.urls.divisions) return;
  try {
    const body = await api.get(config.urls.divisions, { level: "district" });
    map.getSource("basemap").setData({ type: "FeatureCollection", features: listOf(body) });
  } catch { /* the basemap is decoration only */ }
}

map.on("zoom", updateLabels);
map.on("load", async () => {
  addProblemLayers(map);
  draw.start();
  renderLegend();
  renderDetail();
  updateTools();
  loadManagers();
  await Promise.all([loadBasemap(), loadTree()]);
  await loadLayers();
  const roots = [...state.treeNodes.values()].filter((n) => n.parent_id === null && n.kind === "physical");
  if (!state.focus && roots.length === 1) {
    await selectGrid(roots[0].id, { zoom: true }); // one district to look after: start there
  } else if (!state.focus) {
    const bounds = new LngLatBounds();
    state.layerGrids.forEach((f) => { const b = bboxOf(f.geometry); if (b) bounds.extend(b); });
    if (!bounds.isEmpty()) fitWithMargin(bounds);
  }
  map.once("idle", () => { document.body.dataset.editorReady = "true"; });
  map.triggerRepaint();
});

window.__gridEditor = {
  map, draw, state, api, snapper, selectGrid, validateNow, loadTree,
  get saveDisabled() { return $("ge-save")?.disabled ?? true; },
};
