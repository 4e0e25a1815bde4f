// Institution management (ORG-1): the tree of the user's scope, a detail panel with a small map
// and, for managers, adding a child institution (location picked on the map, WGS-84) and editing
// or deactivating one. Reads and writes go through /api/institutions/.
import { Map as MapLibreMap, Marker, NavigationControl, LngLatBounds } from "maplibre-gl";
import {
  api, busy, config, confirmDialog, el, fetchAll, format, openDialog, reportError, S, showError, toast,
} from "./common.js";

const KIND_ORDER = ["head_office", "branch", "sub_branch", "outlet"];
const state = { all: new Map(), children: new Map(), roots: [], expanded: new Set(), selected: null, query: "" };

const tree = document.getElementById("inst-tree");
const treeEmpty = document.getElementById("inst-tree-empty");
const search = document.getElementById("inst-search");

function kindBadge(kind) {
  return el("span", { class: `badge kind-${kind}` }, config.kinds[kind] || kind);
}

function statusBadge(active) {
  return el("span", { class: `badge ${active ? "badge-success" : "badge-muted"}` }, active ? S.active : S.inactive);
}

// --- data ------------------------------------------------------------------------------------------
function sortSiblings(a, b) {
  return KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.code.localeCompare(b.code);
}

function index(rows) {
  state.all = new Map(rows.map((row) => [row.id, row]));
  state.children = new Map();
  state.roots = [];
  for (const row of rows) {
    if (row.parent_id && state.all.has(row.parent_id)) {
      if (!state.children.has(row.parent_id)) state.children.set(row.parent_id, []);
      state.children.get(row.parent_id).push(row);
    } else {
      state.roots.push(row);
    }
  }
  state.children.forEach((list) => list.sort(sortSiblings));
  state.roots.sort(sortSiblings);
}

async function load() {
  const rows = await fetchAll(config.urls.institutions);
  const first = state.all.size === 0;
  index(rows);
  if (first) {
    // open the first two levels below the user's own institution
    for (const row of rows) if (row.depth <= Math.min(...rows.map((r) => r.depth)) + 1) state.expanded.add(row.id);
  }
  renderTree();
  updateMapData();
}

function ancestors(id) {
  const out = [];
  let row = state.all.get(id);
  while (row && row.parent_id && state.all.has(row.parent_id)) {
    out.push(row.parent_id);
    row = state.all.get(row.parent_id);
  }
  return out;
}

// --- the tree ---------------------------------------------------------------------------------------
function highlight(text, query) {
  if (!query) return [text];
  const at = text.toLowerCase().indexOf(query.toLowerCase());
  if (at < 0) return [text];
  return [text.slice(0, at), el("mark", {}, text.slice(at, at + query.length)), text.slice(at + query.length)];
}

function visibleIds() {
  const query = state.query.trim().toLowerCase();
  if (!query) return null;
  const visible = new Set();
  for (const row of state.all.values()) {
    if (row.name.toLowerCase().includes(query) || row.code.toLowerCase().includes(query)) {
      visible.add(row.id);
      ancestors(row.id).forEach((id) => visible.add(id));
    }
  }
  return visible;
}

function renderNode(row, visible) {
  if (visible && !visible.has(row.id)) return null;
  const kids = (state.children.get(row.id) || []).filter((kid) => !visible || visible.has(kid.id));
  const expanded = visible ? true : state.expanded.has(row.id);
  const item = el("li", { role: "treeitem", "aria-expanded": kids.length ? String(expanded) : null, dataset: { id: row.id } });
  const toggle = el("button", {
    type: "button", class: `org-tree-toggle${kids.length ? "" : " is-leaf"}`, tabindex: "-1",
    "aria-label": row.name, onclick: () => {
      if (state.expanded.has(row.id)) state.expanded.delete(row.id);
      else state.expanded.add(row.id);
      item.setAttribute("aria-expanded", String(state.expanded.has(row.id)));
    },
  });
  const node = el(
    "button",
    {
      type: "button", class: `org-tree-node${row.is_active ? "" : " is-inactive"}`,
      "aria-selected": String(state.selected === row.id), title: `${row.name}（${row.code}）`,
      onclick: () => select(row.id),
    },
    el("span", { class: "org-tree-name" }, ...highlight(row.name, state.query.trim())),
    kindBadge(row.kind),
  );
  item.append(el("div", { class: "org-tree-row" }, toggle, node));
  if (kids.length) {
    const list = el("ul", { role: "group" });
    kids.forEach((kid) => {
      const child = renderNode(kid, visible);
      if (child) list.append(child);
    });
    item.append(list);
  }
  return item;
}

