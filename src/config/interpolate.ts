import { isPair, isScalar, isSeq, visit, type Document, type Scalar } from 'yaml';
import type { Path } from './positions.js';

/**
 * `${VAR}`, `${VAR:-default}` (default when unset or empty), `${VAR-default}` (default when
 * unset) and `$${` for a literal `${`. Applied to scalar values after parsing, so comments are
 * never touched and every problem keeps the position of the scalar it came from.
 */
const TOKEN = /\$\$\{|\$\{([^}]*)\}/g;
const EXPR = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?$/s;

const UNSET = 'environment variable';

export interface InterpolationResult {
  value: string;
  errors: string[];
}

export function interpolateString(input: string, env: NodeJS.ProcessEnv): InterpolationResult {
  const errors: string[] = [];
  const value = input.replace(TOKEN, (whole: string, expr: string | undefined) => {
    if (whole === '$${') return '${';
    const m = EXPR.exec(expr ?? '');
    if (!m) {
      errors.push(`malformed variable reference "${whole}" (use \${NAME} or \${NAME:-default}; $\${ for a literal)`);
      return whole;
    }
    const [, name = '', op, fallback = ''] = m;
    const v = env[name];
    if (op === ':-') return v === undefined || v === '' ? fallback : v;
    if (op === '-') return v === undefined ? fallback : v;
    if (v === undefined) {
      errors.push(`${UNSET} ${name} is not set (use \${${name}:-default} for a default)`);
      return '';
    }
    return v;
  });
  // An opening without a closing brace is a typo the user must see, not a literal.
  if (input.replace(TOKEN, '').includes('${')) errors.push('unterminated "${" (missing "}")');
  return { value, errors };
}

/**
 * Rewrites every string scalar in place; reports each failure with the scalar's path, and
 * whether the scalar was nothing but unset variables (it is now empty).
 */
export function interpolateDocument(
  doc: Document,
  env: NodeJS.ProcessEnv,
  report: (path: Path, message: string, onlyUnset: boolean) => void,
): void {
  visit(doc, {
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const { value, errors } = interpolateString(node.value, env);
      const path = pathOf(ancestry, node);
      const onlyUnset = value === '' && errors.every((e) => e.startsWith(UNSET));
      for (const e of errors) report(path, e, onlyUnset);
      node.value = value;
    },
  });
}

/** Rebuilds the config path of a scalar from the visitor's ancestry (document, maps, pairs, seqs). */
function pathOf(ancestry: readonly unknown[], node: Scalar): (string | number)[] {
  const path: (string | number)[] = [];
  const chain = [...ancestry, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isPair(parent)) path.push(isScalar(parent.key) ? String(parent.key.value) : String(parent.key));
    else if (isSeq(parent)) path.push(parent.items.indexOf(child));
  }
  return path;
}
