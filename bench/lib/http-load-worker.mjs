/* The registration stampede's HTTP clients, on a thread of their own so that the server's event loop
 * measures only the server (a real club's members are on other machines). Plain JavaScript: a worker
 * does not inherit the tsx loader. Each client is a loop of back-to-back keep-alive requests. */
import http from "node:http";
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";

const { url, tokens, clients, warmupMs, durationMs } = workerData;
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });

function post(token) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": 2,
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end("{}");
  });
}

const from = performance.now() + warmupMs;
const until = from + durationMs;
const latenciesMs = [];
let next = 0;
let failures = 0;
let firstFailure = null;
async function loop() {
  while (performance.now() < until) {
    if (next >= tokens.length)
      throw new Error("Not enough seeded members for this run: raise BENCH_MEMBERS.");
    const token = tokens[next++];
    const t0 = performance.now();
    const res = await post(token);
    const t1 = performance.now();
    if (res.status !== 201) {
      failures++;
      firstFailure ??= `${res.status} ${res.text.slice(0, 300)}`;
    }
    if (t0 >= from && t1 <= until) latenciesMs.push(t1 - t0);
  }
}
try {
  await Promise.all(Array.from({ length: clients }, loop));
  parentPort.postMessage({ latenciesMs, failures, firstFailure, used: next });
} catch (error) {
  parentPort.postMessage({ error: String(error?.message ?? error) });
} finally {
  agent.destroy();
}
