/**
 * Markdown table of bench/results.json, for docs/benchmarks.md:
 *   node --import tsx bench/report.ts [results.json]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verdict, type ScenarioResult } from './lib.js';

const file = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'results.json');
const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as {
  machine: { nproc: number; memoryGiB: number; cpu: string; node: string; kernel: string; loadAvg: number[]; date: string };
  totalSeconds: number;
  scenarios: ScenarioResult[];
};
const m = doc.machine;
const num = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 3 });
console.log(`Machine: ${m.nproc} CPUs (${m.cpu}), ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}; ${m.date.slice(0, 16).replace('T', ' ')} UTC; load average at start ${m.loadAvg.join(' / ')}; whole run ${Math.round(doc.totalSeconds)} s.\n`);
console.log('| figure | value | target | result |');
console.log('|---|---:|---:|:---:|');
for (const s of doc.scenarios) {
  for (const f of s.figures) {
    const v = verdict(f);
    console.log(`| ${f.label.trim()} | ${f.value === null ? '—' : `${num(f.value)} ${f.unit}`} | ${f.target !== undefined ? `≤ ${num(f.target)} ${f.unit}` : ''} | ${v === 'n/a' ? '' : `**${v}**`} |`);
  }
}
