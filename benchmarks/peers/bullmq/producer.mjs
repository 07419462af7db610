// BullMQ 6.7 producer: `seed N` (addBulk), `paced RATE SECONDS`, `rate SECONDS`;
// prints one JSON line. Timestamps in seconds on the wall clock, as record.py's.
import { Queue } from "bullmq";

const url = new URL(process.env.BENCH_REDIS_URL);
const queue = new Queue("bench", {
  connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null },
});
const now = () => (performance.timeOrigin + performance.now()) / 1000;
const sleep = (s) => new Promise((resolve) => setTimeout(resolve, s * 1000));
const [mode, a, b] = process.argv.slice(2);
let out = {};

if (mode === "seed") {
  const n = Number(a);
  for (let start = 0; start < n; start += 1000) {
    const size = Math.min(1000, n - start);
    await queue.addBulk(Array.from({ length: size }, () => ({ name: "noop", data: { t: 0 } })));
  }
} else if (mode === "warm") {
  for (let i = 0; i < Number(a); i++) await queue.add("noop", { t: -1 });
} else if (mode === "paced") {
  const rate = Number(a);
  const count = Math.floor(rate * Number(b));
  const t0 = now() + 0.05;
  for (let i = 0; i < count; i++) {
    const delay = t0 + i / rate - now();
    if (delay > 0) await sleep(delay);
    await queue.add("noop", { t: now() });
  }
  out = { sent: count, achieved: count / (now() - t0) };
} else if (mode === "rate") {
  const seconds = Number(a);
  const began = now();
  let done = 0;
  while (now() - began < seconds) {
    await queue.add("noop", { t: 0 });
    done++;
  }
  out = { jobs_per_s: done / (now() - began) };
}
console.log(JSON.stringify(out));
await queue.close();
