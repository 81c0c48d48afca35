import { parseDuration } from '../config/duration.js';
import { FleetError } from '../errors.js';
import type { CliContext } from './context.js';

/** One duration syntax everywhere (config and flags): 500ms, 10s, 5m, 1h30m; a bare number is seconds. */
export function durationOption(flag: string, value: string): number {
  const v = value.trim();
  const ms = /^\d+(\.\d+)?$/.test(v) ? Math.round(Number(v) * 1000) : parseDuration(v);
  if (ms === undefined) throw new FleetError('USAGE', `${flag}: expected a duration such as 30s, 10m or 1h30m, got "${value}"`);
  return ms;
}

/** Columns to fit: the terminal's, else $COLUMNS, else 100. */
export function terminalWidth(ctx: Pick<CliContext, 'stdout' | 'env'>): number {
  const cols = ctx.stdout.columns ?? Number(ctx.env.COLUMNS);
  return Number.isFinite(cols) && cols > 0 ? cols : 100;
}
