// Tracks ten events and ends as the Abacus SDK's README says: await close().
// It prints when that call returned, in ms since the process started.
import { Telemetry } from '@abacushq/telemetry';

const t = new Telemetry({
  product: 'bench',
  version: '1.0.0',
  endpoint: process.env.BENCH_ENDPOINT,
  dir: process.env.BENCH_DIR,
  stateDir: process.env.BENCH_STATE_DIR,
});
for (let i = 0; i < 10; i++) t.track('didStartServer', { durationMs: 1234, feature: 'i18n' });
await t.close();
console.log(performance.now().toFixed(0));
