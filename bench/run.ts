/**
 * `npm run bench`: every scenario in turn (loopback only, a few minutes on 2 cores), then a
 * table with PASS/MISS against each target, then one JSON document with every figure, also
 * written to bench/results.json. A bench reports; it never fails on a MISS.
 *
 *   npm run bench                    # everything
 *   npm run bench -- planner prepare # only these scenarios
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonFootprint } from './daemon-footprint.js';
import { idleFleet } from './idle-fleet.js';
import { errText, verdict, type Figure, type ScenarioResult } from './lib.js';
import { lifecycleCalls } from './lifecycle-calls.js';
import { plannerBench } from './planner.js';
import { prepareBench } from './prepare.js';
import { scaleSetBench } from './scaleset.js';
import { webhookLatency } from './webhook-latency.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Targets from the issue; the bench prints PASS/MISS against them. */
export const TARGETS = {
  processRegisteredP95Ms: 300,
  dockerRegisteredP95Ms: 1500,
  callsPerLifecycle: 1,
  idleCallsPerHour: 15,
  daemonRssMB: 80,
  daemonCpuPct: 1,
  prepareMs: 50,
  prepareBytes: 1_000_000,
  scaleSetRegisteredP95Ms: 300,
};

const SCENARIOS: Record<string, () => Promise<ScenarioResult>> = {
  planner: () => plannerBench({ sizes: [100, 1000] }),
  prepare: () => prepareBench({ runners: 100, targetMs: TARGETS.prepareMs, targetBytes: TARGETS.prepareBytes }),
  'latency-process': () => webhookLatency({ backend: 'process', waves: [1, 1, 1, 1, 1, 5, 5, 5], targetP95Ms: TARGETS.processRegisteredP95Ms }),
  'latency-docker': () => webhookLatency({ backend: 'docker', waves: [1, 1, 1, 1, 1, 5, 5, 5], targetP95Ms: TARGETS.dockerRegisteredP95Ms }),
  scaleset: () => scaleSetBench({ waves: [1, 1, 1, 1, 1, 5, 5, 5], steadyJobs: 10, idleWindowMs: 30_000, idleHoldMs: 2000, targetP95Ms: TARGETS.scaleSetRegisteredP95Ms }),
  lifecycle: () => lifecycleCalls({ cycles: 10, target: TARGETS.callsPerLifecycle }),
  idle: () => idleFleet({ runners: 20, windowMs: 45_000, listEveryMs: 5_000, target: TARGETS.idleCallsPerHour }),
  // With the environment the shipped unit (systemd/runner-fleet.service) gives the daemon.
  footprint: () => daemonFootprint({ runners: 100, settleMs: 30_000, windowMs: 30_000, targetRssMB: TARGETS.daemonRssMB, targetCpuPct: TARGETS.daemonCpuPct }),
};

export function machine() {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  return {
    nproc: os.availableParallelism(),
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    cpu,
    node: process.version,
    kernel: os.release(),
    loadAvg: os.loadavg().map((l) => Number(l.toFixed(2))),
    date: new Date().toISOString(),
  };
}

function fmt(f: Figure): string {
  return f.value === null ? '—' : `${f.value.toLocaleString('en-US', { maximumFractionDigits: 3 })} ${f.unit}`;
}

function table(results: ScenarioResult[]): string {
  const rows = results.flatMap((r) => r.figures).map((f) => [f.label, fmt(f), f.target !== undefined ? `≤ ${f.target.toLocaleString('en-US')} ${f.unit}` : '', verdict(f) === 'n/a' ? '' : verdict(f)]);
  const head = ['figure', 'value', 'target', 'result'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const notes = results.flatMap((r) => [
    ...r.figures.filter((f) => f.note).map((f) => `  ${f.label.trim()}: ${f.note}`),
    ...r.notes.map((n) => `  [${r.name}] ${n}`),
  ]);
  if (notes.length) out.push('', 'notes:', ...notes);
  return out.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const wanted = argv.length ? argv : Object.keys(SCENARIOS);
  const unknown = wanted.filter((w) => !SCENARIOS[w]);
  if (unknown.length) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    return 2;
  }
  const started = Date.now();
  const info = machine();
  console.log(`runner-fleet bench — ${info.nproc} CPUs (${info.cpu}), ${info.memoryGiB} GiB, Node ${info.node}, load ${info.loadAvg.join(' ')}`);
  const results: ScenarioResult[] = [];
  for (const name of wanted) {
    process.stdout.write(`• ${name} … `);
    try {
      const r = await SCENARIOS[name]!();
      results.push(r);
      console.log(`${r.seconds.toFixed(1)} s`);
    } catch (err) {
      results.push({ name, figures: [], notes: [`scenario failed: ${errText(err)}`], seconds: 0 });
      console.log(`failed: ${errText(err)}`);
    }
  }
  console.log(`\n${table(results)}\n`);
  const figures = Object.fromEntries(results.flatMap((r) => r.figures).map((f) => [f.key, { value: f.value, unit: f.unit, ...(f.target !== undefined ? { target: f.target, verdict: verdict(f) } : {}) }]));
  const doc = { machine: info, totalSeconds: (Date.now() - started) / 1000, targets: TARGETS, figures, scenarios: results };
  const json = JSON.stringify(doc, null, 2);
  console.log(json);
  // A partial run (named scenarios) does not overwrite the full results; it goes to .tmp/ (ignored).
  const file = argv.length ? path.join(HERE, '..', '.tmp', 'bench-results.partial.json') : path.join(HERE, 'results.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${json}\n`);
  console.error(`\nwritten to ${path.relative(process.cwd(), file)}`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
