import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { FleetError } from '../errors.js';
import { crossChecks, type Report } from './checks.js';
import type { HostProbePaths } from '../backends/module.js';
import { ConfigError, sortIssues } from './errors.js';
import { interpolateDocument } from './interpolate.js';
import { sanitizeHostName } from './names.js';
import { normalize } from './normalize.js';
import { formatPath, Locator, type Path } from './positions.js';
import { configSchema, NAME_RE } from './schema.js';
import { readSecrets } from './secrets.js';
import { checkNamedFiles } from './files.js';
import { configWarnings } from './warnings.js';
import type { ConfigIssue, FleetConfig } from './types.js';

export { DEFAULT_CONFIG_PATH, resolveConfigPath } from './path.js';

export interface CheckOptions {
  /** The machine's host name, before sanitizing (tests pin it). Default: os.hostname(). */
  hostname?: string;
  /** Check that files named but read later (caFile, secretEnv) exist. loadConfig does; unit tests of the text need not. */
  files?: boolean;
  /** Where host facts (cgroups, for process-pool limits) are read. Default: this host's. */
  host?: HostProbePaths;
}

export interface CheckResult {
  config?: FleetConfig;
  issues: ConfigIssue[];
  /** Valid but probably unintended (duplicate labels, a huge pool, plain-http downloads). */
  warnings?: ConfigIssue[];
}

/** Reads, interpolates, validates and normalizes a config file; throws ConfigError with every issue. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, opts: CheckOptions = {}): Promise<FleetConfig> {
  return (await loadConfigWithWarnings(file, env, opts)).config;
}

/** loadConfig, plus what `validate` warns about. */
export async function loadConfigWithWarnings(file: string, env: NodeJS.ProcessEnv = process.env, opts: CheckOptions = {}): Promise<{ config: FleetConfig; warnings: ConfigIssue[] }> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(err)})`;
    throw new FleetError('CONFIG_NOT_FOUND', `config file ${abs} ${why}`, { cause: err });
  }
  const { config, issues, warnings } = checkConfigText(text, abs, env, { files: true, ...opts });
  if (!config) throw new ConfigError(issues);
  return { config, warnings: warnings ?? [] };
}

/**
 * Keys whose absence only turns a feature off (no bearer token, no webhook), written as plain
 * `${VAR}` in the contract's example and called optional there: a variable that is not set
 * leaves them unset, with a warning, instead of failing the config.
 */
const OFF_WHEN_UNSET = new Set(['api.token', 'api.webhookSecret']);

/** The pure part of loadConfig (apart from reading `*File` secrets): text in, config or issues out. */
export function checkConfigText(text: string, file: string, env: NodeJS.ProcessEnv, opts: CheckOptions = {}): CheckResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    // Later syntax errors are mostly echoes of the first; one precise line helps more.
    const { line, col } = lines.linePos(syntax.pos[0]);
    const source = text.split('\n')[line - 1] ?? '';
    const hint = /\{[^}]*\$\{/.test(source) ? ' (inside { } quote values that use ${VAR}: "${VAR}")' : '';
    return { issues: [{ file, line, col, path: '', message: `YAML: ${syntax.message.split('\n')[0]}${hint}` }] };
  }
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  // A value whose ${VAR} failed is reported once; what the schema then thinks of it is noise.
  const unresolved = new Set<string>();
  let loc = new Locator(file, doc, lines);
  const report: Report = (p: Path, message: string, at: 'key' | 'value' = 'value') => {
    const issue = loc.issue(p, message, at);
    const key = `${issue.path}\0${issue.message}`;
    if (!seen.has(key) && !unresolved.has(issue.path)) {
      seen.add(key);
      issues.push(issue);
    }
  };

  const failed: string[] = [];
  const offWarnings: [Path, string][] = [];
  interpolateDocument(doc, env, (p, message, onlyUnset) => {
    if (onlyUnset && OFF_WHEN_UNSET.has(formatPath(p))) return void offWarnings.push([p, `${message}: left unset, so that feature is off`]);
    report(p, message);
    failed.push(formatPath(p));
  });
  for (const p of failed) unresolved.add(p);
  loc = new Locator(file, doc, lines); // keys may have been interpolated
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    report([], raw == null ? 'the config file is empty' : 'the top level must be a mapping of sections');
    return { issues: sortIssues(issues) };
  }

  const hostName = effectiveHostName(raw, opts.hostname ?? os.hostname());
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) for (const zi of parsed.error.issues) reportZodIssue(zi, loc, report);
  crossChecks(raw, hostName, report, opts.host);
  const baseDir = path.dirname(file);
  const secrets = readSecrets(raw, baseDir, report);
  if (opts.files) checkNamedFiles(raw, baseDir, report);

  if (issues.length > 0 || !parsed.success) return { issues: sortIssues(issues) };
  const warnings: ConfigIssue[] = [];
  configWarnings(raw, (p, message, at = 'value') => warnings.push(loc.issue(p, message, at)));
  for (const [p, message] of offWarnings) warnings.push(loc.issue(p, message));
  return { config: normalize(parsed.data, { source: file, baseDir, hostName, secrets }), issues: [], warnings: sortIssues(warnings) };
}

function effectiveHostName(raw: object, machine: string): string {
  const configured = (raw as { host?: { name?: unknown } }).host?.name;
  if (typeof configured === 'string' && NAME_RE.test(configured)) return configured;
  return sanitizeHostName(machine);
}

function reportZodIssue(zi: z.core.$ZodIssue, loc: Locator, report: Report): void {
  const p = zi.path.map((s) => (typeof s === 'symbol' ? String(s) : s)) as Path;
  if (zi.code === 'custom' && zi.params?.crossChecked) return;
  if (zi.code === 'unrecognized_keys') {
    for (const k of zi.keys) report([...p, k], `unknown key "${k}"`, 'key');
    return;
  }
  if (zi.code === 'invalid_key') {
    report(p, `invalid key: ${zi.issues[0]?.message ?? zi.message}`, 'key');
    return;
  }
  if (zi.code === 'invalid_type' && !loc.has(p)) {
    report(p, `missing required key (expected ${zi.expected})`);
    return;
  }
  report(p, zi.message.replace(/^Invalid input: /, ''));
}