function renderTree() {
  const visible = visibleIds();
  tree.replaceChildren(...state.roots.map((row) => renderNode(row, visible)).filter(Boolean));
  const empty = tree.children.length === 0;
  treeEmpty.hidden = !empty;
  treeEmpty.textContent = state.query ? S.no_match : S.empty;
}

function renderLegend() {
  document.getElementById("inst-legend").replaceChildren(...KIND_ORDER.map(kindBadge));
}

// --- detail -------------------------------------------------------------------------------------------
function setText(id, value) {
  const node = document.getElementById(id);
  node.textContent = value || "—";
  node.classList.toggle("org-muted", !value);
}

function select(id, { scroll = false } = {}) {
  const row = state.all.get(id);
  if (!row) return;
  state.selected = id;
  ancestors(id).forEach((a) => state.expanded.add(a));
  renderTree();
  if (scroll) tree.querySelector(`li[data-id="${id}"] .org-tree-node`)?.scrollIntoView({ block: "nearest" });
  history.replaceState(null, "", `#${id}`);
  renderDetail(row);
}

function renderDetail(row) {
  document.getElementById("inst-detail-empty").hidden = true;
  document.getElementById("inst-detail-body").hidden = false;
  document.getElementById("inst-name").textContent = row.name;
  document.getElementById("inst-badges").replaceChildren(kindBadge(row.kind), statusBadge(row.is_active));
  setText("inst-code", row.code);
  setText("inst-fullname", row.name);
  setText("inst-kind", config.kinds[row.kind]);
  setText("inst-parent", row.parent_name);
  setText("inst-address", row.address);
  setText("inst-phone", row.phone);
  setText("inst-location", row.location ? `${row.location.lng.toFixed(6)}, ${row.location.lat.toFixed(6)}` : S.no_location);
  document.getElementById("inst-active").replaceChildren(statusBadge(row.is_active));

  const kids = state.children.get(row.id) || [];
  document.getElementById("inst-children-count").textContent = `(${kids.length})`;
  const list = document.getElementById("inst-children");
  list.replaceChildren(
    ...(kids.length
      ? kids.map((kid) => el("li", {}, el("button", { type: "button", onclick: () => select(kid.id, { scroll: true }) },
        el("span", { class: `org-tree-name${kid.is_active ? "" : " org-muted"}` }, kid.name), kindBadge(kid.kind))))
      : [el("li", { class: "org-muted" }, S.no_children)]),
  );

  if (config.can_manage) {
    const toggle = document.getElementById("inst-toggle-active");
    toggle.textContent = row.is_active ? S.deactivate : S.activate;
    toggle.classList.toggle("btn-danger", false);
    const canHaveChildren = (config.child_kinds[row.kind] || []).length > 0;
    const add = document.getElementById("inst-add-child");
    add.disabled = !canHaveChildren || !row.is_active;
    add.title = canHaveChildren ? "" : S.no_child_kind;
  }
  showOnMap(row);
}

// --- maps ----------------------------------------------------------------------------------------------
function emptyCollection() {
  return { type: "FeatureCollection", features: [] };
}

function baseStyle() {
  const css = getComputedStyle(document.documentElement);
  const background = css.getPropertyValue("--map-background").trim() || "#eef1ee";
  return {
    version: 8,
    sources: { districts: { type: "geojson", data: emptyCollection() }, institutions: { type: "geojson", data: emptyCollection() } },
    layers: [
      { id: "background", type: "background", paint: { "background-color": background } },
      { id: "districts-fill", type: "fill", source: "districts", paint: { "fill-color": "#4e79a7", "fill-opacity": 0.08 } },
      { id: "districts-line", type: "line", source: "districts", paint: { "line-color": "#5b7083", "line-width": 1 } },
      {
        id: "institutions", type: "circle", source: "institutions",
        paint: {
          "circle-color": ["match", ["get", "kind"], "head_office", "#0b3d2c", "branch", "#0f6e4a", "sub_branch", "#2f6fb3", "#c8962e"],
          "circle-radius": 5, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5,
          "circle-opacity": ["case", ["get", "active"], 0.9, 0.4],
        },
      },
    ],
  };
}

