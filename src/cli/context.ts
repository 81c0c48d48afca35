import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { loadConfigIsolated } from '../config/isolated.js';
import { resolveConfigPath } from '../config/path.js';
import type { FleetConfig } from '../config/types.js';
import { FleetError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Where a command writes; the real process streams in bin.ts, buffers in tests. */
export interface Out {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * What every command gets: global options, output streams and the config loader.
 * Commands report failure by throwing (FleetError codes decide 1 vs 2, see index.ts)
 * or by setting `exitCode`.
 */
export interface CliContext {
  readonly program: Command;
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: Out;
  readonly stderr: Out;
  readonly version: string;
  exitCode: number;
  /** -c/--config, else $RUNNER_FLEET_CONFIG, else /etc/runner-fleet/config.yaml (absolute). */
  configPath(): string;
  /** Loads and validates; throws ConfigError (exit 2) or FleetError CONFIG_NOT_FOUND (exit 2). */
  loadConfig(): Promise<FleetConfig>;
  /** loadConfig in a worker thread: the same result, without keeping the validator resident (the daemon). */
  loadConfigIsolated(): Promise<FleetConfig>;
  logLevel(): LevelWithSilent;
  /** pino JSON logger at --log-level (stdout unless a destination is given by the command). */
  logger(): Logger;
  /** For commands whose stdout is their result: logs go to stderr, warn and up unless --log-level says otherwise. */
  stderrLogger(): Logger;
}

export interface ContextDeps {
  env: NodeJS.ProcessEnv;
  stdout: Out;
  stderr: Out;
  version: string;
}

export function createContext(program: Command, deps: ContextDeps): CliContext {
  const globals = (): { config?: string; logLevel?: LevelWithSilent } => program.opts();
  let logger: Logger | undefined;
  const ctx: CliContext = {
    program,
    env: deps.env,
    stdout: deps.stdout,
    stderr: deps.stderr,
    version: deps.version,
    exitCode: 0,
    configPath: () => resolveConfigPath(globals().config, deps.env),
    // Imported when used: the validator is the largest part of the CLI's heap.
    loadConfig: async () => (await import('../config/load.js')).loadConfig(ctx.configPath(), deps.env),
    loadConfigIsolated: () => loadConfigIsolated(ctx.configPath(), deps.env),
    logLevel: () => globals().logLevel ?? envLevel(deps.env.RUNNER_FLEET_LOG_LEVEL) ?? 'info',
    logger: () => (logger ??= createLogger({ level: ctx.logLevel() })),
    stderrLogger: () => createLogger({ level: ctx.logLevel() === 'info' ? 'warn' : ctx.logLevel(), destination: process.stderr }),
  };
  return ctx;
}

function envLevel(v: string | undefined): LevelWithSilent | undefined {
  if (v === undefined || v === '') return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(v)) {
    throw new FleetError('USAGE', `RUNNER_FLEET_LOG_LEVEL: "${v}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return v as LevelWithSilent;
}
