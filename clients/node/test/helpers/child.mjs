// runNode runs a script in a child node process with a given environment and
// returns { code, stdout, stderr, ms }.
import { spawn } from 'node:child_process';

export function runNode(args, { env = {}, input, timeout = 20000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // A variable given as undefined is removed (NODE_TEST_CONTEXT, for a
    // child that runs a test file of its own).
    const childEnv = { ...process.env, ...env };
    for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
    const child = spawn(process.execPath, args, { env: childEnv, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child timed out after ${timeout} ms: ${stderr}`)); }, timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
    if (input !== undefined) child.stdin.end(input); else child.stdin.end();
  });
}