let districts = null;
async function loadDistricts() {
  if (!config.can_view_map) return emptyCollection();
  if (!districts) {
    districts = api("GET", config.urls.divisions, { params: { level: "district" } }).catch(() => emptyCollection());
  }
  return districts;
}

function newMap(container, options = {}) {
  const map = new MapLibreMap({
    container, style: baseStyle(), center: config.center, zoom: 10, minZoom: 4, maxZoom: 18,
    attributionControl: false, dragRotate: false, pitchWithRotate: false, ...options,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new NavigationControl({ showCompass: false }), "top-right");
  map.on("load", async () => {
    map.getSource("districts")?.setData(await loadDistricts());
  });
  return map;
}

let detailMap = null;
let detailMarker = null;

function institutionFeatures() {
  return {
    type: "FeatureCollection",
    features: [...state.all.values()].filter((row) => row.location).map((row) => ({
      type: "Feature",
      properties: { id: row.id, kind: row.kind, active: row.is_active },
      geometry: { type: "Point", coordinates: [row.location.lng, row.location.lat] },
    })),
  };
}

function updateMapData() {
  if (detailMap?.isStyleLoaded()) detailMap.getSource("institutions")?.setData(institutionFeatures());
}

function showOnMap(row) {
  const note = document.getElementById("inst-map-note");
  note.textContent = row.location ? "" : S.no_location;
  if (!detailMap) {
    detailMap = newMap("inst-map");
    window.__institutionMap = detailMap;
    detailMap.on("load", updateMapData);
    detailMap.on("click", "institutions", (event) => select(event.features[0].properties.id, { scroll: true }));
    detailMap.on("mouseenter", "institutions", () => { detailMap.getCanvas().style.cursor = "pointer"; });
    detailMap.on("mouseleave", "institutions", () => { detailMap.getCanvas().style.cursor = ""; });
  }
  detailMarker?.remove();
  detailMarker = null;
  if (row.location) {
    const point = [row.location.lng, row.location.lat];
    detailMarker = new Marker({ element: el("div", { class: "org-pin" }), anchor: "bottom" }).setLngLat(point).addTo(detailMap);
    detailMap.jumpTo({ center: point, zoom: Math.max(detailMap.getZoom(), 12) });
  } else {
    // no point of its own: frame its located descendants, else stay where the map is
    const bounds = new LngLatBounds();
    for (const other of state.all.values()) {
      if (other.location && ancestors(other.id).includes(row.id)) bounds.extend([other.location.lng, other.location.lat]);
    }
    if (!bounds.isEmpty()) detailMap.fitBounds(bounds, { padding: 40, maxZoom: 13, duration: 0 });
  }
}

// --- add / edit ---------------------------------------------------------------------------------------------
const dialog = document.getElementById("inst-dialog");
const form = document.getElementById("inst-form");
let editing = null; // {mode: "create"|"edit", row}
let pickerMap = null;
let pickerMarker = null;

function setPickerPoint(lng, lat, { move = false } = {}) {
  const lngInput = form.elements.lng;
  const latInput = form.elements.lat;
  if (lng === null || lat === null || Number.isNaN(lng) || Number.isNaN(lat)) {
    lngInput.value = "";
    latInput.value = "";
    pickerMarker?.remove();
    pickerMarker = null;
    return;
  }
  lngInput.value = lng.toFixed(6);
  latInput.value = lat.toFixed(6);
  if (!pickerMarker) pickerMarker = new Marker({ element: el("div", { class: "org-pin" }), anchor: "bottom" });
  pickerMarker.setLngLat([lng, lat]).addTo(pickerMap);
  if (move) pickerMap.jumpTo({ center: [lng, lat], zoom: Math.max(pickerMap.getZoom(), 13) });
}

function ensurePicker() {
  if (pickerMap) {
    pickerMap.resize();
    return;
  }
  pickerMap = newMap("inst-picker-map");
  window.__pickerMap = pickerMap;
  pickerMap.on("load", () => pickerMap.getSource("institutions").setData(institutionFeatures()));
  pickerMap.on("click", (event) => setPickerPoint(event.lngLat.lng, event.lngLat.lat));
  const onTyped = () => {
    const lng = parseFloat(form.elements.lng.value);
    const lat = parseFloat(form.elements.lat.value);
    if (!Number.isNaN(lng) && !Number.isNaN(lat)) setPickerPoint(lng, lat, { move: true });
  };
  form.elements.lng.addEventListener("change", onTyped);
  form.elements.lat.addEventListener("change", onTyped);
  document.getElementById("inst-f-clear").addEventListener("click", () => setPickerPoint(null, null));
}

function openForm(mode, row) {
  editing = { mode, row };
  const create = mode === "create";
  form.reset();
  form.querySelectorAll("[data-create-only]").forEach((node) => { node.hidden = !create; });
  form.querySelectorAll("[data-edit-only]").forEach((node) => { node.hidden = create; });
  document.getElementById("inst-dialog-title").textContent = create ? S.add_child : S.edit;
  document.getElementById("inst-f-parent").value = create ? `${row.name}（${row.code}）` : row.parent_name || "—";
  if (create) {
    const kinds = config.child_kinds[row.kind] || [];
    form.elements.kind.replaceChildren(...KIND_ORDER.filter((k) => kinds.includes(k)).map((k) => el("option", { value: k }, config.kinds[k])));
  } else {
    form.elements.name.value = row.name;
    form.elements.address.value = row.address;
    form.elements.phone.value = row.phone;
    form.elements.is_active.checked = row.is_active;
  }
  openDialog(dialog);
  ensurePicker();
  const start = row.location; // a new child starts at its parent's place
  pickerMarker?.remove();
  pickerMarker = null;
  const centre = start ? [start.lng, start.lat] : config.center;
  pickerMap.jumpTo({ center: centre, zoom: start ? 13 : 10 });
  if (!create && row.location) setPickerPoint(row.location.lng, row.location.lat);
  (create ? form.elements.code : form.elements.name).focus();
}

function readLocation() {
  const lng = parseFloat(form.elements.lng.value);
  const lat = parseFloat(form.elements.lat.value);
  if (Number.isNaN(lng) || Number.isNaN(lat)) return null;
  return { lng, lat, crs: "wgs84" };
}

async function submitForm(event) {
  event.preventDefault();
  const { mode, row } = editing;
  const values = {
    name: form.elements.name.value.trim(),
    address: form.elements.address.value.trim(),
    phone: form.elements.phone.value.trim(),
    location: readLocation(),
  };
  await busy(document.getElementById("inst-submit"), async () => {
    try {
      let saved;
      if (mode === "create") {
        saved = await api("POST", config.urls.institutions, {
          body: { ...values, code: form.elements.code.value.trim(), kind: form.elements.kind.value, parent: row.id },
        });
        toast(S.created);
      } else {
        saved = await api("PATCH", `${config.urls.institutions}${row.id}/`, { body: { ...values, is_active: form.elements.is_active.checked } });
        toast(S.saved);
      }
      dialog.close();
      await load();
      select(saved.id, { scroll: true });
    } catch (error) {
      reportError(error, form);
    }
  });
}

async function toggleActive() {
  const row = state.all.get(state.selected);
  if (!row) return;
  const deactivate = row.is_active;
  const ok = await confirmDialog(format(deactivate ? S.confirm_deactivate : S.confirm_activate, { name: row.name }), { danger: deactivate });
  if (!ok) return;
  try {
    await api("PATCH", `${config.urls.institutions}${row.id}/`, { body: { is_active: !deactivate } });
    toast(deactivate ? S.deactivated : S.activated);
    await load();
    select(row.id);
  } catch (error) {
    reportError(error);
  }
}

// --- wiring --------------------------------------------------------------------------------------------------
let searchTimer = null;
search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    state.query = search.value;
    renderTree();
  }, 150);
});
document.getElementById("inst-expand").addEventListener("click", () => {
  state.all.forEach((row, id) => { if (state.children.has(id)) state.expanded.add(id); });
  renderTree();
});
document.getElementById("inst-collapse").addEventListener("click", () => {
  state.expanded.clear();
  renderTree();
});
if (config.can_manage) {
  document.getElementById("inst-edit").addEventListener("click", () => openForm("edit", state.all.get(state.selected)));
  document.getElementById("inst-add-child").addEventListener("click", () => openForm("create", state.all.get(state.selected)));
  document.getElementById("inst-toggle-active").addEventListener("click", toggleActive);
  form.addEventListener("submit", submitForm);
}

renderLegend();
load()
  .then(() => {
    const fromHash = Number(window.location.hash.slice(1));
    const start = state.all.has(fromHash) ? fromHash : state.all.has(config.own_institution) ? config.own_institution : state.roots[0]?.id;
    if (start) select(start, { scroll: true });
    document.body.dataset.ready = "true";
  })
  .catch((error) => {
    showError(error);
    document.body.dataset.ready = "true";
  });
