// Tracks ten events and ends as @segment/analytics-node's docs say:
// await closeAndFlush(). It prints when that call returned, in ms since the
// process started.
import { Analytics } from '@segment/analytics-node';

const analytics = new Analytics({ writeKey: 'bench', host: process.env.BENCH_ENDPOINT });
for (let i = 0; i < 10; i++) {
  analytics.track({ userId: 'machine', event: 'didStartServer', properties: { durationMs: 1234, feature: 'i18n' } });
}
await analytics.closeAndFlush();
console.log(performance.now().toFixed(0));
