// Submit text.reverse jobs at a constant arrival rate and poll each one to a terminal state.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e API_KEY=dev -e RATE=50 -e DURATION=1m k6/submit_and_poll.js
//
// Env: BASE_URL (default http://127.0.0.1:8000), API_KEY (default dev), RATE jobs/s (50),
// DURATION (1m), PRE_VUS / MAX_VUS (derived from RATE), POLL_INTERVAL seconds (0.05),
// POLL_TIMEOUT seconds (30), QUEUE (optional: high/default/low).
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
const API_KEY = __ENV.API_KEY || 'dev';
const RATE = parseInt(__ENV.RATE || '50', 10);
const DURATION = __ENV.DURATION || '1m';
const POLL_INTERVAL = parseFloat(__ENV.POLL_INTERVAL || '0.05');
const POLL_TIMEOUT = parseFloat(__ENV.POLL_TIMEOUT || '30');
const QUEUE = __ENV.QUEUE || '';
const TERMINAL = ['succeeded', 'dead', 'cancelled'];

const e2eLatency = new Trend('e2e_latency', true); // submit -> terminal state seen, ms
const jobsSucceeded = new Rate('jobs_succeeded');
const jobsPollTimeout = new Counter('jobs_poll_timeout');

const HEADERS = { 'Content-Type': 'application/json', 'x-api-key': API_KEY };

export const options = {
  scenarios: {
    submit_and_poll: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: parseInt(__ENV.PRE_VUS || String(Math.max(10, RATE * 2)), 10),
      maxVUs: parseInt(__ENV.MAX_VUS || String(Math.max(50, RATE * 20)), 10),
      gracefulStop: `${Math.ceil(POLL_TIMEOUT) + 5}s`,
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<50'],
    e2e_latency: ['p(95)<1000'],
    jobs_succeeded: ['rate>0.99'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const body = { type: 'text.reverse', payload: { text: `k6 vu ${__VU} iter ${__ITER}` } };
  if (QUEUE) body.queue = QUEUE;

  const started = Date.now();
  const res = http.post(`${BASE_URL}/v1/jobs`, JSON.stringify(body), {
    headers: HEADERS,
    tags: { name: 'POST /v1/jobs' },
  });
  const submitted = check(res, {
    'submit: 201': (r) => r.status === 201,
    'submit: has job_id': (r) => !!jsonField(r, 'job_id'),
  });
  if (!submitted) return;
  const jobId = jsonField(res, 'job_id');

  const deadline = started + POLL_TIMEOUT * 1000;
  let status = '';
  while (Date.now() < deadline) {
    const poll = http.get(`${BASE_URL}/v1/jobs/${jobId}`, {
      headers: HEADERS,
      tags: { name: 'GET /v1/jobs/{id}' },
    });
    if (poll.status === 200) {
      status = jsonField(poll, 'status') || '';
      if (TERMINAL.includes(status)) break;
    }
    sleep(POLL_INTERVAL);
  }

  if (!TERMINAL.includes(status)) {
    jobsPollTimeout.add(1);
    jobsSucceeded.add(false);
    check(status, { 'job: reached a terminal state': () => false });
    return;
  }
  e2eLatency.add(Date.now() - started);
  jobsSucceeded.add(status === 'succeeded');
  check(status, { 'job: succeeded': (s) => s === 'succeeded' });
}

function jsonField(res, field) {
  try {
    const v = res.json(field);
    return v === undefined || v === null ? null : v;
  } catch (_) {
    return null;
  }
}
