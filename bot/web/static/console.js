// faultdesk web console: the dispatcher's board and the ticket page.
// Plain browser JavaScript, no library and no build step: two screens of DOM built with
// textContent (never innerHTML with data), so nothing a reporter typed can become markup.
"use strict";

const state = {
  initData: "",
  me: null,
  board: null,
  offset: 0, // server clock minus this browser's clock, in ms
  shown: 100,
  filters: { site: "", level: "", status: "", engineer: "", overdue: false, q: "" },
  polling: null,
  loading: false,
};
const PAGE = 100;
const POLL_MS = 1000;

// --- Telegram: initData and theme from the URL fragment (no script from telegram.org) ---

function readTelegram() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const tg = window.Telegram && window.Telegram.WebApp;
  let initData = hash.get("tgWebAppData") || (tg && tg.initData) || "";
  if (initData) sessionStorage.setItem("tgWebAppData", initData);
  else initData = sessionStorage.getItem("tgWebAppData") || "";
  state.initData = initData;
  let theme = null;
  try {
    theme = JSON.parse(hash.get("tgWebAppThemeParams") || sessionStorage.getItem("tgTheme") || "null");
  } catch (e) { theme = null; }
  if (theme && typeof theme === "object") {
    sessionStorage.setItem("tgTheme", JSON.stringify(theme));
    for (const [key, value] of Object.entries(theme)) {
      if (/^[a-z_]+$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(String(value))) {
        document.documentElement.style.setProperty("--tg-" + key.replace(/_/g, "-"), value);
      }
    }
  }
}

// --- talking to the server ---

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (state.initData) headers["X-Telegram-Init-Data"] = state.initData;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch("/web/api/" + path, {
    method: options.method || "GET",
    headers,
    credentials: "same-origin",
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const message = (data && data.error) || (state.me ? T("server_error") : response.statusText);
    throw new ApiError(response.status, message);
  }
  return data;
}

// --- words ---

function T(key, params = {}) {
  const text = (state.me && state.me.texts[key]) || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : ""));
}
function L(table, key) {
  return (state.me && state.me.labels[table][String(key)]) || String(key);
}
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
function duration(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const sep = state.me && state.me.language === "zh_CN" ? "" : " ";
  if (days) return `${days}${sep}${T("d")} ${hours}${sep}${T("h")}`;
  if (hours) return `${hours}${sep}${T("h")} ${mins}${sep}${T("min")}`;
  return `${mins}${sep}${T("min")}`;
}
function serverNow() { return Date.now() + state.offset; }

function toast(text, error = false) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.className = error ? "toast error" : "toast";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}
function message(text) {
  const main = document.getElementById("main");
  main.replaceChildren(el("p", { class: "message", id: "message" }, text));
}

// --- countdowns: green, amber from the 80 % step, red once missed, paused as paused ---

// Moments are milliseconds since the epoch.
function clockState(clock, now) {
  if (clock.paused || !clock.due_at) return "paused";
  const due = clock.due_at;
  if (clock.breached || now >= due) return "red";
  if (clock.amber_at) return now >= clock.amber_at ? "amber" : "green";
  const started = clock.started_at;
  return now >= started + 0.8 * (due - started) ? "amber" : "green";
}
function clockText(clock, now) {
  const name = L("clock", clock.kind);
  if (clock.paused || !clock.due_at) return `${name}: ${T("paused")}`;
  const due = clock.due_at;
  return now >= due ? `${name}: ${T("missed", { time: duration(now - due) })}`
                    : `${name}: ${T("left", { time: duration(due - now) })}`;
}
function clockNode(clock) {
  const node = el("span", { class: "clock" });
  node.clock = clock;
  paintClock(node, serverNow());
  return node;
}
function paintClock(node, now) {
  const colour = clockState(node.clock, now);
  node.className = "clock " + colour;
  node.dataset.state = colour;
  node.textContent = clockText(node.clock, now);
}
function tick() {
  const now = serverNow();
  for (const node of document.querySelectorAll(".clock")) if (node.clock) paintClock(node, now);
}

// --- the board ---

function boardQuery() {
  const f = state.filters;
  const query = new URLSearchParams();
  for (const key of ["site", "level", "status", "engineer", "q"]) if (f[key]) query.set(key, f[key]);
  if (f.overdue) query.set("overdue", "1");
  // The server sends the rows shown so far (and the counts over all): a board of
  // thousands of tickets draws its first screen without waiting for the rest.
  query.set("limit", String(state.shown));
  return query.toString();
}

