/* The physical reference of bench:pages: a bare Fastify route returning a fixed string, in a process of
 * its own on the same machine, with Fastify's defaults and no logger. Prints its address on stdout. */
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.get("/", async () => "Hello from a bare Fastify route");
const address = await app.listen({ port: 0, host: "127.0.0.1" });
console.log(`listening ${address}`);
const stop = () => void app.close().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
