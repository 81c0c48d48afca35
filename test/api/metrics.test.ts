import test from 'ava';
import { createMetrics } from '../../src/api/metrics.js';
import { startApi } from './helpers.js';

// Prometheus text exposition format 0.0.4: comments, or `name{labels} value [timestamp]`.
// Values parse like Go's ParseFloat, so NaN/Inf are case-insensitive (prom-client prints "Nan").
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-]?[Ii][Nn][Ff])( -?\d+)?$/;
const COMMENT = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$/;

function checkExposition(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !(l.startsWith('#') ? COMMENT.test(l) : SAMPLE.test(l)));
}

test('GET /metrics serves valid exposition text with the runner_fleet_ metrics', async (t) => {
  const s = await startApi();
  t.teardown(() => s.api.close());
  const m = s.metrics;
  m.setRunnerCounts([{ pool: 'cd', state: 'idle', count: 2 }, { pool: 'cd', state: 'busy', count: 1 }]);
  m.githubRequest('/orgs/{org}/actions/runners', 200);
  m.setRateLimitRemaining(4321);
  m.setTokenExpiry('org:acme', 'registration', Date.parse('2026-01-01T01:00:00Z'));
  m.observeReconcile(12);
  m.observeScaleUp('cd', 'process', 800);
  m.jobCompleted('cd', 'success');
  m.runnerRestarted('cd', 2);
  m.runnerRestarted('cd', null);
  m.setPoolHealthy('cd', true);
  m.webhookDelivery('accepted');
  const res = await fetch(`${s.base}/metrics`);
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  t.deepEqual(checkExposition(text), []);
  for (const name of [
    'runner_fleet_runners{pool="cd",state="idle"} 2',
    'runner_fleet_github_requests_total{route="/orgs/{org}/actions/runners",status="200"} 1',
    'runner_fleet_github_rate_limit_remaining 4321',
    'runner_fleet_token_expiry_timestamp_seconds{scope="org:acme",kind="registration"} 1767229200',
    'runner_fleet_reconcile_duration_seconds_count 1',
    'runner_fleet_scale_up_latency_seconds_bucket{le="1",pool="cd",backend="process"} 1',
    'runner_fleet_jobs_total{pool="cd",conclusion="success"} 1',
    'runner_fleet_runner_restarts_total{pool="cd",exit_code="unknown"} 1',
    'runner_fleet_pool_healthy{pool="cd"} 1',
    'runner_fleet_webhook_deliveries_total{result="accepted"} 1',
    'runner_fleet_process_cpu_seconds_total',
  ]) {
    t.true(text.includes(name), name);
  }
  const names = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]!);
  t.true(names.every((n) => n.startsWith('runner_fleet_')));
});

test('setRunnerCounts drops series that vanished; registries are independent', async (t) => {
  const a = createMetrics({ defaultMetrics: false });
  const b = createMetrics({ defaultMetrics: false });
  a.setRunnerCounts([{ pool: 'cd', state: 'idle', count: 2 }]);
  a.setRunnerCounts([{ pool: 'cd', state: 'busy', count: 1 }]);
  const text = await a.render();
  t.false(text.includes('state="idle"'));
  t.true(text.includes('runner_fleet_runners{pool="cd",state="busy"} 1'));
  t.false((await b.render()).includes('state="busy"'));
});

test('setPools reports info, desired, queue and a zero OOM counter per pool, and drops pools that left', async (t) => {
  const m = createMetrics({ defaultMetrics: false });
  m.setPools([
    { pool: 'cd', backend: 'docker', labels: ['self-hosted', 'cd'], desired: 2, queued: 1, oldestQueuedAt: 1_700_000_000_500 },
    { pool: 'old', backend: 'process', labels: ['old'], desired: 1, queued: 0 },
  ]);
  m.setPools([{ pool: 'cd', backend: 'docker', labels: ['self-hosted', 'cd'], desired: 2, queued: 1, oldestQueuedAt: 1_700_000_000_500 }]);
  const text = await m.render();
  for (const line of [
    'runner_fleet_pool_info{pool="cd",backend="docker",labels="self-hosted,cd"} 1',
    'runner_fleet_pool_desired_runners{pool="cd"} 2',
    'runner_fleet_queued_jobs{pool="cd"} 1',
    'runner_fleet_queued_job_oldest_timestamp_seconds{pool="cd"} 1700000000',
    'runner_fleet_runner_exits_total{pool="cd",cause="oom"} 0',
  ]) t.true(text.includes(line), line);
  t.false(text.includes('pool_info{pool="old"'));
  t.false(text.includes('pool_desired_runners{pool="old"}'));
});

test('scale-set listener gauges: read at scrape time, one series per scale-set pool, gone pools disappear', async (t) => {
  const m = createMetrics({ defaultMetrics: false });
  let list = [
    { pool: 'burst', up: true, lastPollAt: Date.parse('2026-01-01T00:00:10Z'), assignedJobs: 3 },
    { pool: 'big', up: false, lastPollAt: null, assignedJobs: 0 },
  ];
  m.scaleSetSource = () => list;
  const text = await m.render();
  t.deepEqual(checkExposition(text), []);
  t.true(text.includes('runner_fleet_scaleset_listener_up{pool="burst"} 1'));
  t.true(text.includes('runner_fleet_scaleset_listener_up{pool="big"} 0'));
  t.true(text.includes(`runner_fleet_scaleset_last_poll_timestamp_seconds{pool="burst"} ${Date.parse('2026-01-01T00:00:10Z') / 1000}`));
  t.false(text.includes('runner_fleet_scaleset_last_poll_timestamp_seconds{pool="big"}'));
  t.true(text.includes('runner_fleet_scaleset_assigned_jobs{pool="burst"} 3'));
  list = [];
  t.false((await m.render()).includes('pool="burst"'));
});
