'use strict';
// ConfigurationManager.ConfigureAsync / UnconfigureAsync, reduced to what a fleet manager relies on.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { saveObject, loadObject, runnerVersion, apiUrlOf, http, deleteConfig } = require('./util.js');

const ARCH_LABEL = { x64: 'X64', arm64: 'ARM64', arm: 'ARM', ia32: 'X86' };

class ConfigError extends Error {}

function scopePath(url) {
  const parts = new URL(url).pathname.split('/').filter(Boolean);
  if (parts[0] === 'enterprises') return `enterprises/${parts[1]}`;
  return parts.length === 1 ? `orgs/${parts[0]}` : `repos/${parts[0]}/${parts[1]}`;
}

/** --pat: fetch a registration or remove token like the runner does (basic auth, no retry on 404). */
async function tokenFromPat(url, pat, kind) {
  const target = `${apiUrlOf(url)}/${scopePath(url)}/actions/runners/${kind}-token`;
  const auth = `basic ${Buffer.from(`github:${pat}`).toString('base64')}`;
  let last;
  for (let i = 0; i < 3; i++) {
    last = await http('POST', target, { auth });
    if (last.status === 201) return last.data.token;
    if (last.status === 404) break;
  }
  throw new ConfigError(`Http response code: ${last.status} from 'POST ${target}'`);
}

async function registration(url, token, event) {
  const target = `${apiUrlOf(url)}/actions/runner-registration`;
  const res = await http('POST', target, { auth: `RemoteAuth ${token}`, body: { url, runner_event: event } });
  if (res.status !== 200) {
    const name = res.status === 404 ? 'NotFound' : res.status === 401 ? 'Unauthorized' : String(res.status);
    throw new ConfigError(`Http response code: ${name} from 'POST ${target}'`);
  }
  return res.data;
}

function labelsFor(cmd) {
  const seen = new Set();
  const custom = [];
  for (const l of (cmd.args.labels || '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (l.length > 256) throw new ConfigError(`Label '${l}' is longer than 256 characters`);
    if (!seen.has(l.toLowerCase())) {
      seen.add(l.toLowerCase());
      custom.push(l);
    }
  }
  if (cmd.flags.has('no-default-labels')) {
    if (custom.length === 0) throw new ConfigError('Disabling default labels via --no-default-labels without specifying --labels is not supported');
    return custom.map((name) => ({ name, type: 'custom' }));
  }
  const defaults = ['self-hosted', 'Linux', ARCH_LABEL[process.arch] || 'X64'];
  const rest = custom.filter((l) => !defaults.some((d) => d.toLowerCase() === l.toLowerCase()));
  return [...defaults.map((name) => ({ name, type: 'read-only' })), ...rest.map((name) => ({ name, type: 'custom' }))];
}

function rsaParams() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const j = privateKey.export({ format: 'jwk' });
  const b = (s) => Buffer.from(s, 'base64url').toString('base64');
  return { d: b(j.d), dp: b(j.dp), dq: b(j.dq), exponent: b(j.e), inverseQ: b(j.qi), modulus: b(j.n), p: b(j.p), q: b(j.q) };
}

