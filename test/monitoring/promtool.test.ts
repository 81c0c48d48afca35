import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { parse } from 'yaml';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';

const run = promisify(execFile);
const MONITORING = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../monitoring');
/** Exported by the scale-set listener only while a scale-set pool runs. */
const SCALESET_METRICS = ['runner_fleet_scaleset_listener_up', 'runner_fleet_scaleset_last_poll_timestamp_seconds', 'runner_fleet_scaleset_assigned_jobs'];

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function promtool(args: string[], opts: { cwd?: string; input?: string } = {}): Promise<Out> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', args, { cwd: opts.cwd ?? MONITORING, timeout: 60_000 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      if (e && typeof e.code === 'string') reject(e);
      else resolve({ code: typeof e?.code === 'number' ? e.code : 0, stdout, stderr });
    });
    child.stdin?.end(opts.input ?? '');
  });
}

const PROMTOOL_SETUP = fileURLToPath(new URL('../../scripts/test-env/promtool.sh', import.meta.url));
let installing: Promise<unknown> | undefined;

/**
 * promtool from Debian's `prometheus` package; absent is a failure, never a skip. As root the
 * test setup installs it (as it does Docker), so `npm test` works on a fresh machine.
 */
async function requirePromtool(t: ExecutionContext): Promise<boolean> {
  const present = () => run('promtool', ['--version']).then(() => true, () => false);
  if (await present()) return true;
  if (process.getuid?.() === 0) {
    t.timeout(10 * 60_000, 'one-time promtool install');
    installing ??= run('bash', [PROMTOOL_SETUP], { timeout: 9 * 60_000 }).catch(() => undefined);
    await installing;
    if (await present()) return true;
  }
  t.fail(`promtool not found and it could not be installed: run \`sudo ${PROMTOOL_SETUP}\` (apt-get install -y prometheus)`);
  return false;
}

function show(o: Out): string {
  return `${o.stdout}\n${o.stderr}`.trim();
}

test('alerts.yml passes promtool check rules and its unit tests; every alert has a firing test', async (t) => {
  if (!(await requirePromtool(t))) return;
  const check = await promtool(['check', 'rules', 'alerts.yml']);
  t.is(check.code, 0, show(check));
  const unit = await promtool(['test', 'rules', 'alerts.test.yml']);
  t.is(unit.code, 0, show(unit));

  const rules = parse(await fs.readFile(path.join(MONITORING, 'alerts.yml'), 'utf8')) as { groups: { rules: { alert?: string }[] }[] };
  const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => !!a));
  const tests = parse(await fs.readFile(path.join(MONITORING, 'alerts.test.yml'), 'utf8')) as {
    tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
  };
  const cases = tests.tests.flatMap((x) => x.alert_rule_test ?? []);
  for (const a of alerts) {
    t.true(cases.some((c) => c.alertname === a && c.exp_alerts.length > 0), `${a} has a test where it fires`);
    t.true(cases.some((c) => c.alertname === a && c.exp_alerts.length === 0), `${a} has a test where it stays quiet`);
  }
  t.true(alerts.length >= 10);
});

/** Dashboard and alert expressions with Grafana's variables replaced, as recording rules promtool can parse. */
function dashboardExprs(dash: { panels: { title: string; targets?: { expr: string }[] }[] }): { title: string; expr: string }[] {
  return dash.panels.flatMap((p) =>
    (p.targets ?? []).map((x) => ({
      title: p.title,
      expr: x.expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*').replaceAll('$pool', '.*'),
    })),
  );
}

test('a live /metrics scrape from a daemon passes promtool check metrics and carries every metric the rules and dashboard use', async (t) => {
  if (!(await requirePromtool(t))) return;
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 1 }), { host: 'pm1' });
  t.teardown(() => fx.stop('keep'));
  const base = `http://127.0.0.1:${fx.daemon.apiPort}`;
  const scrape = await until(async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return /^runner_fleet_runners\{pool="cd",state="idle"\} 1$/m.test(text) ? text : undefined;
  }, 30_000, 'an idle runner in /metrics');

  const lint = await promtool(['check', 'metrics'], { input: scrape });
  t.is(lint.code, 0, show(lint));

  const exported = new Set(scrape.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!));
  const used = (text: string) => [...text.matchAll(/runner_fleet_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''));
  const dash = JSON.parse(await fs.readFile(path.join(MONITORING, 'grafana-dashboard.json'), 'utf8'));
  const exprs = dashboardExprs(dash);
  t.true(exprs.length >= 15, 'the dashboard has panels with queries');
  const alertsText = await fs.readFile(path.join(MONITORING, 'alerts.yml'), 'utf8');
  for (const name of new Set([...used(alertsText), ...exprs.flatMap((e) => used(e.expr))])) {
    t.true(exported.has(name) || SCALESET_METRICS.includes(name), `${name} is exported by the daemon`);
  }
  // Each pool's OOM counter exists at 0 before any kill, so the alert's increase() sees the first one.
  t.regex(scrape, /^runner_fleet_runner_exits_total\{pool="cd",cause="oom"\} 0$/m);
  t.regex(scrape, /^runner_fleet_pool_info\{pool="cd",backend="process",labels="[^"]*cd-pipeline[^"]*"\} 1$/m);

  // Every dashboard query parses as PromQL: promtool checks them as recording rules.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-dash-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const rulesFile = path.join(dir, 'dashboard-rules.yml');
  const recording = exprs.map((e, i) => ({ record: `dashboard:panel_${i}`, expr: e.expr }));
  await fs.writeFile(rulesFile, JSON.stringify({ groups: [{ name: 'dashboard', rules: recording }] }));
  const parsed = await promtool(['check', 'rules', rulesFile], { cwd: dir });
  t.is(parsed.code, 0, show(parsed));
});
