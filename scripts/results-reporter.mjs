// A node:test reporter that records each test's outcome as one JSON line, so that the guarantee
// check can tell which tagged tests ([G01]...) passed in this very run.
export default async function* resultsReporter(source) {
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { name, nesting, file, skip, todo } = event.data;
    const status = event.type === "test:fail" ? "fail" : skip ? "skip" : todo ? "todo" : "pass";
    yield `${JSON.stringify({ name, nesting, file, status, isSuite: event.data.details?.type === "suite" })}\n`;
  }
}
