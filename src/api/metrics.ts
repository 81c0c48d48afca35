import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolMetrics, ScaleSetListenerMetric, WebhookResult } from './metrics-types.js';

export const METRIC_PREFIX = 'runner_fleet_';

export type { PoolMetrics, ScaleSetListenerMetric, WebhookResult } from './metrics-types.js';

/** How often the event-loop lag metrics sample (ms). */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/**
 * Every metric the daemon exports, on a private Registry (no global default registry, so two
 * daemons in one test process never collide). Names all start with runner_fleet_.
 */

export class Metrics {
  readonly registry = new Registry();

  readonly runners = new Gauge({
    name: `${METRIC_PREFIX}runners`,
    help: 'Runners this host owns, by pool and state',
    labelNames: ['pool', 'state'] as const,
    registers: [this.registry],
  });
  readonly githubRequests = new Counter({
    name: `${METRIC_PREFIX}github_requests_total`,
    help: 'GitHub API requests, by templated route and HTTP status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly rateLimitRemaining = new Gauge({
    name: `${METRIC_PREFIX}github_rate_limit_remaining`,
    help: 'x-ratelimit-remaining from the last GitHub response',
    registers: [this.registry],
  });
  /** Epoch seconds (not "seconds left"): stays correct between refreshes; alert on `value - time() < 1800`. */
  readonly tokenExpiry = new Gauge({
    name: `${METRIC_PREFIX}token_expiry_timestamp_seconds`,
    help: 'When the cached registration/remove token of a scope expires (Unix seconds)',
    labelNames: ['scope', 'kind'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: `${METRIC_PREFIX}reconcile_duration_seconds`,
    help: 'Duration of one reconcile pass',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly scaleUpLatency = new Histogram({
    name: `${METRIC_PREFIX}scale_up_latency_seconds`,
    help: 'From the decision to start a runner (or a queued webhook) until the backend runs it',
    labelNames: ['pool', 'backend'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30],
    registers: [this.registry],
  });
  readonly jobs = new Counter({
    name: `${METRIC_PREFIX}jobs_total`,
    help: 'Jobs completed on this host, by pool and conclusion',
    labelNames: ['pool', 'conclusion'] as const,
    registers: [this.registry],
  });
  readonly runnerRestarts = new Counter({
    name: `${METRIC_PREFIX}runner_restarts_total`,
    help: 'Runner processes that exited and were replaced, by exit code (unknown when killed)',
    labelNames: ['pool', 'exit_code'] as const,
    registers: [this.registry],
  });
  readonly poolHealthy = new Gauge({
    name: `${METRIC_PREFIX}pool_healthy`,
    help: '1 when the pool can run (credentials, image, visibility checks pass), else 0',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Counter({
    name: `${METRIC_PREFIX}webhook_deliveries_total`,
    help: 'POST /webhook deliveries by outcome',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** Constant 1 per configured pool; joins `labels` (comma-separated runs-on labels) onto pool alerts. */
  readonly poolInfo = new Gauge({
    name: `${METRIC_PREFIX}pool_info`,
    help: 'One per configured pool: its backend and runs-on labels (comma-separated)',
    labelNames: ['pool', 'backend', 'labels'] as const,
    registers: [this.registry],
  });
  readonly poolDesired = new Gauge({
    name: `${METRIC_PREFIX}pool_desired_runners`,
    help: 'Runners the pool should have now (size, or minIdle plus queued jobs up to max)',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly queuedJobs = new Gauge({
    name: `${METRIC_PREFIX}queued_jobs`,
    help: 'Jobs queued on GitHub (webhook) for the pool and not yet picked up by a runner',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  /** A timestamp, not an age: stays right between passes; alert on `time() - value`. Absent when nothing waits. */
  readonly oldestQueued = new Gauge({
    name: `${METRIC_PREFIX}queued_job_oldest_timestamp_seconds`,
    help: 'When the oldest job still waiting for the pool was queued (Unix seconds)',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly runnerExits = new Counter({
    name: `${METRIC_PREFIX}runner_exits_total`,
    help: 'Runner exits by cause (job_done, exit_code, oom, signal, engine_gone, disk_full, stopped)',
    labelNames: ['pool', 'cause'] as const,
    registers: [this.registry],
  });
  readonly hostFree = new Gauge({
    name: `${METRIC_PREFIX}host_free_bytes`,
    help: 'Free bytes the capacity check saw: disk per path (data dir, Docker data root) and memory',
    labelNames: ['resource', 'path'] as const,
    registers: [this.registry],
  });
  readonly hostFloor = new Gauge({
    name: `${METRIC_PREFIX}host_floor_bytes`,
    help: 'host.capacity floor per resource and path: below it no new runner starts',
    labelNames: ['resource', 'path'] as const,
    registers: [this.registry],
  });
  readonly cpuBudget = new Gauge({
    name: `${METRIC_PREFIX}host_cpu_budget`,
    help: 'host.capacity.cpus (auto: the host CPU count); absent when no CPU budget is set',
    registers: [this.registry],
  });
  readonly cpusAllocated = new Gauge({
    name: `${METRIC_PREFIX}host_cpus_allocated`,
    help: 'Sum of the per-runner CPU limits of the runners that exist (what the CPU budget is checked against)',
    registers: [this.registry],
  });
  readonly poolBlocked = new Gauge({
    name: `${METRIC_PREFIX}pool_capacity_blocked`,
    help: '1 while the pool may not start runners because a host.capacity floor or the CPU budget is not met',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly diskFreed = new Counter({
    name: `${METRIC_PREFIX}disk_freed_bytes_total`,
    help: 'Bytes removed by disk hygiene, by pool and what (runner_root, work_dir, container, volume)',
    labelNames: ['pool', 'what'] as const,
    registers: [this.registry],
  });
  /** Scale-set listeners, read at scrape time (set by the daemon). */
  scaleSetSource: () => ScaleSetListenerMetric[] = () => [];
  readonly scaleSetListenerUp = new Gauge({
    name: `${METRIC_PREFIX}scaleset_listener_up`,
    help: '1 when the scale-set listener of a pool has a session and its last poll answered, else 0',
    labelNames: ['pool'] as const,
    registers: [this.registry],
    collect: () => this.collectScaleSets(),
  });
  readonly scaleSetLastPoll = new Gauge({
    name: `${METRIC_PREFIX}scaleset_last_poll_timestamp_seconds`,
    help: 'When the scale-set long poll of a pool last returned (Unix seconds); alert on time() - value > 180',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });
  readonly scaleSetAssignedJobs = new Gauge({
    name: `${METRIC_PREFIX}scaleset_assigned_jobs`,
    help: "totalAssignedJobs from the pool's scale-set statistics (running jobs included)",
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) {
      // The event-loop lag histogram samples with a timer: prom-client's 10 ms default woke the
      // idle daemon 100 times a second for nothing else. Once a second samples the same lag,
      // less often; a stall of a second or more is always seen.
      collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
      // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool check
      // metrics fails on it); its runner_fleet_nodejs_active_resources{type} gauge says the same.
      for (const n of ['active_handles_total', 'active_requests_total', 'active_resources_total']) this.registry.removeSingleMetric(`${METRIC_PREFIX}nodejs_${n}`);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Replaces the whole runners gauge so pools/states that vanished stop being reported. */
  setRunnerCounts(counts: { pool: string; state: string; count: number }[]): void {
    this.runners.reset();
    for (const c of counts) this.runners.set({ pool: c.pool, state: c.state }, c.count);
  }

  githubRequest(route: string, status: number | string): void {
    this.githubRequests.inc({ route, status: String(status) });
  }

  setRateLimitRemaining(n: number): void {
    this.rateLimitRemaining.set(n);
  }

  setTokenExpiry(scope: string, kind: string, expiresAtMs: number): void {
    this.tokenExpiry.set({ scope, kind }, Math.floor(expiresAtMs / 1000));
  }

  observeReconcile(ms: number): void {
    this.reconcileDuration.observe(ms / 1000);
  }

  observeScaleUp(pool: string, backend: string, ms: number): void {
    this.scaleUpLatency.observe({ pool, backend }, ms / 1000);
  }

  jobCompleted(pool: string, conclusion: string | null): void {
    this.jobs.inc({ pool, conclusion: conclusion ?? 'unknown' });
  }

  runnerRestarted(pool: string, exitCode: number | null): void {
    this.runnerRestarts.inc({ pool, exit_code: exitCode === null ? 'unknown' : String(exitCode) });
  }

  setPoolHealthy(pool: string, healthy: boolean): void {
    this.poolHealthy.set({ pool }, healthy ? 1 : 0);
  }

  /** Replaces the per-pool gauges so removed pools and drained queues stop being reported. */
  setPools(pools: PoolMetrics[]): void {
    for (const g of [this.poolInfo, this.poolDesired, this.queuedJobs, this.oldestQueued]) g.reset();
    for (const p of pools) {
      this.poolInfo.set({ pool: p.pool, backend: p.backend, labels: p.labels.join(',') }, 1);
      this.poolDesired.set({ pool: p.pool }, p.desired);
      this.queuedJobs.set({ pool: p.pool }, p.queued);
      if (p.oldestQueuedAt !== undefined) this.oldestQueued.set({ pool: p.pool }, Math.floor(p.oldestQueuedAt / 1000));
      // A counter series that appears at 1 has no increase() in Prometheus: the first OOM kill would not alert.
      this.runnerExits.inc({ pool: p.pool, cause: 'oom' }, 0);
    }
  }

  runnerExited(pool: string, cause: string): void {
    this.runnerExits.inc({ pool, cause });
  }

  /** The capacity check's figures; replaces the previous set (a pool may have left Docker). */
  setHostCapacity(
    figures: { resource: string; path: string; free: number; floor: number }[],
    blocked: { pool: string; blocked: boolean }[],
    cpu?: { budget: number; allocated: number },
  ): void {
    this.hostFree.reset();
    this.hostFloor.reset();
    this.poolBlocked.reset();
    this.cpuBudget.reset();
    this.cpusAllocated.reset();
    if (cpu) {
      this.cpuBudget.set(cpu.budget);
      this.cpusAllocated.set(cpu.allocated);
    }
    for (const f of figures) {
      this.hostFree.set({ resource: f.resource, path: f.path }, f.free);
      this.hostFloor.set({ resource: f.resource, path: f.path }, f.floor);
    }
    for (const b of blocked) this.poolBlocked.set({ pool: b.pool }, b.blocked ? 1 : 0);
  }

  diskFreedBytes(pool: string, what: string, bytes: number): void {
    if (bytes > 0) this.diskFreed.inc({ pool, what }, bytes);
  }

  /** Pools that stopped being scale-set pools disappear from the three gauges. */
  private collectScaleSets(): void {
    this.scaleSetListenerUp.reset();
    this.scaleSetLastPoll.reset();
    this.scaleSetAssignedJobs.reset();
    for (const l of this.scaleSetSource()) {
      this.scaleSetListenerUp.set({ pool: l.pool }, l.up ? 1 : 0);
      if (l.lastPollAt !== null) this.scaleSetLastPoll.set({ pool: l.pool }, Math.floor(l.lastPollAt / 1000));
      this.scaleSetAssignedJobs.set({ pool: l.pool }, l.assignedJobs);
    }
  }

  webhookDelivery(result: WebhookResult): void {
    this.webhookDeliveries.inc({ result });
  }
}

export function createMetrics(opts?: { defaultMetrics?: boolean }): Metrics {
  return new Metrics(opts);
}
