// Settings (ORG-5, ORG-7): the code tables through /api/dictionaries/ (list; edit the values for
// DICTIONARY_MANAGE) and the working-day calendar through /api/calendar/ (a month grid; a click
// marks a day as working day or day off with a note, for CALENDAR_MANAGE).
import {
  api, busy, config, confirmDialog, el, format, openDialog, reportError, S, showError, toast,
} from "./common.js";

// --- tabs ------------------------------------------------------------------------------------------------
const tabs = [...document.querySelectorAll(".org-tab")];
function showTab(tab) {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
  }
  history.replaceState(null, "", `#${tab.id.replace("tab-", "")}`);
  if (tab.id === "tab-calendar") calendar.show();
}
tabs.forEach((tab) => tab.addEventListener("click", () => showTab(tab)));

// --- dictionaries ----------------------------------------------------------------------------------------
const manageDictionaries = config.can_manage_dictionaries;
const dictList = document.getElementById("dict-list");
const dictForm = document.getElementById("dict-form");
const itemsBody = document.getElementById("dict-items");
const dict = { all: [], current: null, dirty: false };

function renderDictList() {
  dictList.replaceChildren(...dict.all.map((d) =>
    el("li", {}, el("button", { type: "button", "aria-current": String(dict.current?.code === d.code), dataset: { code: d.code }, onclick: () => chooseDictionary(d.code) },
      el("span", { class: "dict-name" }, d.name, d.is_system ? el("span", { class: "badge badge-info" }, S.system) : null),
      el("span", { class: "dict-meta" }, el("span", { class: "org-mono" }, d.code), " · ", format(S.items_count, { n: d.items.length }))))));
  if (!dict.all.length) dictList.replaceChildren(el("li", { class: "org-empty" }, S.empty));
}

function itemRow(item = {}) {
  const value = (v) => (v === undefined || v === null ? "" : String(v));
  if (!manageDictionaries) {
    return el("tr", { class: item.is_active === false ? "is-inactive" : "" },
      el("td", { class: "org-mono" }, value(item.value)),
      el("td", {}, value(item.label)),
      el("td", {}, value(item.label_en) || "—"),
      el("td", {}, value(item.sort_order)),
      el("td", {}, el("span", { class: `badge ${item.is_active === false ? "badge-muted" : "badge-success"}` }, item.is_active === false ? S.inactive : S.active)));
  }
  const row = el("tr", {},
    el("td", {}, el("input", { name: "value", value: value(item.value), maxlength: 64, "aria-label": "value", class: "org-mono" })),
    el("td", {}, el("input", { name: "label", value: value(item.label), maxlength: 100, "aria-label": "label" })),
    el("td", {}, el("input", { name: "label_en", value: value(item.label_en), maxlength: 100, "aria-label": "label_en" })),
    el("td", {}, el("input", { type: "number", name: "sort_order", value: value(item.sort_order), step: 1, "aria-label": "sort_order" })),
    el("td", {}, el("input", { type: "checkbox", name: "is_active", checked: item.is_active !== false, "aria-label": "is_active" })),
    el("td", { class: "org-actions-cell" }, el("button", { type: "button", class: "btn-link danger", onclick: () => { row.remove(); dict.dirty = true; } }, S.remove)));
  return row;
}

function renderDictionary() {
  const d = dict.current;
  document.getElementById("dict-empty").hidden = Boolean(d);
  dictForm.hidden = !d;
  renderDictList();
  if (!d) return;
  document.getElementById("dict-title").textContent = d.name;
  document.getElementById("dict-code").textContent = d.code;
  dictForm.elements.name.value = d.name;
  dictForm.elements.description.value = d.description || "";
  itemsBody.replaceChildren(...d.items.map(itemRow));
  if (!d.items.length && !manageDictionaries) itemsBody.append(el("tr", { class: "org-table-status" }, el("td", { colspan: 5 }, S.empty)));
  dict.dirty = false;
}

