// 名单导入 (CR-3): upload a list, preview it with every invalid cell marked, commit it in one of
// three modes, follow the background geocoding, search earlier batches.
//
// Every read and write goes through /api/crm/ (the server checks permission, scope and every rule
// again); this module only draws. Text from the server is always inserted as text, never as HTML.

const config = JSON.parse(document.getElementById("imports-config").textContent);
const S = config.strings;

const $ = (id) => document.getElementById(id);
const state = { batch: null, page: 1, errorsOnly: false, accepted: new Set(), templates: [], polling: null, batchesPage: 1 };

function format(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

async function api(method, url, { params, json, form } = {}) {
  const qs = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null)).toString() : "";
  const headers = { Accept: "application/json" };
  let body;
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let response;
  try {
    response = await fetch(qs ? `${url}?${qs}` : url, { method, headers, body, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "network", S.network_error);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch { /* empty or not JSON */ }
  if (!response.ok) {
    const error = payload?.error || {};
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || S.load_failed, error.details);
  }
  return payload;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function message(target, text, kind = "info") {
  target.textContent = text || "";
  target.dataset.kind = kind;
}

function describe(error) {
  return error instanceof ApiError ? error.message : S.load_failed;
}

function pager(nav, { count, page, pageSize }, onPage) {
  nav.replaceChildren();
  const pages = Math.max(1, Math.ceil(count / pageSize));
  if (count === 0) return;
  nav.append(
    el("button", { type: "button", class: "imp-button", disabled: page <= 1, onclick: () => onPage(page - 1), text: "‹" }),
    el("span", { text: format(S.page_info, { page, pages, count }) }),
    el("button", { type: "button", class: "imp-button", disabled: page >= pages, onclick: () => onPage(page + 1), text: "›" }),
  );
}

// --- templates and the upload form ------------------------------------------------------------------
async function loadTemplates() {
  const body = await api("GET", config.urls.templates, { params: { page_size: 500 } });
  state.templates = body.results;
  const select = $("imp-template");
  const search = $("imp-search-template");
  select.replaceChildren(...state.templates.map((t) => el("option", { value: t.id, text: t.name })));
  search.replaceChildren(el("option", { value: "", text: "—" }), ...state.templates.map((t) => el("option", { value: t.id, text: t.name })));
  updateTemplateLink();
}

function updateTemplateLink() {
  const id = $("imp-template").value;
  $("imp-template-download").href = id ? `${config.urls.templates}${id}/xlsx/` : "#";
}

function setupUpload() {
  $("imp-crs").replaceChildren(...config.crs.map((c) => el("option", { value: c.value, text: c.label })));
  $("imp-template").addEventListener("change", updateTemplateLink);
  $("imp-upload").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = $("imp-upload-message");
    const file = $("imp-file").files[0];
    if (!$("imp-template").value) return message(out, S.choose_template, "error");
    if (!$("imp-name").value.trim()) return message(out, S.name_required, "error");
    if (!file) return message(out, S.choose_file, "error");
    const form = new FormData();
    form.append("template", $("imp-template").value);
    form.append("name", $("imp-name").value.trim());
    form.append("crs", $("imp-crs").value);
    form.append("file", file);
    $("imp-upload-button").disabled = true;
    message(out, S.uploading);
    try {
      const batch = await api("POST", config.urls.imports, { form });
      message(out, format(S.uploaded, { total: batch.total_rows, valid: batch.valid_rows, invalid: batch.invalid_rows }), "success");
      $("imp-upload").reset();
      updateTemplateLink();
      await openBatch(batch.id, batch);
      loadBatches(1);
    } catch (error) {
      message(out, describe(error), "error");
    } finally {
      $("imp-upload-button").disabled = false;
    }
  });
}

// --- one batch: preview, commit, progress ---------------------------------------------------------------
async function openBatch(id, preloaded = null) {
  stopPolling();
  state.batch = preloaded || (await api("GET", `${config.urls.imports}${id}/`));
  state.accepted = new Set();
  state.page = 1;
  state.errorsOnly = false;
  $("imp-errors-only").checked = false;
  $("imp-preview").hidden = false;
  drawBatch();
  if (preloaded?.rows) drawRows(preloaded.rows, 1);
  else await loadRows(1);
  if (["committed", "geocoding"].includes(state.batch.status)) startPolling();
  $("imp-preview").scrollIntoView({ behavior: "smooth", block: "start" });
}

