/* bench:pages' load generator: autocannon in a process of its own, so the server under test (another
 * process) shares the machine's cores with it but not an event loop. (Not a worker thread: autocannon
 * skips its summary off the main thread, which it keeps for its own workers.) Reads its settings as JSON
 * in argv[2]; after the warm-up (discarded) prints "measuring", so the caller can read the processes'
 * CPU time, then the measured run's result as one line of JSON. SIGTERM ends the measured run early
 * (bench:backup's embedded case measures exactly as long as a backup runs): durationMs is then a bound,
 * and requests/s is taken over the time it ran. */
import autocannon from "autocannon";

const { url, headers, connections, warmupMs, durationMs } = JSON.parse(process.argv[2]);
const run = (ms) => autocannon({ url, headers, connections, duration: ms / 1000, pipelining: 1 });

if (warmupMs > 0) await run(warmupMs);
console.log("measuring");
const measured = run(durationMs);
let stopped = false;
process.once("SIGTERM", () => {
  stopped = true;
  measured.stop();
});
const r = await measured;
console.log(
  JSON.stringify({
    requests: r.requests.total,
    perSecond: r.requests.total / (stopped ? r.duration : durationMs / 1000),
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    timeouts: r.timeouts,
  }),
);
