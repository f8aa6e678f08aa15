import type { Command } from "commander";
import { runAction } from "../../core/action.ts";
import { operatorActor } from "../../core/actor.ts";
import { notFound } from "../../core/errors.ts";
import {
  addIncidentNote,
  closeIncident,
  openIncident,
  recordDecision,
  setAreaOwner,
} from "../../domains/ops/incidents.actions.ts";
import {
  AREAS,
  findIncident,
  incidentEntries,
  listAreaOwners,
  listIncidents,
  SEVERITIES,
} from "../../domains/ops/incidents.repository.ts";
import type { CliEnv } from "../cli.ts";
import type { AppContext } from "../context.ts";

const utc = (d: Date | null) => (d ? new Date(d).toISOString().replace("T", " ").slice(0, 16) : "");

async function incidentId(ctx: AppContext, ref: string): Promise<string> {
  const incident = await findIncident(ctx.database.db, ref);
  if (!incident) throw notFound();
  return incident.id;
}

/** `clubos incident open|note|decide|close|list|show|owner|owners`: the incident log (H-1..H-4). */
export function registerIncidentVerbs(incident: Command, env: CliEnv): void {
  incident
    .command("open")
    .description("Declare an incident; a SEV-1 shows a banner on every admin page until it is closed")
    .requiredOption("--severity <sev>", SEVERITIES.join(", "))
    .requiredOption("--title <text>", "what is wrong, in a line")
    .option("--area <area>", `the critical area: ${AREAS.join(", ")}`)
    .option("--note <text>", "a first note for the timeline")
    .option("--read-only", "also stop all writes now (read-only mode), recorded as its first decision")
    .requiredOption("--actor <name>", "who declares it (kept in the audit log)")
    .action(
      async (o: {
        severity: string;
        title: string;
        area?: string;
        note?: string;
        readOnly?: boolean;
        actor: string;
      }) => {
        const opened = await env.withRuntime((ctx) =>
          runAction(ctx.actionEnv(operatorActor(o.actor)), openIncident, o),
        );
        env.io.out(`Incident INC-${opened.number} (${opened.severity}) is open: ${opened.title}`);
        if (o.readOnly)
          env.io.out("The site is now read-only: nothing can be changed until an operator resumes.");
        env.io.out(
          `Add notes with \`clubos incident note ${opened.number} --text ... --actor NAME\`; mode and switch changes are recorded on it as decisions.`,
        );
      },
    );
  incident
    .command("note")
    .description("Add a note to an open incident's timeline")
    .argument("<id>", "the incident: its number (12 or INC-12) or id")
    .requiredOption("--text <text>", "the note")
    .requiredOption("--actor <name>", "who writes it")
    .action(async (ref: string, o: { text: string; actor: string }) => {
      const r = await env.withRuntime(async (ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), addIncidentNote, {
          incidentId: await incidentId(ctx, ref),
          text: o.text,
        }),
      );
      env.io.out(`Note added to INC-${r.number}.`);
    });
  incident
    .command("decide")
    .description("Record a decision taken outside ClubOS (what, and why) on an open incident")
    .argument("<id>", "the incident: its number or id")
    .requiredOption("--action <text>", "what was decided or done")
    .requiredOption("--rationale <text>", "why")
    .requiredOption("--actor <name>", "who decided")
    .action(async (ref: string, o: { action: string; rationale: string; actor: string }) => {
      const r = await env.withRuntime(async (ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), recordDecision, {
          incidentId: await incidentId(ctx, ref),
          action: o.action,
          rationale: o.rationale,
        }),
      );
      env.io.out(`Decision recorded on INC-${r.number}.`);
    });
  incident
    .command("close")
    .description("Close an incident; a SEV-1 needs --review (impact, data integrity, follow-ups)")
    .argument("<id>", "the incident: its number or id")
    .option("--review <text>", "the review: what happened, who was affected, is data intact, follow-ups")
    .requiredOption("--actor <name>", "who closes it")
    .action(async (ref: string, o: { review?: string; actor: string }) => {
      const r = await env.withRuntime(async (ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), closeIncident, {
          incidentId: await incidentId(ctx, ref),
          review: o.review,
        }),
      );
      env.io.out(`INC-${r.number} is closed.`);
    });
  incident
    .command("list")
    .description("List incidents, open first")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const rows = await env.withRuntime((ctx) => listIncidents(ctx.database.db));
      if (o.json) return env.io.out(JSON.stringify(rows));
      if (rows.length === 0) return env.io.out("No incidents recorded.");
      for (const i of rows)
        env.io.out(
          `INC-${i.number} ${i.severity} ${i.status} ${utc(i.opened_at)} ${i.area ?? "-"} (owner: ${i.area ? (i.owner_name ?? "NONE") : "-"}): ${i.title}`,
        );
    });
  incident
    .command("show")
    .description("Show an incident and its timeline")
    .argument("<id>", "the incident: its number or id")
    .action(async (ref: string) => {
      const { incident: i, entries } = await env.withRuntime(async (ctx) => {
        const found = await findIncident(ctx.database.db, ref);
        if (!found) throw notFound();
        return { incident: found, entries: await incidentEntries(ctx.database.db, found.id) };
      });
      env.io.out(`INC-${i.number} ${i.severity} ${i.status}: ${i.title}`);
      env.io.out(`area: ${i.area ?? "none"}; opened ${utc(i.opened_at)} by ${i.opened_by}`);
      if (i.closed_at)
        env.io.out(`closed ${utc(i.closed_at)} by ${i.closed_by}${i.review ? `; review: ${i.review}` : ""}`);
      for (const e of entries)
        env.io.out(
          `${utc(e.at)} ${e.kind} by ${e.member_name ?? e.actor}: ${e.action ? `${e.action}: ` : ""}${e.text}`,
        );
    });
  incident
    .command("owner")
    .description("Name the owner (a member) of a critical area; incidents in it go to them")
    .requiredOption("--area <area>", AREAS.join(", "))
    .requiredOption("--member <email>", "the owner's email address")
    .requiredOption("--actor <name>", "who names them")
    .action(async (o: { area: string; member: string; actor: string }) => {
      const r = await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), setAreaOwner, { area: o.area, email: o.member }),
      );
      env.io.out(`${r.name} now owns ${r.label}.`);
    });
  incident
    .command("owners")
    .description("List the critical areas and their owners")
    .action(async () => {
      const owners = await env.withRuntime((ctx) => listAreaOwners(ctx.database.db));
      for (const o of owners)
        env.io.out(
          `${o.area} (${o.label}): ${o.active ? `${o.owner?.name} <${o.owner?.email}>` : o.owner ? `NO OWNER (${o.owner.name} is no longer an active member)` : "NO OWNER"}`,
        );
    });
}
