'use strict';
const { parse } = require('./args.js');
const { ROOT, createLog, runnerVersion } = require('./util.js');

async function main(argv) {
  const log = createLog(ROOT);
  const cmd = parse(argv, process.env, (m) => log.info(m));
  if (cmd.flags.has('version')) {
    log.info(runnerVersion());
    return 0;
  }
  if (cmd.flags.has('help')) {
    log.info('Commands: configure | remove | run. See ./config.sh --help of the real runner.');
    return 0;
  }
  switch (cmd.command) {
    case 'configure':
      return require('./configure.js').configure(ROOT, cmd, log);
    case 'remove':
      return require('./configure.js').remove(ROOT, cmd, log);
    case 'run':
    case null:
      return require('./run.js').run(ROOT, cmd, log);
    default:
      log.error(`Unknown command: ${cmd.command}`);
      return 1;
  }
}

module.exports = { main };