async function loadBoard() {
  // A filter or "more" changed while a board was on its way: ask again once it is here.
  if (state.loading) { state.again = true; return; }
  state.loading = true;
  state.again = false;
  try {
    const board = await api("board?" + boardQuery());
    // Clocks come as [kind, started, due, amber, paused, breached] in Unix seconds.
    for (const ticket of board.tickets) {
      ticket.clocks = ticket.clocks.map(([kind, started, due, amber, paused, breached]) => ({
        kind, paused, breached,
        started_at: started * 1000, due_at: due === null ? null : due * 1000,
        amber_at: amber === null ? null : amber * 1000,
      }));
    }
    state.board = board;
    state.offset = board.now * 1000 - Date.now();
    renderBoard();
    setLive(true);
  } catch (error) {
    handleError(error);
  } finally {
    state.loading = false;
  }
  if (state.again) await loadBoard();
}

function setLive(ok) {
  const live = document.getElementById("live");
  live.textContent = ok ? "● " + T("live") : T("offline");
  live.className = ok ? "live" : "live off";
}

function select(name, first, options, value) {
  const node = el("select", {
    name, "aria-label": first,
    onchange: (event) => { state.filters[name] = event.target.value; state.shown = PAGE; loadBoard(); },
  }, el("option", { value: "" }, first));
  for (const [key, text] of options) {
    node.append(el("option", { value: String(key), selected: String(key) === String(value) }, text));
  }
  return node;
}

function filtersBar(board) {
  const f = state.filters;
  const search = el("input", {
    type: "search", name: "q", placeholder: T("search"), value: f.q, "aria-label": T("search"),
  });
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { f.q = search.value; state.shown = PAGE; loadBoard(); }, 300);
  });
  const overdue = el("input", {
    type: "checkbox", name: "overdue", checked: f.overdue,
    onchange: (event) => { f.overdue = event.target.checked; loadBoard(); },
  });
  return el("div", { class: "filters" },
    search,
    board.scope_site_id === null
      ? select("site", T("all_sites"), board.sites.map((s) => [s.id, s.name]), f.site) : null,
    select("level", T("all_levels"), [1, 2, 3, 4].map((n) => [n, L("level", n)]), f.level),
    select("status", T("all_states"), state.me.open_states.map((s) => [s, L("status", s)]), f.status),
    select("engineer", T("all_engineers"), board.engineers.map((e) => [e.id, e.name]), f.engineer),
    el("label", {}, overdue, T("overdue_only")),
  );
}

function renderBoard() {
  const board = state.board;
  document.getElementById("title").textContent = T("title");
  if (state.me.dashboard) {
    const back = document.getElementById("back");
    back.textContent = T("dashboard") + " →";
    back.href = "/web/?view=dashboard";
    back.hidden = false;
  }
  const register = document.getElementById("assets-link");
  register.textContent = T("assets") + " →";
  register.hidden = !state.me.assets;
  document.getElementById("summary").textContent =
    T("open_count", { open: board.total_open, overdue: board.overdue_open });
  const main = document.getElementById("main");
  const focused = document.activeElement && document.activeElement.name;
  const caret = document.activeElement && document.activeElement.selectionStart;
  const head = el("tr", {},
    ...["#", T("level"), T("state"), T("assignee"), T("site"), T("device"), T("deadlines"), ""]
      .map((text) => el("th", {}, text)));
  const body = el("tbody");
  for (const ticket of board.tickets) body.append(row(ticket, board));
  const parts = [filtersBar(board)];
  if (board.tickets.length === 0) parts.push(el("p", { class: "message", id: "empty" }, T("none_open")));
  else parts.push(el("table", { class: "board", id: "board" }, el("thead", {}, head), body));
  const rest = board.listed - board.tickets.length;
  if (rest > 0) {
    parts.push(el("button", {
      class: "quiet more", id: "more",
      onclick: () => { state.shown = board.tickets.length + PAGE; loadBoard(); },
    }, T("more", { n: Math.min(rest, PAGE) })));
  }
  main.replaceChildren(...parts);
  if (focused === "q") {
    const search = main.querySelector("input[name=q]");
    search.focus();
    if (caret !== null && caret !== undefined) search.setSelectionRange(caret, caret);
  }
}

function row(ticket, board) {
  const device = [ticket.asset_tag, ticket.asset_kind ? L("kind", ticket.asset_kind) : null]
    .filter(Boolean).join(" · ") || "—";
  const actions = el("td", { class: "actions" });
  if (board.may_act) {
    actions.append(
      el("button", { class: "quiet", "data-action": "assign", onclick: () => assignDialog(ticket) },
        ticket.assignee_id ? T("reassign") : T("assign")),
      el("button", { class: "quiet", "data-action": "level", onclick: () => levelDialog(ticket) },
        T("set_level")),
      el("button", { class: "quiet", "data-action": "cancel", onclick: () => cancelDialog(ticket) },
        T("cancel")),
    );
  }
  return el("tr", { class: "row", "data-ticket": ticket.id },
    el("td", { class: "num" }, el("a", { href: `/web/?ticket=${ticket.id}` }, `#${ticket.id}`),
      el("span", { class: "symptom" }, ticket.symptom)),
    el("td", { "data-label": T("level") },
      el("span", { class: `lvl lvl${ticket.level}`, title: L("level", ticket.level) }, ticket.level)),
    el("td", { "data-label": T("state"), class: "status" }, L("status", ticket.status)),
    el("td", { "data-label": T("assignee"), class: "assignee" }, ticket.assignee || T("unassigned")),
    el("td", { "data-label": T("site") }, ticket.site),
    el("td", { "data-label": T("device") }, device),
    el("td", { "data-label": T("deadlines") }, ...ticket.clocks.map(clockNode)),
    actions,
  );
}

