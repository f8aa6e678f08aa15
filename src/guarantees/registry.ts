// The executable guarantee matrix (O4): one entry per row of GUARANTEE_TO_MECHANISM_MATRIX.md, in
// its order. src/guarantees/check.ts proves every named file, symbol, runbook, verb, metric and route
// exists, and that each enforced row has a passing test named with its tag ("[G04] ...").

/** Code or schema that enforces a guarantee; symbol must be declared in file (not just mentioned). */
export interface Mechanism {
  description: string;
  file: string;
  symbol?: string;
}

/** Where a signal comes from: a metric name, a CLI verb, or a route path. */
export type DetectionKind = "metric" | "scan" | "health" | "admin-warning" | "cli";

/** How we know the guarantee failed or is at risk. metric: a name at /metrics (labels allowed);
 * cli and scan: a CLI verb; health and admin-warning: a declared route path. */
export interface Detection {
  description: string;
  kind: DetectionKind;
  reference: string;
}

/** What a person does to restore safety. */
export interface Recovery {
  description: string;
  cliVerb?: string;
  runbook?: string;
}

/** One row of the matrix. Its tests are the tests whose names contain `[id]`. */
export interface Guarantee {
  id: string;
  title: string;
  rules: string[];
  status: "enforced" | "planned";
  mechanisms: Mechanism[];
  detection: Detection[];
  recovery: Recovery[];
  notes?: string;
}

const SQL = "src/core/db/migrations/0001_core.sql";
const AUDIT_WRITE = "src/core/db/functions/clubos_audit_write.sql";
const ACTION = "src/core/action.ts";
const GUARDS = "src/http/guards.ts";
const AUDIT = "src/core/audit.ts";
const CHAIN = "src/core/audit-chain.ts";
const ROUTES = "src/http/routes.ts";
const BACKUP_CREATE = "src/core/backup/create.ts";

// Short builders keep each row readable on a few lines.
const mech = (file: string, symbol: string, description: string): Mechanism => ({
  description,
  file,
  symbol,
});
const signal = (kind: DetectionKind, reference: string, description: string): Detection => ({
  description,
  kind,
  reference,
});
const fix = (description: string, cliVerb?: string, runbook?: string): Recovery => ({
  description,
  ...(cliVerb ? { cliVerb } : {}),
  ...(runbook ? { runbook: `docs/runbooks/${runbook}.md` } : {}),
});
const enforced = (
  id: string,
  title: string,
  rules: string[],
  how: Pick<Guarantee, "mechanisms" | "detection" | "recovery">,
): Guarantee => ({ id, title, rules, status: "enforced", ...how });
const planned = (id: string, title: string, rules: string[], notes: string, recovery: Recovery[] = []) =>
  ({ id, title, rules, status: "planned", mechanisms: [], detection: [], recovery, notes }) as Guarantee;

// Shared by several rows: the same scan, freeze and runbooks serve them all.
const invariantScan = signal("scan", "invariants check", "the invariant scanner reports violations");
const readOnly = fix(
  "enter read-only mode: block writes until the cause is understood",
  "mode set",
  "read-only-mode",
);
const adminFreeze = fix(
  "SEV-1: freeze admin actions (`mode switch admin_freeze on`), capture evidence, investigate",
  "mode switch",
  "audit-tamper",
);
// The scheduled scan (INV-10): what turns a found violation into stopped writes and a SEV-1 incident.
const INCIDENTS = "src/domains/ops/incidents.repository.ts";
const scheduledScan = signal(
  "scan",
  "jobs run",
  "the invariant-scan job (hourly): a violation turns on read-only and opens a SEV-1 incident with the rows",
);
const scanStopsWrites = mech(
  "src/domains/ops/invariant-scan.job.ts",
  "stopWritesForViolation",
  "a violation found on schedule: SEV-1 incident and read-only mode in one transaction, nothing repaired",
);
const incidentReview = fix(
  "review the SEV-1 incident, repair by a reviewed script, close it with its review",
  "incident close",
  "incident-response",
);
const invariantRepair = fix(
  "repair by a reviewed script, writes blocked until repaired",
  undefined,
  "invariant-violation",
);

