/**
 * The local GitHub emulator: a real HTTP server on 127.0.0.1 that speaks the REST endpoints
 * in docs/runner-facts.md §3, the runner's internal registration/session protocol used
 * by the fake runner, signed workflow_job deliveries, fault injection and request counters.
 *
 * Implementation: test/emulator/server.ts (+ routes). Fake runner: test/emulator/fake-runner/.
 * Everything is in-memory; one emulator per test.
 */
import type { ScaleSetOptions, ScaleSetsApi } from './scaleset/types.js';

export type * from './scaleset/types.js';

export interface EmulatorOptions {
  /** Lifetime of registration/remove tokens and app installation tokens. Default 1 h. */
  tokenTtlMs?: number;
  /** Orgs / repos / enterprises that exist. Default: org "acme", repo "acme/app" (private), enterprise "ent". */
  orgs?: string[];
  repos?: { fullName: string; visibility: 'public' | 'private' | 'internal' }[];
  enterprises?: string[];
  /** Runner groups per org; "Default" (id 1) always exists. */
  runnerGroups?: { org: string; name: string; allowsPublicRepositories?: boolean }[];
  /** PATs that are accepted (Authorization: token X / Bearer X). Default ["test-pat"]. */
  pats?: string[];
  /** GitHub App: id + PEM public key of the app (installation id → org). */
  apps?: { appId: number; publicKeyPem: string; installations: { id: number; account: string }[] }[];
  /** Runner versions offered by runners/downloads (fake tarballs built for each). Default ["2.330.0"]. */
  runnerVersions?: string[];
  /** Delay before the runners list reflects busy state (GitHub lags 25-60 s). Default 0. */
  busyLagMs?: number;
  /** Port to listen on; default ephemeral. */
  port?: number;
  /** Time source for token expiry, busy lag and rate-limit windows (e.g. a ManualClock). Default Date.now. */
  clock?: { now(): number };
  /** Auto-deliver signed workflow_job events (queued / in_progress / completed) like a repo/org webhook. */
  webhook?: { url: string; secret: string };
  /** Requests per hour before 403 rate-limited. Default 5000. */
  rateLimit?: number;
  /** How long the fake runner's long-poll is held before an empty answer. Default 20 s. */
  pollTimeoutMs?: number;
  /** Lifetime of the admin (tenant) JWT from actions/runner-registration. Default 1 h. */
  adminTokenTtlMs?: number;
  /** Runner scale sets (the Actions service side): see scaleset/types.ts. */
  scaleSets?: ScaleSetOptions;
}

export interface DeliveryRecord {
  deliveryId: string;
  action: 'queued' | 'in_progress' | 'completed';
  jobId: number;
  url: string;
  /** HTTP status of the receiver, or 0 when the POST failed. */
  status: number;
}

export interface QueuedJobSpec {
  /** runs-on labels; a runner takes the job if it has all of them (case-insensitive). */
  labels: string[];
  /** Where the job is queued; default the org "acme". */
  scope?: { org: string } | { repo: string } | { enterprise: string };
  /** Shell script the fake runner runs with `bash -e` in its work dir; its output is captured. */
  script?: string;
  /** Alternatively just hold the job this long. */
  durationMs?: number;
  name?: string;
}

export interface JobInfo {
  id: number;
  name: string;
  labels: string[];
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'cancelled' | null;
  runnerName: string | null;
  runnerId: number | null;
  /** stdout+stderr of the script, as reported by the runner. */
  output: string;
  queuedAt: number;
  startedAt: number | null;
  completedAt: number | null;
}

export interface EmulatedRunner {
  id: number;
  name: string;
  scopeKey: string; // org:acme | repo:acme/app | enterprise:ent
  status: 'online' | 'offline';
  busy: boolean;
  ephemeral: boolean;
  labels: string[];
  version: string | null;
  runnerGroupId: number;
  disableUpdate: boolean;
}

