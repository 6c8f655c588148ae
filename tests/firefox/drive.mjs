// Debian's Firefox ESR for the Python browser tests, over WebDriver BiDi with puppeteer-core
// (no browser download). One JSON object per line on stdin, one answer per line on stdout:
//
//   {"id": 1, "cmd": "open", "url": "http://127.0.0.1:8080/k/..."}   -> {"id": 1, "ok": true, "value": <page number>}
//   {"id": 2, "cmd": "eval", "page": 0, "fn": "async (arg) => ...", "arg": ...}  -> {"id": 2, "ok": true, "value": ...}
//   {"id": 3, "cmd": "click", "page": 0, "selector": "#some-button"}
//   {"id": 4, "cmd": "close"}
//
// Errors answer {"id", "ok": false, "error"}; uncaught page errors come as {"event": "pageerror", "text"},
// console messages as {"event": "console", "text"}.
// Usage: node drive.mjs [--init script.js ...]   (scripts run in every page before its own)

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

const FIREFOX = process.env.FIREFOX || "/usr/bin/firefox-esr";
const inits = [];
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === "--init") inits.push(readFileSync(process.argv[++i], "utf8"));
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: FIREFOX,
  headless: true,
  // Generous: on a loaded CI machine Firefox takes long to start.
  protocolTimeout: 180000,
  extraPrefsFirefox: {
    // A fake camera and microphone, no permission prompt.
    "media.navigator.streams.fake": true,
    "media.navigator.permission.disabled": true,
    "media.autoplay.default": 0,
    // No sound device on a test machine: without this an AudioContext never leaves "suspended".
    "media.cubeb.force_mock_context": true,
    // A closed network: no updates, no telemetry, no captive-portal probes.
    "app.update.enabled": false,
    "network.captive-portal-service.enabled": false,
    "datareporting.policy.dataSubmissionEnabled": false,
  },
});
const pages = [];

async function run(msg) {
  if (msg.cmd === "open") {
    const page = await browser.newPage();
    page.on("pageerror", (err) => out({ event: "pageerror", text: String(err && err.message ? err.message : err) }));
    page.on("console", (msg) => out({ event: "console", text: msg.text() }));
    for (const source of inits) await page.evaluateOnNewDocument(source);
    await page.goto(msg.url, { waitUntil: "load", timeout: 60000 });
    pages.push(page);
    return pages.length - 1;
  }
  if (msg.cmd === "eval") {
    const fn = new Function(`return (${msg.fn});`)();
    return await pages[msg.page].evaluate(fn, msg.arg ?? null);
  }
  if (msg.cmd === "click") {
    await pages[msg.page].click(msg.selector);
    return true;
  }
  if (msg.cmd === "version") return await browser.version();
  if (msg.cmd === "close") {
    await browser.close();
    return true;
  }
  throw new Error(`unknown command ${msg.cmd}`);
}

const lines = createInterface({ input: process.stdin });
out({ event: "ready", version: await browser.version() });
for await (const line of lines) {
  if (!line.trim()) continue;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    out({ ok: false, error: "not JSON" });
    continue;
  }
  try {
    out({ id: msg.id, ok: true, value: await run(msg) });
  } catch (err) {
    out({ id: msg.id, ok: false, error: String(err && err.stack ? err.stack : err) });
  }
  if (msg.cmd === "close") break;
}
await browser.close().catch(() => {});
process.exit(0);
