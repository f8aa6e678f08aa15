import type { Command } from "commander";
import { actorRef, operatorActor } from "../../core/actor.ts";
import { CORE_ERRORS } from "../../core/errors.ts";
import { runJob } from "../../core/scheduler.ts";
import type { CliEnv } from "../cli.ts";
import { CliExit } from "../cli-io.ts";
import { findJob, JOBS } from "../jobs.ts";

/** `clubos jobs list|run`: the scheduled jobs, and running one by hand (same locks, same mode rules). */
export function registerJobsVerbs(jobs: Command, env: CliEnv): void {
  jobs
    .command("list")
    .description("List the scheduled jobs")
    .action(() => {
      for (const job of JOBS)
        env.io.out(
          `${job.name}: ${job.description} (every ${Math.round(job.intervalMs / 60_000)} min; runs in ${job.modes.join(", ")} mode)`,
        );
    });
  jobs
    .command("run")
    .description(
      "Run a job now; it is skipped in a mode it does not run in (`jobs list`) or while another server runs it",
    )
    .argument("<name>", `the job: ${JOBS.map((j) => j.name).join(", ")}`)
    .requiredOption("--actor <name>", "who runs this (named in the job's history reasons)")
    .action(async (name: string, o: { actor: string }) => {
      const job = findJob(name);
      if (!job) {
        throw CORE_ERRORS.unknown_job(
          `There is no job "${name}". Known jobs: ${JOBS.map((j) => j.name).join(", ")}.`,
        );
      }
      const triggeredBy = actorRef(operatorActor(o.actor));
      env.io.progress(`${job.name}: starting`);
      const result = await env.withRuntime((ctx) =>
        runJob(ctx, job, { triggeredBy, progress: (text) => env.io.progress(`${job.name}: ${text}`) }),
      );
      const s = result.summary;
      const counts = s ? `: ${s.changed} changed, ${s.failed} failed` : "";
      env.io.out(`${job.name} ${result.outcome}${counts} (${result.ms} ms, run ${result.runId}).`);
      if (s?.detail) env.io.out(`  ${s.detail}`);
      if (result.outcome === "failed") {
        env.io.err(
          `The job failed: ${result.reason}. Nothing half-done stays: each change is its own action.`,
        );
        throw new CliExit(1);
      }
      if (result.outcome !== "ok") {
        env.io.err(`The job did not run: ${result.reason}.`);
        throw new CliExit(3);
      }
    });
}