async function chooseDictionary(code) {
  if (dict.dirty && !(await confirmDialog(S.unsaved))) return;
  dict.current = dict.all.find((d) => d.code === code) || null;
  renderDictionary();
}

async function loadDictionaries(selectCode = null) {
  try {
    dict.all = await api("GET", config.urls.dictionaries);
  } catch (error) {
    showError(error);
    dict.all = [];
  }
  dict.current = dict.all.find((d) => d.code === (selectCode || dict.current?.code)) || dict.all[0] || null;
  document.getElementById("dict-empty").textContent = dict.all.length ? S.no_dictionary : S.empty;
  renderDictionary();
}

function readItems() {
  return [...itemsBody.querySelectorAll("tr")].map((row, index) => {
    const get = (name) => row.querySelector(`[name="${name}"]`);
    const sort = get("sort_order").value.trim();
    return {
      value: get("value").value.trim(),
      label: get("label").value.trim(),
      label_en: get("label_en").value.trim(),
      sort_order: sort === "" ? (index + 1) * 10 : Number(sort),
      is_active: get("is_active").checked,
    };
  });
}

if (manageDictionaries) {
  dictForm.addEventListener("input", () => { dict.dirty = true; });
  document.getElementById("dict-add-item").addEventListener("click", () => {
    const row = itemRow({ sort_order: (itemsBody.children.length + 1) * 10, is_active: true });
    itemsBody.append(row);
    row.querySelector("input").focus();
    dict.dirty = true;
  });
  dictForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const d = dict.current;
    await busy(document.getElementById("dict-save"), async () => {
      try {
        await api("PUT", `${config.urls.dictionaries}${encodeURIComponent(d.code)}/`, {
          body: { name: dictForm.elements.name.value.trim(), description: dictForm.elements.description.value.trim(), items: readItems() },
        });
        dict.dirty = false;
        toast(S.saved);
        await loadDictionaries(d.code);
      } catch (error) {
        reportError(error, dictForm);
      }
    });
  });
  const newDialog = document.getElementById("dict-new-dialog");
  const newForm = document.getElementById("dict-new-form");
  document.getElementById("dict-new").addEventListener("click", () => {
    newForm.reset();
    openDialog(newDialog);
    newForm.elements.code.focus();
  });
  newForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = newForm.elements.code.value.trim();
    const name = newForm.elements.name.value.trim();
    const codeInput = newForm.elements.code;
    if (!codeInput.checkValidity() || !code) {
      newForm.querySelector('[data-error-for="code"]').textContent = codeInput.validationMessage || codeInput.title;
      codeInput.setAttribute("aria-invalid", "true");
      return;
    }
    if (!name) {
      newForm.elements.name.setAttribute("aria-invalid", "true");
      newForm.elements.name.focus();
      return;
    }
    newDialog.close();
    if (dict.dirty && !(await confirmDialog(S.unsaved))) return;
    const existing = dict.all.find((d) => d.code === code);
    if (existing) {
      dict.current = existing;
    } else {
      dict.current = { code, name, description: "", is_system: false, items: [] };
      dict.all.push(dict.current);
    }
    renderDictionary();
    if (!existing) {
      document.getElementById("dict-add-item").click();
      toast(S.dictionary_draft, "info");
    }
  });
}

