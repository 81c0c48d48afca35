'use strict';
// CommandLineParser.cs semantics: only `--arg value`, a value starting with '-' is ignored,
// the first of repeated arguments wins, unknown ones only warn. ACTIONS_RUNNER_INPUT_<NAME>
// supplies anything not on the command line and is removed from the environment.

const FLAGS = new Set(['check', 'commit', 'disableupdate', 'ephemeral', 'generateserviceconfig', 'help', 'local',
  'no-default-labels', 'once', 'replace', 'runasservice', 'unattended', 'version']);
const ARGS = new Set(['auth', 'jitconfig', 'labels', 'monitorsocketaddress', 'name', 'pat', 'runnergroup',
  'startuptype', 'token', 'url', 'windowslogonaccount', 'windowslogonpassword', 'work']);

function parse(argv, env, warn) {
  const out = { command: null, args: {}, flags: new Set() };
  const envInputs = {};
  for (const key of Object.keys(env)) {
    if (!key.startsWith('ACTIONS_RUNNER_INPUT_')) continue;
    envInputs[key.slice('ACTIONS_RUNNER_INPUT_'.length).toLowerCase().replace(/_/g, '-')] = env[key];
    delete env[key];
  }
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (!tok.startsWith('--')) {
      if (out.command === null) out.command = tok;
      continue;
    }
    const name = tok.slice(2).toLowerCase();
    if (FLAGS.has(name)) {
      out.flags.add(name);
    } else if (ARGS.has(name)) {
      const value = argv[i + 1];
      if (value !== undefined && !value.startsWith('-')) {
        i++;
        if (!(name in out.args)) out.args[name] = value;
      }
    } else {
      warn(`Unrecognized command-line input arguments: '${name}'. For usage refer to: .\\config.cmd --help or ./config.sh --help`);
    }
  }
  for (const [name, value] of Object.entries(envInputs)) {
    const argName = name.replace(/-/g, '');
    if (FLAGS.has(name) || FLAGS.has(argName)) {
      if (String(value).toLowerCase() === 'true') out.flags.add(FLAGS.has(name) ? name : argName);
    } else if (ARGS.has(argName) && !(argName in out.args) && value) {
      out.args[argName] = value;
    }
  }
  return out;
}

module.exports = { parse };
