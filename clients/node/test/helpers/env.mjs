// Every test process gets a user of its own: HOME and the XDG directories in a
// temporary directory, and none of the variables that decide consent, so that
// no test reads or writes the real user's opt-out file or cache.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Go keeps its build cache, module cache and settings under the user's
// directories; a go command run by a test (the end-to-end test builds abacus)
// keeps using the user's, or it would download every module and compile
// DuckDB again in each run. These are Go's defaults on Linux and macOS.
const userHome = process.env.HOME;
if (userHome && process.platform !== 'win32') {
  const mac = process.platform === 'darwin';
  const cache = !mac && process.env.XDG_CACHE_HOME ? process.env.XDG_CACHE_HOME : path.join(userHome, mac ? 'Library/Caches' : '.cache');
  const config = !mac && process.env.XDG_CONFIG_HOME ? process.env.XDG_CONFIG_HOME : path.join(userHome, mac ? 'Library/Application Support' : '.config');
  process.env.GOCACHE ||= path.join(cache, 'go-build');
  process.env.GOPATH ||= path.join(userHome, 'go');
  process.env.GOENV ||= path.join(config, 'go', 'env');
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'abacus-node-home-'));
process.env.HOME = home;
process.env.XDG_CONFIG_HOME = path.join(home, '.config');
process.env.XDG_CACHE_HOME = path.join(home, '.cache');
for (const k of Object.keys(process.env)) {
  if (k === 'DO_NOT_TRACK' || k.endsWith('_TELEMETRY_DISABLED') || k.endsWith('_TELEMETRY_DEBUG')) delete process.env[k];
}
process.on('exit', () => fs.rmSync(home, { recursive: true, force: true }));
export { home };
