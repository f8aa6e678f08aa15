// The backup mechanism (G01): consistent snapshots of every table on both engines, encrypted and
// checksummed bundles, verification, restore into any database at the same schema, drills and copies.
// It knows no domain and no HTTP: the app passes in the invariant checks and the sample read.
export {
  type BackupProgress,
  type CopyRecord,
  type CreateBackupOptions,
  type CreatedBackup,
  copyToTarget,
  createBackup,
  readCopies,
} from "./create.ts";
export { generateBackupKey, keyFingerprint, loadBackupKey, parseBackupKey } from "./crypto.ts";
export {
  type DrillOptions,
  type DrillResult,
  type DrillScratch,
  type DrillStep,
  drillBackup,
  type RestoredCheckOptions,
  verifyRestoredDatabase,
} from "./drill.ts";
export { BACKUP_ERRORS } from "./errors.ts";
export { FORMAT_VERSION, type Manifest, readManifest, type TableEntry } from "./format.ts";
export { type BackupListing, deleteBackup, findBackup, incompleteBackups, listBackups } from "./list.ts";
export {
  assertRestorableInto,
  type RestoreOptions,
  type RestoreProgress,
  type RestoreResult,
  restoreInto,
} from "./restore.ts";
export {
  DEFAULT_RETENTION,
  describeRetention,
  type RetainedBackup,
  type RetentionPolicy,
  retentionPlan,
} from "./retention.ts";
export { parseS3Url, type S3Location } from "./s3-location.ts";
export { S3Target } from "./s3-target.ts";
export { type BackupTarget, checkStoredFiles, type FileProblem, FolderTarget } from "./target.ts";
export { assertKeyFits, type VerifyResult, verifyBackup } from "./verify.ts";
