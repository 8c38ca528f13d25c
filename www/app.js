// SPDX-License-Identifier: MIT
// lorabridge's page: renders the bridge's Server-Sent Events (GET /events)
// as tables of gateways and devices and a live log, and queues downlinks
// through POST /api/devices/{devEui}/queue.
//
// Every piece of data reaches the DOM as a text node or an attribute value
// (createElement + textContent), never as markup: names, codes and decoded
// values come from devices and gateways, which the page does not trust.
"use strict";

const LOG_MAX = 500;          // log rows kept (newest first)
const BACKOFF_MIN_MS = 1000;  // first reconnect delay after the stream fails
const BACKOFF_MAX_MS = 30000; // reconnect delays double up to this
const OBJECT_MAX = 16;        // decoded values shown per device

const state = {
  bridge: null,
  bridgeAt: 0,               // Date.now() when bridge.uptimeS was read
  gateways: new Map(),       // gatewayId -> GW
  devices: new Map(),        // devEui -> DEV
  source: null,
  backoffMs: BACKOFF_MIN_MS,
  retryTimer: 0,
  logFilter: "",
};

// ---- DOM helpers -----------------------------------------------------------

// h("td", {class: "x"}, "text", node, ...): an element; strings become text nodes.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function $(id) { return document.getElementById(id); }

// ---- formatting ------------------------------------------------------------

function ago(iso) {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "?";
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.floor(s / 60) + " min ago";
  if (s < 86400) return Math.floor(s / 3600) + " h ago";
  return Math.floor(s / 86400) + " d ago";
}

function duration(s) {
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
}

// A time element whose text the ticker keeps relative ("12 s ago").
function timeAgo(iso) {
  return h("time", { datetime: iso || null, "data-ago": iso || "", title: iso || null }, ago(iso));
}

function num(v, digits) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return digits === undefined ? String(v) : v.toFixed(digits);
}

function clockTime(iso) {
  const d = iso ? new Date(iso) : new Date();
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleTimeString([], { hour12: false });
}

// {"a":{"1":2},"b":3} -> [["a.1", 2], ["b", 3]]
function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? prefix + "." + k : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out.push([key, Array.isArray(v) ? JSON.stringify(v) : v]);
  }
  return out;
}

// ---- pieces of rows --------------------------------------------------------

