export * from './index.js';
import * as telemetry from './index.js';
export default telemetry;
