import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../src/config/schema.js';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config.example.yaml');

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  out?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  options?: Array<{ _zod: { def: Def } }>;
  valueType?: { _zod: { def: Def } };
}

/** Every key the strict schema accepts, as "section.key" paths. */
function keysOf(def: Def, prefix: string, out: Set<string>): void {
  const next = (d: { _zod: { def: Def } } | undefined, p = prefix): void => {
    if (d) keysOf(d._zod.def, p, out);
  };
  switch (def.type) {
    case 'object':
      for (const [k, v] of Object.entries(def.shape ?? {})) {
        const p = prefix ? `${prefix}.${k}` : k;
        out.add(p);
        next(v, p);
      }
      break;
    case 'pipe':
      next(def.in);
      next(def.out);
      break;
    case 'union':
      for (const o of def.options ?? []) next(o);
      break;
    case 'array':
      next(def.element);
      break;
    case 'record':
      next(def.valueType);
      break;
    default:
      next(def.innerType);
  }
}

test('config.example.yaml mentions every key of the schema', async (t) => {
  const text = await readFile(EXAMPLE, 'utf8');
  const keys = new Set<string>();
  keysOf((configSchema as unknown as { _zod: { def: Def } })._zod.def, '', keys);
  t.true(keys.size > 60, `only ${keys.size} keys found: the walker is broken`);
  const missing = [...keys].filter((k) => {
    const leaf = k.split('.').at(-1) ?? k;
    return !new RegExp(`(^|[\\s{,#])${leaf}:`, 'm').test(text);
  });
  t.deepEqual(missing, []);
});
