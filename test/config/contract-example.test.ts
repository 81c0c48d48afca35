import test from 'ava';
import { formatIssues } from '../../src/config/index.js';
import { check } from './helpers.js';

/**
 * The configuration example of the product contract (CONTRACT.md §4), verbatim except for the
 * tool checksums (`<hex>` there). Outside tests start from it, so it must validate as written:
 * its `cd` pool shows a `systemd:` section beside `backend: docker`, which is ignored with a
 * warning rather than refused.
 */
const CONTRACT_EXAMPLE = `host:
  name: build-01                 # default: the machine's hostname
  dataDir: /var/lib/runner-fleet # state.db, cache/, runners/, tools/
  capacity: { minFreeDisk: 10g, minFreeMemory: 1g }  # below either floor no new runner starts;
                                 #   the pool reports error code HOST_CAPACITY until it is met again
github:
  url: https://github.com        # web URL given to the runner (GHES: https://ghe.example.com)
  apiUrl: https://api.github.com # GHES: https://ghe.example.com/api/v3
  auth:
    token: \${GITHUB_TOKEN}       # or tokenFile: /path; or
    # app: { appId: 123, installationId: 456, privateKeyFile: /etc/runner-fleet/app.pem }
runner:
  version: latest                # or a pinned "2.330.0"
  # url: https://mirror.internal/actions-runner/{version}/actions-runner-{os}-{arch}-{version}.tar.gz
  # sha256: \${TOOL_SHA}                # required with url
  updateSchedule: "0 4 * * *"    # cron: look for a newer runner and roll idle runners onto it
tokens:
  refreshSchedule: "*/10 * * * *" # cron: keep every scope's registration token valid for 30+ more minutes
tools:
  - name: argocd
    version: v2.13.3
    url: https://github.com/argoproj/argo-cd/releases/download/{version}/argocd-linux-{arch}
    sha256: \${TOOL_SHA}                # required; or checksumUrl
  - name: yq
    version: v4.40.5
    url: https://github.com/mikefarah/yq/releases/download/{version}/yq_linux_{arch}
    sha256: \${TOOL_SHA}
network:                         # defaults for every pool; a pool may override
  proxy: { http: http://proxy:3128, https: http://proxy:3128, noProxy: ".internal,10.0.0.0/8" }
  caFile: /etc/ssl/certs/internal-ca.pem
  dns: [10.0.0.2]
  extraHosts: { argocd.internal.company.com: 10.20.0.15 }
  checks: ["argocd.internal.company.com:443"]   # doctor and /api/v1/status probe these
api:
  listen: 127.0.0.1:8484         # health, status, metrics, webhook
  token: \${RUNNER_FLEET_API_TOKEN}   # optional bearer token for /api/v1/*
  webhookSecret: \${WEBHOOK_SECRET}   # required to enable POST /webhook
reconcile:
  interval: 10s
shutdown:
  mode: drain                    # drain: on SIGTERM start nothing new, deregister idle runners,
                                 #   let busy ones finish (up to drainTimeout), then exit 0
                                 # keep: leave runners running for a restart; the next start adopts them
  drainTimeout: 10m
pools:
  - name: cd                     # [a-z0-9-], unique
    scope: { org: my-org }       # or { repo: my-org/app } or { enterprise: my-ent }
    runnerGroup: Default
    labels: [cd-pipeline, docker]  # added to self-hosted, linux, x64
    backend: docker              # docker | systemd | process
    size: 2                      # fixed count; or: scale: { minIdle: 1, max: 10 }
    ephemeral: true              # one job per runner (JIT); false: persistent, registered with config.sh
    allowPublicRepos: false
    env: { ARGOCD_SERVER: argocd.internal.company.com }
    secretEnv: { ARGOCD_AUTH_TOKEN: /etc/runner-fleet/argocd-token }  # values read from files, never logged
    limits: { cpus: 2, memory: 4g, pids: 4096 }   # per runner, on every backend (cgroups)
    docker: { image: ghcr.io/actions/actions-runner:latest, network: host }
    # docker.runnerFrom: cache (default: the verified runner is mounted) | image (use the image's own runner)
    systemd: { user: runner }
    # process: { user: ci-job, group: ci-job }  # process backend: run the runner and its jobs as
    #   this user (the daemon must be root to switch); without it jobs run as the daemon's own
    #   user, which plan and doctor call out
  - name: burst
    scope: { org: my-org }
    labels: [cd-burst]
    backend: docker
    scale: { minIdle: 0, max: 20, via: scaleset }  # via: webhook (default) | scaleset
    docker: { image: ghcr.io/actions/actions-runner:latest }
`;

const ENV = { GITHUB_TOKEN: 'ghp_x', RUNNER_FLEET_API_TOKEN: 'api-t', WEBHOOK_SECRET: 'wh-s', TOOL_SHA: 'ab'.repeat(32) };

test('the contract\'s example config validates as written; a section for another backend is a warning, not an error', (t) => {
  const r = check(CONTRACT_EXAMPLE, ENV);
  t.deepEqual(r.issues, [], formatIssues(r.issues));
  const cd = r.config!.pools.find((p) => p.name === 'cd')!;
  t.is(cd.backend, 'docker');
  t.true((r.warnings ?? []).some((w) => w.path === 'pools[0].systemd'), JSON.stringify(r.warnings));
  // Its "optional" api.token and the webhook secret may be left unset in the environment.
  const bare = check(CONTRACT_EXAMPLE, { GITHUB_TOKEN: 'ghp_x', TOOL_SHA: ENV.TOOL_SHA });
  t.deepEqual(bare.issues, [], formatIssues(bare.issues));
  t.is(bare.config!.api.token, undefined);
});
