// The audit log (ORG-6): search the trail of the user's subtree through /api/audit/, read one
// entry's data in a drawer, and export the same selection as CSV through /api/audit/export/.
import { api, config, el, formatDateTime, query, renderPager, S, showFormErrors, clearErrors } from "./common.js";

const PAGE_SIZE = 50;
const FIELDS = ["username", "action", "result", "object_type", "since", "until"];
const RESULT_BADGE = { success: "badge-success", failure: "badge-danger", denied: "badge-warning" };
const form = document.getElementById("audit-filters");
const rowsBody = document.getElementById("audit-rows");
const exportLink = document.getElementById("audit-export");
const drawer = document.getElementById("audit-drawer");
const columns = document.querySelectorAll("#audit-table thead th").length;
const state = { page: 1, rows: new Map(), selected: null };

function readFilters() {
  const out = {};
  for (const name of FIELDS) out[name] = (form.elements[name].value || "").trim();
  return out;
}

function writeFilters(params) {
  for (const name of FIELDS) if (params.has(name)) form.elements[name].value = params.get(name);
  state.page = Math.max(1, Number(params.get("page")) || 1);
}

function resultBadge(result) {
  return el("span", { class: `badge ${RESULT_BADGE[result] || "badge-muted"}` }, config.results[result] || result);
}

function objectCell(entry) {
  if (!entry.object_type) return el("td", { class: "org-muted" }, "—");
  return el("td", {},
    entry.object_repr || `#${entry.object_id}`,
    el("span", { class: "cell-sub org-mono" }, `${entry.object_type}${entry.object_id ? ` #${entry.object_id}` : ""}`));
}

function renderRows(entries) {
  state.rows = new Map(entries.map((e) => [e.id, e]));
  if (!entries.length) {
    rowsBody.replaceChildren(el("tr", { class: "org-table-status" }, el("td", { colspan: columns }, S.empty)));
    return;
  }
  rowsBody.replaceChildren(...entries.map((entry) =>
    el("tr", { class: `is-clickable${entry.id === state.selected ? " is-selected" : ""}`, tabindex: "0", dataset: { id: entry.id } },
      el("td", { class: "nowrap" }, formatDateTime(entry.created_at)),
      el("td", {}, entry.actor_username || el("span", { class: "org-muted" }, S.system)),
      el("td", {}, entry.institution || "—"),
      el("td", { class: "org-mono" }, entry.action),
      objectCell(entry),
      el("td", {}, resultBadge(entry.result)),
      el("td", { class: "org-mono nowrap" }, entry.ip || "—"))));
}

function updateExport(filters) {
  if (exportLink) exportLink.href = `${config.urls.export}${query(filters) ? `?${query(filters)}` : ""}`;
}

async function load() {
  const filters = readFilters();
  history.replaceState(null, "", `?${query({ ...filters, page: state.page > 1 ? state.page : "" })}`);
  updateExport(filters);
  clearErrors(form);
  rowsBody.replaceChildren(el("tr", { class: "org-table-status" }, el("td", { colspan: columns }, S.loading)));
  try {
    const body = await api("GET", config.urls.audit, { params: { ...filters, page: state.page, page_size: PAGE_SIZE } });
    renderRows(body.results);
    renderPager(document.getElementById("audit-pager"), {
      page: state.page, pageSize: PAGE_SIZE, count: body.count,
      onPage: (page) => { state.page = page; load(); },
    });
  } catch (error) {
    if (error.code === "not_found" && state.page > 1) {
      state.page = 1;
      return load();
    }
    rowsBody.replaceChildren(el("tr", { class: "org-table-status" }, el("td", { colspan: columns }, error.message || S.load_failed)));
    if (error.code === "validation_failed") showFormErrors(form, error);
  }
  document.body.dataset.ready = "true";
}

// --- the drawer ------------------------------------------------------------------------------------------
/** Pretty JSON with coloured keys and values, built as text nodes (never as HTML). */
function jsonNodes(value) {
  const text = JSON.stringify(value ?? {}, null, 2);
  const pattern = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) nodes.push(text.slice(last, match.index));
    if (match[1]) {
      nodes.push(el("span", { class: match[2] ? "k" : "s" }, match[1]));
      if (match[2]) nodes.push(match[2]);
    } else if (match[3]) nodes.push(el("span", { class: "b" }, match[3]));
    else nodes.push(el("span", { class: "n" }, match[4]));
    last = match.index + match[0].length;
  }
  nodes.push(text.slice(last));
  return nodes;
}

function openDrawer(id) {
  const entry = state.rows.get(id);
  if (!entry) return;
  state.selected = id;
  rowsBody.querySelectorAll("tr").forEach((tr) => tr.classList.toggle("is-selected", Number(tr.dataset.id) === id));
  for (const node of drawer.querySelectorAll("[data-field]")) {
    const field = node.dataset.field;
    const value = entry[field];
    if (field === "created_at") node.textContent = formatDateTime(value);
    else if (field === "result") node.replaceChildren(resultBadge(value));
    else node.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
  }
  document.getElementById("audit-json").replaceChildren(...jsonNodes(entry.data));
  drawer.classList.add("is-open");
  drawer.setAttribute("aria-hidden", "false");
  document.getElementById("audit-drawer-close").focus();
}

function closeDrawer() {
  drawer.classList.remove("is-open");
  drawer.setAttribute("aria-hidden", "true");
  const row = rowsBody.querySelector(`tr[data-id="${state.selected}"]`);
  state.selected = null;
  rowsBody.querySelectorAll("tr.is-selected").forEach((tr) => tr.classList.remove("is-selected"));
  row?.focus();
}

rowsBody.addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-id]");
  if (row) openDrawer(Number(row.dataset.id));
});
rowsBody.addEventListener("keydown", (event) => {
  const row = event.target.closest("tr[data-id]");
  if (row && (event.key === "Enter" || event.key === " ")) {
    event.preventDefault();
    openDrawer(Number(row.dataset.id));
  }
});
document.getElementById("audit-drawer-close").addEventListener("click", closeDrawer);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && drawer.classList.contains("is-open")) closeDrawer();
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  state.page = 1;
  load();
});
form.addEventListener("reset", () => setTimeout(() => { state.page = 1; load(); }));

writeFilters(new URLSearchParams(window.location.search));
load();
