import { plural } from '../plural.js';
import type { CheckResult } from './types.js';

export { plural };

/** Column layout for a terminal `width` wide; rows wrap inside their columns. */
export interface TableLayout {
  width: number;
}

const STATUS_W = 6;

function layout(width: number): [number, number, number] {
  const w = Math.max(60, width);
  const name = Math.min(34, Math.max(16, Math.floor(w * 0.3)));
  return [name, STATUS_W, w - name - STATUS_W - 4];
}

/** Greedy word wrap; words longer than the width are cut. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (let word of para.split(/\s+/).filter(Boolean)) {
      while (word.length > width) {
        if (line) out.push(line);
        line = '';
        // Break a long host:port or path after a separator when there is one.
        const cut = Math.max(...['.', ':', '/', '-'].map((c) => word.lastIndexOf(c, width - 1))) + 1 || width;
        out.push(word.slice(0, cut));
        word = word.slice(cut);
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= width) line += ` ${word}`;
      else {
        out.push(line);
        line = word;
      }
    }
    out.push(line);
  }
  return out;
}

function renderLine(cells: string[][], w: number[]): string[] {
  const height = Math.max(...cells.map((c) => c.length));
  const out: string[] = [];
  for (let i = 0; i < height; i++) out.push(cells.map((c, j) => (c[i] ?? '').padEnd(j < cells.length - 1 ? w[j]! : 0)).join('  ').trimEnd());
  return out;
}

/** CHECK | STATUS | DETAIL, the fix under the detail: symptom, cause, fix, fitting `width` columns. */
export function formatHeader(width: number): string {
  const w = layout(width);
  return renderLine([['CHECK'], ['STATUS'], ['DETAIL / FIX']], w).join('\n') + '\n';
}

export function formatRows(rows: CheckResult[], width: number): string {
  const w = layout(width);
  return rows.map((r) => {
    const detail = wrap(r.detail, w[2]);
    if (r.status !== 'ok' && r.status !== 'skip' && r.hint) detail.push(...wrap(`fix: ${r.hint}`, w[2]));
    return renderLine([wrap(r.name, w[0]), [r.status.toUpperCase()], detail], w).join('\n') + '\n';
  }).join('');
}

export function formatSummary(rows: CheckResult[]): string {
  const n = (s: string) => rows.filter((r) => r.status === s).length;
  const parts = [`${n('fail')} failed`, plural(n('warn'), 'warning'), `${n('skip')} skipped`];
  return `\n${plural(rows.length, 'check')}: ${parts.join(', ')}\n`;
}

export function formatTable(rows: CheckResult[], width = 100): string {
  return formatHeader(width) + formatRows(rows, width) + formatSummary(rows);
}
