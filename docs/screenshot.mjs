#!/usr/bin/env node
// Takes docs/dashboard.png: the dashboard on the demo data, 1280 × 800, in the headless
// Chromium the browser tests use, driven over WebDriver by chromedriver.
//
//   cargo build && node docs/screenshot.mjs
//
// It serves the built binary (GATEWAY_BIN to choose another) over a fresh SQLite database
// with the demo data, on a free loopback port, mints an all-areas token with the binary's
// `token` command and opens /dashboard#token=... Needs Node 18 or later, /usr/bin/chromium and
// /usr/bin/chromedriver (`cargo test --test browser` installs them with apt-get).

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const binary = process.env.GATEWAY_BIN ?? join(root, 'target', 'debug', 'ticket-gateway');
const output = join(root, 'docs', 'dashboard.png');
const [WIDTH, HEIGHT] = [1280, 800];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

async function until(what, check, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // Not up yet.
    }
    if (Date.now() > deadline) throw new Error(`waited ${seconds} s for ${what}`);
    await sleep(100);
  }
}

for (const file of [binary, '/usr/bin/chromium', '/usr/bin/chromedriver']) {
  if (!existsSync(file)) {
    console.error(`${file} is missing: run \`cargo build\` and \`cargo test --test browser\` first`);
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'dashboard-screenshot-'));
const gatewayPort = await freePort();
const env = {
  ...process.env,
  DATABASE_URL: `sqlite://${join(dir, 'demo.db')}?mode=rwc`,
  JWT_SECRET: randomBytes(24).toString('hex'),
  BIND_ADDR: `127.0.0.1:${gatewayPort}`,
  DEMO_DATA: 'true',
  RUST_LOG: 'warn',
};
const children = [];
const gateway = spawn(binary, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
children.push(gateway);
const driverPort = await freePort();
const driver = spawn('/usr/bin/chromedriver', [`--port=${driverPort}`], { stdio: 'ignore' });
children.push(driver);

const webdriver = `http://127.0.0.1:${driverPort}`;
async function call(method, path, body) {
  const response = await fetch(webdriver + path, {
    method,
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const reply = await response.json();
  if (!response.ok) throw new Error(`WebDriver ${method} ${path}: ${JSON.stringify(reply)}`);
  return reply.value;
}

let session = null;
try {
  const base = `http://127.0.0.1:${gatewayPort}`;
  await until('the gateway', async () => (await fetch(`${base}/readyz`)).ok);
  const token = execFileSync(binary, ['token', '--all-areas'], { env }).toString().trim();
  await until('chromedriver', async () => (await fetch(`${webdriver}/status`)).ok);

  const profile = join(dir, 'profile');
  const created = await call('POST', '/session', {
    capabilities: {
      alwaysMatch: {
        browserName: 'chrome',
        'goog:chromeOptions': {
          binary: '/usr/bin/chromium',
          args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars',
            `--window-size=${WIDTH},${HEIGHT}`, `--user-data-dir=${profile}`],
        },
      },
    },
  });
  session = created.sessionId;
  // The window's size includes what the browser draws around the page: the page itself
  // gets exactly 1280 × 800.
  await call('POST', `/session/${session}/goog/cdp/execute`, {
    cmd: 'Emulation.setDeviceMetricsOverride',
    params: { width: WIDTH, height: HEIGHT, deviceScaleFactor: 1, mobile: false },
  });
  await call('POST', `/session/${session}/url`, { url: `${base}/dashboard#token=${token}` });
  await until('every view', () => call('POST', `/session/${session}/execute/sync`, {
    script: `return document.body.dataset.state === 'ready'
      && [...document.querySelectorAll('.chart:not([hidden])')].every((c) => c.dataset.rendered === 'true');`,
    args: [],
  }));
  // The notice names the time of the refresh; the picture should not.
  await call('POST', `/session/${session}/execute/sync`, {
    script: `const n = document.getElementById('notice'); n.textContent = n.textContent.replace(/ · updated .*/, '');`,
    args: [],
  });
  const png = await call('GET', `/session/${session}/screenshot`);
  writeFileSync(output, Buffer.from(png, 'base64'));
  console.log(`wrote ${output}`);
} finally {
  if (session) await call('DELETE', `/session/${session}`).catch(() => {});
  for (const child of children) child.kill();
  await sleep(200);
  rmSync(dir, { recursive: true, force: true });
}
