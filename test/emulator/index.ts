/** startEmulator(): the local GitHub for tests. See types.ts for the API and runner-proto.ts for the runner protocol. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { until } from '../helpers/poll.js';
import { verifyAppJwt, type AppDef } from './app-auth.js';
import { error, json, Router } from './http.js';
import { FileStore, Releases } from './release.js';
import { registerRest } from './rest.js';
import { registerRunnerProtocol } from './runner-proto.js';
import { ScaleSetModel } from './scaleset/model.js';
import { registerScaleSetRoutes } from './scaleset/routes.js';
import { ServerControl, startHttp } from './server.js';
import { EmuState, type JobRec } from './state.js';
import type { DeliveryRecord, Emulator, EmulatorOptions, JobInfo } from './types.js';
import { deliver, workflowJobPayload, type JobAction } from './webhook.js';

export type * from './types.js';

const publicJob = (j: JobRec): JobInfo => ({
  id: j.id, name: j.name, labels: [...j.labels], status: j.status, conclusion: j.conclusion, runnerName: j.runnerName,
  runnerId: j.runnerId, output: j.output, queuedAt: j.queuedAt, startedAt: j.startedAt, completedAt: j.completedAt,
});

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const clock = opts.clock;
  const state = new EmuState({ ...opts, now: clock ? () => clock.now() : Date.now });
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'gh-emulator-'));
  const files = new FileStore();
  let webUrl = '';
  const releases = new Releases(files, workDir, () => webUrl);
  for (const v of opts.runnerVersions ?? ['2.330.0']) await releases.build(v);

  const router = new Router();
  registerRest(router, { state, releases, webUrl: () => webUrl });
  registerRunnerProtocol(router, state, () => webUrl, opts.pollTimeoutMs ?? 20_000);
  const scaleSets = new ScaleSetModel(state, opts.scaleSets);
  registerScaleSetRoutes(router, scaleSets, state, () => webUrl);
  const ctl = new ServerControl();
  registerAppAndPublic(router, state, releases, opts.apps ?? [], () => emulator.rateLimit());

  const pats = new Set(opts.pats ?? ['test-pat']);
  const server = await startHttp({ state, router, files, pats, rateLimit: opts.rateLimit ?? 5000 }, ctl, opts.port ?? 0);
  const port = (server.address() as { port: number }).port;
  webUrl = `http://127.0.0.1:${port}`;
  const apiUrl = `${webUrl}/api/v3`;

  let hook = opts.webhook ?? null;
  const deliveries: DeliveryRecord[] = [];
  const pending = new Set<Promise<unknown>>();
  state.on('job', (action: JobAction, job: JobRec) => {
    if (!hook) return;
    const h = hook;
    const payload = workflowJobPayload(state, webUrl, apiUrl, action, job, job.id);
    const p = deliver(h.url, h.secret, payload)
      .then(({ status, deliveryId }) => deliveries.push({ deliveryId, action, jobId: job.id, url: h.url, status }))
      .catch(() => deliveries.push({ deliveryId: '', action, jobId: job.id, url: h.url, status: 0 }))
      .finally(() => pending.delete(p));
    pending.add(p);
  });

  const emulator: Emulator = {
    url: webUrl,
    apiUrl,
    async close() {
      hook = null;
      state.releaseAllPolls();
      scaleSets.faults.hang = false;
      scaleSets.wake(undefined, true);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await Promise.allSettled([...pending]);
      await rm(workDir, { recursive: true, force: true });
    },
    queueJob: (spec) => state.queueJob(spec),
    job: (id) => {
      const j = state.jobsById.get(id);
      return j && publicJob(j);
    },
    jobs: () => [...state.jobsById.values()].map(publicJob),
    waitForJob: (id, timeoutMs = 30_000) =>
      until(() => {
        const j = state.jobsById.get(id);
        return j?.status === 'completed' ? publicJob(j) : undefined;
      }, timeoutMs, `job ${id} to complete`),
    runners: () => [...state.runnersById.values()].map((r) => state.toEmulated(r)),
    waitForRunners: (pred, timeoutMs = 30_000) =>
      until(() => {
        const rs = emulator.runners();
        return pred(rs) ? rs : undefined;
      }, timeoutMs, 'runners predicate'),
    revokePat(token) {
      pats.delete(token);
    },
    setRepoVisibility(fullName, visibility) {
      const s = state.scopes.get(`repo:${fullName}`);
      if (!s) throw new Error(`no repository ${fullName}`);
      s.visibility = visibility;
    },
    setGroupAllowsPublic(org, name, allows) {
      const g = state.groupsOf(`org:${org}`).find((x) => x.name.toLowerCase() === name.toLowerCase());
      if (!g) throw new Error(`no runner group ${name} in ${org}`);
      g.allowsPublicRepositories = allows;
    },
    addForeignRunner(scopeKey, name, o = {}) {
      const r = state.createRunner({
        scopeKey, name, labels: state.labelRecs(['self-hosted', 'Linux', 'X64'], true), groupId: 1, ephemeral: false,
        disableUpdate: false, os: 'linux', version: releases.latest(),
      });
      r.foreign = { status: o.status ?? 'online' };
      if (o.busy) {
        r.busy = true;
        r.busyShown = true;
      }
      return state.toEmulated(r);
    },
    faults: {
      failNext: (n, status, routeIncludes) => void ctl.faults.push({ remaining: n, status, routeIncludes }),
      rateLimitUntil: (untilMs) => void (ctl.rateLimitedUntil = untilMs),
      delay: (ms) => void (ctl.delayMs = ms),
      clear: () => {
        ctl.faults = [];
        ctl.rateLimitedUntil = 0;
        ctl.delayMs = 0;
      },
    },
    requests: () => [...ctl.counts.values()].map((c) => ({ ...c })),
    resetRequests: () => ctl.counts.clear(),
    async deliverWorkflowJob(targetUrl, secret, action, jobId, o = {}) {
      const payload = workflowJobPayload(state, webUrl, apiUrl, action, state.jobsById.get(jobId), jobId, o.labels);
      return (await deliver(targetUrl, secret, payload, o)).status;
    },
    setWebhook: (url, secret) => void (hook = url ? { url, secret: secret ?? '' } : null),
    deliveries: () => deliveries.map((d) => ({ ...d })),
    serveFile(p, content) {
      const urlPath = `/_files/${p.replace(/^\/+/, '')}`;
      files.set(urlPath, Buffer.isBuffer(content) ? content : Buffer.from(content));
      return webUrl + urlPath;
    },
    runnerRelease(version, arch = 'x64') {
      const a = releases.get(version, arch);
      if (!a) throw new Error(`emulator: no runner release ${version}`);
      return { url: releases.url(a), sha256: a.sha256, filename: a.filename };
    },
    publishRunnerVersion: (version) => releases.build(version),
    deprecateRunnerVersion: (version) => void state.deprecatedVersions.add(version),
    createToken(kind, scopeKey, ttlMs) {
      const t = state.issueToken(kind, { scopeKey }, ttlMs);
      return { token: t.token, expiresAt: t.expiresAt };
    },
    deleteRunner: (id) => state.deleteRunner(id),
    scaleSets: {
      list: () => [...scaleSets.sets.values()].map((s) => scaleSets.info(s)),
      get: (name) => {
        const s = [...scaleSets.sets.values()].find((x) => x.name === name);
        return s && scaleSets.info(s);
      },
      stranded: () => scaleSets.stranded(),
      remove(name) {
        const s = [...scaleSets.sets.values()].find((x) => x.name === name);
        if (s) scaleSets.remove(s);
        return !!s;
      },
      faults: {
        emptyNext: (n) => void (scaleSets.faults.empty += n),
        malformedNext: (n) => void (scaleSets.faults.malformed += n),
        expireQueueTokens() {
          for (const s of scaleSets.sets.values()) if (s.session) s.session.tokenExpiresAt = 0;
        },
        expireAdminTokens() {
          for (const t of state.tokens.values()) if (t.kind === 'tenant') t.expiresAt = 0;
        },
        hangPolls(on) {
          scaleSets.faults.hang = on;
          if (!on) scaleSets.wake(undefined, true);
        },
      },
    },
    rateLimit() {
      const limit = opts.rateLimit ?? 5000;
      const w = ctl.window.resetAt > state.now() ? ctl.window : { used: 0, resetAt: state.now() + 3_600_000 };
      return { limit, remaining: Math.max(0, limit - w.used), used: w.used, resetAt: w.resetAt };
    },
  };
  return emulator;
}

type RateInfo = () => { limit: number; remaining: number; used: number; resetAt: number };

function registerAppAndPublic(router: Router, state: EmuState, releases: Releases, apps: AppDef[], rate: RateInfo): void {
  const jwtApp = (auth: string | undefined): AppDef | string => {
    const m = /^bearer\s+(\S+)$/i.exec(auth ?? '');
    return m ? verifyAppJwt(m[1]!, apps) : 'A JSON web token could not be decoded';
  };
  router.add('POST', '/app/installations/{installation_id}/access_tokens', (ctx) => {
    const app = jwtApp(ctx.req.headers.authorization);
    if (typeof app === 'string') return error(401, app);
    const inst = app.installations.find((i) => i.id === Number(ctx.params.installation_id));
    if (!inst) return error(404, 'Not Found');
    const t = state.issueToken('installation', { account: inst.account });
    return json(201, {
      token: t.token, expires_at: new Date(t.expiresAt).toISOString(), repository_selection: 'all',
      permissions: { administration: 'write', organization_self_hosted_runners: 'write', metadata: 'read' },
    });
  }, 'app');
  router.add('GET', '/app/installations', (ctx) => {
    const app = jwtApp(ctx.req.headers.authorization);
    if (typeof app === 'string') return error(401, app);
    return json(200, app.installations.map((i) => ({
      id: i.id, app_id: app.appId, account: { login: i.account, type: 'Organization' },
      access_tokens_url: `${ctx.base}/app/installations/${i.id}/access_tokens`, target_type: 'Organization',
    })));
  }, 'app');
  router.add('GET', '/app', (ctx) => {
    const app = jwtApp(ctx.req.headers.authorization);
    return typeof app === 'string' ? error(401, app) : json(200, { id: app.appId, slug: `app-${app.appId}`, name: `App ${app.appId}` });
  }, 'app');
  router.add('GET', '/rate_limit', () => {
    const r = rate();
    const core = { limit: r.limit, remaining: r.remaining, used: r.used, reset: Math.ceil(r.resetAt / 1000), resource: 'core' };
    return json(200, { resources: { core }, rate: core });
  }, 'public');
  router.add('GET', '/repos/actions/runner/releases/latest', () => json(200, releases.releaseJson(releases.latest())), 'public');
  router.add('GET', '/repos/actions/runner/releases/tags/{tag}', (ctx) => {
    const v = ctx.params.tag!.replace(/^v/, '');
    return releases.get(v) ? json(200, releases.releaseJson(v)) : error(404, 'Not Found');
  }, 'public');
}
