// Shared helpers of the back-office pages (institutions, users, audit log, settings).
//
// Every read and write goes through the organisation REST API: `api()` sends the CSRF header from
// the `csrftoken` cookie, turns the platform's `{"error": {code, message, details}}` into an
// ApiError, and answers a 403 `reauth_required` by asking for the password (POST /api/auth/reauth/)
// and retrying once. No business rule lives here.

export const config = JSON.parse(document.getElementById("org-config").textContent);
export const S = config.strings;

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export function format(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** Query string of the non-empty values. */
export function query(params = {}) {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") out.set(key, value);
  }
  return out.toString();
}

async function send(method, url, { params, body } = {}) {
  const qs = params ? query(params) : "";
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(qs ? `${url}?${qs}` : url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", S.network_error);
  }
  if (response.status === 204) return null;
  let payload = null;
  try {
    payload = await response.json();
  } catch { /* not JSON */ }
  if (!response.ok) {
    const error = payload?.error || {};
    throw new ApiError(response.status, error.code || "http_" + response.status, error.message || S.load_failed, error.details);
  }
  return payload;
}

/** Call the API; a 403 `reauth_required` opens the password prompt and retries once. */
export async function api(method, url, options = {}) {
  try {
    return await send(method, url, options);
  } catch (error) {
    if (error instanceof ApiError && error.code === "reauth_required") {
      await askPassword();
      return send(method, url, options);
    }
    throw error;
  }
}

/** Every row of a paginated list endpoint (follows `next`). */
export async function fetchAll(url, params = {}) {
  const rows = [];
  let page = await api("GET", url, { params: { page_size: 500, ...params } });
  rows.push(...page.results);
  while (page.next) {
    const next = new URL(page.next, window.location.origin);
    page = await api("GET", next.pathname, { params: Object.fromEntries(next.searchParams) });
    rows.push(...page.results);
  }
  return rows;
}

// --- DOM helpers ---------------------------------------------------------------------------------
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function toast(message, kind = "success") {
  const box = document.getElementById("org-toasts");
  const item = el("div", { class: `org-toast org-toast-${kind}` }, message);
  box.append(item);
  setTimeout(() => item.classList.add("is-leaving"), kind === "error" ? 6000 : 3000);
  setTimeout(() => item.remove(), kind === "error" ? 6500 : 3500);
}

export function showError(error) {
  toast(error?.message || S.load_failed, "error");
}

const dateTimeFormat = new Intl.DateTimeFormat("zh-CN", {
  timeZone: config.time_zone,
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  hour12: false,
});

/** "2026-03-01 09:30:00" in the platform's time zone (as the CSV export writes it). */
export function formatDateTime(iso) {
  if (!iso) return "";
  const parts = Object.fromEntries(dateTimeFormat.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour === "24" ? "00" : parts.hour}:${parts.minute}:${parts.second}`;
}

// --- forms and dialogs ---------------------------------------------------------------------------
/** Clear the error slots of a form (`[data-error-for]`). */
export function clearErrors(form) {
  form.querySelectorAll("[data-error-for]").forEach((slot) => { slot.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
}

/** Show an ApiError's message and per-field details in the form's error slots. */
export function showFormErrors(form, error) {
  clearErrors(form);
  const general = form.querySelector('[data-error-for="__all__"]');
  let placed = false;
  const walk = (prefix, details) => {
    for (const [field, problems] of Object.entries(details || {})) {
      const name = prefix ? `${prefix}.${field}` : field;
      if (problems && !Array.isArray(problems) && typeof problems === "object") {
        walk(name, problems);
        continue;
      }
      const slot = form.querySelector(`[data-error-for="${name}"]`) || form.querySelector(`[data-error-for="${name.split(".")[0]}"]`);
      const text = Array.isArray(problems) ? problems.map((p) => (typeof p === "object" ? Object.values(p).flat().join(" ") : p)).join(" ") : String(problems);
      const input = form.querySelector(`[name="${name.split(".")[0]}"]`);
      if (slot && slot !== general) {
        // Some rules name the offending value instead of a message (e.g. a code already taken).
        slot.textContent = input && input.value === text ? error.message : text;
        input?.setAttribute("aria-invalid", "true");
        placed = true;
      }
    }
  };
  walk("", error.details);
  if (general) general.textContent = placed && error.code === "validation_failed" ? "" : error.message || S.load_failed;
  if (!placed && !general) showError(error);
}

/** Open a <dialog>; buttons marked `data-close` close it. */
export function openDialog(dialog) {
  if (!dialog.dataset.wired) {
    dialog.dataset.wired = "true";
    dialog.addEventListener("click", (event) => {
      if (event.target.closest("[data-close]")) dialog.close("cancel");
    });
  }
  const form = dialog.querySelector("form");
  if (form) clearErrors(form);
  dialog.showModal();
  return dialog;
}

/** A confirmation dialog; resolves to true when confirmed. */
export function confirmDialog(message, { danger = false } = {}) {
  const dialog = document.getElementById("org-confirm");
  document.getElementById("org-confirm-message").textContent = message;
  document.getElementById("org-confirm-ok").classList.toggle("btn-danger", danger);
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

let pendingReauth = null;

/** Ask for the password again (SEC-4); resolves once POST /api/auth/reauth/ accepted it. */
export function askPassword() {
  if (pendingReauth) return pendingReauth;
  const dialog = document.getElementById("org-reauth");
  const form = document.getElementById("org-reauth-form");
  const input = document.getElementById("org-reauth-password");
  pendingReauth = new Promise((resolve, reject) => {
    const onSubmit = async (event) => {
      event.preventDefault();
      if (!input.value) {
        input.focus();
        return;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await send("POST", config.urls.reauth, { body: { password: input.value } });
        finish(true);
      } catch (error) {
        showFormErrors(form, error);
        input.select();
      } finally {
        button.disabled = false;
      }
    };
    const onClose = () => finish(false);
    function finish(ok) {
      form.removeEventListener("submit", onSubmit);
      dialog.removeEventListener("close", onClose);
      input.value = "";
      pendingReauth = null;
      if (dialog.open) dialog.close();
      if (ok) resolve();
      else reject(new ApiError(403, "reauth_cancelled", ""));
    }
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("close", onClose);
    openDialog(dialog);
    input.focus();
  });
  return pendingReauth;
}

/** Report an error unless the user merely cancelled the password prompt. */
export function reportError(error, form = null) {
  if (error?.code === "reauth_cancelled") return;
  if (form) showFormErrors(form, error);
  else showError(error);
}

/** Set a button busy while `work` runs. */
export async function busy(button, work) {
  if (button) button.disabled = true;
  try {
    return await work();
  } finally {
    if (button) button.disabled = false;
  }
}

/** Pager under a table: "第 1 / 3 页，共 120 条" with previous/next buttons. */
export function renderPager(container, { page, pageSize, count, onPage }) {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  container.replaceChildren(
    el("span", { class: "org-pager-info" }, format(S.page_info, { page, pages, count })),
    el("button", { type: "button", class: "btn btn-sm", disabled: page <= 1, "data-page": "prev", onclick: () => onPage(page - 1) }, "‹"),
    el("button", { type: "button", class: "btn btn-sm", disabled: page >= pages, "data-page": "next", onclick: () => onPage(page + 1) }, "›"),
  );
}
