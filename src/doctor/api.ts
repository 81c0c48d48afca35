import fs from 'node:fs';
import { controlSocketPath } from '../api/socket.js';
import { isLoopback } from '../config/loopback.js';
import { fail, ok, type Check, type CheckResult } from './types.js';

/**
 * How the daemon can be reached (CONTRACT §7): the control socket the CLI uses, and what the
 * TCP listener gives whom. Jobs share the host's loopback (process and systemd runners, Docker
 * with network: host), so "loopback only" keeps the network out, not the jobs.
 */
export const checkApiExposure: Check = async (ctx) => {
  const { api, host } = ctx.cfg;
  const out: CheckResult[] = [];
  const sock = controlSocketPath(host.dataDir);
  const st = fs.lstatSync(sock, { throwIfNoEntry: false });
  if (!st) out.push(ok('api socket', `${sock}: not present (the daemon creates it 0600 at start)`));
  else if (!st.isSocket()) out.push(fail('api socket', `${sock} is not a socket`, `stop the daemon, remove ${sock}, start it again`));
  else if ((st.mode & 0o077) !== 0) {
    out.push(fail('api socket', `${sock} is mode ${(st.mode & 0o777).toString(8)}: others may drain or deregister the fleet`, `chmod 0600 ${sock} and restart the daemon`));
  } else out.push(ok('api socket', `${sock} (mode 0600, uid ${st.uid}): drain, deregister and status for the daemon's user and root`));

  const where = `TCP ${api.listen.host}:${api.listen.port}`;
  const scope = isLoopback(api.listen.host) ? 'loopback: this host, its jobs included' : 'beyond loopback: the network';
  const webhook = api.webhookSecret ? ', signed POST /webhook' : '';
  const detail = api.token
    ? `${where} (${scope}): /healthz, /metrics${webhook} open; /api/v1/* need the bearer token`
    : `${where} (${scope}): /healthz, /metrics, GET /api/v1/status${webhook} open; control routes refused (403, no api.token)`;
  out.push(ok('api tcp', detail));
  return out;
};
