import cjs from './index.js';

export const { Telemetry, createProject, disable, enable, errorCode, recent, SDK_VERSION } = cjs;
export default cjs;