// --- actions: the same core services as the chat ---

function dialog(title, fields, submit) {
  const box = document.getElementById("dialog");
  const error = el("p", { class: "error", role: "alert" });
  const form = el("form", { method: "dialog" },
    el("strong", {}, title), ...fields, error,
    el("div", { class: "actions" },
      el("button", { type: "submit", id: "dialog-ok" }, T("ok")),
      el("button", { type: "button", class: "quiet", onclick: () => { box.hidden = true; } }, T("close"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const result = await submit();
      box.hidden = true;
      toast((result && result.message) || T("done"));
      await reload();
    } catch (failure) {
      error.textContent = failure.message;
      if (failure.status === 401) handleError(failure);
    }
  });
  box.replaceChildren(form);
  box.hidden = false;
  const first = form.querySelector("select, textarea");
  if (first) first.focus();
}

function assignDialog(ticket) {
  const engineers = state.board.engineers.filter((e) => e.site_id === null || e.site_id === ticket.site_id);
  const choice = el("select", { name: "engineer_id", "aria-label": T("assignee") },
    ...engineers.map((e) => el("option", { value: e.id, selected: e.id === ticket.assignee_id }, e.name)));
  dialog(`#${ticket.id} · ${ticket.assignee_id ? T("reassign") : T("assign")}`, [choice], () =>
    api(`tickets/${ticket.id}/assign`, { method: "POST", body: { engineer_id: Number(choice.value) } }));
}
function levelDialog(ticket) {
  const choice = el("select", { name: "level", "aria-label": T("level") },
    ...[1, 2, 3, 4].map((n) => el("option", { value: n, selected: n === ticket.level }, L("level", n))));
  dialog(`#${ticket.id} · ${T("set_level")}`, [choice], () =>
    api(`tickets/${ticket.id}/level`, { method: "POST", body: { level: Number(choice.value) } }));
}
function cancelDialog(ticket) {
  const reason = el("textarea", { name: "reason", rows: 3, maxlength: 500, placeholder: T("reason") });
  dialog(`#${ticket.id} · ${T("cancel")}`, [reason], () =>
    api(`tickets/${ticket.id}/cancel`, { method: "POST", body: { reason: reason.value } }));
}

// --- the ticket page ---

async function loadTicket(id) {
  const ticket = await api(`tickets/${encodeURIComponent(id)}`);
  state.offset = ticket.now * 1000 - Date.now();
  document.getElementById("title").textContent = T("ticket_title", { id: ticket.id });
  document.getElementById("summary").textContent = L("status", ticket.status);
  const back = document.getElementById("back");
  back.textContent = T("back");
  back.hidden = !state.me.board;
  const device = [ticket.asset_tag, ticket.asset_kind ? L("kind", ticket.asset_kind) : null, ticket.brand_model]
    .filter(Boolean).join(" · ") || "—";
  const fields = [
    [T("symptom"), ticket.symptom], [T("level"), L("level", ticket.level)],
    [T("state"), L("status", ticket.status)], [T("assignee"), ticket.assignee || T("unassigned")],
    [T("site"), ticket.site], [T("location"), ticket.location || "—"], [T("device"), device],
    [T("reporter"), ticket.reporter], [T("phone"), ticket.phone || "—"],
    [T("reported"), ticket.reported],
    [T("warranty"), ticket.warranty_until || "—"], [T("photos"), ticket.photos],
  ];
  const list = el("dl", { class: "fields", id: "fields" });
  for (const [name, value] of fields) list.append(el("dt", {}, name), el("dd", {}, value));
  const clocks = el("div", { id: "clocks" }, ...ticket.clocks.map((c) => {
    if (c.stopped_at) {
      return el("span", { class: "clock " + (c.met ? "green" : "red"), "data-state": c.met ? "met" : "missed" },
        `${L("clock", c.kind)}: ${c.stopped} (${T("due")} ${c.due || "—"})`);
    }
    const due = c.due_at ? Date.parse(c.due_at) : null;
    return clockNode({ ...c, started_at: due, due_at: due, amber_at: null });
  }));
  const timeline = el("ol", { class: "timeline", id: "timeline" },
    ...ticket.timeline.map((line) => el("li", {}, line)));
  const repairs = el("ul", {}, ...ticket.repairs.map((r) =>
    el("li", {}, el("a", { href: `/web/?ticket=${r.id}` }, `#${r.id}`), ` ${r.reported} · ${r.symptom}`)));
  const parts = [list];
  if (ticket.sheet) {
    // The PDF is fetched with the same proof of identity as every other request.
    parts.push(el("p", {}, el("button", { class: "quiet", id: "sheet", onclick: () => openSheet(ticket.id) }, T("sheet"))));
  }
  parts.push(el("h2", {}, T("deadlines")), clocks);
  if (ticket.usage.length) {
    parts.push(el("h2", {}, T("business_time")), el("ul", { id: "usage" }, ...ticket.usage.map((u) =>
      el("li", { "data-clock": u.kind, class: u.share >= 1 ? "red" : u.share >= 0.8 ? "amber" : "" },
        `${L("clock", u.kind)}: ${T("used_of", { used: duration(u.used * 1000), target: duration(u.target * 1000), percent: Math.round(u.share * 100) })}`))));
  }
  if (ticket.steps.length || ticket.pages.length) {
    const steps = ticket.steps.map((step) => el("li", { "data-step": `${step.clock}:${step.percent}`, "data-status": step.status },
      `${L("clock", step.clock)} ${step.percent}%: ` + (step.status === "done" ? T("step_done", { time: step.done })
        : step.status === "skipped" ? T("step_skipped", { time: step.done })
        : step.status === "cancelled" ? T("step_cancelled") : T("step_pending", { time: step.due || T("paused") }))));
    const pages = ticket.pages.map((page) => el("li", { class: "page", "data-acknowledged": page.acknowledged ? "1" : "0" },
      `${L("clock", page.clock)}: ${T("paged", { to: page.to, sent: page.sent })} · ` +
        (page.acknowledged ? T("acknowledged", { by: page.by || "—", time: page.acknowledged }) : T("not_acknowledged"))));
    parts.push(el("h2", {}, T("escalation")), el("ul", { id: "escalation" }, ...steps, ...pages));
  }
  if (ticket.photos) {
    const gallery = el("div", { id: "photos", class: "photos" });
    for (let n = 0; n < ticket.photos; n += 1) gallery.append(photoNode(ticket.id, n));
    parts.push(el("h2", {}, T("photos")), gallery);
  }
  parts.push(el("h2", {}, T("timeline")), timeline);
  if (ticket.repairs.length) parts.push(el("h2", {}, T("repairs")), repairs);
  document.getElementById("main").replaceChildren(...parts);
}

// A photo is fetched with the same proof of identity as every other request.
function photoNode(ticketId, n) {
  const img = el("img", { alt: `${T("photos")} ${n + 1}`, "data-photo": n, loading: "lazy" });
  const headers = state.initData ? { "X-Telegram-Init-Data": state.initData } : {};
  fetch(`/web/api/tickets/${ticketId}/photos/${n}`, { headers, credentials: "same-origin" })
    .then(async (response) => {
      if (!response.ok) {
        let text = T("server_error");
        try { text = (await response.json()).error || text; } catch (e) { /* keep the general sentence */ }
        img.replaceWith(el("p", { class: "hint", "data-photo-error": n }, text));
        return;
      }
      img.src = URL.createObjectURL(await response.blob());
    })
    .catch(() => img.replaceWith(el("p", { class: "hint" }, T("server_error"))));
  return img;
}

async function openSheet(id) {
  const headers = state.initData ? { "X-Telegram-Init-Data": state.initData } : {};
  const response = await fetch(`/web/api/tickets/${id}/sheet.pdf`, { headers, credentials: "same-origin" });
  if (!response.ok) {
    let text = T("server_error");
    try { text = (await response.json()).error || text; } catch (e) { /* keep the general sentence */ }
    toast(text, true);
    return;
  }
  window.open(URL.createObjectURL(await response.blob()), "_blank");
}

// --- the engineer's view: my open tickets, nearest deadline first ---

function clocksFrom(list) {
  return list.map(([kind, started, due, amber, paused, breached]) => ({
    kind, paused, breached,
    started_at: started === null ? (due === null ? null : due * 1000) : started * 1000,
    due_at: due === null ? null : due * 1000,
    amber_at: amber === null ? null : amber * 1000,
  }));
}

async function loadMine() {
  const mine = await api("mine");
  state.mine = mine;
  state.offset = mine.now * 1000 - Date.now();
  document.getElementById("title").textContent = T("mine_title");
  document.getElementById("summary").textContent = "";
  const main = document.getElementById("main");
  const rounds = roundsNode(mine.rounds);
  if (mine.tickets.length === 0) {
    main.replaceChildren(el("p", { class: "message", id: "empty" }, T("mine_none")), ...rounds);
    return;
  }
  const list = el("ol", { class: "timeline", id: "mine" });
  for (const ticket of mine.tickets) {
    const device = [ticket.asset_tag, ticket.asset_kind ? L("kind", ticket.asset_kind) : null]
      .filter(Boolean).join(" · ");
    list.append(el("li", { "data-ticket": ticket.id },
      el("a", { class: "num", href: `/web/?ticket=${ticket.id}` }, `#${ticket.id}`), " ",
      el("span", { class: `lvl lvl${ticket.level}` }, ticket.level), " ",
      L("status", ticket.status),
      el("span", { class: "symptom" }, ticket.symptom),
      el("div", {}, [ticket.site, ticket.address, ticket.location, device].filter(Boolean).join(" · "), " ",
        ticket.map ? el("a", { class: "map", href: ticket.map, target: "_blank", rel: "noopener" }, T("map")) : null),
      el("div", {}, `${ticket.reporter}${ticket.phone ? " · " : ""}`,
        ticket.phone ? el("a", { href: `tel:${ticket.phone}` }, ticket.phone) : null),
      el("div", {}, ...clocksFrom(ticket.clocks).map(clockNode))));
  }
  main.replaceChildren(list, ...rounds);
}

// The inspection rounds open at my site, each device ticked off as its result is saved.
const MARKS = { ok: "✓", fault: "✗", skipped: "–" };
function roundsNode(rounds) {
  if (!rounds.length) return [];
  return [el("h2", {}, T("rounds")), ...rounds.map((round) => {
    const done = round.devices.filter((d) => d.outcome).length;
    return el("section", { class: "round", "data-round": round.id },
      el("p", {}, el("strong", {}, `${round.plan} ${round.period}`), " · ",
        T("round_progress", { done, total: round.devices.length, due: round.due })),
      el("ul", { class: "checklist" }, ...round.devices.map((d) =>
        el("li", { "data-asset": d.tag, "data-outcome": d.outcome || "pending" },
          `${MARKS[d.outcome] || "☐"} ${d.tag} · ${L("kind", d.kind)}${d.location ? " · " + d.location : ""}`,
          d.outcome ? ` · ${T("outcome_" + d.outcome)}` : "",
          d.ticket ? el("a", { href: `/web/?ticket=${d.ticket}` }, ` #${d.ticket}`) : null,
          d.checklist ? el("button", {
            class: "quiet check", type: "button", "data-check": d.tag,
            onclick: () => checkDialog(round, d),
          }, T("check_device")) : null))));
  })];
}

// One device's checklist, as the chat's walk asks it: each item OK / fault (a reading is
// typed), a note, and for a fault its impact (a ticket is opened, as in chat).
function checkDialog(round, device) {
  const fields = device.checklist.map((item) => {
    const input = item.number
      ? el("input", { name: item.code, type: "number", min: 0, max: 100000, step: "any", required: true })
      : el("select", { name: item.code }, ...item.answers.map(([value, text]) => el("option", { value }, text)));
    return el("label", { class: "field" }, item.label, input);
  });
  const note = el("textarea", { name: "note", rows: 2, maxlength: 500, placeholder: T("check_note") });
  const impact = el("select", { name: "impact", "aria-label": T("check_impact") },
    el("option", { value: "" }, "—"),
    ...state.mine.impacts.map(([value, text]) => el("option", { value }, text)));
  const impactField = el("label", { class: "field", hidden: true }, T("check_impact"), impact);
  const faulty = () => device.checklist.some((item) =>
    !item.number && fields[device.checklist.indexOf(item)].querySelector("select").value === "fault");
  for (const field of fields) {
    field.addEventListener("change", () => { impactField.hidden = !faulty(); });
  }
  dialog(`${device.tag} · ${L("kind", device.kind)}`, [...fields, note, impactField], () => {
    const answers = {};
    for (const item of device.checklist) {
      const input = fields[device.checklist.indexOf(item)].querySelector("input, select");
      answers[item.code] = item.number ? input.value.trim() : input.value;
    }
    return api(`inspections/${round.id}/devices/${device.asset_id}`, {
      method: "POST",
      body: { answers, note: note.value, impact: faulty() && impact.value ? impact.value : null },
    });
  });
}

// --- the manager's dashboard: figures and charts from the server's own report code ---

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = { arrival: "#2a7ab0", fix: "#1f8a46", satisfaction: "#b86e00", repeat: "#c62828" };

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// Four KPI lines over the months, 0-100 %, drawn as SVG polylines (gaps where nothing counted).
function trendChart(trend, labels) {
  const width = 640, height = 220, left = 36, bottom = 24, top = 8;
  const x = (i) => left + (i * (width - left - 8)) / Math.max(1, trend.length - 1);
  const y = (v) => top + (1 - v) * (height - top - bottom);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", id: "trend-chart", role: "img" });
  for (const v of [0, 0.5, 0.9, 1]) {
    chart.append(svg("line", { x1: left, x2: width - 8, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: 2, y: y(v) + 4, class: "axis" }, `${Math.round(v * 100)}%`));
  }
  trend.forEach((m, i) => { if (i % 2 === 0 || trend.length < 8) chart.append(svg("text", { x: x(i) - 14, y: height - 6, class: "axis" }, m.month.slice(2))); });
  for (const key of Object.keys(COLOURS)) {
    let path = "";
    const dots = [];
    trend.forEach((m, i) => {
      if (m[key] === null) return;
      path += `${path ? "L" : "M"}${x(i).toFixed(1)},${y(m[key]).toFixed(1)} `;
      dots.push(svg("circle", { cx: x(i).toFixed(1), cy: y(m[key]).toFixed(1), r: 3.5, fill: COLOURS[key] },
        svg("title", {}, `${labels[key]} ${m.month}: ${Math.round(m[key] * 1000) / 10}%`)));
    });
    if (path) chart.append(svg("path", { d: path, stroke: COLOURS[key], fill: "none", "stroke-width": 2, "data-kpi": key }), ...dots);
  }
  const legend = el("div", { class: "legend" }, ...Object.keys(COLOURS).map((key) =>
    el("span", { style: `color:${COLOURS[key]}` }, `● ${labels[key]}`)));
  return el("div", {}, chart, legend);
}

// Each site's on-time arrival as a bar (and its score), from the same monthly counts.
function siteBars(sites, labels) {
  return el("div", { id: "site-bars" }, ...sites.map((site) => {
    const value = site.arrival === null ? 0 : site.arrival;
    return el("div", { class: "bar-row" },
      el("span", { class: "bar-name" }, site.name),
      el("div", { class: "meter" }, el("div", { class: "meter-fill", style: `width:${(value * 100).toFixed(1)}%` })),
      el("span", { class: "bar-value" },
        `${labels.arrival} ${site.arrival === null ? "—" : Math.round(value * 1000) / 10 + "%"} · ${site.score}/100`));
  }));
}

function weekBars(weeks) {
  const most = Math.max(1, ...weeks.map((w) => w.fired));
  const width = 360, height = 120, step = width / weeks.length;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height + 16}`, class: "chart", id: "escalations", role: "img" });
  weeks.forEach((w, n) => {
    const tall = (w.fired / most) * height;
    const paged = (w.paged / most) * height;
    const bar = svg("rect", { x: n * step + 2, y: height - tall, width: step - 4, height: tall, fill: "#b86e00", "data-week": w.week, "data-fired": w.fired });
    bar.append(svg("title", {}, T("week_line", { week: w.week, fired: w.fired, paged: w.paged })));
    chart.append(bar, svg("rect", { x: n * step + 2, y: height - paged, width: step - 4, height: paged, fill: "#c62828" }));
  });
  const list = el("ul", { class: "hint", id: "weeks" }, ...weeks.filter((w) => w.fired).map((w) =>
    el("li", { "data-week": w.week }, T("week_line", { week: w.week, fired: w.fired, paged: w.paged }))));
  return el("div", {}, chart, list);
}

async function loadDashboard() {
  const data = await api("dashboard");
  document.getElementById("title").textContent = T("dashboard");
  document.getElementById("summary").textContent = "";
  const back = document.getElementById("back");
  back.textContent = T("back");
  back.hidden = !state.me.board;
  document.getElementById("main").replaceChildren(
    el("p", { id: "now" }, T("now_line", data.now)),
    el("h2", {}, T("month_kpis", { month: data.month })),
    el("ul", { id: "kpis" }, ...data.kpis.map((k) => el("li", { "data-kpi": k.key }, k.line))),
    el("p", { id: "score" }, T("score", { score: data.score, points: data.deduction })),
    el("ul", { id: "explained", class: "hint" }, ...data.explained.map((line) => el("li", {}, line))),
    el("h2", {}, T("quarter_title", { quarter: data.quarter.label })),
    el("p", { id: "quarter" }, data.quarter.known
      ? T("quarter_score", { score: data.quarter.score_low, payment: data.quarter.payment_low })
      : T("quarter_range", { low: data.quarter.score_low, high: data.quarter.score_high,
          payment_low: data.quarter.payment_low, payment_high: data.quarter.payment_high })),
    el("p", { class: "hint", id: "quarter-parts" }, T("quarter_parts", {
      onsite: data.quarter.onsite, other: data.quarter.other,
      survey: data.quarter.survey === null ? "—" : data.quarter.survey })),
    el("h2", {}, T("trend")), trendChart(data.trend, data.labels),
    el("h2", {}, T("escalations_week")), weekBars(data.escalations),
    el("h2", {}, T("by_site")), siteBars(data.sites, data.labels),
  );
}


// --- the asset register: list, search and filter, one device's page, edits, QR labels ---

const picked = new Set();

function plainSelect(name, first, options, value) {
  const node = el("select", { name, id: name, "aria-label": first }, el("option", { value: "" }, first));
  for (const [key, text] of options) {
    node.append(el("option", { value: String(key), selected: String(key) === String(value) }, text));
  }
  return node;
}

async function loadAssets() {
  const query = new URLSearchParams();
  const f = state.assetFilters || (state.assetFilters = { q: "", site: "", kind: "" });
  for (const key of ["q", "site", "kind"]) if (f[key]) query.set(key, f[key]);
  const data = await api("assets?" + query.toString());
  document.getElementById("title").textContent = T("assets");
  document.getElementById("summary").textContent = T("assets_count", { shown: data.assets.length, total: data.total });
  const back = document.getElementById("back");
  back.textContent = T("back");
  back.hidden = !state.me.board;
  const search = el("input", { id: "asset-q", type: "search", placeholder: T("asset_search"), value: f.q });
  search.addEventListener("change", () => { f.q = search.value; loadAssets().catch(handleError); });
  const sites = plainSelect("asset-site", T("all_sites"), data.sites.map((s) => [s.id, s.name]), f.site);
  sites.addEventListener("change", () => { f.site = sites.value; loadAssets().catch(handleError); });
  const kinds = plainSelect("asset-kind", T("all_kinds"),
    Object.keys(state.me.labels.kind).map((k) => [k, L("kind", k)]), f.kind);
  kinds.addEventListener("change", () => { f.kind = kinds.value; loadAssets().catch(handleError); });
  const labels = el("button", { id: "labels", onclick: () => downloadLabels() }, T("labels_pdf", { n: picked.size }));
  const bar = el("div", { class: "filters" }, search, sites, kinds, labels);
  const main = document.getElementById("main");
  if (data.assets.length === 0) {
    main.replaceChildren(bar, el("p", { class: "message", id: "empty" }, T("assets_none")));
    return;
  }
  const list = el("ul", { class: "assets", id: "assets" });
  for (const asset of data.assets) {
    const box = el("input", { type: "checkbox", class: "pick", "aria-label": asset.tag, checked: picked.has(asset.tag) });
    box.addEventListener("change", () => {
      if (box.checked) picked.add(asset.tag); else picked.delete(asset.tag);
      labels.textContent = T("labels_pdf", { n: picked.size });
    });
    const flags = [];
    if (asset.repeats) flags.push(el("span", { class: "flag red", "data-flag": "repeat" }, T("repeat_flag")));
    if (!asset.active) flags.push(el("span", { class: "flag", "data-flag": "retired" }, T("retired")));
    const details = [L("kind", asset.kind), asset.brand_model, asset.site, asset.location, asset.user]
      .filter(Boolean).join(" · ");
    list.append(el("li", { "data-asset": asset.tag }, box, " ",
      el("a", { class: "num", href: `/web/?asset=${encodeURIComponent(asset.tag)}` }, asset.tag), " ",
      el("span", {}, details), " ",
      el("span", { class: "hint" }, `${T("repairs_count")}: ${asset.repairs}`), " ", ...flags));
  }
  main.replaceChildren(bar, list);
}

async function downloadLabels() {
  if (picked.size === 0) { toast(T("labels_none"), true); return; }
  const headers = { "Content-Type": "application/json" };
  if (state.initData) headers["X-Telegram-Init-Data"] = state.initData;
  const response = await fetch("/web/api/assets/labels.pdf", {
    method: "POST", headers, credentials: "same-origin", body: JSON.stringify({ tags: [...picked] }),
  });
  if (!response.ok) {
    let text = T("server_error");
    try { text = (await response.json()).error || text; } catch (e) { /* keep the general sentence */ }
    toast(text, true);
    return;
  }
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "faultdesk-labels.pdf", id: "labels-file" });
  document.body.append(link);
  link.click();
  link.remove();
  toast(T("done"));
}

function warrantyText(asset) {
  if (!asset.warranty_until) return T("no_warranty");
  return T(asset.in_warranty ? "in_warranty" : "out_of_warranty", { date: asset.warranty_until });
}

async function loadAsset(tag) {
  const asset = await api(`assets/${encodeURIComponent(tag)}`);
  renderAsset(asset);
}

function renderAsset(asset) {
  document.getElementById("title").textContent = asset.tag;
  document.getElementById("summary").textContent = L("kind", asset.kind);
  const back = document.getElementById("back");
  back.textContent = "← " + T("assets");
  back.href = "/web/?view=assets";
  back.hidden = false;
  const list = el("dl", { class: "fields", id: "fields" },
    el("dt", {}, T("site")), el("dd", {}, asset.site),
    el("dt", {}, T("warranty_state")), el("dd", { id: "warranty", class: asset.in_warranty === false ? "red" : "" }, warrantyText(asset)));
  for (const [name, value] of Object.entries(asset.fields)) {
    if (name === "warranty_until" || value === "" || value === null) continue;
    list.append(el("dt", {}, T("field_" + name)), el("dd", { "data-field": name }, value));
  }
  const parts = [list];
  if (asset.repeats) parts.push(el("p", { class: "flag red", id: "repeat" }, `${T("repeat_flag")}: ${asset.repeats}`));
  if (asset.may_edit) parts.push(el("p", {}, el("button", { id: "edit", class: "quiet", onclick: () => editAsset(asset) }, T("edit"))));
  parts.push(el("h2", {}, T("repairs_count")));
  parts.push(asset.repairs.length === 0 ? el("p", { class: "hint" }, T("no_repairs")) :
    el("ul", { id: "repairs" }, ...asset.repairs.map((r) => el("li", { "data-ticket": r.id },
      el("a", { href: `/web/?ticket=${r.id}` }, `#${r.id}`),
      ` ${r.reported} · ${L("status", r.status)} · ${r.symptom}`,
      r.repeat_of ? el("span", { class: "flag red", "data-flag": "repeat" }, " " + T("repeat_of", { id: r.repeat_of })) : null))));
  parts.push(el("h2", {}, T("inspections")));
  parts.push(asset.inspections.length === 0 ? el("p", { class: "hint" }, T("no_inspections")) :
    el("ul", { id: "inspections" }, ...asset.inspections.map((i) => el("li", { "data-outcome": i.outcome },
      `${i.plan} ${i.period} · ${T("outcome_" + i.outcome)} · ${i.checked}${i.note ? " · " + i.note : ""}`))));
  document.getElementById("main").replaceChildren(...parts);
}

