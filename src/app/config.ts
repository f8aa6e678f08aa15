import { isIP } from "node:net";
import path from "node:path";
import proxyAddr from "@fastify/proxy-addr";
import { parseS3Url, type S3Location } from "../core/backup/s3-location.ts";
import type { AccessRetention } from "../domains/identity/access-retention.actions.ts";
import { DEFAULT_ACCESS_RETENTION } from "../domains/identity/access-retention.job.ts";
import { BUSY_PACE } from "../domains/mail/mail.worker.ts";

/** Typed configuration read once from the environment; every variable is listed in README.md. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  backupDir: string;
  /** The backup key as given (base64 of 32 bytes), or the file holding it; neither: unencrypted. */
  backupKey: string | undefined;
  backupKeyFile: string | undefined;
  /** A second folder every new backup is copied to and verified in (off-site copy). */
  backupCopyDir: string | undefined;
  /** An S3-compatible bucket every new backup is copied to and verified in (off-site copy). */
  backupS3: S3Location | undefined;
  demo: boolean;
  sessionIdleMinutes: number;
  sessionAbsoluteHours: number;
  /** Who may say who the client is: nobody (false), that many proxies in front (a number), or the
   * proxies at these addresses or ranges (a list). */
  trustProxy: TrustProxy;
  clubName: string;
  changeClass: string;
  gitCommit: string | undefined;
  logLevel: string;
  modePollMs: number;
  timeZone: string;
  /** Days a member import keeps its row-by-row personal data before the retention job removes it. */
  importRetentionDays: number;
  /** Days login throttles, remembered browsers and decided join applications are kept (the access data
   * retention job). */
  accessRetention: AccessRetention;
  /** The largest file or image an editor may upload to a page, in bytes (kept in the database). */
  pageFileMaxBytes: number;
  /** Minutes between scheduled invariant scans (INV-10); a violation stops writes and opens a SEV-1. */
  invariantScanMinutes: number;
  /** Outbox delivery (G11): see MailConfig. */
  mail: MailConfig;
  /** The address members reach ClubOS at, for links in mail (never taken from a request's Host). */
  publicUrl: string;
  /** Days an invitation link works. */
  invitationDays: number;
  /** Minutes a password-reset link works. */
  passwordResetMinutes: number;
  /** Days before a member's renewal date a reminder goes out (0: on the day itself), largest first. */
  renewalReminderDays: number[];
}

/** How the outbox is delivered. Without smtpUrl, messages are kept in the local mailbox (not sent). */
export interface MailConfig {
  smtpUrl: string | undefined;
  from: string;
  /** Whether `clubos serve` runs the delivery worker (off when `clubos worker` runs it elsewhere). */
  worker: boolean;
  /** One SMTP attempt gives up after this long. */
  timeoutMs: number;
  /** Attempts before a message is dead-lettered. */
  maxAttempts: number;
  /** First delay between attempts; later ones grow exponentially, with jitter. */
  retryBaseMs: number;
  /** Consecutive failures that open the circuit breaker, and how long it stays open. */
  breakerFailures: number;
  breakerResetMs: number;
  /** How long a worker's claim on a message lasts; after that another worker may take it. */
  leaseMs: number;
  pollMs: number;
  /** While `clubos serve` has requests in flight, its worker sends at most busyBatch messages per
   * busyIntervalMs (G11: mail yields to the club's requests), and at full speed once they end. */
  busyBatch: number;
  busyIntervalMs: number;
  /** Past this many waiting messages, optional mail is refused (C-2). */
  outboxMaxDepth: number;
}

/** See Config.trustProxy. */
export type TrustProxy = false | number | string[];

const TRUST_PROXY_HELP =
  "CLUBOS_TRUST_PROXY must be 0 (no proxy), the number of reverse proxies in front of ClubOS (e.g. 1), " +
  "or a comma-separated list of the proxies' addresses or ranges (e.g. 127.0.0.1 or 10.0.0.0/8,::1)";

const NAMED_RANGES = new Set(["loopback", "linklocal", "uniquelocal"]);

