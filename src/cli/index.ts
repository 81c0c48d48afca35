import { Command, CommanderError, Option } from 'commander';
import { isConfigError, formatIssues } from '../config/errors.js';
import { describeError, isFleetError } from '../errors.js';
import { VERSION } from '../version.js';
import { createContext, LOG_LEVELS, type CliContext, type Out } from './context.js';
import { register as daemon } from './commands/daemon.js';
import { register as validate } from './commands/validate.js';
import { register as plan } from './commands/plan.js';
import { register as status } from './commands/status.js';
import { register as runnerDownload } from './commands/runner-download.js';
import { register as toolsInstall } from './commands/tools-install.js';
import { register as doctor } from './commands/doctor.js';
import { register as drain } from './commands/drain.js';
import { register as deregister } from './commands/deregister.js';
import { register as installService } from './commands/install-service.js';
import { register as logs } from './commands/logs.js';

export type { CliContext } from './context.js';

/** One entry per command file; each adds its command(s) to the program. */
const COMMANDS: Array<(program: Command, ctx: CliContext) => void> = [
  daemon,
  validate,
  plan,
  status,
  runnerDownload,
  toolsInstall,
  doctor,
  drain,
  deregister,
  installService,
  logs,
];

export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

export interface MainOptions {
  env?: NodeJS.ProcessEnv;
  stdout?: Out;
  stderr?: Out;
}

export function buildProgram(ctxDeps: Required<MainOptions>): { program: Command; ctx: CliContext } {
  const version = VERSION;
  const program = new Command('runner-fleet');
  const ctx = createContext(program, { ...ctxDeps, version });
  program
    .description('Self-hosted GitHub Actions runner fleet manager')
    .version(version, '-V, --version', 'print the version')
    .option('-c, --config <file>', 'config file (default: $RUNNER_FLEET_CONFIG or /etc/runner-fleet/config.yaml)')
    .addOption(new Option('--log-level <level>', 'log level (default: $RUNNER_FLEET_LOG_LEVEL or info)').choices(LOG_LEVELS))
    .showHelpAfterError('(run with --help for usage)')
    // Every subcommand's --help lists -c/--config and --log-level too.
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => void ctxDeps.stdout.write(s),
      writeErr: (s) => void ctxDeps.stderr.write(s),
    })
    .exitOverride();
  for (const add of COMMANDS) add(program, ctx);
  // $RUNNER_FLEET_LOG_LEVEL is checked like --log-level: a typo is a usage error, not ignored.
  program.hook('preAction', () => void ctx.logLevel());
  return { program, ctx };
}

/** Runs the CLI and returns the exit code: 0 ok, 1 runtime failure, 2 usage or config error. */
export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  const deps = { env: opts.env ?? process.env, stdout: opts.stdout ?? process.stdout, stderr: opts.stderr ?? process.stderr };
  const { program, ctx } = buildProgram(deps);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    return exitCodeFor(err, deps.stderr);
  }
}

/** Maps what a command threw to the contract's exit codes, printing it once. */
export function exitCodeFor(err: unknown, stderr: Out): number {
  if (err instanceof CommanderError) {
    // Commander already printed its message. Help asked for (--help, `help CMD`) and --version
    // are successes; help shown because no command was given is a usage error.
    return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (isConfigError(err)) {
    stderr.write(formatIssues(err.issues) + '\n');
    return EXIT.USAGE;
  }
  if (isFleetError(err, 'CONFIG_NOT_FOUND') || isFleetError(err, 'USAGE')) {
    stderr.write(`runner-fleet: ${err.message}\n`);
    return EXIT.USAGE;
  }
  stderr.write(`runner-fleet: ${describeError(err)}\n`);
  return EXIT.FAILURE;
}
