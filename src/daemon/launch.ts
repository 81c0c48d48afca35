import { pruneWork } from '../runner/work-prune.js';
import fs from 'node:fs';
import path from 'node:path';
import { moduleOf } from '../backends/index.js';
import type { RunnerSpec } from '../backends/types.js';
import type { FleetConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { LaunchKit, Registration } from '../reconcile/kit.js';
import { buildRunnerEnv, runnerMounts } from '../runner/env.js';
import { hookPaths, readJobState, readRegistrationId } from '../runner/hooks.js';
import { RootFileCache } from '../runner/root-file-cache.js';
import { prepareRunnerDir, removeRunnerDir, runnerRoot } from '../runner/prepare.js';
import type { InstalledTool } from '../tools/types.js';

/**
 * Builds runner dirs and specs from the config: the clean environment (docs/contract.md §6), the
 * verified cache linked in, hooks for the local busy truth, and secrets kept apart.
 */
export function createLaunchKit(deps: {
  config: () => FleetConfig;
  tools: () => InstalledTool[];
  logger: Logger;
  /** Tests look inside; the daemon gets its own. */
  hookCache?: RootFileCache;
}): LaunchKit {
  const dataDir = () => deps.config().host.dataDir;
  /** Every pass reads every hook file: reread only what changed (root-file-cache.ts). */
  const hookCache = deps.hookCache ?? new RootFileCache();
  return {
    async spec(pool, name, version, reg) {
      const cfg = deps.config();
      const root = runnerRoot(cfg.host.dataDir, name);
      const secretValues: Record<string, string> =
        reg.kind === 'jit' ? { ACTIONS_RUNNER_INPUT_JITCONFIG: reg.encoded } : { ACTIONS_RUNNER_INPUT_TOKEN: reg.token };
      const built = buildRunnerEnv({ cfg, pool, tools: deps.tools(), root, secretValues, logger: deps.logger });
      const backend = moduleOf(pool.backend);
      const owner = backend.runnerOwner(pool);
      const prepared = prepareRunnerDir({
        dataDir: cfg.host.dataDir, name, version, env: built.env, pathDirs: built.pathDirs,
        shared: backend.sharedRunnerFiles,
        ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      });
      const command = reg.kind === 'jit' ? [path.join(root, 'bin', 'Runner.Listener'), 'run'] : writeStartScript(root, name, reg);
      const { networkMode, ...parts } = backend.specParts(pool);
      const spec: RunnerSpec = {
        name, pool: pool.name, host: cfg.host.name, root, command,
        env: built.env, secretEnv: built.secretEnv,
        mounts: [...runnerMounts(cfg, pool, version), ...prepared.mounts],
        ephemeral: pool.ephemeral,
        ...(pool.limits ? { limits: pool.limits } : {}),
        network: { dns: pool.network.dns, extraHosts: pool.network.extraHosts, ...(networkMode ? { mode: networkMode } : {}) },
        ...parts,
      };
      return spec;
    },
    async cleanup(name) {
      await removeRunnerDir(dataDir(), name);
    },
    registrationId: (name) => readRegistrationId(runnerRoot(dataDir(), name)),
    pruneWork(name) {
      const root = runnerRoot(dataDir(), name);
      // A hook file that cannot be read (a job vandalised it) counts as busy: nothing is pruned.
      return pruneWork(root, async () => (await readJobState(root).catch(() => ({ state: 'busy' as const })))?.state !== 'busy');
    },
    async readHook(name) {
      const s = await readJobState(runnerRoot(dataDir(), name), hookCache);
      return s ? { state: s.state, at: s.at, ...(s.runId ? { runId: s.runId } : {}), ...(s.oomKills !== undefined ? { oomKills: s.oomKills } : {}) } : undefined;
    },
    retainHooks(names) {
      hookCache.retain([...names].map((n) => hookPaths(runnerRoot(dataDir(), n)).jobFile));
    },
  };
}

/** Non-root runners must traverse the data dir to reach their root, the cache and the tools. */
export function dataDirModeFor(cfg: FleetConfig): number {
  return cfg.pools.some((p) => moduleOf(p.backend).runsAsOtherUser(p)) ? 0o711 : 0o700;
}

/**
 * Persistent runners register with config.sh on first start. The token travels in the
 * environment (ACTIONS_RUNNER_INPUT_TOKEN, which the runner removes), never in argv.
 */
function writeStartScript(root: string, name: string, reg: Extract<Registration, { kind: 'token' }>): string[] {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = `#!/bin/bash
# runner-fleet: register once (config.sh), then supervise the listener directly for real exit codes.
set -e
cd ${q(root)}
if [ ! -f .runner ]; then
  ./config.sh --unattended --replace --disableupdate --name ${q(name)} --url ${q(reg.url)} \\
    --labels ${q(reg.labels.join(','))} --runnergroup ${q(reg.runnerGroup)} --work _work
fi
unset ACTIONS_RUNNER_INPUT_TOKEN
exec ./bin/Runner.Listener run
`;
  const file = path.join(root, '.rf', 'start.sh');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, script, { mode: 0o755 });
  return ['/bin/bash', file];
}