// A count is a whole number; anything else is read as a list of addresses, checked by the same parser
// Fastify uses, so a typo stops the start instead of silently trusting nothing (or everything).
function trustProxyFrom(raw: string | undefined): TrustProxy {
  const value = (raw ?? "").trim();
  if (value === "" || value === "0") return false;
  if (/^\d+$/.test(value)) return Number(value);
  const addresses = value.split(",").map((part) => part.trim());
  const plain = (entry: string) => NAMED_RANGES.has(entry) || isIP(entry.split("/")[0]!) !== 0;
  if (!addresses.every(plain)) throw new Error(`${TRUST_PROXY_HELP}, got "${raw}".`);
  try {
    proxyAddr.compile(addresses);
  } catch (error) {
    throw new Error(`${TRUST_PROXY_HELP}, got "${raw}" (${(error as Error).message}).`);
  }
  return addresses;
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive whole number, got "${raw}".`);
  }
  return value;
}

/** CLUBOS_INVARIANT_SCAN_MINUTES, 60 by default: read on its own too, for the job list (src/app/jobs.ts). */
export function invariantScanMinutes(env: NodeJS.ProcessEnv = process.env): number {
  return intFrom(env, "CLUBOS_INVARIANT_SCAN_MINUTES", 60);
}

/** Hours between scheduled restore drills of the newest backup (daily by default). */
export function backupDrillHours(env: NodeJS.ProcessEnv = process.env): number {
  return intFrom(env, "CLUBOS_BACKUP_DRILL_HOURS", 24);
}

/** Minutes between scheduled backups (hourly by default). */
export function backupIntervalMinutes(env: NodeJS.ProcessEnv = process.env): number {
  return intFrom(env, "CLUBOS_BACKUP_INTERVAL_MINUTES", 60);
}

// CC-1: every deploy carries one of these change classes.
const CHANGE_CLASSES = ["docs-only", "low-risk", "high-risk", "emergency"];

const within = (dir: string, file: string) => file === dir || file.startsWith(dir + path.sep);

// A copy that dies with the data folder, or that is the backup folder itself, is no copy; a key kept
// beside the backups opens them for whoever copies the folder.
function backupPathsFrom(env: NodeJS.ProcessEnv, dataDir: string, backupDir: string) {
  const backupCopyDir = env.CLUBOS_BACKUP_COPY_DIR ? path.resolve(env.CLUBOS_BACKUP_COPY_DIR) : undefined;
  if (backupCopyDir && (within(dataDir, backupCopyDir) || within(backupCopyDir, dataDir))) {
    throw new Error(
      "CLUBOS_BACKUP_COPY_DIR must not be inside CLUBOS_DATA_DIR (nor hold it): the copy must survive losing the data folder.",
    );
  }
  if (backupCopyDir && (within(backupDir, backupCopyDir) || within(backupCopyDir, backupDir))) {
    throw new Error(
      "CLUBOS_BACKUP_COPY_DIR must be another folder than CLUBOS_BACKUP_DIR (ideally another disk or machine): a copy in the same place is lost with it.",
    );
  }
  const backupKeyFile = env.CLUBOS_BACKUP_KEY_FILE ? path.resolve(env.CLUBOS_BACKUP_KEY_FILE) : undefined;
  for (const [dir, name] of [
    [dataDir, "CLUBOS_DATA_DIR"],
    [backupDir, "CLUBOS_BACKUP_DIR"],
    [backupCopyDir, "CLUBOS_BACKUP_COPY_DIR"],
  ] as const) {
    if (backupKeyFile && dir && within(dir, backupKeyFile)) {
      throw new Error(
        `CLUBOS_BACKUP_KEY_FILE must not be inside ${name}: whoever copies that folder would have the key too. Keep it elsewhere, and a copy off this machine.`,
      );
    }
  }
  if (env.CLUBOS_BACKUP_KEY && backupKeyFile) {
    throw new Error("Set CLUBOS_BACKUP_KEY or CLUBOS_BACKUP_KEY_FILE, not both.");
  }
  return { backupCopyDir, backupKeyFile };
}

/** Reads the environment into a Config, refusing values that make no sense. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.CLUBOS_DATA_DIR || "./.clubos/data");
  const backupDir = path.resolve(env.CLUBOS_BACKUP_DIR || "./.clubos/backups");
  if (backupDir === dataDir || backupDir.startsWith(dataDir + path.sep)) {
    throw new Error(
      "CLUBOS_BACKUP_DIR must not be inside CLUBOS_DATA_DIR: a backup must survive losing the data folder.",
    );
  }
  const { backupCopyDir, backupKeyFile } = backupPathsFrom(env, dataDir, backupDir);
  const timeZone = env.CLUBOS_TIMEZONE || "UTC";
  try {
    new Intl.DateTimeFormat("en", { timeZone });
  } catch {
    throw new Error(`CLUBOS_TIMEZONE must be an IANA time zone such as Europe/London, got "${timeZone}".`);
  }
  const changeClass = env.CLUBOS_CHANGE_CLASS || "low-risk";
  if (!CHANGE_CLASSES.includes(changeClass)) {
    throw new Error(`CLUBOS_CHANGE_CLASS must be one of ${CHANGE_CLASSES.join(", ")}, got "${changeClass}".`);
  }
  return {
    port: intFrom(env, "PORT", 3000),
    host: env.HOST || "0.0.0.0",
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    backupDir,
    backupKey: env.CLUBOS_BACKUP_KEY || undefined,
    backupKeyFile,
    backupCopyDir,
    backupS3: env.CLUBOS_BACKUP_S3_URL
      ? parseS3Url(
          env.CLUBOS_BACKUP_S3_URL,
          env.CLUBOS_BACKUP_S3_ENDPOINT || undefined,
          env.CLUBOS_BACKUP_S3_REGION,
        )
      : undefined,
    demo: env.CLUBOS_DEMO !== "0",
    sessionIdleMinutes: intFrom(env, "CLUBOS_SESSION_IDLE_MINUTES", 30),
    sessionAbsoluteHours: intFrom(env, "CLUBOS_SESSION_ABSOLUTE_HOURS", 12),
    trustProxy: trustProxyFrom(env.CLUBOS_TRUST_PROXY),
    clubName: env.CLUBOS_CLUB_NAME || "Demo Club",
    changeClass,
    gitCommit: env.CLUBOS_GIT_COMMIT || undefined,
    logLevel: env.LOG_LEVEL || "info",
    modePollMs: intFrom(env, "CLUBOS_MODE_POLL_MS", 1000),
    timeZone,
    importRetentionDays: intFrom(env, "CLUBOS_IMPORT_RETENTION_DAYS", 30),
    accessRetention: {
      throttleDays: intFrom(
        env,
        "CLUBOS_LOGIN_THROTTLE_RETENTION_DAYS",
        DEFAULT_ACCESS_RETENTION.throttleDays,
      ),
      deviceDays: intFrom(env, "CLUBOS_LOGIN_DEVICE_RETENTION_DAYS", DEFAULT_ACCESS_RETENTION.deviceDays),
      joinApplicationDays: intFrom(
        env,
        "CLUBOS_JOIN_APPLICATION_RETENTION_DAYS",
        DEFAULT_ACCESS_RETENTION.joinApplicationDays,
      ),
    },
    pageFileMaxBytes: intFrom(env, "CLUBOS_PAGE_FILE_MAX_BYTES", 10 * 1024 * 1024),
    invariantScanMinutes: invariantScanMinutes(env),
    mail: mailConfigFrom(env),
    publicUrl: publicUrlFrom(env),
    invitationDays: intFrom(env, "CLUBOS_INVITATION_DAYS", 7),
    passwordResetMinutes: intFrom(env, "CLUBOS_PASSWORD_RESET_MINUTES", 30),
    renewalReminderDays: renewalReminderDaysFrom(env),
  };
}

// Links in mail must point at this club whatever a request's Host header says (a forged Host would
// otherwise send a member a reset link to someone else's site).
function publicUrlFrom(env: NodeJS.ProcessEnv): string {
  const raw = env.CLUBOS_PUBLIC_URL || `http://localhost:${env.PORT || 3000}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`CLUBOS_PUBLIC_URL must be an address such as https://club.example.org, got "${raw}".`);
  }
  if (!["http:", "https:"].includes(url.protocol) || url.search || url.hash) {
    throw new Error(`CLUBOS_PUBLIC_URL must be an http(s) address without ? or #, got "${raw}".`);
  }
  return url.href.replace(/\/$/, "");
}

