// The admin page: a client of Alpine's JSON API. Tokens live in this closure only
// (never localStorage or cookies): a reload signs out, nothing outlives the tab.
// Every text goes in through textContent, never innerHTML.
"use strict";

(function () {
  const state = {
    access: null,
    refresh: null,
    refreshTimer: null,
    reloadTimer: null,
    me: null,
    tiers: [],
    page: 1,
    perPage: 20,
    total: 0,
  };
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // -- the API ------------------------------------------------------------------

  async function call(method, path, body, retried) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (state.access) headers.Authorization = "Bearer " + state.access;
    const resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    // An access token that expired while the tab slept: refresh once, retry once.
    if (resp.status === 401 && !retried && state.refresh && (await refreshAccess())) {
      return call(method, path, body, true);
    }
    if (resp.status === 204) return null;
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(resp.status, err.code || "http_" + resp.status, err.message || resp.statusText);
    }
    return data;
  }

  async function refreshAccess() {
    if (!state.refresh) return false;
    try {
      const resp = await fetch("/api/auth/refresh", {
        method: "POST",
        headers: { Accept: "application/json", Authorization: "Bearer " + state.refresh },
        credentials: "omit",
        cache: "no-store",
      });
      if (!resp.ok) {
        forget("Your session has ended: sign in again.");
        return false;
      }
      const data = await resp.json();
      state.access = data.access_token;
      scheduleRefresh(data.expires_in);
      return true;
    } catch (e) {
      return false;
    }
  }

  // A minute before the access token expires (never sooner than in 10 s).
  function scheduleRefresh(expiresIn) {
    clearTimeout(state.refreshTimer);
    const seconds = Math.max(10, (Number(expiresIn) || 900) - 60);
    state.refreshTimer = setTimeout(refreshAccess, seconds * 1000);
  }

  // -- signing in and out -----------------------------------------------------------

  async function signIn(event) {
    event.preventDefault();
    const error = $("signin-error");
    error.textContent = "";
    $("signin-button").disabled = true;
    try {
      const tokens = await call("POST", "/api/auth/login", {
        email: $("email").value,
        password: $("password").value,
      });
      state.access = tokens.access_token;
      state.refresh = tokens.refresh_token;
      const me = await call("GET", "/api/users/me");
      if (!me.is_admin) {
        await signOut();
        error.textContent = "This account is not an admin.";
        return;
      }
      state.me = me;
      $("password").value = "";
      scheduleRefresh(tokens.expires_in);
      $("whoami").textContent = me.email;
      $("session").hidden = false;
      $("signin-section").hidden = true;
      $("dashboard").hidden = false;
      await loadAll();
      // Figures, charts and security tables follow the rollup (once a minute);
      // the user list is left alone so an admin's edit is never reset under them.
      state.reloadTimer = setInterval(() => loadFigures().catch((e) => status(e.message, true)), RELOAD_MS);
    } catch (e) {
      forget();
      error.textContent = e.message || "Sign-in failed.";
    } finally {
      $("signin-button").disabled = false;
    }
  }

  async function signOut() {
    try {
      if (state.access) await call("POST", "/api/auth/logout", undefined, true);
    } catch (e) {
      // Already revoked or expired: signing out locally is all that is left.
    }
    forget();
  }

  function forget(message) {
    clearTimeout(state.refreshTimer);
    clearInterval(state.reloadTimer);
    state.access = state.refresh = state.me = null;
    $("session").hidden = true;
    $("dashboard").hidden = true;
    $("signin-section").hidden = false;
    $("signin-error").textContent = message || "";
  }

  // -- the dashboard ------------------------------------------------------------------

  function status(text, bad) {
    const el = $("status");
    el.textContent = text;
    el.classList.toggle("bad", Boolean(bad));
  }

  const RELOAD_MS = 60 * 1000;

  async function loadFigures() {
    await Promise.all([loadAnalytics(), loadCharts(), loadSecurity()]);
    status("Updated " + new Date().toISOString().slice(11, 19) + " UTC");
  }

  async function loadAll() {
    status("Loading…");
    try {
      await loadFigures();
      await loadUsers();
    } catch (e) {
      status(e.message, true);
    }
  }

  const FIGURES = [
    ["Total users", "total_users"],
    ["Active users", "active_users"],
    ["New users today", "new_users_today"],
    ["New users this month", "new_users_this_month"],
    ["API requests today", "api_requests_today"],
    ["API requests this week", "api_requests_this_week"],
    ["Error rate", "error_rate", (v) => v + " %"],
    ["Signals published today", "signals_published_today"],
    ["Signals delivered today", "signals_delivered_today"],
  ];

  async function loadAnalytics() {
    const data = await call("GET", "/api/admin/analytics");
    const dl = $("figures");
    dl.replaceChildren();
    for (const [label, key, format] of FIGURES) {
      const box = document.createElement("div");
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = label;
      dd.textContent = format ? format(data[key]) : String(data[key]);
      dd.dataset.key = key;
      box.append(dt, dd);
      dl.append(box);
    }
    $("generated-at").textContent = "as of " + when(data.generated_at);
    state.tiers = Object.keys(data.users_by_tier);
    fillRows(
      $("tiers"),
      state.tiers.map((t) => [t, data.users_by_tier[t]]),
      "no users"
    );
    const select = $("user-tier");
    if (select.options.length === 1) {
      for (const t of state.tiers) select.append(new Option(t, t));
    }
  }

  async function loadCharts() {
    const [hours, days] = await Promise.all([
      call("GET", "/api/admin/metrics/requests?granularity=hour"),
      call("GET", "/api/admin/metrics/requests?granularity=day"),
    ]);
    drawChart($("chart-hour"), hours.points, (b) => b.slice(11, 16), 6);
    drawChart($("chart-day"), days.points, (b) => b.slice(5, 10), 7);
  }

  // A line chart of requests and 5xx errors per bucket, as plain SVG elements.
  function drawChart(svg, points, label, every) {
    const W = 800, H = 220, left = 48, right = 12, top = 12, bottom = 26;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.replaceChildren();
    const max = Math.max(1, ...points.map((p) => p.requests));
    const x = (i) => left + (points.length < 2 ? 0 : (i * (W - left - right)) / (points.length - 1));
    const y = (v) => top + (H - top - bottom) * (1 - v / max);
    const add = (tag, attrs, text) => {
      const el = document.createElementNS(SVG, tag);
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
      if (text !== undefined) el.textContent = text;
      svg.append(el);
      return el;
    };
    for (const v of [0, max / 2, max]) {
      add("line", { class: "axis", x1: left, x2: W - right, y1: y(v), y2: y(v) });
      add("text", { class: "label", x: left - 6, y: y(v) + 4, "text-anchor": "end" }, fmt(v));
    }
    points.forEach((p, i) => {
      if (i % every === 0) {
        add("text", { class: "label", x: x(i), y: H - 8, "text-anchor": "middle" }, label(p.bucket));
      }
    });
    for (const series of ["requests", "errors"]) {
      const d = points.map((p, i) => (i ? "L" : "M") + x(i).toFixed(1) + " " + y(p[series]).toFixed(1)).join(" ");
      const path = add("path", { class: "line " + series, d });
      path.dataset.points = String(points.length);
      path.dataset.total = String(points.reduce((n, p) => n + p[series], 0));
    }
    points.forEach((p, i) => {
      const dot = add("circle", { cx: x(i), cy: y(p.requests), r: 6, fill: "transparent" });
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${when(p.bucket)}: ${p.requests} requests, ${p.errors} errors`;
      dot.append(title);
    });
    svg.dataset.drawn = "true";
  }

  async function loadSecurity() {
    const data = await call("GET", "/api/admin/security");
    $("failed-24h").textContent = String(data.failed_logins_24h);
    fillRows(
      $("locked"),
      data.locked_accounts.map((a) => [a.email, a.ip || "any IP", when(a.locked_until)]),
      "no account is locked"
    );
    fillRows($("top-ips"), data.top_failure_ips.map((r) => [r.ip || "unknown", r.count]), "none");
    fillRows(
      $("failures"),
      data.recent_failed_logins.map((f) => [when(f.at), f.email, f.ip || ""]),
      "none"
    );
    fillRows(
      $("audit"),
      data.audit_log.map((e) => [
        when(e.at),
        e.actor_id === null ? "" : e.actor_id,
        e.action,
        e.target_id === null ? "" : e.target_id,
        code(e.before),
        code(e.after),
        e.ip || "",
      ]),
      "empty"
    );
  }

  // -- user management ----------------------------------------------------------------

  async function loadUsers() {
    const params = new URLSearchParams({ page: state.page, per_page: state.perPage });
    const q = $("user-q").value.trim();
    const tier = $("user-tier").value;
    if (q) params.set("q", q);
    if (tier) params.set("tier", tier);
    const data = await call("GET", "/api/admin/users?" + params);
    state.total = data.total;
    const body = $("users").tBodies[0];
    body.replaceChildren();
    for (const user of data.items) body.append(userRow(user));
    if (!data.items.length) fillRows($("users"), [], "no user matches");
    const pages = Math.max(1, Math.ceil(data.total / state.perPage));
    $("page-info").textContent = `page ${state.page} of ${pages} (${data.total} users)`;
    $("prev-page").disabled = state.page <= 1;
    $("next-page").disabled = state.page >= pages;
  }

  function userRow(user) {
    const tr = document.createElement("tr");
    tr.dataset.userId = String(user.id);
    const cell = (content) => {
      const td = document.createElement("td");
      if (content instanceof Node) td.append(content);
      else td.textContent = String(content);
      tr.append(td);
      return td;
    };
    cell(user.id);
    cell(user.email);
    cell(user.full_name || "");
    const select = document.createElement("select");
    select.className = "tier";
    select.setAttribute("aria-label", "tier of " + user.email);
    for (const t of state.tiers) select.append(new Option(t, t, false, t === user.tier));
    select.addEventListener("change", () => update(user, { tier: select.value }));
    cell(select);
    cell(user.is_active ? "yes" : "no");
    cell(user.is_admin ? "yes" : "no");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "toggle-active";
    button.textContent = user.is_active ? "Deactivate" : "Activate";
    button.disabled = state.me !== null && user.id === state.me.id;
    button.addEventListener("click", () => update(user, { is_active: !user.is_active }));
    cell(button);
    return tr;
  }

  async function update(user, change) {
    try {
      const updated = await call("PATCH", "/api/admin/users/" + user.id, change);
      const row = $("users").querySelector(`tr[data-user-id="${user.id}"]`);
      if (row) row.replaceWith(userRow(updated));
      const what = "tier" in change ? "tier " + updated.tier : updated.is_active ? "active" : "deactivated";
      status(`${updated.email}: ${what}`);
    } catch (e) {
      status(e.message, true);
      await loadUsers().catch(() => {});
    }
  }

  // -- small helpers ------------------------------------------------------------------

  function fillRows(table, rows, emptyText) {
    const body = table.tBodies[0];
    body.replaceChildren();
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.className = "empty";
      td.colSpan = table.tHead.rows[0].cells.length;
      td.textContent = emptyText;
      tr.append(td);
      body.append(tr);
      return;
    }
    for (const row of rows) {
      const tr = document.createElement("tr");
      for (const value of row) {
        const td = document.createElement("td");
        if (value instanceof Node) td.append(value);
        else td.textContent = String(value);
        tr.append(td);
      }
      body.append(tr);
    }
  }

  function code(value) {
    const el = document.createElement("code");
    el.textContent = value === null || value === undefined ? "" : JSON.stringify(value);
    return el;
  }

  function when(iso) {
    return iso ? String(iso).replace("T", " ").slice(0, 16) + " UTC" : "";
  }

  function fmt(v) {
    return v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k" : String(Math.round(v * 10) / 10);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("signin").addEventListener("submit", signIn);
    $("signout").addEventListener("click", signOut);
    $("reload").addEventListener("click", () => loadAll());
    $("user-search").addEventListener("submit", (event) => {
      event.preventDefault();
      state.page = 1;
      loadUsers().catch((e) => status(e.message, true));
    });
    $("prev-page").addEventListener("click", () => {
      state.page -= 1;
      loadUsers().catch((e) => status(e.message, true));
    });
    $("next-page").addEventListener("click", () => {
      state.page += 1;
      loadUsers().catch((e) => status(e.message, true));
    });
  });
})();
