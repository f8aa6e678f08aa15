import type { FastifyInstance } from "fastify";
import { runAction } from "../core/action.ts";
import { systemActor } from "../core/actor.ts";
import { modeGauge } from "../core/metrics.ts";
import { Scheduler } from "../core/scheduler.ts";
import { recordDeploy } from "../domains/ops/deploy.actions.ts";
import { gitCommit, packageVersion } from "./build-info.ts";
import { type CliEnv, runCli, VERBS } from "./cli.ts";
import type { Config } from "./config.ts";
import { startControlServer } from "./control.ts";
import { seedDemoClub } from "./demo.ts";
import { JOBS } from "./jobs.ts";
import { openRuntime, type Runtime } from "./runtime.ts";
import { buildServer } from "./server.ts";

/** A started server and how to stop it. */
export interface RunningServer {
  app: FastifyInstance;
  runtime: Runtime;
  url: string;
  stop(): Promise<void>;
}

/** Starts ClubOS: database and migrations, deploy record, demo seed, watchers, HTTP, control socket. */
export async function startServer(
  config: Config,
  options: { log?: (line: string) => void; logger?: boolean; runtime?: Runtime } = {},
): Promise<RunningServer> {
  const log = options.log ?? (() => {});
  const runtime = options.runtime ?? (await openRuntime(config, { migrations: "apply" }));
  try {
    const env = runtime.actionEnv(systemActor("server"));
    const deploy = await runAction(env, recordDeploy, {
      version: packageVersion(),
      gitCommit: gitCommit(config.gitCommit),
      changeClass: config.changeClass,
      processKind: "serve",
    });
    runtime.deploy = {
      id: deploy.id,
      version: deploy.version,
      gitCommit: deploy.git_commit,
      changeClass: deploy.change_class,
      host: deploy.host,
      startedAt: new Date(deploy.started_at),
    };
    if (config.demo) {
      const seeded = await seedDemoClub(runtime);
      if (seeded) {
        log(`Demo club created. Administrator: ${seeded.adminEmail}`);
        log(
          `One-time password (shown only now; you will choose your own at first login): ${seeded.password}`,
        );
      }
    }
    await runtime.modes.start();
    const gaugeTimer = setInterval(() => {
      const s = runtime.modes.current();
      modeGauge.set(s ? (s.mode === "normal" ? 1 : 0) : -1);
    }, 1000);
    gaugeTimer.unref();
    runtime.sealer.start();
    const app = await buildServer(runtime, { logger: options.logger });
    const address = await app.listen({ port: config.port, host: config.host });
    let stopControl = async () => {};
    if (runtime.database.kind === "pglite") {
      // Every verb module now, not at its first call: a server runs for weeks, and the compiled copy it
      // started from (scripts/build-cli.mjs) may be replaced by then.
      await Promise.all(VERBS.map((verb) => verb.load()));
      stopControl = await startControlServer(config.dataDir, (argv, io, cwd) => {
        const serverEnv: CliEnv = { io, config, cwd, withRuntime: (fn) => fn(runtime) };
        return runCli(argv, serverEnv);
      });
    }
    // Scheduled jobs (lapse, ...): advisory-locked, so every server may run a scheduler (scale-out).
    const scheduler = new Scheduler(runtime, JOBS, { logger: app.log });
    scheduler.start();
    // Outbox delivery (G11): outside every request; paused unless the mode is normal (REC-2).
    if (config.mail.worker) {
      runtime.mail.startWorker(runtime.database.db, {
        paused: () => runtime.modes.current()?.mode !== "normal",
        log: (line) => app.log.warn(line),
      });
    }
    const url = address.replace("0.0.0.0", "localhost").replace("[::]", "localhost");
    log(
      `ClubOS is running at ${url} (${runtime.database.kind === "pglite" ? `embedded database in ${config.dataDir}` : "PostgreSQL server"})`,
    );
    return {
      app,
      runtime,
      url,
      async stop() {
        clearInterval(gaugeTimer);
        await scheduler.stop();
        await runtime.mail.stopWorker();
        await stopControl();
        await app.close();
        await runtime.close();
      },
    };
  } catch (error) {
    if (!options.runtime) await runtime.close();
    throw error;
  }
}