// "30,7,0": a reminder 30 and 7 days before the renewal date, and one on the day itself.
function renewalReminderDaysFrom(env: NodeJS.ProcessEnv): number[] {
  const raw = env.CLUBOS_RENEWAL_REMINDER_DAYS ?? "30,7,0";
  if (raw.trim() === "") return [];
  const days = raw.split(",").map((part) => part.trim());
  if (!days.every((d) => /^\d{1,3}$/.test(d))) {
    throw new Error(
      `CLUBOS_RENEWAL_REMINDER_DAYS must be whole numbers of days separated by commas, e.g. "30,7,0", got "${raw}".`,
    );
  }
  return [...new Set(days.map(Number))].sort((a, b) => b - a);
}

function mailConfigFrom(env: NodeJS.ProcessEnv): MailConfig {
  const smtpUrl = env.SMTP_URL || undefined;
  if (smtpUrl && !/^smtps?:\/\//.test(smtpUrl)) {
    throw new Error(
      `SMTP_URL must start with smtp:// or smtps://, e.g. smtp://user:pass@mail.example.org:587.`,
    );
  }
  const from = env.MAIL_FROM || "ClubOS <clubos@localhost>";
  if (!from.includes("@")) throw new Error(`MAIL_FROM must be an address, e.g. "Club <club@example.org>".`);
  const timeoutMs = intFrom(env, "CLUBOS_MAIL_TIMEOUT_MS", 10_000);
  return {
    smtpUrl,
    from,
    worker: env.CLUBOS_MAIL_WORKER !== "0",
    timeoutMs,
    maxAttempts: intFrom(env, "CLUBOS_MAIL_MAX_ATTEMPTS", 6),
    retryBaseMs: intFrom(env, "CLUBOS_MAIL_RETRY_BASE_MS", 30_000),
    breakerFailures: intFrom(env, "CLUBOS_MAIL_BREAKER_FAILURES", 5),
    breakerResetMs: intFrom(env, "CLUBOS_MAIL_BREAKER_RESET_MS", 60_000),
    leaseMs: intFrom(env, "CLUBOS_MAIL_LEASE_MS", Math.max(60_000, timeoutMs * 3)),
    pollMs: intFrom(env, "CLUBOS_MAIL_POLL_MS", 2_000),
    busyBatch: intFrom(env, "CLUBOS_MAIL_BUSY_BATCH", BUSY_PACE.batch),
    busyIntervalMs: intFrom(env, "CLUBOS_MAIL_BUSY_INTERVAL_MS", BUSY_PACE.intervalMs),
    outboxMaxDepth: intFrom(env, "CLUBOS_OUTBOX_MAX_DEPTH", 10_000),
  };
}
