/** Shared pieces of the hostile-job suite: a job user, a cache snapshot, the attack script. */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const JOB_USER = 'rf-sec-job';
export function ensureJobUser(): { uid: number; gid: number } {
  // Several test files (separate workers) call this at once: a useradd that lost the race
  // ("already exists", or /etc/passwd locked) is fine as long as the user exists after a retry.
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync('id', ['-u', JOB_USER], { stdio: 'ignore' });
      break;
    } catch {
      try {
        execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/sh', JOB_USER], { stdio: 'ignore' });
      } catch (err) {
        if (attempt >= 20) throw err;
        execFileSync('sleep', ['0.1']);
      }
    }
  }
  const id = (flag: string) => Number(execFileSync('id', [flag, JOB_USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Every entry under dir (not following links): kind, mode, owner and content hash. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const p = path.join(dir, rel);
    const st = fs.lstatSync(p);
    const body = st.isFile() ? crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex') : st.isSymbolicLink() ? fs.readlinkSync(p) : '';
    out[rel] = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${body}`;
  }
  return out;
}

/** What a hostile job runs against its runner root $R and the data dir $D. Any success prints ATTACK-OK. */
export const ATTACK = `
try() { if sh -c "$1" >/dev/null 2>&1; then echo "ATTACK-OK: $1"; else echo "refused: $1"; fi; }
OWN="$R/bin/Runner.Listener $R/config.sh $R/run.sh $R/env.sh $R/externals/node20/bin/node"
for f in $OWN $(find "$D/cache" "$D/tools" -type f 2>/dev/null); do
  try "echo pwned >> '$f'"
  try "chmod 0777 '$f'"
done
for d in $(find "$D"/cache/runner/*/ "$D/tools" -type d 2>/dev/null); do try "touch '$d/planted'"; done
# Replacing entries of its own root may work (the root is the job's); the cache must not follow.
for f in $OWN; do (printf pwned > "$f.new" && mv -f "$f.new" "$f") 2>/dev/null || true; done
echo pwned > "$R/bin/planted.so" 2>/dev/null || true
echo attacks-done
`;


/**
 * A job's attempt on its sibling runner: which of `roots` is not its own, whether it can read
 * that root's credentials or list it, and whether a sibling process's environment is readable.
 * Prints READ-OK/LIST-OK on success, `sibling-processes=N` (how many it can see). `who` is the
 * first line the job prints (shell), e.g. `echo "other=$OTHER"`.
 */
export function siblingAttack(roots: string[], who: string): string {
  return `R="\${RUNNER_WORKSPACE%/_work}"
for o in ${roots.join(' ')}; do [ "$o" = "$R" ] || OTHER=$o; done
${who}
for f in "$OTHER/.credentials_rsaparams" "$OTHER/.credentials" "$OTHER/.runner"; do
  if cat "$f" > /dev/null 2>&1; then echo "READ-OK: $f"; else echo "unreadable: $f"; fi
done
if ls "$OTHER" > /dev/null 2>&1; then echo "LIST-OK: $OTHER"; fi
seen=0
for p in /proc/[0-9]*; do
  case "$(tr '\\0' ' ' < $p/cmdline 2>/dev/null || true)" in *"$OTHER"*) seen=$((seen+1));; esac
  if tr '\\0' '\\n' < $p/environ 2>/dev/null | grep -qx "HOME=$OTHER"; then echo "READ-OK: $p/environ"; fi
done
echo "sibling-processes=$seen"`;
}