// --- the working-day calendar --------------------------------------------------------------------------
const calendar = (() => {
  const grid = document.getElementById("cal-grid");
  if (!grid) return { show() {} };
  const today = new Date();
  const state = { year: today.getFullYear(), month: today.getMonth() + 1, days: [], loaded: false };
  const todayIso = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, "0")}-${String(today.getDate()).padStart(2, "0")}`;
  const dayDialog = document.getElementById("day-dialog");
  const dayForm = document.getElementById("day-form");
  let editingDay = null;

  const weekdayOf = (iso) => (new Date(`${iso}T00:00:00`).getDay() + 6) % 7; // Monday = 0
  const defaultWorkday = (iso) => weekdayOf(iso) < 5;

  function dayLabel(day) {
    if (day.is_override && day.is_workday !== defaultWorkday(day.date)) return day.is_workday ? S.override_workday : S.override_holiday;
    return day.is_workday ? S.workday : S.holiday;
  }

  function render() {
    document.getElementById("cal-title").textContent = format(S.month_title, { year: state.year, month: state.month });
    const cells = S.weekdays.map((name) => el("div", { class: "org-calendar-weekday" }, name));
    if (state.days.length) {
      for (let i = 0; i < weekdayOf(state.days[0].date); i += 1) cells.push(el("div", { class: "org-day org-day-blank", "aria-hidden": "true" }));
    }
    for (const day of state.days) {
      const classes = ["org-day", day.is_workday ? "is-workday" : "is-holiday"];
      if (day.is_override) classes.push("is-override");
      if (day.date === todayIso) classes.push("is-today");
      const number = Number(day.date.slice(8));
      const content = [
        el("span", { class: "org-day-number" }, number,
          day.is_override ? el("span", { class: `badge ${day.is_workday ? "badge-info" : "badge-danger"}` }, dayLabel(day)) : null),
        el("span", { class: "org-muted" }, day.is_override ? "" : dayLabel(day)),
        day.note ? el("span", { class: "org-day-note", title: day.note }, day.note) : null,
      ];
      const attrs = { class: classes.join(" "), dataset: { date: day.date }, title: `${day.date} ${dayLabel(day)}${day.note ? ` · ${day.note}` : ""}` };
      cells.push(config.can_manage_calendar
        ? el("button", { type: "button", ...attrs, onclick: () => openDay(day) }, ...content)
        : el("div", attrs, ...content));
    }
    grid.replaceChildren(...cells);
  }

  async function load() {
    try {
      state.days = await api("GET", config.urls.calendar, { params: { year: state.year, month: state.month } });
    } catch (error) {
      showError(error);
      state.days = [];
    }
    state.loaded = true;
    render();
  }

  function move(delta) {
    const index = state.year * 12 + (state.month - 1) + delta;
    state.year = Math.floor(index / 12);
    state.month = (index % 12) + 1;
    load();
  }

  function openDay(day) {
    editingDay = day;
    dayForm.reset();
    document.getElementById("day-dialog-title").textContent = `${day.date}（${S.weekdays[weekdayOf(day.date)]}）`;
    dayForm.querySelector(`input[name="is_workday"][value="${day.is_workday}"]`).checked = true;
    dayForm.elements.note.value = day.note || "";
    openDialog(dayDialog);
  }

  async function saveDay(isWorkday, note) {
    try {
      await api("PUT", config.urls.calendar, { body: { date: editingDay.date, is_workday: isWorkday, note } });
      dayDialog.close();
      toast(format(S.day_saved, { date: editingDay.date, status: isWorkday ? S.workday : S.holiday }));
      await load();
    } catch (error) {
      reportError(error, dayForm);
    }
  }

  document.getElementById("cal-prev").addEventListener("click", () => move(-1));
  document.getElementById("cal-next").addEventListener("click", () => move(1));
  document.getElementById("cal-today").addEventListener("click", () => {
    state.year = today.getFullYear();
    state.month = today.getMonth() + 1;
    load();
  });
  if (dayForm) {
    dayForm.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(document.getElementById("day-save"), () =>
        saveDay(dayForm.querySelector('input[name="is_workday"]:checked').value === "true", dayForm.elements.note.value.trim()));
    });
    document.getElementById("day-reset").addEventListener("click", () => saveDay(defaultWorkday(editingDay.date), ""));
  }

  return { show() { if (!state.loaded) load(); } };
})();

// --- start -----------------------------------------------------------------------------------------------
loadDictionaries().finally(() => { document.body.dataset.ready = "true"; });
const wanted = document.getElementById(`tab-${window.location.hash.slice(1)}`);
if (wanted) showTab(wanted);
