// The ES module entry loads the CommonJS one with require: a program loading
// the package both ways gets one instance (one set of exit hooks, one state),
// and Node does not scan the CommonJS code for the names it exports, a scan
// that costs an import tens of milliseconds.
import { createRequire } from 'node:module';

const cjs = createRequire(import.meta.url)('./index.js');

export const { Telemetry, createProject, disable, enable, errorCode, recent, SDK_VERSION } = cjs;
export default cjs;
