/* bench:pages' load generator: autocannon in a process of its own, so the server under test (another
 * process) shares the machine's cores with it but not an event loop. (Not a worker thread: autocannon
 * skips its summary off the main thread, which it keeps for its own workers.) Reads its settings as JSON
 * in argv[2]; a warm-up run (discarded) precedes the measured one; prints the result as JSON. */
import autocannon from "autocannon";

const { url, headers, connections, warmupMs, durationMs } = JSON.parse(process.argv[2]);
const run = (ms) => autocannon({ url, headers, connections, duration: ms / 1000, pipelining: 1 });

if (warmupMs > 0) await run(warmupMs);
const r = await run(durationMs);
console.log(
  JSON.stringify({
    perSecond: r.requests.total / (durationMs / 1000),
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  }),
);
