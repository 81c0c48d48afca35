'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const BOM = '\uFEFF';

function createLog(root) {
  const diag = path.join(root, '_diag');
  let file = null;
  try {
    fs.mkdirSync(diag, { recursive: true });
    const ts = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    file = path.join(diag, `Runner_${ts}-utc.log`);
  } catch {
    file = null;
  }
  const write = (stream, msg) => {
    stream.write(`${msg}\n`);
    if (file) {
      try {
        fs.appendFileSync(file, `[${new Date().toISOString()}] ${msg}\n`);
      } catch { /* diag is best effort */ }
    }
  };
  return { info: (m) => write(process.stdout, m), error: (m) => write(process.stderr, m) };
}

/** IOUtil.SaveObject: indented JSON, UTF-8 with BOM. */
function saveObject(file, obj, mode) {
  fs.writeFileSync(file, BOM + JSON.stringify(obj, null, 2), { mode: mode || 0o644 });
  if (mode) fs.chmodSync(file, mode);
}

function loadObject(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
}

function runnerVersion() {
  try {
    return fs.readFileSync(path.join(ROOT, 'bin', 'runner-version'), 'utf8').trim();
  } catch {
    return '0.0.0';
  }
}

/** github.com → https://api.github.com; anything else (GHES, the emulator) → {origin}/api/v3 */
function apiUrlOf(url) {
  const u = new URL(url);
  if (u.hostname === 'github.com' || u.hostname === 'www.github.com') return 'https://api.github.com';
  return `${u.origin}/api/v3`;
}

async function http(method, url, { auth, body, signal } = {}) {
  const headers = { accept: 'application/json', 'user-agent': 'GitHubActionsRunner-fake' };
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  return { status: res.status, data };
}

const CONFIG_FILES = ['.runner', '.credentials', '.credentials_rsaparams'];

function deleteConfig(root) {
  for (const f of CONFIG_FILES) fs.rmSync(path.join(root, f), { force: true });
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

module.exports = { ROOT, createLog, saveObject, loadObject, runnerVersion, apiUrlOf, http, deleteConfig, CONFIG_FILES, sleep };
