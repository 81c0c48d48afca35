'use strict';
// Runner.cs run loop: session, long-poll, run one job at a time, report it.
const fs = require('node:fs');
const path = require('node:path');
const { loadObject, runnerVersion, http, deleteConfig, sleep } = require('./util.js');
const { runJob } = require('./job.js');

const truthy = (v) => ['1', 'true', '$true'].includes(String(v || '').toLowerCase());
const stamp = () => new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

function loadEnvFile(root) {
  const file = path.join(root, '.env');
  if (!fs.existsSync(file)) return;
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const i = line.indexOf('=');
    if (i > 0 && !line.startsWith('#')) process.env[line.slice(0, i)] = line.slice(i + 1);
  }
}

/** --jitconfig: base64 JSON of { file: base64 content }, written into the root. */
function applyJitConfig(root, encoded) {
  const files = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  if (!files || typeof files !== 'object' || !files['.runner']) throw new Error('missing .runner');
  for (const [name, content] of Object.entries(files)) {
    if (name.includes('/') || name.includes('..')) throw new Error(`bad file name ${name}`);
    fs.writeFileSync(path.join(root, name), Buffer.from(content, 'base64'), { mode: 0o600 });
  }
}

async function run(root, cmd, log) {
  loadEnvFile(root);
  if (cmd.args.jitconfig) {
    try {
      applyJitConfig(root, cmd.args.jitconfig);
    } catch (err) {
      log.error(`Failed to decode the jitconfig: ${err.message}`);
      return 1;
    }
  }
  if (!fs.existsSync(path.join(root, '.runner')) || !fs.existsSync(path.join(root, '.credentials'))) {
    log.error('Not configured. Run config.(sh/cmd) to configure the runner.');
    return 1;
  }
  const settings = loadObject(path.join(root, '.runner'));
  const creds = loadObject(path.join(root, '.credentials'));
  const server = settings.serverUrl;
  const auth = `Bearer ${creds.data.clientId}`;
  const version = runnerVersion();
  const stop = new AbortController();
  const onSignal = () => {
    log.info('Exiting...');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  log.info(`Current runner version: '${version}'`);
  const session = await openSession(server, auth, version, settings, log, stop.signal);
  if (typeof session === 'number') return session;
  log.info('√ Connected to GitHub');
  log.info(`${stamp()}: Listening for Jobs`);

  const closeSession = () => http('DELETE', `${server}/sessions/${session}`, { auth }).catch(() => undefined);
  let failingSince = null;
  while (!stop.signal.aborted) {
    let res;
    try {
      res = await http('GET', `${server}/sessions/${session}/message?timeoutMs=20000`, { auth, signal: stop.signal });
      failingSince = null;
    } catch (err) {
      if (stop.signal.aborted) break;
      failingSince = failingSince || Date.now();
      if (Date.now() - failingSince > 60_000) {
        log.error(`Lost connection to the server: ${err.message}`);
        return 2;
      }
      await sleep(1000, stop.signal);
      continue;
    }
    if (res.status === 204) continue;
    if (res.status === 410) {
      log.info('Runner OAuth token has been revoked. Shutting down.');
      return 0;
    }
    if (res.status !== 200) {
      log.error(`Unexpected answer from the server: ${res.status} ${res.data && res.data.message}`);
      return 2;
    }
    const job = res.data.job;
    log.info(`${stamp()}: Running job: ${job.name}`);
    const result = await runJob(root, settings, job, { server, auth, signal: stop.signal, log });
    log.info(`${stamp()}: Job ${job.name} completed with result: ${result}`);
    if (settings.ephemeral) {
      deleteConfig(root);
      return 0;
    }
  }
  await closeSession();
  return 0;
}

async function openSession(server, auth, version, settings, log, signal) {
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await http('POST', `${server}/sessions`, { auth, body: { version, os: 'linux', name: settings.agentName }, signal });
    } catch (err) {
      if (signal.aborted) return 0;
      if (attempt >= 10) {
        log.error(`Failed to create a session: ${err.message}`);
        return 2;
      }
      await sleep(1000, signal);
      continue;
    }
    if (res.status === 200) return res.data.sessionId;
    if (res.status === 409) {
      log.error('A session for this runner already exists.');
      return 5;
    }
    if (res.status === 426) {
      log.error((res.data && res.data.message) || 'Runner version is deprecated.');
      return truthy(process.env.ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE) ? 7 : 1;
    }
    log.error(`Failed to create session. ${(res.data && res.data.message) || res.status}`);
    return 1;
  }
}

module.exports = { run };
