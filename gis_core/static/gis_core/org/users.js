// User management (ORG-2): users of the scope with filters; for managers create (initial password
// shown once; the change at first login is enforced by the server), edit, deactivate, change roles
// (the API asks for a recent re-authentication: common.js prompts for the password and retries)
// and reset a password. Everything goes through /api/users/.
import {
  api, busy, config, confirmDialog, el, fetchAll, format, formatDateTime, openDialog, query, renderPager,
  reportError, S, showError, toast,
} from "./common.js";

const PAGE_SIZE = 20;
const roleLabel = Object.fromEntries(config.roles.map((r) => [r.value, r.label]));
const filtersForm = document.getElementById("user-filters");
const rowsBody = document.getElementById("user-rows");
const columns = document.querySelectorAll("#user-table thead th").length;
const state = { page: 1, rows: new Map(), institutions: [], minDepth: 0 };

// --- filters (kept in the address bar so that a view can be shared or reloaded) --------------------------
function readFilters() {
  const data = new FormData(filtersForm);
  return {
    institution: data.get("institution") || "",
    role: data.get("role") || "",
    q: (data.get("q") || "").trim(),
    is_active: data.get("is_active") || "",
  };
}

function writeFilters(params) {
  for (const name of ["institution", "role", "q", "is_active"]) {
    if (params.has(name)) filtersForm.elements[name].value = params.get(name);
  }
  state.page = Math.max(1, Number(params.get("page")) || 1);
}

function institutionOptions(select, { withAll = false } = {}) {
  const current = select.value;
  const options = state.institutions.map((row) =>
    el("option", { value: row.id, disabled: !row.is_active && !withAll }, `${"　".repeat(row.depth - state.minDepth)}${row.name}`));
  if (withAll) options.unshift(el("option", { value: "" }, S.all_institutions));
  select.replaceChildren(...options);
  if (current) select.value = current;
}

// --- the table -------------------------------------------------------------------------------------------
function statusCell(user) {
  const cell = el("td", { class: "nowrap" },
    el("span", { class: `badge ${user.is_active ? "badge-success" : "badge-muted"}` }, user.is_active ? S.active : S.inactive));
  if (user.locked) cell.append(el("span", { class: "badge badge-danger", title: S.locked }, S.locked));
  return cell;
}

function actionsCell(user) {
  const self = user.id === config.self_id;
  const cell = el("td", { class: "org-actions-cell" },
    el("button", { type: "button", class: "btn-link", "data-action": "edit" }, S.edit_short));
  if (!self) {
    cell.append(
      el("button", { type: "button", class: "btn-link", "data-action": "roles" }, S.roles),
      el("button", { type: "button", class: "btn-link", "data-action": "reset" }, S.reset_password),
      el("button", { type: "button", class: `btn-link${user.is_active ? " danger" : ""}`, "data-action": "toggle" },
        user.is_active ? S.deactivate : S.activate),
    );
  }
  return cell;
}

function renderRows(users) {
  state.rows = new Map(users.map((u) => [u.id, u]));
  if (!users.length) {
    rowsBody.replaceChildren(el("tr", { class: "org-table-status" }, el("td", { colspan: columns }, S.empty)));
    return;
  }
  rowsBody.replaceChildren(...users.map((user) => {
    const row = el("tr", { dataset: { id: user.id }, class: user.is_active ? "" : "is-inactive" },
      el("td", { class: "org-mono" }, user.username),
      el("td", {}, user.display_name || "—"),
      el("td", { class: "org-mono" }, user.employee_no || "—"),
      el("td", {}, user.institution ? user.institution.name : "—"),
      el("td", {}, user.roles.length ? user.roles.map((code) => el("span", { class: "badge badge-role" }, roleLabel[code] || code)) : el("span", { class: "org-muted" }, "—")),
      el("td", { class: "org-mono nowrap" }, user.phone || "—"),
      statusCell(user),
      el("td", { class: "nowrap" }, user.last_login ? formatDateTime(user.last_login) : el("span", { class: "org-muted" }, S.never)),
    );
    if (config.can_manage) row.append(actionsCell(user));
    return row;
  }));
}