function editAsset(asset) {
  const inputs = [];
  for (const name of Object.keys(asset.fields)) {
    const input = el("input", { name, value: asset.fields[name] || "", type: name === "warranty_until" || name === "manufactured_on" ? "date" : "text" });
    input.dataset.before = asset.fields[name] || "";
    inputs.push(input);
  }
  dialog(`${asset.tag} · ${T("edit")}`, inputs.map((input) => el("label", {}, T("field_" + input.name), input)), async () => {
    const changes = {};
    for (const input of inputs) if (input.value !== input.dataset.before) changes[input.name] = input.value;
    if (Object.keys(changes).length === 0) return null;
    const answer = await api(`assets/${encodeURIComponent(asset.tag)}`, { method: "POST", body: { changes } });
    renderAsset(answer);
    return answer;
  });
}

// --- start ---

function handleError(error) {
  if (error instanceof ApiError && error.status === 401) {
    stopPolling();
    message(state.me ? T("signed_out") : error.message);
    return;
  }
  if (error instanceof ApiError && (error.status === 403 || error.status === 404)) { message(error.message); return; }
  if (error instanceof ApiError) { toast(error.message, true); return; }
  setLive(false);
}

async function poll() {
  try {
    const { marker } = await api("marker");
    setLive(true);
    if (state.board && marker !== state.board.marker) await loadBoard();
  } catch (error) {
    handleError(error);
  }
}
function stopPolling() { if (state.polling) clearInterval(state.polling); state.polling = null; }

