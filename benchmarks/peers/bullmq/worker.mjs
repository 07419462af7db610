// BullMQ 6.7 worker for the benchmark: a no-op processor, concurrency 16, writing the
// same 24-byte records as benchmarks/peers/record.py (kind, enqueued, at; seconds).
import fs from "node:fs";
import { Worker } from "bullmq";

const url = new URL(process.env.BENCH_REDIS_URL);
const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
const fd = fs.openSync(`${process.env.BENCH_RECORD_DIR}/${process.pid}.rec`, "a");
const now = () => (performance.timeOrigin + performance.now()) / 1000;

function record(kind, enqueued) {
  const buf = Buffer.alloc(24);
  buf.writeDoubleLE(kind, 0);
  buf.writeDoubleLE(enqueued, 8);
  buf.writeDoubleLE(now(), 16);
  fs.writeSync(fd, buf);
}

const worker = new Worker("bench", async (job) => record(0, job.data.t), {
  connection,
  concurrency: Number(process.env.BENCH_BULLMQ_CONCURRENCY || 16),
});
worker.on("completed", (job) => record(1, job.data.t));
process.on("SIGTERM", async () => {
  await worker.close();
  process.exit(0);
});
