import '@abacushq/telemetry';
