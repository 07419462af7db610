// Submit batches of 100 demo.noop jobs with POST /v1/jobs/batch.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e API_KEY=dev -e RATE=5 -e DURATION=30s k6/batch_submit.js
//
// Env: BASE_URL, API_KEY (dev), RATE batches/s (5), DURATION (30s), BATCH_SIZE (100),
// PRE_VUS / MAX_VUS, P95_MS threshold for the batch request (500).
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
const API_KEY = __ENV.API_KEY || 'dev';
const RATE = parseInt(__ENV.RATE || '5', 10);
const DURATION = __ENV.DURATION || '30s';
const BATCH_SIZE = parseInt(__ENV.BATCH_SIZE || '100', 10);
const P95_MS = parseInt(__ENV.P95_MS || '500', 10);

const jobsAccepted = new Counter('jobs_accepted');
const itemErrors = new Counter('batch_item_errors');
const batchDuration = new Trend('batch_duration', true);

export const options = {
  scenarios: {
    batches: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: parseInt(__ENV.PRE_VUS || String(Math.max(5, RATE * 2)), 10),
      maxVUs: parseInt(__ENV.MAX_VUS || String(Math.max(20, RATE * 10)), 10),
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    batch_duration: [`p(95)<${P95_MS}`],
    batch_item_errors: ['count==0'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const jobs = [];
  for (let i = 0; i < BATCH_SIZE; i++) {
    jobs.push({ type: 'demo.noop', payload: { vu: __VU, iter: __ITER, i } });
  }
  const res = http.post(`${BASE_URL}/v1/jobs/batch`, JSON.stringify({ jobs }), {
    headers: { 'Content-Type': 'application/json', 'x-api-key': API_KEY },
    tags: { name: 'POST /v1/jobs/batch' },
  });
  batchDuration.add(res.timings.duration);

  let results = null;
  try {
    results = res.json('results');
  } catch (_) {
    results = null;
  }
  const ok = check(res, {
    'batch: 200 or 201': (r) => r.status === 200 || r.status === 201,
    [`batch: results has ${BATCH_SIZE} items`]: () => Array.isArray(results) && results.length === BATCH_SIZE,
  });
  if (!ok || !Array.isArray(results)) return;

  const accepted = results.filter((item) => item && item.job_id).length;
  jobsAccepted.add(accepted);
  itemErrors.add(results.length - accepted);
  check(accepted, { 'batch: every item has a job_id': (n) => n === BATCH_SIZE });
}
