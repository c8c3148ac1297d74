// Tracks ten events and ends as posthog-node's docs say: await shutdown().
// It prints when that call returned, in ms since the process started.
import { PostHog } from 'posthog-node';

const posthog = new PostHog('phc_bench', { host: process.env.BENCH_ENDPOINT });
for (let i = 0; i < 10; i++) {
  posthog.capture({ distinctId: 'machine', event: 'didStartServer', properties: { durationMs: 1234, feature: 'i18n' } });
}
await posthog.shutdown();
console.log(performance.now().toFixed(0));
