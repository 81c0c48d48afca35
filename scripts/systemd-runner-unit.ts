/** Writes a sample generated runner unit into DIR (for scripts/systemd-score.sh and docs). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderUnit, unitName } from '../src/backends/systemd/unit.js';

const dir = process.argv[2] ?? '.';
const name = 'build-01-cd-abc123';
const root = `/var/lib/runner-fleet/runners/${name}`;
mkdirSync(dir, { recursive: true });
const text = renderUnit(
  {
    name, pool: 'cd', host: 'build-01', root,
    command: [path.join(root, 'bin/Runner.Listener'), 'run'],
    env: { RUNNER_TOOL_CACHE: '/var/lib/runner-fleet/tools' }, secretEnv: {}, mounts: [], ephemeral: true,
    network: { dns: [], extraHosts: {} }, systemd: { user: 'runner' },
  },
  { envFile: `/run/runner-fleet/${name}.env` },
  { home: '/home/runner', stopTimeoutSec: 30 },
);
writeFileSync(path.join(dir, unitName(name)), text);
process.stdout.write(path.join(dir, unitName(name)) + '\n');
