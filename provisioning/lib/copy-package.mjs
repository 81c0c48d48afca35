#!/usr/bin/env node
// Installs the runner-fleet package from SRC (a built checkout or an unpacked `npm pack` with
// node_modules) into DEST with production dependencies only, offline: the dependency set
// comes from package-lock.json, not from a registry. Prints "changed" or "unchanged".
// DEST/.install-id fingerprints what was installed, so a second run copies nothing.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [src, dest] = process.argv.slice(2).map((p) => path.resolve(p));
if (!src || !dest) {
  console.error('usage: copy-package.mjs SRC DEST');
  process.exit(2);
}
const TOP = ['package.json', 'package-lock.json', 'dist', 'systemd', 'provisioning', 'config.example.yaml', 'README.md', 'docs'];

if (!existsSync(path.join(src, 'dist', 'cli', 'bin.js'))) {
  console.error(`${src}: dist/cli/bin.js missing (build first: npm run build)`);
  process.exit(1);
}

function prodModules() {
  const lockFile = path.join(src, 'package-lock.json');
  if (!existsSync(lockFile)) return existsSync(path.join(src, 'node_modules')) ? ['node_modules'] : [];
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  return Object.entries(lock.packages ?? {})
    .filter(([p, meta]) => p.startsWith('node_modules/') && !meta.dev && !meta.link && existsSync(path.join(src, p)))
    .map(([p]) => p);
}

function hashTree(h, rel) {
  const abs = path.join(src, rel);
  const st = statSync(abs);
  if (st.isDirectory()) {
    for (const e of readdirSync(abs).sort()) if (e !== 'node_modules' || rel === '') hashTree(h, path.join(rel, e));
  } else if (st.isFile()) {
    h.update(`${rel}\0${st.size}\0`);
    h.update(readFileSync(abs));
  }
}

const modules = prodModules();
const h = createHash('sha256');
for (const t of TOP) if (existsSync(path.join(src, t))) hashTree(h, t);
h.update(modules.join('\n'));
const id = h.digest('hex');

const idFile = path.join(dest, '.install-id');
if (existsSync(idFile) && readFileSync(idFile, 'utf8').trim() === id) {
  console.log('unchanged');
  process.exit(0);
}

const stage = `${dest}.new`;
rmSync(stage, { recursive: true, force: true });
for (const t of TOP) if (existsSync(path.join(src, t))) cpSync(path.join(src, t), path.join(stage, t), { recursive: true });
// Nested modules are inside their parents' dirs already; copy each top-level entry once.
const roots = modules.filter((m) => !modules.some((o) => o !== m && m.startsWith(`${o}/`)));
for (const m of roots) cpSync(path.join(src, m), path.join(stage, m), { recursive: true, verbatimSymlinks: true });
writeFileSync(path.join(stage, '.install-id'), `${id}\n`);
const old = `${dest}.old`;
rmSync(old, { recursive: true, force: true });
if (existsSync(dest)) renameSync(dest, old);
renameSync(stage, dest);
rmSync(old, { recursive: true, force: true });
console.log('changed');
