#!/usr/bin/env node
// Loads a page from disk in headless Chromium and reports, as one JSON object on stdout, what a
// person opening `condafix report -o fleet.html` would meet: console errors and uncaught
// exceptions, every network request the page made, whether each chart (an <svg>) has a table
// beside it, and a PNG screenshot of the whole page.
//
//   node scripts/report-browser-check.cjs <chromium> <page.html> <screenshot.png>
//
// No npm package: Chromium is driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: commands on fd 3, replies and events on fd 4, each message a JSON
// text ended by a NUL byte), which is what Playwright and Puppeteer do underneath.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const [chromium, page, screenshot] = process.argv.slice(2);
if (!chromium || !page || !screenshot) {
  console.error('usage: report-browser-check.cjs <chromium> <page.html> <screenshot.png>');
  process.exit(2);
}
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'condafix-chromium-'));
const child = spawn(chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-extensions',
  '--disable-default-apps', '--mute-audio', `--user-data-dir=${profile}`,
  '--remote-debugging-pipe', '--window-size=1280,900', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let stderr = '';
child.stdio[2].on('data', (d) => { if (stderr.length < 20000) stderr += d; });
const toBrowser = child.stdio[3];
const fromBrowser = child.stdio[4];

let nextId = 1;
const pending = new Map();
const listeners = [];
let buffered = Buffer.alloc(0);
fromBrowser.on('data', (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  let end;
  while ((end = buffered.indexOf(0)) !== -1) {
    const msg = JSON.parse(buffered.subarray(0, end).toString('utf8'));
    buffered = buffered.subarray(end + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${msg.error.message} (${msg.error.code})`));
      else resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + '\0');
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
function finish(code, result) {
  try { child.kill('SIGKILL'); } catch (_) { /* gone */ }
  try { fs.rmSync(profile, { recursive: true, force: true }); } catch (_) { /* best effort */ }
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(code);
}
const deadline = setTimeout(() => finish(3, { error: 'timed out after 60 s', stderr }), 60000);
child.on('exit', (code) => {
  if (pending.size > 0) finish(3, { error: `chromium exited (${code})`, stderr });
});

(async () => {
  const url = pathToFileURL(path.resolve(page)).href;
  const consoleErrors = [];
  const requests = [];
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  let loaded;
  const loadedP = new Promise((r) => { loaded = r; });
  listeners.push((m) => {
    if (m.sessionId !== sessionId) return;
    if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'assert')) {
      consoleErrors.push(m.params.args.map((a) => a.value ?? a.description ?? '').join(' '));
    } else if (m.method === 'Runtime.exceptionThrown') {
      consoleErrors.push(m.params.exceptionDetails.text + ' ' + (m.params.exceptionDetails.exception?.description ?? ''));
    } else if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error') {
      consoleErrors.push(`${m.params.entry.source}: ${m.params.entry.text}`);
    } else if (m.method === 'Network.requestWillBeSent') {
      requests.push(m.params.request.url);
    } else if (m.method === 'Page.loadEventFired') {
      loaded();
    }
  });
  for (const domain of ['Page', 'Runtime', 'Log', 'Network']) await send(`${domain}.enable`, {}, sessionId);
  await send('Page.navigate', { url }, sessionId);
  await loadedP;
  // Let anything the page might start late (it should start nothing) show up.
  await new Promise((r) => setTimeout(r, 300));
  const { result } = await send('Runtime.evaluate', {
    returnByValue: true,
    expression: `(() => {
      const charts = [...document.querySelectorAll('svg')].map((svg) => {
        const figure = svg.closest('figure');
        const table = figure ? figure.querySelector('table') : null;
        return {
          id: svg.id || (figure && figure.id) || '',
          label: svg.getAttribute('aria-label') || '',
          has_table: !!table,
          table_rows: table ? table.querySelectorAll('tbody tr').length : 0,
        };
      });
      return {
        title: document.title,
        charts,
        scripts: document.querySelectorAll('script').length,
        external: [...document.querySelectorAll('[src],link[href]')].map((e) => e.getAttribute('src') || e.getAttribute('href')),
        text_length: document.body.innerText.length,
      };
    })()`,
  }, sessionId);
  const metrics = await send('Page.getLayoutMetrics', {}, sessionId);
  const size = metrics.cssContentSize || metrics.contentSize;
  const shot = await send('Page.captureScreenshot', {
    format: 'png',
    captureBeyondViewport: true,
    clip: { x: 0, y: 0, width: Math.ceil(size.width), height: Math.min(Math.ceil(size.height), 16000), scale: 1 },
  }, sessionId);
  fs.mkdirSync(path.dirname(path.resolve(screenshot)), { recursive: true });
  fs.writeFileSync(screenshot, Buffer.from(shot.data, 'base64'));
  clearTimeout(deadline);
  finish(0, { url, console_errors: consoleErrors, requests, page: result.value, screenshot });
})().catch((e) => finish(3, { error: String(e && e.stack || e), stderr }));
