import type { Scope } from '../config/types.js';

export type { Scope };

export interface GitHubRunner {
  id: number;
  name: string;
  os: string;
  status: 'online' | 'offline';
  busy: boolean;
  ephemeral?: boolean;
  version?: string | null;
  runnerGroupId?: number;
  labels: string[];
}

export interface Token {
  token: string;
  /** epoch ms */
  expiresAt: number;
}

export interface RunnerDownload {
  os: string;
  architecture: string;
  downloadUrl: string;
  filename: string;
  sha256?: string;
  tempDownloadToken?: string;
}

export interface RunnerGroup {
  id: number;
  name: string;
  allowsPublicRepositories: boolean;
  isDefault: boolean;
}

export interface JitRequest {
  name: string;
  labels: string[];
  runnerGroupId: number;
  workFolder?: string;
}

/** The GitHub side, narrow on purpose: everything the daemon asks of GitHub goes through here. */
export interface RunnerService {
  jitConfig(scope: Scope, req: JitRequest): Promise<{ runnerId: number; encoded: string }>;
  registrationToken(scope: Scope): Promise<Token>;
  removeToken(scope: Scope): Promise<Token>;
  /** Conditional (ETag) and paginated; an unchanged list costs no rate limit. */
  listRunners(scope: Scope): Promise<GitHubRunner[]>;
  getRunner(scope: Scope, id: number): Promise<GitHubRunner | null>;
  /** 422 (a job is running) → 'busy'; 404 → 'gone'. */
  deleteRunner(scope: Scope, id: number): Promise<'deleted' | 'busy' | 'gone'>;
  runnerGroup(scope: Scope, name: string): Promise<RunnerGroup>;
  repoVisibility(owner: string, repo: string): Promise<'public' | 'private' | 'internal'>;
  downloads(scope: Scope): Promise<RunnerDownload[]>;
}

/** Per-route request accounting, for metrics and benchmarks. */
export interface RequestStats {
  /** key: `${method} ${route}` with path params templated, e.g. `POST /orgs/{org}/actions/runners/generate-jitconfig` */
  byRoute(): { route: string; status: number; count: number }[];
  /** Requests that counted against the rate limit (everything except 304s). */
  rateLimited(): number;
  total(): number;
  rateLimitRemaining(): number | null;
  /** Scale-set (Actions service) calls; they do not consume the REST rate limit. */
  actionsService?(): number;
}