export interface RequestCount {
  method: string;
  route: string; // templated, e.g. /orgs/{org}/actions/runners
  status: number;
  count: number;
}

export interface Emulator {
  /** Web URL given to the runner as --url base: e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** REST base in GHES style: http://127.0.0.1:PORT/api/v3 (the root also answers). */
  readonly apiUrl: string;
  close(): Promise<void>;

  queueJob(spec: QueuedJobSpec): number;
  job(id: number): JobInfo | undefined;
  jobs(): JobInfo[];
  /** Resolves when the job completes (or rejects after timeoutMs). */
  waitForJob(id: number, timeoutMs?: number): Promise<JobInfo>;
  runners(): EmulatedRunner[];
  /** Wait until predicate(runners()) holds. */
  waitForRunners(pred: (rs: EmulatedRunner[]) => boolean, timeoutMs?: number): Promise<EmulatedRunner[]>;
  /** Flip a repository's visibility (made public later). */
  setRepoVisibility(fullName: string, visibility: 'public' | 'private' | 'internal'): void;
  /** Flip a runner group's "Allow public repositories". */
  setGroupAllowsPublic(org: string, name: string, allows: boolean): void;
  /** A PAT (from `pats`) stops working: 401 Bad credentials from now on (rotation tests). */
  revokePat(token: string): void;
  /** Register a runner as if someone else did (for ownership tests). */
  addForeignRunner(scopeKey: string, name: string, opts?: { busy?: boolean; status?: 'online' | 'offline' }): EmulatedRunner;

  /** Fault injection. */
  faults: {
    /** The next n API requests (optionally matching a route substring) answer with status. */
    failNext(n: number, status: number, routeIncludes?: string): void;
    /** 403 with x-ratelimit-remaining: 0 and x-ratelimit-reset until `untilMs` (epoch ms). */
    rateLimitUntil(untilMs: number): void;
    /** Delay every API response by ms. */
    delay(ms: number): void;
    clear(): void;
  };

  requests(): RequestCount[];
  resetRequests(): void;

  /** Sign and POST a workflow_job delivery to targetUrl. Returns the HTTP status. */
  deliverWorkflowJob(targetUrl: string, secret: string, action: 'queued' | 'in_progress' | 'completed', jobId: number, opts?: { deliveryId?: string; badSignature?: boolean; labels?: string[] }): Promise<number>;
  /** Set (or clear with null) the auto-delivery target; see EmulatorOptions.webhook. */
  setWebhook(url: string | null, secret?: string): void;
  /** Auto-deliveries made so far (awaited: a record appears once the receiver answered). */
  deliveries(): DeliveryRecord[];

  /** Serve an arbitrary file (tool binaries, archives, checksum files). Returns its absolute URL. */
  serveFile(path: string, content: Buffer | string): string;

  /** Fake runner release tarballs (linux; arch default x64): version → { url, sha256, filename }. */
  runnerRelease(version: string, arch?: 'x64' | 'arm64'): { url: string; sha256: string; filename: string };
  /** Add a new runner version to runners/downloads (for version-roll tests). */
  publishRunnerVersion(version: string): Promise<void>;
  /** Runners of this version are refused a session (exit 7 with ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE, else 1) and get no jobs. */
  deprecateRunnerVersion(version: string): void;

  /** Mint a registration or remove token directly (same as the REST route, without counting a request). scopeKey e.g. "org:acme". */
  createToken(kind: 'registration' | 'remove', scopeKey: string, ttlMs?: number): { token: string; expiresAt: number };
  /** Delete a registration as if someone did in the UI: 'busy' while it runs a job. */
  deleteRunner(id: number): 'deleted' | 'busy' | 'gone';
  /** Current rate-limit window. */
  rateLimit(): { limit: number; remaining: number; used: number; resetAt: number };
  /** Runner scale sets: inspection and faults. */
  readonly scaleSets: ScaleSetsApi;
}
