import test from 'ava';
import { deliver, workflowJob } from '../api/helpers.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon } from '../helpers/daemon.js';
import { stopAndKillRunners } from './lifecycle-kit.js';

test('webhook: the same job and action under a new delivery id is a duplicate; another action of the job is not', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 0 }));
  t.teardown(() => stopAndKillRunners(fx));
  const base = `http://127.0.0.1:${fx.daemon.apiPort}`;
  const send = async (action: string, deliveryId: string) =>
    (await (await deliver(base, workflowJob(42, action), { secret: 'test-secret', deliveryId })).json()) as Record<string, unknown>;

  t.deepEqual(await send('queued', 'd-1'), { accepted: true });
  t.deepEqual(await send('queued', 'd-2'), { duplicate: true }, 'a second hook (or a redelivery with a new id) of the same event');
  t.deepEqual(await send('queued', 'd-1'), { duplicate: true }, 'a replay of the delivery id');
  t.deepEqual(await send('completed', 'd-3'), { accepted: true });
  t.deepEqual(await send('completed', 'd-4'), { duplicate: true });
  t.regex(await fx.daemon.metrics.render(), /runner_fleet_webhook_deliveries_total\{result="duplicate"\} 3/);
});
