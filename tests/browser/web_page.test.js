// SPDX-License-Identifier: MIT
// lorabridge's web page in a real browser: Debian's Chromium, headless,
// driven by playwright-core, against the real daemon that
// tests/integration/test_web_page.sh starts (with mosquitto and the
// simulator). Every check waits for its condition with a deadline; none
// sleeps for a fixed time. Settings come from the environment:
//   URL            the page (http://127.0.0.1:PORT/)
//   PASSWORD       the bridge's http password (clear text)
//   GATEWAYS       the gateway ids expected online, space-separated
//   DEVICES        how many devices the page must list
//   DL_DEV         DevEUI of a device whose gateway stays up: gets the downlink
//   DOWN_FILE      the simulator's --expect-down file of that gateway
//   STOP_PID       pid of the other gateway's simulator (this test stops it)
//   STOP_GW        that gateway's id
//   OFFLINE_S      its offline timeout (udp.keepalive_s x udp.offline_after)
//   ODD_NAME       a device name full of markup, which must show as text
//   SCREENSHOT     where to save the screenshot (PNG)
//   CHROMIUM       the browser (/usr/bin/chromium)
//   MANY, MANY_S   a hello of MANY devices (2000) rendered within MANY_S s (30)
"use strict";

const fs = require("node:fs");
const assert = require("node:assert/strict");
const { chromium } = require("playwright-core");

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const URL = env("URL");
const PASSWORD = env("PASSWORD");
const GATEWAYS = env("GATEWAYS").split(/\s+/).filter(Boolean);
const N_DEV = Number(env("DEVICES"));
const DL_DEV = env("DL_DEV");
const DOWN_FILE = env("DOWN_FILE");
const STOP_PID = Number(env("STOP_PID"));
const STOP_GW = env("STOP_GW");
const OFFLINE_S = Number(env("OFFLINE_S"));
const ODD_NAME = env("ODD_NAME", "");
const SCREENSHOT = env("SCREENSHOT");
// How long one condition may take: generous for a loaded machine (lib.sh's WAIT_S).
const WAIT_MS = Number(env("WAIT_S", "30")) * 1000;
// The large hello: MANY devices, all rendered within MANY_S seconds.
const MANY = Number(env("MANY", "2000"));
const MANY_S = Number(env("MANY_S", "30"));

const note = (s) => console.log("-- " + s);

// until(what, fn, ms): until fn() returns a truthy value (polled every
// 100 ms), which it returns; fails with what it waited for after ms.
async function until(what, fn, ms = WAIT_MS) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await fn(); } catch (e) { last = e; }
    if (last && !(last instanceof Error)) return last;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// What the page shows of every device, read from the DOM.
function readDevices(page) {
  return page.$$eval("#devices tbody tr", (rows) => rows.map((r) => ({
    devEui: r.dataset.devEui,
    name: r.querySelector(".name").textContent,
    nameHasMarkup: r.querySelector(".name").children.length > 0,
    fcnt: Number.parseInt(r.querySelector(".fcnt").textContent, 10),
    rssiPoints: Number(r.querySelector("td[data-label=RSSI] .spark").dataset.points),
    snrPoints: Number(r.querySelector("td[data-label=SNR] .spark").dataset.points),
    values: Object.fromEntries([...r.querySelectorAll("dl.values dt")].map((dt) =>
      [dt.textContent, dt.nextElementSibling.textContent])),
    battery: r.querySelector("td[data-label=Battery]").textContent,
    airtime: Number(r.querySelector("td[data-label=Airtime] meter")?.value ?? NaN),
  })));
}

function readGateways(page) {
  return page.$$eval("#gateways tbody tr", (rows) => rows.map((r) => ({
    id: r.dataset.gateway,
    online: r.dataset.online === "true",
    state: r.querySelector(".badge").textContent,
    received: Number(r.querySelector(".rx").textContent),
    dutyRows: r.querySelectorAll(".duty-row").length,
    lastSeenMs: Date.parse(r.querySelector("td[data-label='Last seen'] time").getAttribute("datetime")),
    background: getComputedStyle(r).backgroundColor,
  })));
}

