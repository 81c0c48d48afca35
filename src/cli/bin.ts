#!/usr/bin/env node
import { main } from './index.js';

// exitCode, not exit(): let stdout drain and open handles (a stopping daemon) finish.
process.exitCode = await main(process.argv);
// ...but a handle nobody waits for any more (a DNS lookup or socket to an unreachable host
// after its timeout) must not hold the command open: give it a moment, then go.
setTimeout(() => process.exit(), 2000).unref();
