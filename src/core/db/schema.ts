import type { ColumnType, Generated } from "kysely";

/** Kysely's view of the tables: the SQL in migrations/ is the source of truth, this mirrors it. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type GenTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json = ColumnType<unknown, string | undefined | null, string | null>;

export interface SystemStateTable {
  id: Generated<number>;
  installation_id: Generated<string>;
  mode: Generated<string>;
  publish_freeze: Generated<boolean>;
  admin_freeze: Generated<boolean>;
  preview_off: Generated<boolean>;
  reason: string | null;
  changed_by: Generated<string>;
  version: Generated<number>;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

export interface MembersTable {
  id: Generated<string>;
  name: string;
  email: string;
  status: Generated<string>;
  version: Generated<number>;
  deleted_at: NullableTimestamp;
  phone: Generated<string>;
  address: Generated<string>;
  joined_on: ColumnType<string, string | undefined, string>;
  tier_key: string | null;
  renewal_due_on: ColumnType<string | null, string | null | undefined, string | null>;
  admin_notes: Generated<string>;
  directory_opt_out: Generated<boolean>;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

export interface MembershipTiersTable {
  key: string;
  name: string;
  renewal_months: number;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

export interface MemberStatusHistoryTable {
  id: Generated<string>;
  member_id: string;
  from_status: string | null;
  to_status: string;
  reason: string;
  changed_by: string;
  changed_at: GenTimestamp;
}

export interface AccountsTable {
  id: Generated<string>;
  member_id: string;
  password_hash: string;
  must_change_password: Generated<boolean>;
  disabled_at: NullableTimestamp;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  token_hash: string;
  account_id: string;
  created_at: GenTimestamp;
  last_seen_at: GenTimestamp;
  expires_at: Timestamp;
  ended_at: NullableTimestamp;
  ended_reason: string | null;
  ip: string | null;
}

export interface LoginAttemptsTable {
  id: Generated<number>;
  email_key: string;
  ip: string;
  succeeded: boolean;
  at: GenTimestamp;
}

export interface ApiTokensTable {
  id: Generated<string>;
  member_id: string;
  name: string;
  token_hash: string;
  capabilities: string[] | null;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

export interface RolesTable {
  key: string;
  name: string;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

export interface RoleAssignmentsTable {
  id: Generated<string>;
  member_id: string;
  role_key: string;
  starts_at: GenTimestamp;
  ends_at: NullableTimestamp;
  granted_by: string;
  ended_by: string | null;
  version: Generated<number>;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

export interface AuditLogTable {
  seq: Generated<number>;
  id: Generated<string>;
  occurred_at: GenTimestamp;
  actor_type: string;
  actor_id: string;
  action: string;
  subject_type: string;
  subject_id: string;
  before: Json;
  after: Json;
  reason: string | null;
  request_id: string | null;
}

export interface AuditChainTable {
  seq: number;
  entry_hash: string;
  chain_hash: string;
  sealed_at: GenTimestamp;
}

export interface OutboxTable {
  id: Generated<string>;
  topic: string;
  recipient: string | null;
  subject: string | null;
  body: string | null;
  payload: Json;
  audit_id: string;
  status: Generated<string>;
  attempts: Generated<number>;
  available_at: GenTimestamp;
  last_error: string | null;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

export interface DeploysTable {
  id: Generated<string>;
  version: string;
  git_commit: string | null;
  change_class: string;
  host: string;
  process_kind: string;
  node_version: string;
  started_at: GenTimestamp;
}

export interface InvariantRunsTable {
  id: Generated<string>;
  started_at: Timestamp;
  finished_at: Timestamp;
  actor: string;
  ok: boolean;
  checks: number;
  violations: Json;
}

export interface SchemaMigrationsTable {
  name: string;
  checksum: string;
  applied_at: GenTimestamp;
}

export interface SchemaFunctionsTable {
  name: string;
  checksum: string;
  applied_at: GenTimestamp;
}

export interface CommitteesTable {
  id: Generated<string>;
  name: string;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

export interface EventsTable {
  id: Generated<string>;
  title: string;
  description: Generated<string>;
  location: Generated<string>;
  starts_at: Timestamp;
  ends_at: Timestamp;
  capacity: number;
  registration_opens_at: NullableTimestamp;
  registration_closes_at: NullableTimestamp;
  audience: Generated<string>;
  status: Generated<string>;
  committee_id: string | null;
  version: Generated<number>;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

export interface RegistrationsTable {
  id: Generated<string>;
  event_id: string;
  member_id: string;
  status: string;
  guest_names: Generated<string[]>;
  waitlist_position: number | null;
  checked_in_at: NullableTimestamp;
  no_show: Generated<boolean>;
  cancelled_at: NullableTimestamp;
  version: Generated<number>;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

/** Kept by a trigger on registrations (migration 0008); never written by the application. */
export interface EventTalliesTable {
  event_id: string;
  confirmed_seats: Generated<number>;
  waitlisted: Generated<number>;
}

export interface IdempotencyKeysTable {
  caller: string;
  key: string;
  request_hash: string;
  response_status: number;
  response_body: Json;
  created_at: GenTimestamp;
  expires_at: GenTimestamp;
}

/** A member's term on a committee (0005_committees.sql). */
export interface CommitteeMembershipsTable {
  id: Generated<string>;
  committee_id: string;
  member_id: string;
  role: string;
  starts_at: GenTimestamp;
  ends_at: NullableTimestamp;
  granted_by: string;
  ended_by: string | null;
  version: Generated<number>;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

/** A CSV member import's dry-run plan and, once confirmed, its result (0004_member_imports.sql). */
export interface MemberImportsTable {
  id: Generated<string>;
  created_by: string;
  file_name: Generated<string>;
  file_hash: string;
  status: Generated<string>;
  plan: Json;
  result: Json;
  applied_at: NullableTimestamp;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
  /** Plan rows finished, in order; moved by each applied row's own transaction (0010_import_retention.sql). */
  rows_done: Generated<number>;
  /** Rows refused while applying (conflict, failed), kept until the result is recorded. */
  row_problems: ColumnType<unknown, string | undefined, string>;
  /** The apply run that holds the import; a resumed run takes it over. */
  applier: string | null;
  /** When the per-row personal data was removed (retention); the summary stays. */
  purged_at: NullableTimestamp;
}

/** A member's personal calendar feed token, stored hashed (0006_ical_tokens.sql). */
export interface MemberFeedTokensTable {
  member_id: string;
  token_hash: string;
  version: Generated<number>;
  created_at: GenTimestamp;
  updated_at: GenTimestamp;
}

/** Every table Kysely may touch. */
export interface DB {
  system_state: SystemStateTable;
  members: MembersTable;
  accounts: AccountsTable;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  api_tokens: ApiTokensTable;
  roles: RolesTable;
  role_assignments: RoleAssignmentsTable;
  audit_log: AuditLogTable;
  audit_chain: AuditChainTable;
  outbox: OutboxTable;
  deploys: DeploysTable;
  invariant_runs: InvariantRunsTable;
  schema_migrations: SchemaMigrationsTable;
  schema_functions: SchemaFunctionsTable;
  committees: CommitteesTable;
  events: EventsTable;
  registrations: RegistrationsTable;
  event_tallies: EventTalliesTable;
  idempotency_keys: IdempotencyKeysTable;
  membership_tiers: MembershipTiersTable;
  member_status_history: MemberStatusHistoryTable;
  committee_memberships: CommitteeMembershipsTable;
  member_imports: MemberImportsTable;
  member_feed_tokens: MemberFeedTokensTable;
}