/** The seventeen guarantees G01..G17 in matrix order. */
export const guarantees: readonly Guarantee[] = [
  {
    ...enforced("G01", "No silent data loss of authoritative data", ["B-1", "B-2", "B-3", "REC-1", "REC-5"], {
      mechanisms: [
        mech(
          BACKUP_CREATE,
          "createBackup",
          "every table from one snapshot, written under a partial name, renamed when fsynced",
        ),
        mech(
          "src/core/backup/crypto.ts",
          "EncryptStream",
          "AES-256-GCM chunks with index and last flag in the AAD",
        ),
        mech(
          "src/core/backup/restore.ts",
          "restoreInto",
          "one transaction; commits only when every table reconciles",
        ),
        mech(
          "src/core/backup/restore-staged.ts",
          "prepareStaging",
          "the largest tables load on lanes of their own and are swapped in by that transaction, each checked to be defined as before",
        ),
        mech(
          "src/core/backup/snapshot-pglite.ts",
          "removeLeftCopies",
          "a data-folder copy an embedded backup stopped mid-way left is removed at the next start and backup",
        ),
        mech(
          "src/core/backup/drill.ts",
          "drillBackup",
          "restore into a scratch database plus the verification suite",
        ),
        mech(
          "src/core/backup/target.ts",
          "FolderTarget",
          "off-site copy to CLUBOS_BACKUP_COPY_DIR, verified after writing",
        ),
        mech(
          "src/core/backup/s3-target.ts",
          "S3Target",
          "off-site copy to an S3-compatible bucket, downloaded and hashed after upload",
        ),
        mech(
          "src/app/config.ts",
          "loadConfig",
          "backup, copy folder and key file inside the data folder are refused",
        ),
        mech(
          "src/domains/ops/backup.job.ts",
          "backupJob",
          "hourly backups, one at a time across servers (the scheduler's advisory lock)",
        ),
        mech(
          "src/domains/ops/backup-drill.job.ts",
          "backupDrillJob",
          "a daily restore drill of the newest backup; a failed or missing drill warns operators",
        ),
        mech(
          "src/app/migrate-safely.ts",
          "migrateSafely",
          "a backup before every migration; no migration when it fails",
        ),
        mech(
          "src/core/backup/list.ts",
          "isGoodBackup",
          "one rule of a good backup (complete, every copy verified, not found damaged), for the job, the CLI, the page and status",
        ),
      ],
      detection: [
        signal(
          "cli",
          "backup verify",
          "every file's hash and size, decrypted row counts and checksums vs the manifest",
        ),
        signal(
          "cli",
          "backup list",
          "checksum and drill state of each backup; untrusted until a drill passed",
        ),
        signal(
          "cli",
          "backup drill",
          "restore verification suite: invariants, reconciliation, audit chain, sample read",
        ),
        signal(
          "metric",
          'clubos_job_runs_total{job="backup"}',
          "scheduled backup runs by outcome; two failures in a row open a SEV-1 incident with its banner",
        ),
        signal(
          "admin-warning",
          "/admin/system/backups",
          "every backup with its copies and trust, the last good backup and drill, the no-key warning, a running backup",
        ),
        signal(
          "cli",
          "status",
          "age of the last good backup, the last drill, the key warning, on one screen",
        ),
      ],
      recovery: [
        fix(
          "verify the backup and its off-site copy, take a new one",
          "backup verify",
          "backup-verification",
        ),
        fix("drill the backup before trusting it (B-3)", "backup drill", "restore-drill"),
      ],
    }),
  },
  enforced("G02", "No data corruption from partial writes", ["W-2", "W-5", "W-7", "INV-10"], {
    mechanisms: [
      mech(ACTION, "runAction", "one transaction per action: mode check, writes, audit entry, outbox"),
    ],
    detection: [
      signal("metric", 'clubos_actions_total{outcome="failed"}', "failed actions by name"),
      invariantScan,
    ],
    recovery: [readOnly],
  }),
  enforced("G03", "No writes without auth and authz", ["W-1", "S-1", "R-1"], {
    mechanisms: [
      mech(GUARDS, "capabilityGuard", "hard capability gate on every route; unknown permissions deny"),
      mech(GUARDS, "guardsFor", "the guards every declared route gets"),
      mech(ACTION, "runAction", "each action re-checks its capability before its transaction"),
    ],
    detection: [
      signal(
        "metric",
        "clubos_refusals_total",
        "refused requests by code (unauthenticated, forbidden, csrf)",
      ),
      signal("metric", 'clubos_actions_total{outcome="denied"}', "actions denied for lack of capability"),
    ],
    recovery: [
      readOnly,
      fix("revoke a leaked API token", "token revoke", "permission-rollback"),
      fix("end a wrongly granted role", "roles end", "permission-rollback"),
      fix("recover locked-out administrator access", "admin create", "admin-access-recovery"),
    ],
  }),
  enforced("G04", "No privilege escalation without audit trail", ["INV-3", "S-2", "H-4", "O1"], {
    mechanisms: [
      mech(SQL, "audit_log_append_only", "triggers refuse UPDATE, DELETE and TRUNCATE on the audit log"),
      mech(AUDIT, "writeAuditEntry", "one audit entry inside the action's own transaction"),
      mech(CHAIN, "sealAuditChain", "entries sealed into a sha256 hash chain after commit"),
      mech(
        "src/core/audit-anchors.ts",
        "appendAnchor",
        "the head of every seal anchored in the backup folder, outside the database, flushed to disk",
      ),
      mech(
        CHAIN,
        "verifyAuditChain",
        "verify fails when anchors are missing, behind the head, beyond the chain's end, or short of a recorded head",
      ),
    ],
    detection: [
      signal(
        "cli",
        "audit verify",
        "recompute the chain; check it against every anchor and any recorded head (--head)",
      ),
      signal("scan", "invariants check", "audit coverage: every change has its entry"),
      signal("metric", "clubos_audit_seal_failures_total", "sealing runs that failed"),
    ],
    recovery: [adminFreeze],
  }),
  enforced("G05", "Published content immutability (semantic)", ["INV-4", "D-3"], {
    mechanisms: [
      mech(
        "src/domains/pages/pages.actions.ts",
        "assertNotFrozen",
        "the actions never write to a published revision: a change is a new draft, then a new publish",
      ),
      mech(
        "src/core/db/functions/clubos_page_revision_frozen.sql",
        "clubos_page_revision_frozen",
        "trigger: a published revision is never updated or deleted, whoever asks",
      ),
      mech(
        "src/core/db/functions/clubos_page_part_frozen.sql",
        "clubos_page_part_frozen",
        "trigger: no block or file of a published revision is added, changed, moved or deleted",
      ),
      mech(
        "src/core/db/functions/clubos_page_content_hash.sql",
        "clubos_page_content_hash",
        "the content hash recorded at publish (title, summary, audience, blocks and files), recomputed by the scan (pages.published_unchanged)",
      ),
      scanStopsWrites,
    ],
    detection: [invariantScan, scheduledScan],
    recovery: [
      fix("freeze publishing while a violation is investigated", "mode switch", "publishing-freeze"),
      incidentReview,
    ],
  }),
  enforced("G06", "Referential integrity (no orphans)", ["INV-8", "INV-10"], {
    mechanisms: [
      mech(SQL, "ON DELETE RESTRICT", "foreign keys refuse deletes that would orphan rows"),
      scanStopsWrites,
    ],
    detection: [invariantScan, scheduledScan],
    recovery: [invariantRepair, readOnly, incidentReview],
  }),
  enforced("G07", "Monotonic timestamps", ["INV-9", "INV-10"], {
    mechanisms: [
      mech(
        "src/core/db/functions/clubos_touch_timestamps.sql",
        "clubos_touch_timestamps",
        "trigger: created_at immutable, updated_at never moves backwards",
      ),
      mech(SQL, "CHECK (created_at <= updated_at)", "table constraint on every timestamped table"),
      scanStopsWrites,
    ],
    detection: [invariantScan, scheduledScan],
    recovery: [invariantRepair, incidentReview],
  }),
  enforced("G08", "Audience enforcement is server-side only", ["R-1", "R-2", "R-4", "R-6"], {
    mechanisms: [
      mech(
        "src/domains/pages/audience.ts",
        "audienceAllows",
        "the one audience decision, over viewer facts read once per request; an unreadable rule denies (R-1)",
      ),
      mech(
        "src/domains/pages/audience.ts",
        "blockAllows",
        "a block's own audience on top of its page's: a hidden block leaves no trace, in no summary",
      ),
      mech(
        "src/domains/pages/pages.routes.tsx",
        "renderFor",
        "pages, home, news and navigation decide before rendering; a hidden page answers as a missing one (R-2)",
      ),
      mech(
        "src/domains/pages/pages.feeds.routes.tsx",
        "pageFeedRoutes",
        "the Atom feed, sitemap.xml (public pages only) and site search decide with the same evaluator",
      ),
      mech(
        "src/domains/pages/pages.routes.tsx",
        "sendCacheable",
        "only what every viewer gets carries Cache-Control public; anything restricted is private, no-store (R-6)",
      ),
      mech(
        "src/domains/pages/page-render-cache.ts",
        "PageRenderCache",
        "the server's page cache is asked only after each request's own audience decision, or, for a request with no credentials, for the response made for an anonymous visitor from the very page state the request reads now (kept only when that state's audience and every block admit everyone): content is kept by revision and the exact blocks admitted, whole responses only for credential-less requests of pages every viewer gets alike or for one session's own request (never another session's); page states and viewer facts are kept only under the content version they were read at",
      ),
      mech(
        "src/core/db/content-versions.ts",
        "contentVersionsReader",
        "every request reads the 'site' and 'access' versions (changed by statement triggers on what decides published content and access) in a shared read sent after it arrived (on PGlite, which only this process opens, the last read while nothing has run on the database since), so a change committed by any process is seen by the next request",
      ),
      mech(
        "src/app/leak-audit.ts",
        "runLeakAudit",
        "renders every page, feed, sitemap, search and listing through the real routes as each audience class",
      ),
      mech(
        "src/domains/pages/leak-audit.actions.ts",
        "recordLeakAudit",
        "a finding raises the operator alert and opens a SEV-1 publishing incident in the run's transaction",
      ),
    ],
    detection: [
      signal(
        "cli",
        "pages leak-audit",
        "the leak audit: exits 1 and lists what was shown to whom on any finding",
      ),
      signal(
        "scan",
        "jobs run",
        "the pages-leak-audit job (every 6 hours) runs the same audit and records it",
      ),
      signal(
        "metric",
        "clubos_pages_leak_findings",
        "findings of the newest leak audit; 0 clean, -1 none yet",
      ),
      signal(
        "admin-warning",
        "/admin/system",
        "the newest leak audit's result, and the alert banner on a leak",
      ),
    ],
    recovery: [
      fix(
        "freeze publishing, find what leaked from the audit, roll the revision back or unpublish",
        "pages leak-audit",
        "publishing-freeze",
      ),
      incidentReview,
    ],
  }),
  enforced("G09", "Preview never leaks to public", ["R-5", "D-3"], {
    mechanisms: [
      mech(
        "src/domains/pages/pages.repository.ts",
        "findPublishedPage",
        "the public routes read only a page's current published revision: no flag or address shows a draft",
      ),
      mech(
        "src/domains/pages/page-serving.repository.ts",
        "publishedPageState",
        "the page route reads the current published revision (publishedRevisions) whenever the site's content version changed, checked on every request, so a cached render is never of another revision",
      ),
      mech(
        "src/domains/pages/preview.routes.tsx",
        "previewRoutes",
        "previews live under /preview/ only: pages:preview for editors, a share link for one revision otherwise",
      ),
      mech(
        "src/domains/pages/pages.policies.ts",
        "HOLDS_OPEN_PREVIEW_LINK",
        "a share link works only while neither expired nor revoked (stored hashed, at most 7 days)",
      ),
      mech(
        "src/domains/pages/preview.actions.ts",
        "viewPreviewThroughLink",
        "each use of a share link is an audited read of its one revision; anything wrong is an error page",
      ),
      mech(
        "src/domains/pages/preview.actions.ts",
        "assertPreviewsOn",
        "the preview_off switch read again inside the preview's own transaction",
      ),
      mech(GUARDS, "modeGuard", "routes that declare preview_off answer 404 while previews are off"),
      mech(
        "src/http/headers.ts",
        "PREVIEW_HEADERS",
        "every /preview/ response: X-Robots-Tag noindex, Cache-Control no-store, Referrer-Policy no-referrer",
      ),
    ],
    detection: [
      signal(
        "metric",
        'clubos_actions_total{action="viewPreviewThroughLink"}',
        "share-link previews by outcome: a burst of uses or denials shows a link passed around or guessed at",
      ),
      signal("admin-warning", "/admin/audit", "every use of a share link is an entry 'page.previewed'"),
      signal(
        "cli",
        "pages leak-audit",
        "also asks every preview address (each revision, each file, a share link nobody was given) as a viewer without pages:preview: any that opens, or answers without the preview headers, is a finding",
      ),
    ],
    recovery: [
      fix("switch previews off everywhere at once", "mode switch", "publishing-freeze"),
      fix("revoke every preview share link", "preview revoke-all", "publishing-freeze"),
      incidentReview,
    ],
  }),
  enforced(
    "G10",
    "Degraded mode prefers denial over corruption",
    ["W-8", "D-1", "D-2", "D-3", "R-2", "O3", "H-4"],
    {
      mechanisms: [
        mech("src/core/modes.ts", "ModeWatcher", "mode and switches, re-read on notify and every second"),
        mech(GUARDS, "modeGuard", "routes refuse writes when read-only or when the mode is unreadable"),
        mech(
          AUDIT_WRITE,
          "clubos_audit_write",
          "each action re-checks the mode inside its transaction, in the statement that writes its audit entry",
        ),
        mech(
          "src/core/modes.ts",
          "modeRefusal",
          "the one mode decision: an action's effect and the state give the refusal routes and actions show",
        ),
        mech(
          ACTION,
          "refusalFromSql",
          "that check's refusal reaches the user as read_only, frozen or state_unavailable",
        ),
        mech(
          INCIDENTS,
          "recordDecisionIn",
          "every mode and kill-switch change is a decision (actor, action, rationale) on the open incidents (H-4)",
        ),
      ],
      detection: [
        signal("health", "/readyz", "503 when the database or the mode cannot be read"),
        signal("metric", "clubos_mode_normal", "1 normal, 0 read-only or maintenance, -1 unreadable"),
        signal(
          "metric",
          'clubos_actions_total{outcome="refused"}',
          "actions refused by the mode or a freeze",
        ),
        signal(
          "admin-warning",
          "/admin/system",
          "every page shows the mode banner; this page says who and why",
        ),
        signal(
          "admin-warning",
          "/admin/incidents",
          "degraded over an hour with no incident open, or a SEV-1 open: a banner on every admin page (D-2)",
        ),
      ],
      recovery: [
        fix("enter or leave read-only or maintenance mode", "mode set", "read-only-mode"),
        fix(
          "declare an incident; mode changes are then recorded on it",
          "incident open",
          "incident-response",
        ),
      ],
    },
  ),
  enforced(
    "G11",
    "External dependency failure does not take down core",
    ["I-1", "I-2", "I-3", "W-6", "C-2"],
    {
      mechanisms: [
        mech(
          AUDIT,
          "writeAuditEntry",
          "messages are written in the action's transaction and sent only after commit",
        ),
        mech(
          "src/domains/mail/mail.worker.ts",
          "MailWorker",
          "delivery runs outside every request and transaction; marked sent only after the server accepted",
        ),
        mech(
          "src/core/foreground-load.ts",
          "ForegroundLoad",
          "the server counts its requests in flight; while any run, the worker in its process sends at most CLUBOS_MAIL_BUSY_BATCH messages per CLUBOS_MAIL_BUSY_INTERVAL_MS (never nothing), at full speed once they end",
        ),
        mech(
          "src/domains/mail/mail.delivery.ts",
          "MailDelivery",
          "each SMTP attempt under a timeout and a circuit breaker (cockatiel), jittered backoff between attempts",
        ),
        mech(
          "src/domains/mail/outbox.repository.ts",
          "claimDueMessages",
          "claims with FOR UPDATE SKIP LOCKED and a lease: no message sent twice by two workers, a crashed claim expires",
        ),
        mech(
          "src/domains/mail/outbox.repository.ts",
          "markAttemptFailed",
          "bounded retries: dead-lettered after CLUBOS_MAIL_MAX_ATTEMPTS; a 5xx marks the address undeliverable",
        ),
        mech(
          "src/core/outbox-bound.ts",
          "assertOutboxRoom",
          "the outbox is bounded: optional mail is refused past CLUBOS_OUTBOX_MAX_DEPTH, core mail always commits",
        ),
      ],
      detection: [
        signal("metric", "clubos_mail_breaker_state", "1 while the mail circuit breaker is open"),
        signal("metric", "clubos_mail_queue_depth", "messages waiting to be sent"),
        signal(
          "metric",
          "clubos_mail_oldest_waiting_seconds",
          "how long the oldest waiting message has waited",
        ),
        signal("metric", "clubos_mail_dead_letters", "messages that need an admin's retry"),
        signal(
          "health",
          "/readyz",
          "degraded.mail: breaker, queue and last error; readiness never waits for mail",
        ),
        signal(
          "admin-warning",
          "/admin/outbox",
          "breaker, queue, dead letters with their errors, the local mailbox",
        ),
        signal("cli", "mail status", "the queue, dead letters with ids, the last error"),
      ],
      recovery: [
        fix("test the mail server, then retry dead letters by hand (audited)", "mail retry", "email-outage"),
        fix("send a test message through the configured server", "mail test", "email-outage"),
      ],
    },
  ),
  planned(
    "G12",
    "Capacity exhaustion does not corrupt data",
    ["C-1", "C-2", "C-3", "C-4", "C-5"],
    "Capacity issue: per-load-class limits answering 429/503 with Retry-After, bounded queues.",
  ),
  enforced("G13", "Admin actions are attributable", ["S-2", "H-4", "INV-3"], {
    mechanisms: [
      mech("src/core/actor.ts", "operatorActor", "CLI verbs require a named operator (--actor)"),
      mech(
        AUDIT,
        "auditContext",
        "an audited action refuses an anonymous actor, also when its own statement writes the entry",
      ),
      mech(AUDIT_WRITE, "clubos_audit_write", "the one SQL function every audit entry is written through"),
      mech(SQL, "actor_id text NOT NULL CHECK", "audit_log.actor_id is required and never blank"),
    ],
    detection: [
      signal("admin-warning", "/admin/audit", "the audit log page, filterable by actor"),
      signal("cli", "audit verify", "verify the audit chain"),
    ],
    recovery: [adminFreeze],
  }),
  enforced("G14", "Every production deploy is traceable", ["CC-1"], {
    mechanisms: [
      mech(
        "src/domains/ops/deploy.actions.ts",
        "recordDeploy",
        "each start records version, commit, class, host",
      ),
      mech(SQL, "CREATE TABLE deploys", "the deploys table refuses an unknown change class"),
    ],
    detection: [
      signal("health", "/api/v1/system/version", "what is running now"),
      signal("admin-warning", "/admin", "the admin home shows the running deploy"),
    ],
    recovery: [
      fix("roll back: redeploy the previous version; check /api/v1/system/version and the new deploy record"),
    ],
  }),
  enforced("G15", "Recovery is human-in-the-loop", ["REC-1", "REC-2", "REC-3", "REC-4", "B-4", "O2"], {
    mechanisms: [
      mech(
        "src/app/restore-flow.ts",
        "restoreInPlace",
        "verify and schema-check first; maintenance mode, a pre-restore backup, the load, the verification suite",
      ),
      mech(
        "src/core/backup/drill.ts",
        "verifyRestoredDatabase",
        "the restore verification suite: invariants, audit chain to the backup's head, sample read",
      ),
      mech(
        "src/domains/ops/restore.actions.ts",
        "signOffRestore",
        "writes back on only after verification passed, and not by the starter when another full admin exists",
      ),
      mech(
        "src/domains/ops/mode.actions.ts",
        "setMode",
        "the mode cannot be switched back while a restore waits",
      ),
      mech(
        "src/core/audit-anchors.ts",
        "forkAnchors",
        "the anchors continue from the restored head; the old timeline's file is kept",
      ),
      mech(
        "src/domains/identity/restore-access.actions.ts",
        "endRestoredAccess",
        "the backup's sessions and unused invitation and password-reset links let nobody in: every session is ended and every unused link revoked, audited as a step of the restore",
      ),
      mech(
        "src/domains/identity/identity.repository.ts",
        "liveApiTokenIds",
        "credentials revoked or replaced since the backup stay so: API tokens not live before the load are revoked, feed addresses kept as they were (keepFeedAddressesAfterRestore), every preview share link revoked (revokePreviewLinksAfterRestore)",
      ),
    ],
    detection: [
      signal(
        "cli",
        "restore",
        "`restore --status`: each restore, its state, pre-restore backup and sign-off",
      ),
      signal("admin-warning", "/admin/incidents", "the restore's incident with its written confirmation"),
      signal("cli", "mode show", "maintenance mode with the restore's state as the reason"),
    ],
    recovery: [
      fix(
        "restore a backup, check it, and have another full admin sign it off",
        "restore",
        "database-restore",
      ),
      fix("turn writes back on after a verified restore", "resume", "database-restore"),
      fix("move from the embedded database to a PostgreSQL server", "restore", "move-embedded-to-server"),
    ],
  }),
  enforced("G16", "Undefined degraded behavior blocks merge", ["D-1", "CC-3", "O4"], {
    mechanisms: [
      mech(ROUTES, "validateDeclaration", "no capability, load class or degraded behaviour: no boot"),
      mech(ROUTES, "enforceDeclarations", "a route registered without declareRoute: no boot"),
      mech("src/guarantees/check.ts", "checkRegistry", "npm test fails when this registry does not hold up"),
    ],
    detection: [
      signal("cli", "routes", "boot fails naming the route; this lists every declaration"),
      signal("cli", "guarantees", "the guarantee matrix with each row's status"),
    ],
    recovery: [
      fix("refuse the merge until the route declares capability, load class and degraded behaviour"),
    ],
  }),
  planned(
    "G17",
    "Observability failure increases severity",
    ["C-4", "H-1"],
    "Observability issue: a monitoring-gap alert and an admin warning when metrics or logs stop.",
  ),
];
