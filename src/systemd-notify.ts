import { execFile } from 'node:child_process';

/**
 * sd_notify(3) without native code. $NOTIFY_SOCKET is a unix *datagram* socket and Node can
 * only speak unix stream sockets, so we run `systemd-notify`, which ships with systemd itself.
 * The unit needs NotifyAccess=all (the sender is our child, not the main PID). Since systemd
 * 246, systemd-notify waits on a barrier until PID 1 has processed the message, so it is not
 * lost when the short-lived sender exits first (the classic systemd-notify race).
 *
 * Chosen over Type=exec + an ExecStartPost health poll because readiness then means what the
 * daemon says it means (config loaded, store open, API listening), STOPPING=1/RELOADING=1 show
 * in `systemctl status`, and nothing has to know the API address or token.
 *
 * Outside systemd (no NOTIFY_SOCKET) every call is a no-op. Messages are sent in order. No
 * process-wide instance: the daemon builds one and passes it on (the watchdog uses it too).
 */
export type NotifyRunner = (file: string, args: string[], env: NodeJS.ProcessEnv) => Promise<void>;

const execNotify: NotifyRunner = (file, args, env) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 10_000 }, (err) => (err ? reject(err) : resolve()));
  });

export interface Notifier {
  /** e.g. 'READY=1', 'STOPPING=1', 'RELOADING=1', 'STATUS=3 runners'. Resolves when sent (never rejects). */
  notify(...assignments: string[]): Promise<boolean>;
}

export function createNotifier(opts: { env?: NodeJS.ProcessEnv; run?: NotifyRunner; onError?: (err: unknown) => void } = {}): Notifier {
  const env = opts.env ?? process.env;
  const run = opts.run ?? execNotify;
  let chain: Promise<unknown> = Promise.resolve();
  return {
    notify(...assignments) {
      if (!env.NOTIFY_SOCKET || assignments.length === 0) return Promise.resolve(false);
      const sent = chain.then(() =>
        run('systemd-notify', assignments, { NOTIFY_SOCKET: env.NOTIFY_SOCKET, PATH: env.PATH ?? '/usr/bin:/bin' }).then(
          () => true,
          (err: unknown) => {
            opts.onError?.(err);
            return false;
          },
        ),
      );
      chain = sent;
      return sent;
    },
  };
}
