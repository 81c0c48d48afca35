#!/usr/bin/env node
import { main } from './index.js';

// exitCode, not exit(): let stdout drain and open handles (a stopping daemon) finish.
process.exitCode = await main(process.argv);
