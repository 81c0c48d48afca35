import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { backendModules } from '../../backends/index.js';
import type { DaemonDropIn, RawPool } from '../../backends/module.js';
import type { BackendKind } from '../../config/types.js';
import { DEFAULT_BIN, DEFAULT_CREDENTIALS_DIR, installService } from '../../backends/systemd/service-install.js';
import { describeError, FleetError } from '../../errors.js';
import type { CliContext } from '../context.js';

interface Opts {
  unitDir: string;
  reload: boolean;
  bin: string;
  credentialsDir: string;
  systemdBackend?: boolean;
  processUser?: boolean;
}

/**
 * Writes systemd/runner-fleet.service (+ the systemd-backend drop-in when a pool uses systemd,
 * + credentials.conf matching /etc/runner-fleet/credentials), then daemon-reload and enable.
 * Idempotent: prints "unchanged" when everything is already in place. It does not start or
 * restart the daemon: that is the operator's (or setup-host.sh's) call.
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('install-service')
    .description("write the daemon's systemd unit and reload systemd")
    .option('--unit-dir <dir>', 'where to write the unit', '/etc/systemd/system')
    .option('--no-reload', 'do not run systemctl daemon-reload / enable')
    .option('--bin <path>', 'the runner-fleet executable for ExecStart', DEFAULT_BIN)
    .option('--credentials-dir <dir>', 'files loaded as systemd credentials', DEFAULT_CREDENTIALS_DIR)
    .option('--systemd-backend', 'install the systemd-backend drop-in (default: when a pool has backend: systemd)')
    .option('--no-systemd-backend', 'never install the systemd-backend drop-in')
    .option('--process-user', 'install the process-user drop-in (default: when a process pool sets process.user)')
    .option('--no-process-user', 'never install the process-user drop-in')
    .addHelpText('after', '\nExit 0 written (or unchanged), 1 writing or systemctl failed, 2 the config is missing or where the daemon cannot see it.')
    .action(async (o: Opts) => {
      checkConfigVisible(ctx.configPath());
      const needed = o.systemdBackend === undefined || o.processUser === undefined ? await dropInsNeeded(ctx) : new Set<DaemonDropIn>();
      const systemdBackend = o.systemdBackend ?? needed.has('systemd-backend');
      const processUser = o.processUser ?? needed.has('process-user');
      const res = await installService({
        unitDir: o.unitDir,
        reload: o.reload,
        bin: o.bin,
        configPath: ctx.configPath(),
        systemdBackend,
        processUser,
        credentialsDir: o.credentialsDir,
      });
      for (const f of res.changed) ctx.stdout.write(`changed: ${f}\n`);
      if (res.changed.length === 0) ctx.stdout.write('unchanged: runner-fleet.service\n');
      if (res.credentials.length === 0) {
        ctx.stderr.write(`warning: no credentials in ${o.credentialsDir}; the config must not rely on \${CREDENTIALS_DIRECTORY}\n`);
      }
      ctx.stdout.write(`systemd backend drop-in: ${systemdBackend ? 'installed' : 'not needed'}${o.reload ? ', systemd reloaded, unit enabled' : ''}\n`);
      ctx.stdout.write(`process-user drop-in: ${processUser ? 'installed (the daemon runs as root to switch users)' : 'not needed'}\n`);
    });
}

/** /tmp and /var/tmp are the unit's own (PrivateTmp=yes): a config there is not the daemon's. */
const PRIVATE_TMP = ['/tmp', '/var/tmp'];

/** The unit must point at a config the daemon will see; refuse (exit 2) before writing anything. */
function checkConfigVisible(configPath: string): void {
  let real: string;
  try {
    real = fs.realpathSync(configPath);
  } catch {
    throw new FleetError('CONFIG_NOT_FOUND', `config file ${configPath} not found: the unit would start a daemon without a config (write it first, or pass -c FILE)`);
  }
  for (const p of [configPath, real]) {
    const under = PRIVATE_TMP.find((d) => p === d || p.startsWith(`${d}/`));
    if (under) {
      throw new FleetError('USAGE', `config file ${configPath} is under ${under}, which the service cannot see (the unit has PrivateTmp=yes): move it to /etc/runner-fleet/config.yaml`);
    }
  }
}

/**
 * The drop-ins the config's pools need: from the validated config when it loads; else a plain
 * YAML scan, so the unit can be installed before every secret the config names is in place.
 */
async function dropInsNeeded(ctx: CliContext): Promise<Set<DaemonDropIn>> {
  let pools: RawPool[];
  try {
    pools = (await ctx.loadConfig()).pools as unknown as RawPool[];
  } catch (err) {
    try {
      const { parse } = await import('yaml');
      const doc = parse(await readFile(ctx.configPath(), 'utf8')) as { pools?: RawPool[] } | null;
      pools = (doc?.pools ?? []).filter((p) => p !== null && typeof p === 'object');
    } catch {
      ctx.stderr.write(`warning: config not readable (${describeError(err)}); assuming no pool needs a drop-in\n`);
      return new Set();
    }
  }
  const out = new Set<DaemonDropIn>();
  for (const p of pools) {
    const d = backendModules.get((p.backend ?? 'process') as BackendKind)?.daemonDropIn(p);
    if (d) out.add(d);
  }
  return out;
}
