'use strict';
// Like the real RunnerService.js: supervise `Runner.Listener run --startuptype service`.
const { spawn } = require('node:child_process');
const path = require('node:path');

const listener = path.join(__dirname, 'Runner.Listener');
let child = null;
let stopping = false;
let retryable = 0;

function launch() {
  child = spawn(process.execPath, [listener, 'run', '--startuptype', 'service'], { stdio: 'inherit' });
  child.on('exit', (code) => {
    if (stopping || [0, 1, 5].includes(code)) process.exit(code == null ? 0 : code);
    if ([2, 3, 4].includes(code) && ++retryable >= 10) process.exit(code);
    setTimeout(launch, 5000);
  });
}

const stop = () => {
  stopping = true;
  if (child) child.kill('SIGINT');
  setTimeout(() => child && child.kill('SIGKILL'), 30_000).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
launch();