// "rgb(253, 228, 225)" -> red clearly above green and blue.
function reddish(css) {
  const m = /rgba?\((\d+), (\d+), (\d+)/.exec(css);
  return m !== null && Number(m[1]) > Number(m[2]) + 16 && Number(m[1]) > Number(m[3]) + 16;
}

async function main() {
  const t0 = Date.now();
  const browser = await chromium.launch({
    executablePath: env("CHROMIUM", "/usr/bin/chromium"),
    // No network here but loopback: keep Chromium from trying its own.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems = [];
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    page.on("requestfailed", (r) => problems.push("request failed: " + r.url()));
    // the server's Content-Security-Policy must not block anything of the page
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) problems.push("CSP: " + m.text());
    });
    page.on("request", (r) => {
      if (!r.url().startsWith(new globalThis.URL(URL).origin) && !r.url().startsWith("data:"))
        problems.push("request outside the bridge: " + r.url());
    });

    const loadStart = Date.now();
    await page.goto(URL, { waitUntil: "load" });
    await page.locator("#conn[data-state=live]").waitFor({ timeout: WAIT_MS });
    note(`page loaded and live in ${Date.now() - loadStart} ms`);

    // 1. both gateways online
    const gws = await until(`gateways ${GATEWAYS.join(", ")} online`, async () => {
      const g = await readGateways(page);
      return GATEWAYS.every((id) => g.some((x) => x.id === id && x.online && x.state === "online")) && g;
    });
    note(`gateways online: ${gws.map((g) => g.id).join(", ")}`);

    // 2. the devices, and their values updating live (no reload)
    const first = await until(`${N_DEV} devices listed, each heard once`, async () => {
      const d = await readDevices(page);
      return d.length === N_DEV && d.every((x) => Number.isInteger(x.fcnt)) && d;
    });
    const grown = await until("every device's FCnt and RSSI sparkline to grow and decoded values to show", async () => {
      const d = await readDevices(page);
      return d.every((x) => {
        const was = first.find((f) => f.devEui === x.devEui);
        return x.fcnt > was.fcnt && x.rssiPoints > was.rssiPoints && x.snrPoints > 0 &&
          Object.keys(x.values).some((k) => k.startsWith("temperatureSensor")) && x.airtime > 0;
      }) && d;
    });
    for (const x of grown) {
      note(`${x.name} ${x.devEui}: FCnt ${first.find((f) => f.devEui === x.devEui).fcnt} -> ${x.fcnt}, ` +
        `${x.rssiPoints} RSSI points, ${JSON.stringify(x.values)}`);
    }
    const g2 = await until("gateway counters and duty-cycle bars", async () => {
      const g = await readGateways(page);
      return g.every((x) => x.received > 0 && x.dutyRows > 0) && g;
    });
    note(`gateway counters: ${g2.map((g) => `${g.id} received ${g.received}`).join(", ")}`);
    const bat = await until("a device's battery (DevStatusAns)", async () => {
      const d = await readDevices(page);
      return d.find((x) => /^\d+ %$/.test(x.battery));
    });
    note(`battery of ${bat.name}: ${bat.battery}`);
    if (ODD_NAME) {
      const odd = grown.find((x) => x.name === ODD_NAME);
      assert.ok(odd, `no device shows the name ${ODD_NAME} as text`);
      assert.equal(odd.nameHasMarkup, false, "a device name became markup");
      note(`the name ${ODD_NAME} shows as text`);
    }

    // 3. the live log, newest first, filtered by device
    await until("uplinks in the live log", async () => (await page.locator("#log tbody tr[data-kind=up]").count()) >= N_DEV);
    await page.selectOption("#log-filter", DL_DEV);
    const shown = await page.$$eval("#log tbody tr", (rows) => rows.filter((r) => !r.hidden).map((r) => r.dataset.devEui));
    assert.ok(shown.length > 0 && shown.every((e) => e === DL_DEV), `log filter shows other devices: ${shown}`);
    const times = await page.$$eval("#log tbody tr time", (ts) => ts.map((t) => Date.parse(t.getAttribute("datetime"))));
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] >= times[i] - 1000, "log not newest first");
    note(`log filter: ${shown.length} rows, all of ${DL_DEV}`);

    // 4. a downlink through the form: a wrong password is refused, the right one queues it
    await page.selectOption("#dl-dev", DL_DEV);
    await page.fill("#dl-fport", "42");
    await page.check("input[name=kind][value=hex]");
    await page.fill("#dl-payload", "ca fe 00 17");
    await page.fill("#dl-password", PASSWORD + "-wrong");
    await page.click("#dl-send");
    await page.locator("#dl-result.bad", { hasText: "Refused (401)" }).waitFor({ timeout: WAIT_MS });
    note(`wrong password: ${await page.textContent("#dl-result")}`);
    await page.fill("#dl-password", PASSWORD);
    // The server checks an unknown password at most once per 2.5 s (429
    // with Retry-After before; the page waits that long and sends once
    // more): send again until it is queued.
    const dlDeadline = Date.now() + WAIT_MS;
    let limited = 0;
    for (;;) {
      await page.click("#dl-send");
      await page.waitForFunction(() => /Queued \(202\)|\(429\)/.test(document.getElementById("dl-result").textContent) &&
        !document.getElementById("dl-send").disabled, null, { timeout: WAIT_MS });
      if (!/\(429\)/.test(await page.textContent("#dl-result"))) break;
      limited++;
      assert.ok(Date.now() < dlDeadline, "the right password stayed rate-limited");
      await page.waitForTimeout(300);
    }
    await page.locator("#dl-result.ok", { hasText: "Queued (202)" }).waitFor({ timeout: WAIT_MS });
    note(`right password queued (after ${limited} rate-limited tries)`);
    const answer = await page.textContent("#dl-result");
    const id = /id ([0-9a-f-]{36})/.exec(answer);
    assert.ok(id, `no queue item id in "${answer}"`);
    note(`queued: ${answer}`);
    const want = new RegExp(`^${DL_DEV} \\d+ 42 cafe0017 [01] rx[12]$`, "m");
    const got = await until("the simulated device to receive the downlink", () =>
      fs.existsSync(DOWN_FILE) && want.exec(fs.readFileSync(DOWN_FILE, "utf8")));
    note(`delivered, as the simulator saw it: ${got[0]}`);
    await page.locator(`#log tbody tr[data-kind=txack][data-dev-eui="${DL_DEV}"]`, { hasText: id[1] })
      .first().waitFor({ timeout: WAIT_MS });
    note("its txack is in the live log");

    // 4b. a 429 (the password checks' limit): the page shows Retry-After's
    // seconds and sends once more after them (the second request goes to
    // the bridge and is queued).
    let posts = 0, firstAt = 0, againAt = 0;
    await page.route("**/api/devices/*/queue", (route) => {
      posts++;
      if (posts > 1) { againAt = Date.now(); return route.continue(); }
      firstAt = Date.now();
      return route.fulfill({ status: 429, headers: { "Retry-After": "2" }, contentType: "application/json",
        body: JSON.stringify({ error: "too many password checks: try again in 2 s" }) });
    });
    await page.click("#dl-send");
    await page.locator("#dl-result.bad", { hasText: "Sending again in 2 s" }).waitFor({ timeout: WAIT_MS });
    note(`429 shown: ${await page.textContent("#dl-result")}`);
    assert.ok(await page.isDisabled("#dl-send"), "the form is usable while the page waits to send again");
    await page.locator("#dl-result.ok", { hasText: "Queued (202)" }).waitFor({ timeout: WAIT_MS });
    await page.unroute("**/api/devices/*/queue");
    assert.equal(posts, 2, "not sent exactly once more after the 429");
    assert.ok(againAt - firstAt >= 1900, `sent again ${againAt - firstAt} ms after the 429, Retry-After 2 s`);
    note(`sent again ${againAt - firstAt} ms after the 429: ${await page.textContent("#dl-result")}`);

    // 5. a gateway going offline turns red within its timeout
    await page.selectOption("#log-filter", "");
    process.kill(STOP_PID, "SIGTERM");
    const stopped = Date.now();
    await page.locator(`#gateways tr[data-gateway="${STOP_GW}"][data-online=false]`)
      .waitFor({ timeout: (OFFLINE_S + 10) * 1000 });
    const redAt = Date.now();
    const took = (redAt - stopped) / 1000;
    const off = (await readGateways(page)).find((g) => g.id === STOP_GW);
    assert.equal(off.state, "offline");
    assert.ok(reddish(off.background), `offline row not red: ${off.background}`);
    // The bridge declares a gateway offline OFFLINE_S after the last
    // datagram it had from it (the lastSeen the row shows), checking once a
    // second: red at most about a second past that, plus the delivery.
    const sinceLast = (redAt - off.lastSeenMs) / 1000;
    assert.ok(sinceLast >= OFFLINE_S - 0.5 && sinceLast <= OFFLINE_S + 1.5,
      `red ${sinceLast} s after it was last heard, timeout ${OFFLINE_S} s`);
    assert.ok(took <= OFFLINE_S + 3, `offline shown ${took} s after the stop, timeout ${OFFLINE_S} s`);
    note(`${STOP_GW} stopped: red (${off.background}) ${sinceLast.toFixed(1)} s after it was last heard ` +
      `(${took.toFixed(1)} s after the stop; timeout ${OFFLINE_S} s)`);
    const other = (await readGateways(page)).filter((g) => g.id !== STOP_GW);
    assert.ok(other.every((g) => g.online), "another gateway went offline too");

    fs.mkdirSync(require("node:path").dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    note(`screenshot: ${SCREENSHOT}`);

    // 6. a narrow window: no sideways scrolling, the cards still labelled
    await page.setViewportSize({ width: 380, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 380 px window`);
    const narrow = SCREENSHOT.replace(/\.png$/, "-narrow.png");
    await page.screenshot({ path: narrow, fullPage: true });
    note(`narrow window fits; screenshot: ${narrow}`);

    assert.deepEqual(problems, [], "the page had errors or fetched from elsewhere");

    // 7. a read-only bridge (no http.password), its broker lost, and a
    // stream that ends: the page's own behaviour, so the stream is played
    // to it here: a hello saying writable:false, a bridge event saying
    // mqttConnected:false, then the end of the response.
    const ro = await browser.newPage();
    await ro.route("**/events", (route) => route.fulfill({
      status: 200, contentType: "text/event-stream",
      body: "retry: 2000\n\nevent: hello\ndata: " + JSON.stringify({
        bridge: { clientId: "ro", version: "t", region: "EU868", uptimeS: 1, mqttConnected: true, writable: false },
        gateways: [], devices: [] }) + "\n\nevent: bridge\ndata: " + JSON.stringify({
        clientId: "ro", version: "t", region: "EU868", uptimeS: 2, mqttConnected: false, writable: false }) +
        "\n\n",
    }));
    await ro.goto(URL);
    // the broker's connection lost after the hello: the badge follows
    await ro.locator("#bridge .badge.bad", { hasText: "disconnected" }).waitFor({ timeout: WAIT_MS });
    await ro.locator("#dl-readonly").waitFor({ state: "visible", timeout: WAIT_MS });
    for (const c of ["#dl-dev", "#dl-payload", "#dl-password", "#dl-send"])
      assert.equal(await ro.locator(c).isDisabled(), true, `${c} is enabled on a read-only bridge`);
    await ro.locator("#conn[data-state=down]", { hasText: "retrying in" }).waitFor({ timeout: WAIT_MS });
    note(`read-only: form disabled with "${(await ro.textContent("#dl-readonly")).trim().split("\n")[0]}…"; ` +
      `MQTT badge "${await ro.textContent("#bridge .badge")}"; stream ended: "${await ro.textContent("#conn")}"`);
    await ro.close();

    // 8. a hello of MANY devices: every row and every choice of the
    // device <select>s rendered within MANY_S (a table built in one go, not
    // a row and a sort of all the choices per device).
    const many = await browser.newPage();
    const devs = Array.from({ length: MANY }, (_, i) => ({
      devEui: (0x70b3d57ed0000000n + BigInt(MANY - 1 - i)).toString(16), name: `dev-${i}`,
      application: "demo", class: "A", devAddr: "26011f2a", lastSeen: new Date().toISOString(),
      fCntUp: i, fCntDown: 1, dr: 5, rssi: [-80, -81], snr: [7.5, 8], battery: 90, margin: 10,
      fairAccess: null, object: { t: 21.5 }, queue: 0 }));
    await many.route("**/events", (route) => route.fulfill({
      status: 200, contentType: "text/event-stream",
      body: "retry: 2000\n\nevent: hello\ndata: " + JSON.stringify({
        bridge: { clientId: "many", version: "t", region: "EU868", uptimeS: 1, mqttConnected: true, writable: true },
        gateways: [], devices: devs }) + "\n\n",
    }));
    const manyStart = Date.now();
    await many.goto(URL);
    const rendered = () => many.waitForFunction((n) =>
      document.querySelectorAll("#devices tbody tr").length === n &&
      document.getElementById("dl-dev").options.length === n, MANY, { timeout: MANY_S * 1000, polling: 100 });
    // The page's loop may be busy the whole time: the deadline is kept here too.
    const late = new Promise((resolve) => setTimeout(() => resolve("late"), MANY_S * 1000 + 1000));
    const how = await Promise.race([rendered().then(() => "rendered", (e) => "timeout: " + e.message), late]);
    const manyMs = Date.now() - manyStart;
    assert.ok(how === "rendered" && manyMs <= MANY_S * 1000,
      `${MANY} devices not rendered within ${MANY_S} s (${how}, ${manyMs} ms)`);
    const order = await many.$$eval("#devices tbody tr", (rs) => rs.map((r) => r.dataset.devEui));
    assert.deepEqual(order, devs.map((d) => d.devEui).sort(), "the rows are not sorted by DevEUI");
    note(`${MANY} devices rendered in ${manyMs} ms (limit ${MANY_S} s)`);
    await many.close();
    note(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await browser.close();
  }
}

main().then(() => console.log("PASS"), (e) => {
  console.error("FAIL: " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
