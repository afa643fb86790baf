// The admin backend's page. Every value from the database or a feed is set as text, never
// as HTML; every state change sends the session's CSRF token.
"use strict";

let csrf = "";

function $(id) { return document.getElementById(id); }

function say(text, good) {
  const m = $("message");
  m.textContent = text;
  m.className = "message " + (good ? "good" : "bad");
}

async function api(method, path, body, raw) {
  const headers = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  let payload;
  if (raw !== undefined) {
    payload = raw;
    headers["Content-Type"] = "application/octet-stream";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  let data = {};
  try { data = await resp.json(); } catch (err) { data = {}; }
  if (!resp.ok) throw new Error(data.error || resp.statusText);
  return data;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  return td;
}

function removeButton(onClick) {
  const td = document.createElement("td");
  const b = document.createElement("button");
  b.className = "remove";
  b.textContent = "Remove";
  b.addEventListener("click", onClick);
  td.append(b);
  return td;
}

async function loadIocs() {
  const q = encodeURIComponent($("ioc-q").value);
  const kind = encodeURIComponent($("ioc-kind").value);
  const data = await api("GET", `/api/v1/iocs?q=${q}&kind=${kind}&limit=200`);
  $("ioc-count").textContent = `${data.matched} of ${data.total}`;
  $("ioc-rows").replaceChildren(...data.items.map((i) => {
    const tr = document.createElement("tr");
    tr.append(cell(i.kind), cell(i.value), cell(i.tag), cell(i.app), cell(i.source),
      removeButton(async () => {
        try {
          await api("DELETE", `/api/v1/iocs?kind=${encodeURIComponent(i.kind)}&value=${encodeURIComponent(i.value)}`);
          say(`Removed ${i.value}.`, true);
          loadIocs();
        } catch (err) { say(err.message); }
      }));
    return tr;
  }));
}

async function loadWhitelist() {
  const data = await api("GET", "/api/v1/whitelist");
  $("white-rows").replaceChildren(...data.items.map((i) => {
    const tr = document.createElement("tr");
    tr.append(cell(i.kind), cell(i.value), cell(i.source),
      removeButton(async () => {
        try {
          await api("DELETE", `/api/v1/whitelist?kind=${encodeURIComponent(i.kind)}&value=${encodeURIComponent(i.value)}`);
          say(`Removed ${i.value} from the whitelist.`, true);
          loadWhitelist();
        } catch (err) { say(err.message); }
      }));
    return tr;
  }));
}

async function loadConfig() {
  try {
    const data = await api("GET", "/api/v1/config");
    $("config-file").textContent = data.file;
    $("config-text").value = data.text;
  } catch (err) { say(err.message); }
}

async function showAnalysis(id) {
  try {
    const r = await api("GET", `/api/v1/analyses/${encodeURIComponent(id)}`);
    $("analysis-verdict").textContent = (r.verdict && r.verdict.summary) || "";
    $("analysis-alerts").replaceChildren(...(r.alerts || []).map((a) => {
      const li = document.createElement("li");
      li.textContent = `[${a.level}] ${a.title}${a.domain ? " — " + a.domain : ""}`;
      return li;
    }));
    const device = r.device || {};
    $("analysis-device").textContent = [
      (device.names || []).join(", "),
      (device.macs || []).join(", "),
      (device.addresses || []).join(", "),
    ].filter((x) => x).join(" · ");
    $("analysis-connections").replaceChildren(...(r.connections || []).map((c) => {
      const tr = document.createElement("tr");
      const alerts = Object.entries(c.alerts || {}).map(([level, n]) => `${n} ${level}`).join(", ");
      for (const v of [c.ip, (c.names || []).join(", "), (c.ports || []).join(", "),
                       String(c.bytes_up ?? ""), String(c.bytes_down ?? ""), alerts]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    }));
    $("analysis-json").href = `/api/v1/analyses/${encodeURIComponent(id)}`;
    $("analysis-json").download = `tcheck-analysis-${id}.json`;
    $("analysis-report").hidden = false;
  } catch (err) { say(err.message); }
}

async function loadAnalyses() {
  const data = await api("GET", "/api/v1/analyses");
  $("analysis-rows").replaceChildren(...data.items.map((a) => {
    const tr = document.createElement("tr");
    tr.className = "clickable";
    tr.append(cell(a.id), cell(new Date(a.started * 1000).toLocaleString()), cell(a.capture), cell(a.verdict));
    tr.addEventListener("click", () => showAnalysis(a.id));
    return tr;
  }));
}

async function loadFeeds() {
  const data = await api("GET", "/api/v1/feeds");
  $("feed-rows").replaceChildren(...data.items.map((f) => {
    const tr = document.createElement("tr");
    const when = f.last_fetch ? new Date(f.last_fetch * 1000).toLocaleString() : "never";
    tr.append(cell(f.name + (f.whitelist ? " (whitelist)" : "")), cell(f.url), cell(when),
      cell(f.last_error ? "error: " + f.last_error : (f.last_fetch ? "ok" : "")),
      removeButton(async () => {
        try {
          const r = await api("DELETE", `/api/v1/feeds?name=${encodeURIComponent(f.name)}`);
          say(`Removed the feed ${f.name} and its ${r.removed_indicators} indicators.`, true);
          loadFeeds();
        } catch (err) { say(err.message); }
      }));
    return tr;
  }));
}

async function loadDatabase() {}

const loaders = {
  iocs: loadIocs, whitelist: loadWhitelist, config: loadConfig, feeds: loadFeeds,
  analyses: loadAnalyses, database: loadDatabase,
};

function showTab(name) {
  for (const b of document.querySelectorAll("button.tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const t of document.querySelectorAll(".tab-body")) t.hidden = t.id !== "tab-" + name;
  // A message belongs to the tab it came from.
  $("message").textContent = "";
  $("message").className = "message";
  loaders[name]().catch((err) => say(err.message));
}

function loggedIn(session) {
  csrf = session.csrf;
  $("who").textContent = session.user;
  $("login-view").hidden = true;
  $("main-view").hidden = false;
  showTab("iocs");
}

function loggedOut() {
  csrf = "";
  $("main-view").hidden = true;
  $("login-view").hidden = false;
}

function wire() {
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("login-error").textContent = "";
    try {
      loggedIn(await api("POST", "/api/v1/login", { user: $("login-user").value, password: $("login-password").value }));
      $("login-password").value = "";
    } catch (err) { $("login-error").textContent = err.message; }
  });
  $("logout").addEventListener("click", async () => {
    try { await api("POST", "/api/v1/logout", {}); } catch (err) { /* logged out anyway */ }
    loggedOut();
  });
  for (const b of document.querySelectorAll("button.tab")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("ioc-search").addEventListener("submit", (ev) => { ev.preventDefault(); loadIocs().catch((err) => say(err.message)); });
  $("ioc-add").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const i = await api("POST", "/api/v1/iocs", { kind: $("add-kind").value, value: $("add-value").value, tag: $("add-tag").value, app: $("add-app").value });
      say(`Added ${i.value}.`, true);
      $("add-value").value = "";
      loadIocs();
    } catch (err) { say(err.message); }
  });
  $("ioc-import").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("import-file").files[0];
    if (!file) return;
    try {
      const data = await file.arrayBuffer();
      const r = await api("POST", `/api/v1/iocs/import?name=${encodeURIComponent(file.name)}&tag=${encodeURIComponent($("import-tag").value)}`, undefined, data);
      say(`${r.file}: ${r.added} added, ${r.already} already there, ${r.rules} rules, ${r.skipped} skipped.`, true);
      loadIocs();
    } catch (err) { say(err.message); }
  });
  $("white-add").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("POST", "/api/v1/whitelist", { kind: $("white-kind").value, value: $("white-value").value });
      say(`Whitelisted ${r.value}.`, true);
      $("white-value").value = "";
      loadWhitelist();
    } catch (err) { say(err.message); }
  });
  $("feed-add").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/api/v1/feeds", { name: $("feed-name").value, url: $("feed-url").value, whitelist: $("feed-whitelist").checked });
      say(`Added the feed ${$("feed-name").value}.`, true);
      loadFeeds();
    } catch (err) { say(err.message); }
  });
  $("feed-update").addEventListener("click", async () => {
    say("Updating…", true);
    try {
      const r = await api("POST", "/api/v1/feeds/update", {});
      say(r.results.map((x) => `${x.name}: ${x.ok ? "" : "failed: "}${x.result}`).join("; "), r.results.every((x) => x.ok));
      loadFeeds();
    } catch (err) { say(err.message); }
  });
  $("restore-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("restore-file").files[0];
    if (!file) return;
    try {
      const r = await api("POST", "/api/v1/restore", undefined, await file.arrayBuffer());
      say(`Restored: ${r.indicators} indicators, ${r.whitelist} whitelist entries, ${r.accounts} accounts.`, true);
    } catch (err) { say(err.message); }
  });
  $("config-save").addEventListener("click", async () => {
    try {
      await api("PUT", "/api/v1/config", { text: $("config-text").value });
      say("Configuration saved.", true);
    } catch (err) { say("Not saved: " + err.message); }
  });
}

async function main() {
  wire();
  try { loggedIn(await api("GET", "/api/v1/session")); } catch (err) { loggedOut(); }
}

main();
