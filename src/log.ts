import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Every key that can hold a secret, at any depth we log. pino's redact works on paths,
 * so the common nestings are listed explicitly.
 */
const SECRET_KEYS = [
  'token',
  'pat',
  'password',
  'privateKey',
  'private_key',
  'jitConfig',
  'encoded_jit_config',
  'encodedJitConfig',
  'webhookSecret',
  'secret',
  'hookSecret',
  'authorization',
  'Authorization',
  'secretEnv',
  'ACTIONS_RUNNER_INPUT_JITCONFIG',
  'ACTIONS_RUNNER_INPUT_TOKEN',
  'GITHUB_TOKEN',
];

export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((k) => [
  k,
  `*.${k}`,
  `*.*.${k}`,
  `headers.${k}`,
  `request.headers.${k}`,
  `*.headers.${k}`,
  `env.${k}`,
  `*.env.${k}`,
]);

export interface LogOptions {
  level?: LevelWithSilent;
  destination?: DestinationStream;
}

/** JSON lines on stdout: journald keeps them, `jq` reads them. */
export function createLogger(opts: LogOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { svc: 'runner-fleet' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
