'use strict';
// One job: JOB_STARTED hook, the script (bash -e), JOB_COMPLETED hook; output captured and reported.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { http, sleep } = require('./util.js');

function findShell(env) {
  for (const dir of (env.PATH || '').split(':')) {
    if (dir && fs.existsSync(path.join(dir, 'bash'))) return path.join(dir, 'bash');
  }
  return 'sh';
}

function jobEnv(root, settings, workDir, job) {
  const env = { ...process.env };
  const pathFile = path.join(root, '.path');
  if (fs.existsSync(pathFile)) env.PATH = fs.readFileSync(pathFile, 'utf8').trim();
  env.RUNNER_TOOL_CACHE = env.RUNNER_TOOL_CACHE || env.RUNNER_TOOLSDIRECTORY || env.AGENT_TOOLSDIRECTORY || path.join(workDir, '_tool');
  env.RUNNER_NAME = settings.agentName;
  env.RUNNER_TEMP = path.join(workDir, '_temp');
  env.RUNNER_WORKSPACE = workDir;
  env.GITHUB_ACTIONS = 'true';
  env.CI = 'true';
  env.GITHUB_JOB = job.name;
  env.GITHUB_RUN_ID = String(job.id * 10);
  return env;
}

/** Runs `shell -e file`, appending output; resolves the exit code (null when killed). */
function runScript(shell, file, cwd, env, out, signal) {
  return new Promise((resolve) => {
    const child = spawn(shell, ['-e', file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d) => {
      out.text += d.toString();
      process.stdout.write(d);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const kill = () => child.kill('SIGTERM');
    signal.addEventListener('abort', kill, { once: true });
    child.on('error', (err) => {
      out.text += `${err.message}\n`;
      resolve(1);
    });
    child.on('close', (code) => {
      signal.removeEventListener('abort', kill);
      resolve(code);
    });
  });
}

async function runJob(root, settings, job, { server, auth, signal, log }) {
  // Held open while the job runs: if this process dies, the server sees the connection drop.
  const lockAbort = new AbortController();
  http('GET', `${server}/jobs/${job.id}/lock`, { auth, signal: lockAbort.signal }).catch(() => undefined);

  const workDir = path.resolve(root, settings.workFolder || '_work');
  fs.mkdirSync(path.join(workDir, '_temp'), { recursive: true });
  const env = jobEnv(root, settings, workDir, job);
  const shell = findShell(env);
  const out = { text: '' };
  let ok = true;

  const started = env.ACTIONS_RUNNER_HOOK_JOB_STARTED;
  if (started) ok = (await runScript(shell, started, workDir, env, out, signal)) === 0;
  if (ok && !signal.aborted) {
    if (job.script) {
      const file = path.join(workDir, '_temp', `job-${job.id}.sh`);
      fs.writeFileSync(file, job.script);
      ok = (await runScript(shell, file, workDir, env, out, signal)) === 0;
    } else if (job.durationMs) {
      await sleep(job.durationMs, signal);
    }
  }
  const cancelled = signal.aborted;
  const completed = env.ACTIONS_RUNNER_HOOK_JOB_COMPLETED;
  if (completed) {
    const never = new AbortController().signal;
    ok = (await runScript(shell, completed, workDir, env, out, never)) === 0 && ok;
  }
  const conclusion = cancelled ? 'cancelled' : ok ? 'success' : 'failure';
  try {
    await http('POST', `${server}/jobs/${job.id}/complete`, { auth, body: { conclusion, output: out.text } });
  } catch (err) {
    log.error(`Failed to report the job result: ${err.message}`);
  }
  lockAbort.abort();
  return { success: 'Succeeded', failure: 'Failed', cancelled: 'Canceled' }[conclusion];
}

module.exports = { runJob };
