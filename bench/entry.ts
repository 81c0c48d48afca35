/**
 * How to run `runner-fleet` as a child process for the footprint bench: the built
 * `dist/cli/bin.js` when it is newer than every source file; otherwise src/ transpiled (no type
 * check, ~1 s) into `.tmp/bench-dist/` with the project's own TypeScript; `tsx` only as a last
 * resort, because its loader thread would add ~20 MB to the RSS being measured.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface DaemonEntry {
  argv: string[];
  how: string;
}

function newestMtime(dir: string, ext: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { recursive: true }) as string[]) {
    if (!e.endsWith(ext)) continue;
    newest = Math.max(newest, fs.statSync(path.join(dir, e)).mtimeMs);
  }
  return newest;
}

function transpileSrc(outDir: string): void {
  const src = path.join(REPO, 'src');
  for (const rel of fs.readdirSync(src, { recursive: true }) as string[]) {
    if (!rel.endsWith('.ts') || rel.endsWith('.d.ts')) continue;
    const text = fs.readFileSync(path.join(src, rel), 'utf8');
    const out = ts.transpileModule(text, {
      fileName: rel,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
    });
    const dest = path.join(outDir, rel.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, out.outputText);
  }
}

export function daemonEntry(): DaemonEntry {
  const srcNewest = newestMtime(path.join(REPO, 'src'), '.ts');
  const dist = path.join(REPO, 'dist', 'cli', 'bin.js');
  if (fs.existsSync(dist) && newestMtime(path.join(REPO, 'dist'), '.js') >= srcNewest) {
    return { argv: [process.execPath, dist], how: 'dist/cli/bin.js (built)' };
  }
  try {
    const out = path.join(REPO, '.tmp', 'bench-dist');
    fs.rmSync(out, { recursive: true, force: true });
    transpileSrc(out);
    return { argv: [process.execPath, path.join(out, 'cli', 'bin.js')], how: 'src transpiled to .tmp/bench-dist (dist/ absent or older than src/)' };
  } catch (err) {
    return {
      argv: [process.execPath, '--import', 'tsx', path.join(REPO, 'src', 'cli', 'bin.ts')],
      how: `tsx (transpile failed: ${(err as Error).message}); RSS includes tsx's loader`,
    };
  }
}
