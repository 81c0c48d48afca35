import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { ToolConfig } from '../../src/config/types.js';
import { installTool } from '../../src/tools/index.js';
import { startEmulator } from '../emulator/index.js';
import { tempDir } from '../runner/util.js';

const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

test('versionCommand runs a freshly downloaded tool as an unprivileged user when the daemon is root', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('needs root (the case under test is a root daemon)');
    return;
  }
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dataDir = await tempDir(t, 'rf-tools-');
  // A hostile "tool": says who it runs as and tries to plant a file in the data dir.
  const script = `#!/bin/sh\necho "uid=$(id -u)"\ntouch "${dataDir}/planted" 2>/dev/null && echo planted\nexit 0\n`;
  const url = emu.serveFile('evil/v1/evil-linux-amd64', script).replace('v1', '{version}');
  const tool: ToolConfig = { name: 'evil', version: 'v1', url, sha256: sha(script), archive: 'none', versionCommand: ['--version'] };
  const inst = await installTool(tool, { dataDir, fetch, arch: 'x64' });
  t.regex(inst.versionOutput ?? '', /^uid=65534$/m);
  t.false(fs.existsSync(path.join(dataDir, 'planted')), 'the version command wrote into the data dir');
});