// An inline SVG sparkline of values (oldest first) with the latest as text.
function sparkline(values, unit, label) {
  const vals = (values || []).filter(Number.isFinite);
  const W = 80, H = 22, P = 2;
  const box = h("span", { class: "spark", "data-points": vals.length });
  const last = vals.length ? vals[vals.length - 1] : null;
  const pic = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": vals.length ? `${label}, last ${vals.length}: ${vals.join(", ")} ${unit}` : `${label}: none yet` });
  if (vals.length) {
    const lo = Math.min(...vals), hi = Math.max(...vals);
    const span = hi - lo || 1;
    const step = vals.length > 1 ? (W - 2 * P) / (vals.length - 1) : 0;
    const pts = vals.map((v, i) => {
      const x = vals.length > 1 ? P + i * step : W / 2;
      const y = hi === lo ? H / 2 : P + (hi - v) / span * (H - 2 * P);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    pic.append(svg("polyline", { points: pts.join(" "), fill: "none", class: "line" }));
    const [lx, ly] = pts[pts.length - 1].split(",");
    pic.append(svg("circle", { cx: lx, cy: ly, r: 2, class: "dot" }));
  }
  box.append(pic, h("span", { class: "val" }, last === null ? "–" : String(last)));
  return box;
}

// A bar of used against budget (a <meter>, which screen readers announce),
// with the figures as text.
function bar(used, budget, text) {
  const max = budget > 0 ? budget : 1;
  return h("span", { class: "bar" },
    h("meter", { min: 0, max: max, low: max * 0.5, high: max * 0.8, optimum: 0,
      value: Math.min(used, max), "aria-label": text }),
    h("span", { class: "val" }, text));
}

// One line per sub-band: its range, a bar of the use against the limit, the figures.
function dutyCycleCell(list) {
  if (!list || !list.length) return h("span", { class: "muted", title: "no transmission counted yet" }, "none yet");
  const box = h("div", { class: "duty" });
  for (const d of list) {
    const text = `${num(d.usedPercent, 2)} % of ${num(d.limitPercent)} %`;
    const max = d.limitPercent > 0 ? d.limitPercent : 1;
    box.append(h("div", { class: "duty-row", "data-sub-band": d.subBand },
      h("span", { class: "sb" }, d.subBand),
      h("meter", { min: 0, max: max, low: max * 0.5, high: max * 0.8, optimum: 0,
        value: Math.min(d.usedPercent, max), "aria-label": `${d.subBand} MHz: ${text}` }),
      h("span", { class: "val" }, text)));
  }
  return box;
}

function objectCell(obj) {
  if (!obj || typeof obj !== "object") return h("span", { class: "muted" }, "–");
  const pairs = flatten(obj, "", []);
  const dl = h("dl", { class: "values" });
  for (const [k, v] of pairs.slice(0, OBJECT_MAX)) dl.append(h("dt", {}, k), h("dd", {}, String(v)));
  if (pairs.length > OBJECT_MAX) dl.append(h("dt", {}, "…"), h("dd", {}, `${pairs.length - OBJECT_MAX} more`));
  return dl;
}

// A <td> with the column name for the narrow (card) layout.
// Its content is one box, so that the card layout's grid keeps it in one cell.
function cell(label, ...children) { return h("td", { "data-label": label }, h("div", {}, ...children)); }

// ---- tables ----------------------------------------------------------------

function gatewayRow(g) {
  const online = !!g.online;
  return h("tr", { "data-gateway": g.gatewayId, "data-online": String(online), class: online ? "online" : "offline" },
    h("th", { scope: "row", "data-label": "Gateway" }, h("code", {}, g.gatewayId),
      g.address ? h("span", { class: "sub" }, g.address) : null),
    cell("State", h("span", { class: "badge " + (online ? "ok" : "bad") }, online ? "online" : "offline")),
    cell("Last seen", timeAgo(g.lastSeen)),
    cell("Received", h("span", { class: "rx" }, num(g.rxPacketsReceived)),
      h("span", { class: "sub" }, `${num(g.rxPacketsReceivedOk)} with good CRC`)),
    cell("Forwarded", h("span", { class: "fwd" }, num(g.rxForwarded)),
      h("span", { class: "sub" }, `${num(g.txPacketsEmitted)} sent`)),
    cell("Duty cycle", dutyCycleCell(g.dutyCycle)));
}

function deviceRow(d) {
  const fa = d.fairAccess;
  const air = fa ? bar(fa.uplinkAirtimeMs, fa.uplinkBudgetMs,
    `${num(fa.uplinkAirtimeMs, 1)} of ${num(fa.uplinkBudgetMs, 0)} ms`) : h("span", { class: "muted" }, "–");
  const dls = fa ? bar(fa.downlinks, fa.downlinkBudget, `${num(fa.downlinks)} of ${num(fa.downlinkBudget)}`)
    : h("span", { class: "muted" }, "–");
  return h("tr", { "data-dev-eui": d.devEui, class: fa && fa.exceeded ? "exceeded" : null },
    h("th", { scope: "row", "data-label": "Device" }, h("span", { class: "name" }, d.name || d.devEui),
      h("code", { class: "sub" }, d.devEui),
      h("span", { class: "sub" }, [d.application, d.class ? "class " + d.class : null,
        d.queue ? `${d.queue} queued` : null].filter(Boolean).join(" · "))),
    cell("Last seen", timeAgo(d.lastSeen)),
    cell("RSSI", sparkline(d.rssi, "dBm", "RSSI")),
    cell("SNR", sparkline(d.snr, "dB", "SNR")),
    cell("FCnt", h("span", { class: "fcnt" }, num(d.fCntUp)),
      d.fCntDown !== null && d.fCntDown !== undefined ? h("span", { class: "sub", title: "the next downlink's frame counter" }, `next down ${d.fCntDown}`) : null),
    cell("DR", num(d.dr)),
    cell("Battery", d.battery === null || d.battery === undefined ? h("span", { class: "muted" }, "unknown")
      : `${num(d.battery, 0)} %`),
    cell("Airtime", air, fa && fa.exceeded ? h("span", { class: "badge bad" }, "budget exceeded") : null),
    cell("Downlinks", dls),
    cell("Values", objectCell(d.object)));
}

// The tables' rows by key (a gateway's id, a device's EUI), so that an
// update finds its row without a search of the table.
const rows = { gateways: new Map(), devices: new Map() };

// Replace the row of key in tbody (or insert it), keeping rows sorted by
// key (attr holds each row's). Only a key not seen yet costs a walk of the table.
function upsertRow(tbody, byKey, attr, key, row) {
  const old = byKey.get(key);
  byKey.set(key, row);
  if (old) { old.replaceWith(row); return; }
  for (const r of tbody.rows) {
    if (r.getAttribute(attr) > key) { tbody.insertBefore(row, r); return; }
  }
  tbody.append(row);
}

function setGateway(g) {
  if (!g || typeof g.gatewayId !== "string") return;
  state.gateways.set(g.gatewayId, g);
  upsertRow($("gateways").tBodies[0], rows.gateways, "data-gateway", g.gatewayId, gatewayRow(g));
  $("gw-empty").hidden = true;
}

function setDevice(d) {
  if (!d || typeof d.devEui !== "string") return;
  const known = state.devices.has(d.devEui);
  state.devices.set(d.devEui, d);
  upsertRow($("devices").tBodies[0], rows.devices, "data-dev-eui", d.devEui, deviceRow(d));
  $("dev-empty").hidden = true;
  if (!known) renderDeviceChoices();
}

// A whole table at once (the hello): items of list by their key into
// known, rows built from them sorted once, into the table in one go.
function fillTable(tbody, known, byKey, list, key, make) {
  known.clear();
  byKey.clear();
  for (const x of list || []) if (x && typeof x[key] === "string") known.set(x[key], x);
  const frag = document.createDocumentFragment();
  for (const k of [...known.keys()].sort()) {
    const row = make(known.get(k));
    byKey.set(k, row);
    frag.append(row);
  }
  tbody.replaceChildren(frag);
}

function renderAll(hello) {
  setBridge(hello.bridge);
  fillTable($("gateways").tBodies[0], state.gateways, rows.gateways, hello.gateways, "gatewayId",
    gatewayRow);
  fillTable($("devices").tBodies[0], state.devices, rows.devices, hello.devices, "devEui", deviceRow);
  $("gw-empty").hidden = state.gateways.size > 0;
  $("dev-empty").hidden = state.devices.size > 0;
  renderDeviceChoices();
}

function deviceLabel(d) { return d.name ? `${d.name} (${d.devEui})` : d.devEui; }

// The device <select>s of the form and of the log filter, keeping choices.
function renderDeviceChoices() {
  const devs = [...state.devices.values()].sort((a, b) => (a.name || a.devEui).localeCompare(b.name || b.devEui));
  const fill = (sel, first) => {
    const keep = sel.value;
    const frag = document.createDocumentFragment();
    frag.append(...first);
    for (const d of devs) frag.append(h("option", { value: d.devEui }, deviceLabel(d)));
    sel.replaceChildren(frag);
    if (keep !== "" && state.devices.has(keep)) sel.value = keep;
  };
  fill($("dl-dev"), []);
  fill($("log-filter"), [h("option", { value: "" }, "all devices")]);
}

function setBridge(b) {
  if (!b) return;
  state.bridge = b;
  state.bridgeAt = Date.now();
  renderBridge();
  const writable = !!b.writable;
  $("dl-readonly").hidden = writable;
  $("dl-fields").disabled = !writable;
}

function renderBridge() {
  const b = state.bridge;
  if (!b) return;
  const up = Math.floor((b.uptimeS || 0) + (Date.now() - state.bridgeAt) / 1000);
  $("bridge").replaceChildren(
    h("span", {}, `${b.clientId || "?"} · ${b.region || "?"} · version ${b.version || "?"} · up ${duration(up)} · MQTT `),
    h("span", { class: "badge " + (b.mqttConnected ? "ok" : "bad") }, b.mqttConnected ? "connected" : "disconnected"));
}

// ---- the live log ----------------------------------------------------------

function logDetails(kind, ev) {
  switch (kind) {
  case "up": {
    const rx = Array.isArray(ev.rxInfo) ? ev.rxInfo : [];
    const best = rx.reduce((m, r) => (m === null || r.rssi > m.rssi ? r : m), null);
    const parts = [`fCnt ${ev.fCnt}`, `fPort ${ev.fPort}`, `DR ${ev.dr}`];
    if (best) parts.push(`RSSI ${best.rssi} dBm`, `SNR ${best.snr} dB`, `${rx.length} gateway${rx.length === 1 ? "" : "s"}`);
    if (ev.confirmed) parts.push("confirmed");
    if (ev.object) parts.push(flatten(ev.object, "", []).map(([k, v]) => `${k}: ${v}`).join(", "));
    else if (ev.data) parts.push(`data ${ev.data}`);
    return parts.join(" · ");
  }
  case "join": return `joined, DevAddr ${ev.devAddr}`;
  case "ack": return `${ev.acknowledged ? "acknowledged" : "NOT acknowledged"} · fCntDown ${ev.fCntDown} · ${ev.queueItemId}`;
  case "txack": {
    const tries = Array.isArray(ev.attempts) ? ev.attempts.map((a) => `${a.window} ${a.status}`).join(", ") : "";
    return `sent by ${ev.gatewayId} · fCntDown ${ev.fCntDown}${tries ? " · " + tries : ""}` +
      (ev.queueItemId ? ` · ${ev.queueItemId}` : "");
  }
  case "status": return `battery ${ev.externalPowerSource ? "external power" :
    ev.batteryLevelUnavailable ? "unknown" : num(ev.batteryLevel, 0) + " %"} · margin ${ev.margin} dB`;
  case "log": return `${ev.level} ${ev.code}: ${ev.description}`;
  default: return JSON.stringify(ev);
  }
}

function addLog(kind, msg) {
  const ev = msg && typeof msg.event === "object" && msg.event ? msg.event : {};
  const devEui = (msg && msg.devEui) || (ev.deviceInfo && ev.deviceInfo.devEui) || "";
  const d = state.devices.get(devEui);
  const name = (ev.deviceInfo && ev.deviceInfo.deviceName) || (d && d.name) || devEui || "–";
  const level = kind === "log" ? String(ev.level || "").toLowerCase() : "";
  const row = h("tr", { "data-kind": kind, "data-dev-eui": devEui, class: level ? "lvl-" + level : null },
    h("td", { "data-label": "Time" }, h("time", { datetime: ev.time || null }, clockTime(ev.time))),
    h("td", { "data-label": "Device", title: devEui || null }, name),
    h("td", { "data-label": "Event" }, h("span", { class: "kind kind-" + kind }, kind)),
    h("td", { "data-label": "Details", class: "details" }, logDetails(kind, ev)));
  row.hidden = state.logFilter !== "" && state.logFilter !== devEui;
  const tbody = $("log").tBodies[0];
  tbody.prepend(row);
  while (tbody.rows.length > LOG_MAX) tbody.lastElementChild.remove();
  renderLogCount();
}

function applyLogFilter() {
  state.logFilter = $("log-filter").value;
  for (const r of $("log").tBodies[0].rows) r.hidden = state.logFilter !== "" && r.dataset.devEui !== state.logFilter;
  renderLogCount();
}

function renderLogCount() {
  const rows = $("log").tBodies[0].rows;
  let shown = 0;
  for (const r of rows) if (!r.hidden) shown++;
  $("log-count").textContent = `${shown} shown, newest first (the last ${LOG_MAX} kept)`;
}

// ---- the event stream ------------------------------------------------------

function setConn(s, text) {
  const el = $("conn");
  el.dataset.state = s;
  el.textContent = text;
}

function parse(e) {
  try { return JSON.parse(e.data); } catch (_) { return null; }
}

// One EventSource at a time. Its own retries are replaced by ours, with a
// growing delay, so that a bridge that is down is not asked every 2 s by
// every open page; the delay starts again from BACKOFF_MIN_MS at each hello.
function connect() {
  clearTimeout(state.retryTimer);
  if (state.source) state.source.close();
  setConn("connecting", "connecting…");
  const es = new EventSource("events");
  state.source = es;
  es.addEventListener("hello", (e) => {
    const m = parse(e);
    if (!m) return;
    state.backoffMs = BACKOFF_MIN_MS;
    renderAll(m);
    setConn("live", "live");
  });
  for (const kind of ["up", "join", "ack", "txack", "log", "status"]) {
    es.addEventListener(kind, (e) => { const m = parse(e); if (m) addLog(kind, m); });
  }
  es.addEventListener("device", (e) => setDevice(parse(e)));
  es.addEventListener("gateway", (e) => setGateway(parse(e)));
  // the bridge's own state changed (its broker connection)
  es.addEventListener("bridge", (e) => setBridge(parse(e)));
  es.addEventListener("stats", (e) => {
    const s = parse(e);
    if (s && state.bridge && Number.isFinite(s.uptimeS)) {
      state.bridge.uptimeS = s.uptimeS;
      state.bridgeAt = Date.now();
    }
  });
  es.onerror = () => {
    if (state.source !== es) return;
    es.close();
    state.source = null;
    const wait = state.backoffMs;
    state.backoffMs = Math.min(state.backoffMs * 2, BACKOFF_MAX_MS);
    setConn("down", `disconnected, retrying in ${Math.round(wait / 1000)} s`);
    state.retryTimer = setTimeout(connect, wait);
  };
}

// ---- the downlink form -----------------------------------------------------

// "01 02 58" -> base64 of the bytes, or throws with the reason.
function hexToBase64(text) {
  const hex = text.replace(/\s+/g, "");
  if (hex.length === 0) throw new Error("no bytes given");
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw new Error("hex digits only (0-9, a-f)");
  if (hex.length % 2) throw new Error("an odd number of hex digits");
  let bin = "";
  for (let i = 0; i < hex.length; i += 2) bin += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(bin);
}

function downlinkBody(form) {
  const fPort = Number(form.fPort.value);
  if (!Number.isInteger(fPort) || fPort < 1 || fPort > 223) throw new Error("fPort must be 1..223");
  const body = { confirmed: form.confirmed.checked, fPort: fPort };
  if (form.kind.value === "object") {
    let obj;
    try { obj = JSON.parse(form.payload.value); } catch (e) { throw new Error("not JSON: " + e.message); }
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new Error("the JSON must be an object");
    body.object = obj;
  } else {
    body.data = hexToBase64(form.payload.value);
  }
  return body;
}

function showResult(ok, text) {
  const el = $("dl-result");
  el.className = "result " + (ok ? "ok" : "bad");
  el.textContent = text;
}

// The longest Retry-After the page waits for by itself before sending once more.
const RETRY_MAX_S = 30;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A header value is a byte string, a character per byte (Fetch): the
// password's UTF-8 bytes, as `lorabridge passwd` hashed them ("é" is 2 bytes).
function headerBytes(text) {
  let out = "";
  for (const b of new TextEncoder().encode(text)) out += String.fromCharCode(b);
  return out;
}

// POST the command; a 429 (too many password checks) says in Retry-After
// how many seconds to wait: shown, then the command is sent once more.
async function queueDownlink(devEui, body, password, retried) {
  const res = await fetch(`api/devices/${encodeURIComponent(devEui)}/queue`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Authorization": "Bearer " + headerBytes(password) },
    body: JSON.stringify(body),
  });
  let answer = null;
  try { answer = await res.json(); } catch (_) { /* not JSON: the status says enough */ }
  const why = answer && answer.error ? answer.error : res.statusText;
  if (res.ok) {
    showResult(true, `Queued (${res.status}): id ${answer && answer.id ? answer.id : "?"}`);
    return;
  }
  const wait = Number.parseInt(res.headers.get("Retry-After") || "", 10);
  if (res.status === 429 && !retried && wait >= 0 && wait <= RETRY_MAX_S) {
    showResult(false, `Refused (429): ${why}. Sending again in ${wait} s…`);
    await sleep(wait * 1000);
    return queueDownlink(devEui, body, password, true);
  }
  showResult(false, `Refused (${res.status}): ${why}`);
}

async function submitDownlink(ev) {
  ev.preventDefault();
  const form = ev.target;
  const devEui = form.device.value;
  if (!devEui) { showResult(false, "Choose a device."); return; }
  let body;
  try { body = downlinkBody(form); } catch (e) { showResult(false, e.message); return; }
  $("dl-send").disabled = true;
  showResult(true, "sending…");
  try {
    await queueDownlink(devEui, body, form.password.value, false);
  } catch (e) {
    showResult(false, "Not sent: " + e.message);
  } finally {
    $("dl-send").disabled = false;
  }
}

// ---- start -----------------------------------------------------------------

function tick() {
  for (const t of document.querySelectorAll("time[data-ago]")) {
    const s = ago(t.dataset.ago);
    if (t.textContent !== s) t.textContent = s;
  }
  renderBridge();
}

function start() {
  $("downlink").addEventListener("submit", submitDownlink);
  $("log-filter").addEventListener("change", applyLogFilter);
  for (const r of document.querySelectorAll("input[name=kind]")) {
    r.addEventListener("change", () => {
      $("dl-payload").placeholder = r.value === "object" ? '{"interval_s": 600}' : "01 02 58";
    });
  }
  // Read-only until the hello says otherwise.
  $("dl-fields").disabled = true;
  renderLogCount();
  setInterval(tick, 1000);
  connect();
}

start();