async function load({ push = true } = {}) {
  const filters = readFilters();
  if (push) history.replaceState(null, "", `?${query({ ...filters, page: state.page > 1 ? state.page : "" })}`);
  rowsBody.replaceChildren(el("tr", { class: "org-table-status" }, el("td", { colspan: columns }, S.loading)));
  try {
    const body = await api("GET", config.urls.users, { params: { ...filters, page: state.page, page_size: PAGE_SIZE } });
    renderRows(body.results);
    renderPager(document.getElementById("user-pager"), {
      page: state.page, pageSize: PAGE_SIZE, count: body.count,
      onPage: (page) => { state.page = page; load(); },
    });
  } catch (error) {
    if (error.code === "not_found" && state.page > 1) {
      state.page = 1;
      return load();
    }
    rowsBody.replaceChildren(el("tr", { class: "org-table-status" }, el("td", { colspan: columns }, error.message || S.load_failed)));
  }
  document.body.dataset.ready = "true";
}

filtersForm.addEventListener("submit", (event) => {
  event.preventDefault();
  state.page = 1;
  load();
});
filtersForm.addEventListener("reset", () => setTimeout(() => { state.page = 1; load(); }));

// --- create and edit -------------------------------------------------------------------------------------
/** A temporary password that meets the policy (8+ characters, upper, lower, digit and symbol). */
function generatePassword(length = 12) {
  const sets = ["ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnpqrstuvwxyz", "23456789", "@#%+=?!"];
  const all = sets.join("");
  const random = (n) => {
    const buffer = new Uint32Array(1);
    crypto.getRandomValues(buffer);
    return buffer[0] % n;
  };
  const chars = sets.map((set) => set[random(set.length)]);
  while (chars.length < length) chars.push(all[random(all.length)]);
  for (let i = chars.length - 1; i > 0; i -= 1) {
    const j = random(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join("");
}

function showPassword(title, user, password) {
  const dialog = document.getElementById("password-dialog");
  document.getElementById("password-dialog-title").textContent = title;
  document.getElementById("password-note").textContent = format(S.password_once, { name: user.display_name || user.username });
  document.getElementById("password-value").textContent = password;
  dialog.addEventListener("close", () => { document.getElementById("password-value").textContent = ""; }, { once: true });
  openDialog(dialog);
}

const userDialog = document.getElementById("user-dialog");
const userForm = document.getElementById("user-form");
let editing = null;

function roleCheckboxes(container, name, selected = []) {
  container.replaceChildren(...config.roles.map((role) =>
    el("label", { class: "check-card" },
      el("input", { type: "checkbox", name, value: role.value, checked: selected.includes(role.value) }),
      el("span", {}, role.label, el("small", { class: "org-mono" }, role.value)))));
}

function openUserForm(user = null) {
  editing = user;
  const create = user === null;
  userForm.reset();
  userForm.querySelectorAll("[data-create-only]").forEach((node) => { node.hidden = !create; });
  userForm.querySelectorAll("[data-edit-only]").forEach((node) => { node.hidden = create; });
  document.getElementById("user-dialog-title").textContent = create ? S.create : S.edit;
  institutionOptions(userForm.elements.institution);
  const phoneHelp = document.getElementById("u-phone-help");
  if (create) {
    roleCheckboxes(document.getElementById("u-roles"), "roles");
    const filtered = filtersForm.elements.institution.value;
    if (filtered) userForm.elements.institution.value = filtered;
    phoneHelp.textContent = "";
  } else {
    userForm.elements.display_name.value = user.display_name;
    userForm.elements.email.value = user.email || "";
    userForm.elements.institution.value = user.institution?.id ?? "";
    userForm.elements.is_active.checked = user.is_active;
    phoneHelp.textContent = user.phone ? format(S.phone_keep, { phone: user.phone }) : "";
  }
  openDialog(userDialog);
  (create ? userForm.elements.username : userForm.elements.display_name).focus();
}

async function submitUser(event) {
  event.preventDefault();
  const f = userForm.elements;
  await busy(document.getElementById("user-submit"), async () => {
    try {
      if (editing === null) {
        const password = generatePassword();
        const body = {
          username: f.username.value.trim(),
          display_name: f.display_name.value.trim(),
          phone: f.phone.value.trim(),
          email: f.email.value.trim(),
          institution: Number(f.institution.value) || null,
          roles: [...userForm.querySelectorAll('input[name="roles"]:checked')].map((box) => box.value),
          password,
        };
        if (f.employee_no.value.trim()) body.employee_no = f.employee_no.value.trim();
        const user = await api("POST", config.urls.users, { body });
        userDialog.close();
        toast(S.created);
        showPassword(S.initial_password_title, user, password);
      } else {
        const body = {
          display_name: f.display_name.value.trim(),
          email: f.email.value.trim(),
          institution: Number(f.institution.value) || null,
          is_active: f.is_active.checked,
        };
        if (f.phone.value.trim()) body.phone = f.phone.value.trim();
        await api("PATCH", `${config.urls.users}${editing.id}/`, { body });
        userDialog.close();
        toast(S.saved);
      }
      await load();
    } catch (error) {
      reportError(error, userForm);
    }
  });
}

// --- roles, password reset, deactivation ------------------------------------------------------------------
const rolesDialog = document.getElementById("roles-dialog");
const rolesForm = document.getElementById("roles-form");
let rolesUser = null;

function openRoles(user) {
  rolesUser = user;
  document.getElementById("roles-user").textContent = `${user.display_name || user.username}（${user.username}）`;
  roleCheckboxes(document.getElementById("roles-list"), "roles", user.roles);
  openDialog(rolesDialog);
}

async function submitRoles(event) {
  event.preventDefault();
  const roles = [...rolesForm.querySelectorAll('input[name="roles"]:checked')].map((box) => box.value);
  await busy(document.getElementById("roles-submit"), async () => {
    try {
      await api("PUT", `${config.urls.users}${rolesUser.id}/roles/`, { body: { roles } });
      rolesDialog.close();
      toast(S.roles_saved);
      await load();
    } catch (error) {
      reportError(error, rolesForm);
    }
  });
}

async function resetPassword(user) {
  const name = user.display_name || user.username;
  if (!(await confirmDialog(format(S.confirm_reset, { name }), { danger: true }))) return;
  const password = generatePassword();
  try {
    await api("POST", `${config.urls.users}${user.id}/password-reset/`, { body: { new_password: password } });
    showPassword(S.reset_password_title, user, password);
    await load();
  } catch (error) {
    reportError(error);
  }
}

async function toggleActive(user) {
  const name = user.display_name || user.username;
  const deactivate = user.is_active;
  if (!(await confirmDialog(format(deactivate ? S.confirm_deactivate : S.confirm_activate, { name }), { danger: deactivate }))) return;
  try {
    await api("PATCH", `${config.urls.users}${user.id}/`, { body: { is_active: !deactivate } });
    toast(S.saved);
    await load();
  } catch (error) {
    reportError(error);
  }
}

if (config.can_manage) {
  document.getElementById("user-create").addEventListener("click", () => openUserForm());
  userForm.addEventListener("submit", submitUser);
  rolesForm.addEventListener("submit", submitRoles);
  document.getElementById("password-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(document.getElementById("password-value").textContent);
      toast(S.copied);
    } catch {
      window.getSelection().selectAllChildren(document.getElementById("password-value"));
    }
  });
  rowsBody.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const user = state.rows.get(Number(button.closest("tr").dataset.id));
    if (!user) return;
    ({ edit: openUserForm, roles: openRoles, reset: resetPassword, toggle: toggleActive })[button.dataset.action](user);
  });
}

// --- start -------------------------------------------------------------------------------------------------
writeFilters(new URLSearchParams(window.location.search));
fetchAll(config.urls.institutions)
  .then((rows) => {
    state.institutions = rows;
    orderAsTree();
    institutionOptions(filtersForm.elements.institution, { withAll: true });
    const wanted = new URLSearchParams(window.location.search).get("institution");
    if (wanted) filtersForm.elements.institution.value = wanted;
  })
  .catch(showError)
  .finally(() => load({ push: false }));

/** Order institutions depth-first (parent, then its children) for the indented select options. */
function orderAsTree() {
  const byParent = new Map();
  const ids = new Set(state.institutions.map((r) => r.id));
  for (const row of state.institutions) {
    const key = ids.has(row.parent_id) ? row.parent_id : null;
    if (!byParent.has(key)) byParent.set(key, []);
    byParent.get(key).push(row);
  }
  const out = [];
  const walk = (key) => (byParent.get(key) || []).sort((a, b) => a.code.localeCompare(b.code)).forEach((row) => {
    out.push(row);
    walk(row.id);
  });
  walk(null);
  state.minDepth = out.length ? Math.min(...out.map((r) => r.depth)) : 0;
  state.institutions = out;
}
