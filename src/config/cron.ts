import { createRequire } from 'node:module';
import { CronExpressionParser, type CronExpression } from 'cron-parser';

/**
 * Cron expressions for `runner.updateSchedule` and `tokens.refreshSchedule`: parsed by cron-parser,
 * fired with node-cron's day rule (see nextCronRun).
 *
 * Why not node-cron's scheduler: it matches every candidate through an Intl.DateTimeFormat, and so
 * does luxon (under cron-parser) to find the system locale. The first Intl.DateTimeFormat maps
 * ~5 MB of the node binary's ICU data into the daemon's RSS for good (issue 13, footprint). A
 * locale of our choosing skips that lookup; cron-parser uses luxon for date arithmetic only (local
 * time zone, no formatting), where the locale plays no part.
 */
let localeSet = false;
function quietLuxon(): void {
  if (localeSet) return;
  localeSet = true;
  // cron-parser's own copy of luxon, whichever the package manager installed.
  const req = createRequire(createRequire(import.meta.url).resolve('cron-parser'));
  (req('luxon') as { Settings: { defaultLocale: string } }).Settings.defaultLocale = 'en-US';
}

export function parseCron(expr: string, currentDate?: Date): CronExpression {
  quietLuxon();
  return CronExpressionParser.parse(expr, currentDate ? { currentDate } : {});
}

const WILD = new Set(['*', '?']);
/** Days matching the day-of-month looked through for one on a listed weekday (decades of "the 13th"). */
const MAX_DAYS = 1000;

/**
 * The first time after `after` the expression fires, or null if none is found.
 *
 * node-cron, which scheduled these jobs before, fires only when both day-of-month and
 * day-of-week match; cron-parser (like Vixie cron) fires when either does. node-cron's rule is
 * kept: with both fields restricted, a day-of-month match counts only on a listed weekday.
 */
export function nextCronRun(expr: string, after: Date): Date | null {
  const fields = expr.trim().split(/\s+/);
  const dom = fields.length - 3;
  const dow = fields.length - 1;
  try {
    if (fields.length < 5 || WILD.has(fields[dom]!) || WILD.has(fields[dow]!)) return parseCron(expr, after).next().toDate();
    const domOnly = parseCron(fields.map((f, i) => (i === dow ? '*' : f)).join(' '), after);
    const dowOnly = parseCron(fields.map((f, i) => (i === dom ? '*' : f)).join(' '));
    for (let i = 0; i < MAX_DAYS; i++) {
      const d = domOnly.next().toDate();
      if (dowOnly.includesDate(d)) return d;
      // Wrong weekday: nothing else on that day can match either; go on from its last second.
      domOnly.reset(new Date(d.getFullYear(), d.getMonth(), d.getDate(), 23, 59, 59));
    }
  } catch {
    // cron-parser found no further date
  }
  return null;
}