function drawBatch() {
  const b = state.batch;
  $("imp-preview-title").textContent = `${b.name} · ${b.template.name}`;
  $("imp-counts").replaceChildren(
    el("span", { class: "imp-pill", text: `${S.row} ${b.total_rows}` }),
    el("span", { class: "imp-pill ok", text: `${S.valid} ${b.valid_rows}` }),
    el("span", { class: "imp-pill bad", text: `${S.invalid} ${b.invalid_rows}` }),
    el("span", { class: "imp-pill", text: config.statuses[b.status] || b.status }),
  );
  const ignored = b.error?.ignored_columns || [];
  $("imp-warning").hidden = ignored.length === 0;
  $("imp-warning").textContent = ignored.length ? format(S.ignored_columns, { names: ignored.join("、") }) : "";
  $("imp-errors-download").href = b.links.errors_xlsx;
  $("imp-errors-download").hidden = b.invalid_rows === 0;
  const previewed = b.status === "previewed";
  $("imp-discard").hidden = !previewed;
  $("imp-segment").hidden = !b.committed_at;
  const commit = $("imp-commit");
  commit.replaceChildren(
    ...(previewed
      ? config.modes.map((mode) =>
          el("button", {
            type: "button", class: "imp-button imp-primary", text: mode.label,
            disabled: (mode.value === "all_or_nothing" && b.invalid_rows > 0) || (mode.value === "valid_rows" && b.valid_rows === 0),
            onclick: () => commitBatch(mode),
          }))
      : []),
  );
  $("imp-accepted").textContent = previewed ? format(S.accepted_count, { n: state.accepted.size }) : "";
  drawProgress();
}

function drawProgress() {
  const b = state.batch;
  const show = !!b.committed_at;
  $("imp-progress").hidden = !show;
  if (!show) return;
  const value = b.status === "done" ? 100 : b.progress;
  $("imp-progress-fill").style.width = `${value}%`;
  $("imp-progress-bar").setAttribute("aria-valuenow", String(value));
  $("imp-progress-value").textContent = `${value}%`;
  $("imp-progress-text").textContent =
    b.status === "done" ? format(S.done, { n: b.committed_rows })
      : b.status === "failed" ? S.failed
        : format(S.committed, { n: b.committed_rows });
  $("imp-progress").dataset.status = b.status;
}

async function loadRows(page) {
  const body = await api("GET", state.batch.links.rows, { params: { page, errors_only: state.errorsOnly ? 1 : "" } });
  drawRows(body, page);
}

function drawRows(body, page) {
  state.page = page;
  const columns = state.batch.columns;
  const previewed = state.batch.status === "previewed";
  const table = $("imp-rows");
  table.tHead.replaceChildren(
    el("tr", {},
      previewed ? el("th", { class: "imp-col-check", text: "✓" }) : null,
      el("th", { text: S.row }),
      ...columns.map((c) => el("th", { text: c.label, class: c.required ? "required" : null })),
      el("th", { text: S.status }),
    ),
  );
  const rows = body.results.map((row) => {
    const rowErrors = row.errors || {};
    const check = previewed
      ? el("td", { class: "imp-col-check" },
          el("input", {
            type: "checkbox", "aria-label": `${S.row} ${row.row_number}`, checked: state.accepted.has(row.row_number),
            disabled: !row.valid,
            onchange: (event) => {
              if (event.target.checked) state.accepted.add(row.row_number);
              else state.accepted.delete(row.row_number);
              $("imp-accepted").textContent = format(S.accepted_count, { n: state.accepted.size });
            },
          }))
      : null;
    const cells = columns.map((column) => {
      const problems = rowErrors[column.key];
      return el("td", { class: problems ? "invalid" : null, title: problems ? problems.join("\n") : null, text: row.cells[column.key] ?? "" });
    });
    const status = el("td", {
      class: row.valid ? "ok" : "bad",
      text: row.valid ? S.valid : S.invalid,
      title: row.valid ? null : Object.values(rowErrors).flat().join("\n"),
    });
    return el("tr", { class: row.valid ? null : "has-errors" }, check, el("td", { text: row.row_number }), ...cells, status);
  });
  table.tBodies[0].replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: columns.length + 3, class: "imp-empty", text: state.errorsOnly ? S.no_errors : S.empty }))]),
  );
  pager($("imp-rows-pager"), { count: body.count, page, pageSize: 50 }, (p) => loadRows(p).catch(showError));
}

