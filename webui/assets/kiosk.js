// The kiosk: shows the snapshot the server pushes (Server-Sent Events), sends the few state
// changes (POST with the page's token). Every value from the traffic is set as text, never
// as HTML.
"use strict";

const token = document.querySelector('meta[name="tcheck-token"]').content;
const params = new URLSearchParams(location.search);
const lang = params.get("lang") || document.querySelector('meta[name="tcheck-lang"]').content;
let texts = {};
let last = null;
let history = [];
let adviceIndex = 0;
// A screen of the page's own (the box's Wi-Fi), shown over the home screen.
let localScreen = null;
let keyboardMode = "lower";
// Where the on-screen keyboard types, and where it is drawn.
let keyboardTarget = "wifi-password";
let keyboardBox = "keyboard";
let chosenSsid = "";

function $(id) { return document.getElementById(id); }

function t(key) { return texts[key] || key; }

function translate() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) {
    el.textContent = t(el.dataset.t);
  }
}

async function post(path, body) {
  const resp = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Tcheck-Token": token },
    body: JSON.stringify(body || {}),
  });
  return resp.ok;
}

function show(phase) {
  for (const s of document.querySelectorAll(".screen")) {
    s.hidden = s.id !== "screen-" + phase;
  }
}

function human(bytes) {
  const units = ["B", "kB", "MB", "GB"];
  let i = 0;
  let n = bytes;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function clock(secs) {
  const m = Math.floor(secs / 60);
  const s = secs % 60;
  return m + ":" + String(s).padStart(2, "0");
}

function list(ul, items, make) {
  ul.replaceChildren(...items.map(make));
}

function item(cls, what, why) {
  const li = document.createElement("li");
  if (cls) li.className = cls;
  const a = document.createElement("div");
  a.className = "what";
  a.textContent = what;
  li.append(a);
  if (why) {
    const b = document.createElement("div");
    b.className = "why";
    b.textContent = why;
    li.append(b);
  }
  return li;
}

function sparkline(snapshot) {
  history.push(snapshot.bytes);
  if (history.length > 61) history.shift();
  const canvas = $("spark");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const rates = history.slice(1).map((b, i) => Math.max(0, b - history[i]));
  if (rates.length < 2) return;
  const max = Math.max(...rates, 1);
  ctx.strokeStyle = "#1f5eff";
  ctx.lineWidth = 2;
  ctx.beginPath();
  rates.forEach((r, i) => {
    const x = (i / (rates.length - 1)) * (canvas.width - 4) + 2;
    const y = canvas.height - 3 - (r / max) * (canvas.height - 6);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

function render(s) {
  last = s;
  if (localScreen && s.phase === "idle") {
    show(localScreen);
    return;
  }
  localScreen = null;
  show(s.phase);
  switch (s.phase) {
    case "joining": {
      $("join-title").textContent = t(s.wired ? "join.wired_title" : "join.title");
      $("credentials").hidden = s.wired;
      $("qr-box").hidden = s.wired;
      $("ssid").textContent = s.ssid || "";
      $("password").textContent = s.password || "";
      const src = "/api/v1/check/qr.svg?n=" + encodeURIComponent(s.ssid || "");
      if (!s.wired && $("qr").getAttribute("src") !== src) $("qr").src = src;
      break;
    }
    case "capturing": {
      const d = s.device || {};
      $("device").textContent = d.name || d.ip || d.mac || "…";
      $("elapsed").textContent = clock(s.elapsed_secs);
      $("packets").textContent = s.packets.toLocaleString(lang);
      $("bytes").textContent = human(s.bytes);
      sparkline(s);
      $("none-yet").hidden = s.detections.length > 0;
      list($("detections"), s.detections, (x) =>
        item("", x.value, [x.tag, x.app, x.seen].filter(Boolean).join(" · ")));
      list($("names"), s.names, (n) => { const li = document.createElement("li"); li.textContent = n; return li; });
      break;
    }
    case "report": {
      const r = s.report || {};
      const v = r.verdict || {};
      $("verdict").className = "verdict " + (v.level || "");
      $("verdict").textContent = v.summary || "";
      const alerts = r.alerts || [];
      list($("alerts"), alerts, (a) =>
        item(a.level, a.title + (a.domain || a.sni ? " — " + (a.domain || a.sni) : ""), a.description));
      $("connections").textContent = String((r.connections || []).length);
      break;
    }
    case "error": {
      const e = s.error || {};
      $("error-what").textContent = t(e.what || "error.title");
      $("error-advice").textContent = t(e.advice || "");
      $("error-detail").textContent = e.detail || "";
      break;
    }
    default:
      break;
  }
}

const LAYOUTS = {
  lower: ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"],
  upper: ["1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"],
  symbols: ["!@#$%^&*()", "-_=+[]{}\\|", ";:'\",.<>/?", "`~€£§°"],
};

function key(label, onPress, cls) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener("click", onPress);
  return b;
}

function type(text) {
  $(keyboardTarget).value += text;
}

function drawKeyboard() {
  const rows = LAYOUTS[keyboardMode].map((chars) => {
    const row = document.createElement("div");
    row.className = "krow";
    for (const ch of chars) row.append(key(ch, () => type(ch)));
    return row;
  });
  const last = document.createElement("div");
  last.className = "krow";
  last.append(
    key(keyboardMode === "upper" ? "abc" : "ABC", () => { keyboardMode = keyboardMode === "upper" ? "lower" : "upper"; drawKeyboard(); }, "wide"),
    key(keyboardMode === "symbols" ? "abc" : "#+=", () => { keyboardMode = keyboardMode === "symbols" ? "lower" : "symbols"; drawKeyboard(); }, "wide"),
    key(t("wifi.space"), () => type(" "), "space"),
    key("⌫", () => { const p = $(keyboardTarget); p.value = p.value.slice(0, -1); }, "wide"),
  );
  $(keyboardBox).replaceChildren(...rows, last);
}

async function scanWifi() {
  $("wifi-pass-view").hidden = true;
  $("wifi-list-view").hidden = false;
  $("wifi-status").textContent = t("wifi.scanning");
  $("wifi-list").replaceChildren();
  try {
    const resp = await fetch("/api/v1/uplink/scan", {
      method: "POST",
      headers: { "X-Tcheck-Token": token },
    });
    // Refusals are plain text (403, 404, 429), a scan's failure JSON.
    const body = await resp.text();
    let data = {};
    try { data = JSON.parse(body); } catch (err) { data = { error: body.trim() }; }
    if (!resp.ok) throw new Error(data.error || resp.statusText);
    $("wifi-status").textContent = data.networks.length ? "" : t("wifi.none");
    list($("wifi-list"), data.networks, (n) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      const name = document.createElement("span");
      name.textContent = n.ssid;
      const info = document.createElement("span");
      info.textContent = t(n.secured ? "wifi.secured" : "wifi.open") + " · " + n.strength + " %";
      b.append(name, info);
      b.addEventListener("click", () => choose(n));
      li.append(b);
      return li;
    });
  } catch (err) {
    $("wifi-status").textContent = t("wifi.failed") + " " + err.message;
  }
}

function choose(n) {
  chosenSsid = n.ssid;
  $("wifi-ssid").textContent = n.ssid;
  $("wifi-password").value = "";
  $("wifi-password").type = "password";
  $("wifi-result").textContent = "";
  $("wifi-list-view").hidden = true;
  $("wifi-pass-view").hidden = false;
  keyboardMode = "lower";
  keyboardTarget = "wifi-password";
  keyboardBox = "keyboard";
  drawKeyboard();
  if (!n.secured) join();
}

async function join() {
  $("wifi-result").textContent = t("wifi.joining");
  const resp = await fetch("/api/v1/uplink/join", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Tcheck-Token": token },
    body: JSON.stringify({ ssid: chosenSsid, password: $("wifi-password").value }),
  });
  let data = {};
  try { data = await resp.json(); } catch (err) { data = {}; }
  $("wifi-result").textContent = resp.ok ? t("wifi.joined") : t("wifi.failed") + " " + (data.error || resp.statusText);
}

function rotateAdvice() {
  $("advice").textContent = t("capture.advice" + ((adviceIndex % 4) + 1));
  adviceIndex += 1;
}

function connect() {
  const es = new EventSource("/api/v1/events");
  es.onmessage = (ev) => {
    $("banner").hidden = true;
    try { render(JSON.parse(ev.data)); } catch (err) { console.error(err); }
  };
  es.onerror = () => { $("banner").hidden = false; };
}

async function main() {
  try {
    const resp = await fetch("/api/v1/i18n?lang=" + encodeURIComponent(lang));
    texts = await resp.json();
  } catch (err) {
    texts = {};
  }
  translate();
  rotateAdvice();
  setInterval(rotateAdvice, 12000);
  $("start").addEventListener("click", () => { history = []; post("/api/v1/capture/start", { offline: $("offline").checked }); });
  $("cancel").addEventListener("click", () => post("/api/v1/capture/stop"));
  $("stop").addEventListener("click", () => post("/api/v1/capture/stop"));
  $("new").addEventListener("click", () => { $("confirm").hidden = false; });
  $("confirm-no").addEventListener("click", () => { $("confirm").hidden = true; });
  $("confirm-yes").addEventListener("click", async () => {
    $("confirm").hidden = true;
    await post("/api/v1/check/reset");
  });
  $("back").addEventListener("click", () => post("/api/v1/check/reset"));
  $("wifi").hidden = !document.querySelector('meta[name="tcheck-wifi"]').content;
  $("wifi").addEventListener("click", () => { localScreen = "wifi"; show("wifi"); scanWifi(); });
  $("wifi-rescan").addEventListener("click", scanWifi);
  $("wifi-back").addEventListener("click", () => { localScreen = null; if (last) render(last); });
  $("wifi-cancel").addEventListener("click", scanWifi);
  $("wifi-show").addEventListener("click", () => {
    const p = $("wifi-password");
    p.type = p.type === "password" ? "text" : "password";
  });
  $("wifi-connect").addEventListener("click", join);
  $("save-usb").addEventListener("click", async () => {
    $("usb-result").textContent = "";
    $("usb-passphrase").value = "";
    keyboardMode = "lower";
    keyboardTarget = "usb-passphrase";
    keyboardBox = "usb-keyboard";
    drawKeyboard();
    $("usb").hidden = false;
    try {
      const resp = await fetch("/api/v1/usb");
      const data = await resp.json();
      if (!data.keys || data.keys.length === 0) $("usb-result").textContent = t("report.usb_none");
    } catch (err) { $("usb-result").textContent = t("report.usb_failed") + " " + err.message; }
  });
  $("usb-cancel").addEventListener("click", () => { $("usb").hidden = true; });
  $("usb-save").addEventListener("click", async () => {
    $("usb-result").textContent = t("report.usb_saving");
    const resp = await fetch("/api/v1/check/save-usb", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Tcheck-Token": token },
      body: JSON.stringify({ passphrase: $("usb-passphrase").value }),
    });
    let data = {};
    try { data = await resp.json(); } catch (err) { data = {}; }
    $("usb-result").textContent = resp.ok ? t("report.usb_saved") : t("report.usb_failed") + " " + (data.error || resp.statusText);
  });
  connect();
}

main();
