/**
 * `npm run demo`: a one-minute tour of runner-fleet on a fresh checkout, no Docker, no network.
 * A local GitHub emulator (in this process) stands in for GitHub; the daemon runs real child
 * processes (a fake Actions runner that speaks the runner protocol). It shows: tools installed
 * and verified, a fixed pool registering and coming online, a CD job finding argocd and yq on
 * PATH, the ephemeral runner replaced, a webhook-driven scale-up with its latency, beside it a
 * GitHub runner scale-set pool served over outbound long polls (no webhook), the status API
 * and metrics, and a drain. Exit 0 when every step worked, 1 otherwise.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { startDaemon, type Daemon } from '../src/daemon/start.js';
import { startEmulator } from '../test/emulator/index.js';
import type { Emulator } from '../test/emulator/types.js';
import { emulatorConfigYaml } from '../test/helpers/daemon.js';

const TOOLS = {
  argocd: { version: 'v2.13.3', script: '#!/bin/sh\n[ "$1" = version ] && echo "argocd: v2.13.3+a5e26ef (demo build)" || echo "argocd (demo) $*"\n' },
  yq: { version: 'v4.40.5', script: '#!/bin/sh\necho "yq (https://github.com/mikefarah/yq/) version v4.40.5 (demo build)"\n' },
};
const SECRET = 'test-secret';
const CD_LABELS = ['self-hosted', 'linux', 'cd-pipeline'];
const BURST_LABELS = ['self-hosted', 'linux', 'cd-burst'];
/** Scale-set runners carry the scale set's labels only. */
const EDGE_LABELS = ['cd-edge'];

