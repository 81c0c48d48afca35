import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ConfigIssue } from './types.js';

export type PathSeg = string | number;
export type Path = readonly PathSeg[];

/** `pools[1].scope`, `network.extraHosts["a.b.c"]`: the form every issue uses. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

interface Spot {
  key?: number; // offset of the key (map entries)
  value?: number; // offset of the value node
}

/**
 * Turns config paths back into FILE:LINE:COL. Built once from the parsed document;
 * a path that is not in the file (a missing key) falls back to its nearest present parent.
 */
export class Locator {
  private readonly spots = new Map<string, Spot>();

  constructor(
    readonly file: string,
    doc: Document | undefined,
    private readonly lines: LineCounter,
  ) {
    if (doc?.contents) this.walk(doc.contents as Node, []);
  }

  /** Where a path's value starts (or its key with `at: 'key'`, e.g. for an unknown key). */
  issue(path: Path, message: string, at: 'key' | 'value' = 'value'): ConfigIssue {
    const offset = this.offset(path, at);
    const { line, col } = offset === undefined ? { line: 1, col: 1 } : this.lines.linePos(offset);
    return { file: this.file, line, col, path: formatPath(path), message };
  }

  has(path: Path): boolean {
    return this.spots.has(formatPath(path));
  }

  private offset(path: Path, at: 'key' | 'value'): number | undefined {
    for (let n = path.length; n >= 0; n--) {
      const spot = this.spots.get(formatPath(path.slice(0, n)));
      if (!spot) continue;
      // A missing child is reported at its parent's key: "pools[0]: missing scope" reads best there.
      const exact = n === path.length;
      const prefer = exact ? at : 'key';
      return (prefer === 'key' ? spot.key : spot.value) ?? spot.value ?? spot.key;
    }
    return undefined;
  }

  private walk(node: Node, path: PathSeg[]): void {
    const here = formatPath(path);
    const spot = this.spots.get(here) ?? {};
    if (node.range) spot.value = node.range[0];
    this.spots.set(here, spot);
    if (isAlias(node)) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key as Node | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        if (key === '<<') continue;
        const child = [...path, key];
        const keyAt = keyNode?.range?.[0];
        const valueNode = pair.value as Node | null;
        if (valueNode && valueNode.range) {
          this.walk(valueNode, child);
          const s = this.spots.get(formatPath(child));
          if (s) s.key = keyAt;
        } else {
          this.spots.set(formatPath(child), { key: keyAt, value: keyAt });
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        if (item && (item as Node).range) this.walk(item as Node, [...path, i]);
      });
    }
  }
}
