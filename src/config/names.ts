import { randomInt } from 'node:crypto';
import type { PoolConfig, Scope, ToolConfig } from './types.js';

/** Our arch names, as GitHub spells them in runner labels and runners/downloads. */
export type Arch = 'x64' | 'arm64' | 'arm';

export function hostArch(nodeArch: string = process.arch): Arch {
  if (nodeArch === 'x64' || nodeArch === 'arm64' || nodeArch === 'arm') return nodeArch;
  throw new Error(`unsupported architecture ${nodeArch} (runner-fleet supports x64, arm64, arm)`);
}

/** What every runner carries besides its pool's labels. */
export function defaultLabels(arch: Arch | string): string[] {
  return ['self-hosted', 'linux', arch];
}

/** Defaults first, then the pool's labels; duplicates dropped case-insensitively as the runner does. */
export function runnerLabels(pool: Pick<PoolConfig, 'labels'>, arch: Arch | string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const l of [...defaultLabels(arch), ...pool.labels]) {
    const k = l.toLowerCase();
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(l);
  }
  return out;
}

/** The machine's host name in the form runner names need: short name, [a-z0-9-]. */
export function sanitizeHostName(raw: string): string {
  const short = raw.toLowerCase().split('.')[0] ?? '';
  const clean = short.replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  return clean || 'host';
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Suffix length of generated runner names; GitHub caps runner names at RUNNER_NAME_MAX. */
export const SUFFIX_LEN = 8;
export const RUNNER_NAME_MAX = 64;

/**
 * The one rule for a runner name anywhere (runner dir, unit, container, pid file): lowercase
 * letters, digits and "-", starting with a letter or digit. Names are `{host}-{pool}-{suffix}`.
 */
export const RUNNER_NAME_RE = /^[a-z0-9][a-z0-9-]*$/;

export function isRunnerName(name: string): boolean {
  return RUNNER_NAME_RE.test(name);
}

/**
 * The ownership test: a runner is this pool's only if its WHOLE name matches. The suffix has no
 * "-", so pools `cd` and `cd-big` never match each other's runners.
 */
export function runnerNamePattern(host: string, pool: string): RegExp {
  return new RegExp(`^${escapeRe(host)}-${escapeRe(pool)}-[a-z0-9]{6,}$`);
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function randomSuffix(len = SUFFIX_LEN): string {
  let s = '';
  for (let i = 0; i < len; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

export function newRunnerName(host: string, pool: string): string {
  return `${host}-${pool}-${randomSuffix()}`;
}

/** Stable key for per-scope state (tokens, metrics): org:x | repo:o/r | enterprise:e. */
export function scopeKey(scope: Scope): string {
  switch (scope.kind) {
    case 'org':
      return `org:${scope.org}`;
    case 'repo':
      return `repo:${scope.owner}/${scope.repo}`;
    case 'enterprise':
      return `enterprise:${scope.enterprise}`;
  }
}

/** The `--url` config.sh wants for a scope. */
export function scopeUrl(githubUrl: string, scope: Scope): string {
  const base = githubUrl.replace(/\/+$/, '');
  switch (scope.kind) {
    case 'org':
      return `${base}/${scope.org}`;
    case 'repo':
      return `${base}/${scope.owner}/${scope.repo}`;
    case 'enterprise':
      return `${base}/enterprises/${scope.enterprise}`;
  }
}

const DEFAULT_TOOL_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm' };

/** The tool's spelling of our arch (archMap, else x64→amd64). */
export function toolArch(tool: Pick<ToolConfig, 'archMap'>, arch: Arch | string): string {
  return tool.archMap?.[arch] ?? DEFAULT_TOOL_ARCH[arch] ?? arch;
}

export function expandToolTemplate(tpl: string, tool: Pick<ToolConfig, 'version' | 'archMap'>, arch: Arch | string): string {
  return tpl
    .replaceAll('{version}', tool.version)
    .replaceAll('{os}', 'linux')
    .replaceAll('{arch}', toolArch(tool, arch));
}

/** `{dataDir}/tools/{name}/{version}/{arch}` (the Actions tool-cache layout, our arch names). */
export function toolDir(dataDir: string, tool: Pick<ToolConfig, 'name' | 'version'>, arch: Arch | string): string {
  return `${dataDir.replace(/\/+$/, '')}/tools/${tool.name}/${tool.version}/${arch}`;
}
