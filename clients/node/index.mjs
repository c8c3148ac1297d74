// The ES module entry wraps the CommonJS one, so that a program loading the
// package both ways gets one instance: one set of exit hooks, one state.
import cjs from './index.js';

export const { Telemetry, createProject, disable, enable, errorCode, recent, SDK_VERSION } = cjs;
export default cjs;