const t0 = Date.now();
const say = (msg = '') => console.log(msg === '' ? '' : `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
const step = (title: string) => console.log(`\n== ${title}`);
const indent = (text: string, prefix = '      | ') => text.trimEnd().split('\n').map((l) => prefix + l).join('\n');

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function toolsYaml(emu: Emulator): string {
  const lines = ['tools:'];
  for (const [name, t] of Object.entries(TOOLS)) {
    emu.serveFile(`releases/${name}/${t.version}/${name}-linux-amd64`, t.script);
    const sha = createHash('sha256').update(t.script).digest('hex');
    lines.push(
      `  - name: ${name}`,
      `    version: ${t.version}`,
      `    url: ${emu.url}/_files/releases/${name}/{version}/${name}-linux-{arch}`,
      `    sha256: ${sha}`,
      '    archive: none',
      `    versionCommand: [${name === 'argocd' ? 'version, --client' : '--version'}]`,
    );
  }
  return lines.join('\n');
}

const POOLS = `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: process
    size: 2
    ephemeral: true
    env: { RUNNER_ALLOW_RUNASROOT: "1", ARGOCD_SERVER: argocd.internal.example.com }
  - name: burst
    scope: { org: acme }
    labels: [cd-burst]
    backend: process
    scale: { minIdle: 0, max: 3, idleTimeout: 1m }
    ephemeral: true
    env: { RUNNER_ALLOW_RUNASROOT: "1" }
  - name: edge
    scope: { org: acme }
    labels: [cd-edge]
    backend: process
    scale: { minIdle: 0, max: 3, via: scaleset }
    env: { RUNNER_ALLOW_RUNASROOT: "1" }
`;

const ours = (pool: string) => new RegExp(`^h1-${pool}-[a-z0-9]{6,}$`);

async function demo(dir: string, emu: Emulator): Promise<void> {
  const configPath = path.join(dir, 'config.yaml');
  fs.writeFileSync(configPath, emulatorConfigYaml(emu, path.join(dir, 'data'), POOLS, toolsYaml(emu)));
  const logFile = path.join(dir, 'daemon.log');
  const logStream = fs.createWriteStream(logFile);
  step('1. Start');
  say(`GitHub emulator: ${emu.url} (org "acme"; REST at ${emu.apiUrl})`);
  say(`config: ${configPath}  (pools: cd = 2 ephemeral runners labelled cd-pipeline; burst = scale 0..3 from webhooks; edge = scale 0..3 through a GitHub runner scale set)`);
  say(`daemon log (JSON lines): ${logFile}`);
  const config = await loadConfig(configPath, {});
  const daemon: Daemon = await startDaemon({ config, logger: createLogger({ level: 'info', destination: logStream }) });
  const api = `http://127.0.0.1:${daemon.apiPort}`;
  try {
    say(`daemon started; API on ${api}; installing tools and the runner (sha256-verified)…`);
    await daemon.ready;
    const status0 = (await (await fetch(`${api}/api/v1/status`)).json()) as { tools: { name: string; version: string; sha256: string | null }[] };
    if (status0.tools.length !== 2) throw new Error(`expected 2 installed tools, status shows ${JSON.stringify(status0.tools)} (see ${logFile})`);
    for (const t of status0.tools) say(`tool installed and verified: ${t.name} ${t.version} (sha256 ${t.sha256?.slice(0, 12)}…)`);

    step('2. Fixed pool "cd": 2 ephemeral runners register (JIT) and come online');
    const seen = new Set<string>();
    await until('2 cd runners online', () => {
      for (const r of emu.runners().filter((x) => ours('cd').test(x.name))) {
        if (!seen.has(`${r.name}:reg`)) (seen.add(`${r.name}:reg`), say(`registered on GitHub: ${r.name}  labels ${r.labels.join(',')}`));
        if (r.status === 'online' && !seen.has(`${r.name}:on`)) (seen.add(`${r.name}:on`), say(`online (listener connected): ${r.name}`));
      }
      return emu.runners().filter((x) => ours('cd').test(x.name) && x.status === 'online').length === 2;
    });
    const first = emu.runners().filter((r) => ours('cd').test(r.name)).map((r) => r.name);

    step('3. A CD job queued for [self-hosted, linux, cd-pipeline]');
    const jobId = emu.queueJob({
      labels: CD_LABELS,
      name: 'deploy-staging',
      script: 'echo "runner: $RUNNER_NAME"\necho "argocd at: $(command -v argocd)"\nargocd version --client\necho "yq at: $(command -v yq)"\nyq --version\necho "ARGOCD_SERVER=$ARGOCD_SERVER"',
    });
    say(`job ${jobId} queued`);
    const job = await emu.waitForJob(jobId, 30_000);
    say(`job ${jobId} ${job.conclusion} on ${job.runnerName} (${job.completedAt! - job.queuedAt} ms from queued to done); output:`);
    console.log(indent(job.output));
    if (job.conclusion !== 'success' || !/argocd: v2\.13\.3/.test(job.output) || !/version v4\.40\.5/.test(job.output)) {
      throw new Error('the job did not find argocd and yq on PATH');
    }

    step('4. The ephemeral runner left after its job and was replaced');
    const replaced = await until('a replacement runner online', () => {
      const now = emu.runners().filter((r) => ours('cd').test(r.name));
      const fresh = now.find((r) => !first.includes(r.name) && r.status === 'online');
      return now.length === 2 && !now.some((r) => r.name === job.runnerName) && fresh ? fresh : undefined;
    });
    say(`${job.runnerName} is gone from GitHub; ${replaced.name} took its place (pool back to 2 online)`);

    step('5. Webhook-driven scale-up: pool "burst" has no runner until a job is queued');
    emu.setWebhook(`${api}/webhook`, SECRET);
    say(`emulator now POSTs signed workflow_job deliveries to ${api}/webhook`);
    const queuedAt = Date.now();
    const burstJob = emu.queueJob({ labels: BURST_LABELS, name: 'hotfix-rollout', script: 'echo "rolled out by $RUNNER_NAME"' });
    const reg = await until('a burst runner registered', () => emu.runners().find((r) => ours('burst').test(r.name)), 15_000);
    const regMs = Date.now() - queuedAt;
    await until('the burst runner online', () => emu.runners().find((r) => r.name === reg.name && r.status === 'online') ?? emu.job(burstJob)?.startedAt, 15_000);
    const onMs = Date.now() - queuedAt;
    say(`delivery "queued" → ${reg.name} registered in ${regMs} ms, online in ${onMs} ms (no minimum job age, no polling)`);
    const bj = await emu.waitForJob(burstJob, 30_000);
    say(`job ${burstJob} ${bj.conclusion}: ${bj.output.trim()}`);
    await until('burst pool back to 0', () => daemon.reconciler.liveCount('burst') === 0, 20_000);
    const statuses = emu.deliveries().map((d) => `${d.action}→${d.status}`);
    say(`deliveries answered: ${statuses.join(', ')}; burst pool back to 0 runners`);

    step('5b. Scale-set pool "edge": no webhook, no inbound port; the daemon long-polls its scale set');
    emu.setWebhook(null);
    const set = await until('the scale set and its session', () => {
      const x = emu.scaleSets.get('h1-edge');
      return x?.sessionOwner ? x : undefined;
    });
    say(`scale set ${set.name} (id ${set.id}) labels [${set.labels.join(', ')}]: workflows write runs-on: ${EDGE_LABELS[0]}; session owned by ${set.sessionOwner}`);
    const edgeAt = Date.now();
    const edgeJobs = [1, 2].map((i) => emu.queueJob({ labels: EDGE_LABELS, name: `edge-deploy-${i}`, script: 'echo "deployed from $RUNNER_NAME"' }));
    const edgeReg = await until('an edge runner registered', () => emu.runners().find((r) => ours('edge').test(r.name)), 15_000);
    say(`JobAssigned arrived on the open long poll → ${edgeReg.name} registered in ${Date.now() - edgeAt} ms (GitHub holds an empty poll ~50 s; this one answered at once)`);
    for (const id of edgeJobs) {
      const j = await emu.waitForJob(id, 30_000);
      say(`job ${id} ${j.conclusion} on ${j.runnerName}: ${j.output.trim()}`);
      if (j.conclusion !== 'success') throw new Error(`scale-set job ${id} failed`);
    }
    await until('edge pool back to 0', () => daemon.reconciler.liveCount('edge') === 0, 20_000);
    const info = emu.scaleSets.get('h1-edge')!;
    say(`edge pool back to 0 runners; ${info.messages.length} messages, all acknowledged: ${info.messages.every((m) => m.acked)}; capacity advertised: ${[...new Set(info.advertised)].join(', ')} (never 0); webhook deliveries for it: 0`);

    step('6. GET /api/v1/status');
    await daemon.reconciler.trigger(); // gauges are refreshed at the end of each reconcile pass
    const status = (await (await fetch(`${api}/api/v1/status`)).json()) as {
      host: string; version: string; pools: { name: string; backend: string; scope: string; desired: number; actual: number; healthy: boolean; runners: { name: string; state: string }[] }[];
      tokens: unknown[]; github: { requests: number; rateLimitRemaining: number | null; actionsService?: number };
    };
    say(`host ${status.host}, runner-fleet ${status.version}`);
    for (const p of status.pools) {
      say(`pool ${p.name} (${p.backend}, ${p.scope}): desired ${p.desired}, actual ${p.actual}, ${p.healthy ? 'healthy' : 'UNHEALTHY'}; ${p.runners.map((r) => `${r.name}=${r.state}`).join(' ') || 'no runners'}`);
    }
    say(`GitHub API requests so far: ${status.github.requests}, rate limit remaining: ${status.github.rateLimitRemaining}; scale-set service calls (no rate limit): ${status.github.actionsService ?? 0}`);

    step('7. GET /metrics (excerpt)');
    const metrics = await (await fetch(`${api}/metrics`)).text();
    const keep = /^runner_fleet_(runners\{|scale_up_latency_seconds_(sum|count)|github_rate_limit_remaining|jobs_total|webhook_deliveries_total|pool_healthy|scaleset_)/;
    const excerpt = metrics.split('\n').filter((l) => keep.test(l)).slice(0, 24);
    console.log(indent(excerpt.join('\n') || '(no runner_fleet_ metrics found)'));
    if (!excerpt.length) throw new Error('no runner_fleet_ metrics');

    step('8. Drain: idle runners are deregistered and stopped, then the daemon exits');
    await daemon.shutdown('drain');
    const left = emu.runners().filter((r) => ours('cd').test(r.name) || ours('burst').test(r.name) || ours('edge').test(r.name));
    if (left.length) throw new Error(`registrations left after drain: ${left.map((r) => r.name).join(', ')}`);
    say('all runners deregistered from GitHub and stopped; daemon stopped');
  } catch (err) {
    await daemon.shutdown('drain').catch(() => undefined);
    throw err;
  } finally {
    logStream.end();
  }
}

async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-fleet-demo-'));
  console.log('runner-fleet demo: a local GitHub emulator, the daemon, and real runner processes (no Docker, no network)');
  console.log(`working directory: ${dir}`);
  // The scale-set service holds an empty long poll 50 s, as GitHub does.
  const emu = await startEmulator({ scaleSets: { holdMs: 50_000 } });
  const guard = setTimeout(() => {
    console.error(`\nFAILED: the demo took longer than 3 minutes; files kept in ${dir}`);
    process.exit(1);
  }, 180_000);
  guard.unref();
  try {
    await demo(dir, emu);
    console.log(`\nDemo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s. Files (config, daemon log, data dir) are in ${dir}`);
    return 0;
  } catch (err) {
    console.error(`\nFAILED: ${err instanceof Error ? err.message : String(err)}\nFiles (config, daemon log) kept in ${dir}`);
    return 1;
  } finally {
    clearTimeout(guard);
    await emu.close();
  }
}

process.exitCode = await main();
