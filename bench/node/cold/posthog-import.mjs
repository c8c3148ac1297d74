import 'posthog-node';
