// The app-tier burst as k6 runs it (src/5-workload/k6.ts runs it): a ramping-arrival-rate scenario of one
// weighted GET per iteration, errors counted by the same keys the stand-in driver uses. Every parameter
// comes from the JSON file named by OOMLAB_BURST_PARAMS (k6BurstParams() writes it), read in the init context.
import http from 'k6/http';
import { Counter } from 'k6/metrics';

if (!__ENV.OOMLAB_BURST_PARAMS) {
  throw new Error('OOMLAB_BURST_PARAMS is not set: run `k6 run --env OOMLAB_BURST_PARAMS=params.json burst.js` with the params.json oomlab wrote beside it');
}
const PARAMS = JSON.parse(open(__ENV.OOMLAB_BURST_PARAMS));
const PATHS = PARAMS.paths;
const TOTAL_WEIGHT = PATHS.reduce((sum, p) => sum + p.weight, 0);

// k6 accepts metrics declared in the init context only: one Counter per known key, the rest in one.
const ERROR_COUNTERS = Object.create(null);
for (const key of Object.keys(PARAMS.errorMetrics)) ERROR_COUNTERS[key] = new Counter(PARAMS.errorMetrics[key]);
const errorsOther = new Counter(PARAMS.otherErrorsMetric);

export const options = PARAMS.options;

// The weighted pick of src/0-model/pick.ts, which k6 cannot import.
function pickPath() {
  let r = Math.random() * TOTAL_WEIGHT;
  for (let i = 0; i < PATHS.length; i++) {
    r -= PATHS[i].weight;
    if (r < 0) return PATHS[i].path;
  }
  return PATHS[PATHS.length - 1].path;
}

// k6 hands headers over with Go's canonical names (X-Oomlab-Error).
function headerOf(res, name) {
  for (const key in res.headers) {
    if (key.toLowerCase() === name) return res.headers[key];
  }
  return undefined;
}

// As the stand-in keys it: the app tier's header, else the status, else the network error.
function errorKeyOf(res) {
  if (res.status >= 400) {
    const named = headerOf(res, PARAMS.errorHeader);
    return named ? String(named).trim() : `HTTP ${res.status}`;
  }
  if (res.status === 0) return PARAMS.networkErrors[res.error_code] || `k6 error ${res.error_code}`;
  return undefined;
}

export default function () {
  const path = pickPath();
  const res = http.get(PARAMS.baseUrl + path, { timeout: PARAMS.requestTimeout, responseType: 'none', tags: { name: path } });
  const key = errorKeyOf(res);
  if (key === undefined) return;
  const counter = ERROR_COUNTERS[key];
  if (counter) counter.add(1);
  else errorsOther.add(1, { key: key });
}