async function commitBatch(mode) {
  const out = $("imp-upload-message");
  const payload = { mode: mode.value };
  if (mode.value === "accepted_rows") {
    if (state.accepted.size === 0) return message(out, S.accept_none, "error");
    payload.accepted_rows = [...state.accepted].sort((a, b) => a - b);
  }
  if (!window.confirm(format(S.confirm_commit, { mode: mode.label }))) return;
  try {
    state.batch = { ...state.batch, ...(await api("POST", state.batch.links.commit, { json: payload })) };
    drawBatch();
    await loadRows(1);
    startPolling();
    loadBatches(state.batchesPage);
  } catch (error) {
    message(out, describe(error), "error");
  }
}

function startPolling() {
  stopPolling();
  state.polling = window.setInterval(async () => {
    try {
      const fresh = await api("GET", state.batch.links.self);
      state.batch = { ...state.batch, ...fresh };
      drawProgress();
      if (!["committed", "geocoding"].includes(fresh.status)) {
        stopPolling();
        drawBatch();
        loadBatches(state.batchesPage);
      }
    } catch {
      stopPolling();
    }
  }, config.poll_ms);
}

function stopPolling() {
  if (state.polling) window.clearInterval(state.polling);
  state.polling = null;
}

function setupPreview() {
  $("imp-errors-only").addEventListener("change", (event) => {
    state.errorsOnly = event.target.checked;
    loadRows(1).catch(showError);
  });
  $("imp-discard").addEventListener("click", async () => {
    if (!window.confirm(S.confirm_discard)) return;
    try {
      state.batch = { ...state.batch, ...(await api("POST", state.batch.links.discard)) };
      message($("imp-upload-message"), S.discarded, "success");
      $("imp-preview").hidden = true;
      loadBatches(state.batchesPage);
    } catch (error) {
      showError(error);
    }
  });
  $("imp-segment").addEventListener("click", async () => {
    try {
      const segment = await api("POST", state.batch.links.segment, { json: { name: "" } });
      message($("imp-upload-message"), format(S.saved_segment, { name: segment.name, n: segment.member_count }), "success");
    } catch (error) {
      showError(error);
    }
  });
}

function showError(error) {
  message($("imp-upload-message"), describe(error), "error");
}

// --- batches ---------------------------------------------------------------------------------------
async function loadBatches(page = 1) {
  state.batchesPage = page;
  const form = new FormData($("imp-search"));
  const params = Object.fromEntries(form.entries());
  params.page = page;
  const body = await api("GET", config.urls.imports, { params });
  const rows = body.results.map((b) =>
    el("tr", { class: "imp-clickable", tabindex: "0", onclick: () => openBatch(b.id).catch(showError),
               onkeydown: (e) => { if (e.key === "Enter") openBatch(b.id).catch(showError); } },
      el("td", { text: b.name }),
      el("td", { text: b.template.name }),
      el("td", { text: b.operator ? (b.operator.display_name || b.operator.username) : "" }),
      el("td", { text: new Date(b.created_at).toLocaleString() }),
      el("td", { text: b.total_rows }),
      el("td", { text: b.invalid_rows, class: b.invalid_rows ? "bad" : null }),
      el("td", { text: b.committed_rows }),
      el("td", {}, el("span", { class: `imp-status s-${b.status}`, text: config.statuses[b.status] || b.status }),
        ["committed", "geocoding"].includes(b.status) ? el("span", { class: "imp-mini", text: ` ${b.progress}%` }) : null),
    ));
  $("imp-batches").tBodies[0].replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 8, class: "imp-empty", text: S.empty }))]),
  );
  pager($("imp-batches-pager"), { count: body.count, page, pageSize: 50 }, (p) => loadBatches(p).catch(showError));
}

function setupSearch() {
  $("imp-search").addEventListener("submit", (event) => {
    event.preventDefault();
    loadBatches(1).catch(showError);
  });
}

setupUpload();
setupPreview();
setupSearch();
loadTemplates().catch(showError);
loadBatches(1).catch(showError);
