// Idempotency under contention: every VU submits the SAME dedupe_key in the same iteration
// number (one "group" per iteration), each VU firing PARALLEL concurrent requests at once.
// Expected per key: exactly one 201 over all VUs (the job is created once), every other
// answer 200, and every answer carrying the same job_id.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e API_KEY=dev -e VUS=20 -e GROUPS=50 k6/dedupe.js
//
// Env: BASE_URL, API_KEY (dev), VUS (20), GROUPS = iterations per VU = distinct keys (50),
// PARALLEL requests per VU per key (5). Keys carry a per-run id made in setup(), so reruns
// don't hit keys of earlier runs (the dedupe window is 24 h by default).
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
const API_KEY = __ENV.API_KEY || 'dev';
const VUS = parseInt(__ENV.VUS || '20', 10);
const GROUPS = parseInt(__ENV.GROUPS || '50', 10);
const PARALLEL = parseInt(__ENV.PARALLEL || '5', 10);

const created = new Counter('dedupe_created'); // 201 answers: must equal GROUPS in the end
const replayed = new Counter('dedupe_replayed'); // 200 answers
const mismatched = new Counter('dedupe_job_id_mismatch'); // answers disagreeing on the id
const unexpected = new Counter('dedupe_unexpected_status'); // anything but 200/201

export const options = {
  scenarios: {
    dedupe: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: GROUPS,
      maxDuration: '5m',
    },
  },
  thresholds: {
    dedupe_created: [`count==${GROUPS}`],
    dedupe_job_id_mismatch: ['count==0'],
    dedupe_unexpected_status: ['count==0'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate==1'],
  },
};

export function setup() {
  const runId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  return { runId };
}

export default function (data) {
  const key = `k6-dedupe-${data.runId}-${__ITER}`;
  const body = JSON.stringify({ type: 'demo.noop', payload: { group: __ITER }, dedupe_key: key });
  const params = {
    headers: { 'Content-Type': 'application/json', 'x-api-key': API_KEY },
    tags: { name: 'POST /v1/jobs (dedupe)' },
  };
  const requests = [];
  for (let i = 0; i < PARALLEL; i++) {
    requests.push(['POST', `${BASE_URL}/v1/jobs`, body, params]);
  }
  const responses = http.batch(requests);

  const ids = new Set();
  let mine201 = 0;
  for (const r of responses) {
    if (r.status === 201) {
      created.add(1);
      mine201 += 1;
    } else if (r.status === 200) {
      replayed.add(1);
    } else {
      unexpected.add(1);
      continue;
    }
    let id = null;
    try {
      id = r.json('job_id');
    } catch (_) {
      id = null;
    }
    ids.add(id);
  }
  if (ids.size > 1 || ids.has(null)) mismatched.add(1);

  check(responses, {
    'dedupe: every answer is 200 or 201': (rs) => rs.every((r) => r.status === 200 || r.status === 201),
    'dedupe: at most one 201 in this VU': () => mine201 <= 1,
    'dedupe: all answers carry the same job_id': () => ids.size === 1 && !ids.has(null),
  });
}
