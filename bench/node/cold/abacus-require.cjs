require('@abacushq/telemetry');
