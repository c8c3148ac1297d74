// Every test process gets a user of its own: HOME and the XDG directories in a
// temporary directory, and none of the variables that decide consent, so that
// no test reads or writes the real user's opt-out file or cache.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-node-home-'));
process.env.HOME = home;
process.env.XDG_CONFIG_HOME = path.join(home, '.config');
process.env.XDG_CACHE_HOME = path.join(home, '.cache');
for (const k of Object.keys(process.env)) {
  if (k === 'DO_NOT_TRACK' || k.endsWith('_TELEMETRY_DISABLED') || k.endsWith('_TELEMETRY_DEBUG')) delete process.env[k];
}
process.on('exit', () => fs.rmSync(home, { recursive: true, force: true }));
export { home };