async function configure(root, cmd, log) {
  try {
    if (fs.existsSync(path.join(root, '.runner'))) {
      throw new ConfigError("Cannot configure the runner because it is already configured. To reconfigure the runner, run 'config.cmd remove' or './config.sh remove' first.");
    }
    const url = cmd.args.url;
    if (!url || !/^https?:\/\/[^/]+/i.test(url)) throw new ConfigError('Invalid configuration provided for url. Terminating unattended configuration.');
    const token = cmd.args.token || (cmd.args.pat && (await tokenFromPat(url, cmd.args.pat, 'registration')));
    if (!token) throw new ConfigError('Invalid configuration provided for token. Terminating unattended configuration.');
    const labels = labelsFor(cmd);
    const name = cmd.args.name || os.hostname();
    const work = cmd.args.work || '_work';
    const ephemeral = cmd.flags.has('ephemeral');
    const disableUpdate = cmd.flags.has('disableupdate');

    log.info('--------------------------------------------------------------------------------');
    log.info('|        ____ _ _   _   _       _          _        _   _                      |');
    log.info('|  Self-hosted runner registration (fake runner for tests)                     |');
    log.info('--------------------------------------------------------------------------------');
    const reg = await registration(url, token, 'register');
    log.info('√ Connected to GitHub');
    const key = rsaParams();
    const res = await http('POST', `${reg.url}/agents`, {
      auth: `Bearer ${reg.token}`,
      body: { name, labels, groupName: cmd.args.runnergroup || 'Default', replace: cmd.flags.has('replace'), ephemeral, disableUpdate, version: runnerVersion(), os: 'linux' },
    });
    if (res.status === 409) throw new ConfigError(`A runner exists with the same name ${name}.`);
    if (res.status !== 200) throw new ConfigError((res.data && res.data.message) || `Http response code: ${res.status}`);
    const agent = res.data;
    if (disableUpdate && !agent.disableUpdate) throw new ConfigError("The GitHub server does not support configuring a self-hosted runner with 'DisableUpdate' flag.");
    if (ephemeral && !agent.ephemeral) throw new ConfigError("The GitHub server does not support configuring a self-hosted runner with 'Ephemeral' flag.");
    log.info(`√ Runner successfully added`);

    saveObject(path.join(root, '.credentials_rsaparams'), key, 0o600);
    saveObject(path.join(root, '.credentials'), {
      scheme: 'OAuth', data: { clientId: agent.clientId, authorizationUrl: `${agent.serverUrl}/oauth2/token`, requireFipsCryptography: 'False' },
    }, 0o600);
    saveObject(path.join(root, '.runner'), {
      agentId: agent.id, agentName: agent.name, poolId: agent.poolId, poolName: agent.poolName, serverUrl: agent.serverUrl,
      gitHubUrl: url, workFolder: work, ...(ephemeral ? { ephemeral: true } : {}), ...(disableUpdate ? { disableUpdate: true } : {}),
    });
    log.info('√ Runner connection is good');
    log.info('√ Settings Saved.');
    return 0;
  } catch (err) {
    log.error(err instanceof ConfigError ? err.message : `Failed: ${err && err.message}`);
    return 1;
  }
}

async function remove(root, cmd, log) {
  try {
    if (fs.existsSync(path.join(root, '.service'))) throw new ConfigError('Uninstall service first');
    if (!fs.existsSync(path.join(root, '.runner'))) {
      log.info('Does not exist. Skipping Removing runner.');
      return 0;
    }
    if (cmd.flags.has('local')) {
      deleteConfig(root);
      log.info('√ Removed .credentials\n√ Removed .runner');
      return 0;
    }
    const settings = loadObject(path.join(root, '.runner'));
    const url = settings.gitHubUrl;
    // myoung34's image passes a registration token here; GitHub (and the emulator) accept it.
    const token = cmd.args.token || (cmd.args.pat && (await tokenFromPat(url, cmd.args.pat, 'remove')));
    if (!token) throw new ConfigError('Invalid configuration provided for token. Terminating unattended configuration.');
    const reg = await registration(url, token, 'remove');
    const res = await http('DELETE', `${reg.url}/agents/${settings.agentId}`, { auth: `Bearer ${reg.token}` });
    if (res.status !== 204 && res.status !== 404) throw new ConfigError((res.data && res.data.message) || `Http response code: ${res.status}`);
    log.info('√ Runner removed successfully');
    deleteConfig(root);
    log.info('√ Removed .credentials\n√ Removed .runner');
    return 0;
  } catch (err) {
    log.error(err instanceof ConfigError ? err.message : `Failed: ${err && err.message}`);
    return 1;
  }
}

module.exports = { configure, remove };
