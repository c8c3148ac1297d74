require('posthog-node');