async function reload() {
  const params = new URLSearchParams(location.search);
  const ticket = params.get("ticket");
  if (ticket) await loadTicket(ticket);
  else if (params.get("asset")) await loadAsset(params.get("asset"));
  else if (params.get("view") === "assets") await loadAssets();
  else if (state.me.mine) await loadMine();
  else await loadBoard();
}

async function start() {
  readTelegram();
  try {
    state.me = await api("me");
  } catch (error) {
    handleError(error);
    return;
  }
  document.documentElement.lang = state.me.language.replace("_", "-");
  const ticket = new URLSearchParams(location.search).get("ticket");
  try {
    const view = new URLSearchParams(location.search).get("view");
    const asset = new URLSearchParams(location.search).get("asset");
    if (ticket) {
      await loadTicket(ticket);
    } else if (asset && state.me.assets) {
      await loadAsset(asset);
    } else if (view === "assets" && state.me.assets) {
      await loadAssets();
    } else if (view === "dashboard" && state.me.dashboard) {
      await loadDashboard();
    } else if (state.me.mine) {
      await loadMine();
      state.polling = setInterval(() => loadMine().catch(handleError), 5000);
    } else if (!state.me.board) {
      message(T("forbidden"));
      return;
    } else {
      await loadBoard();
      state.polling = setInterval(poll, POLL_MS);
    }
  } catch (error) {
    handleError(error);
  }
  setInterval(tick, 1000);
  window.consoleReadyAt = performance.now(); // the first screen is drawn (benchmarks read it)
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", start);
