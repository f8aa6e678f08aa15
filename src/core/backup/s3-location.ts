// Parsing the off-site bucket's address, kept apart from the S3 client so reading the configuration
// does not load the AWS SDK.

/** Where the off-site bucket is: `s3://bucket/optional/prefix`, with an endpoint for S3-compatible
 * services (MinIO, Backblaze, a local test server). Credentials come from the AWS SDK's usual sources
 * (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, an instance role), never from the URL. */
export interface S3Location {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region: string;
}

const S3_URL_HELP = "CLUBOS_BACKUP_S3_URL must look like s3://bucket-name or s3://bucket-name/folder";

/** Reads CLUBOS_BACKUP_S3_URL (and its endpoint and region); refuses what it cannot use. */
export function parseS3Url(raw: string, endpoint?: string, region?: string): S3Location {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${S3_URL_HELP}, got "${raw}".`);
  }
  if (url.protocol !== "s3:" || !url.hostname) throw new Error(`${S3_URL_HELP}, got "${raw}".`);
  if (url.username || url.password)
    throw new Error(
      "CLUBOS_BACKUP_S3_URL must not contain credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead.",
    );
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint))
    throw new Error(`CLUBOS_BACKUP_S3_ENDPOINT must be an http(s) address, got "${endpoint}".`);
  const prefix = url.pathname.replace(/^\/+|\/+$/g, "");
  return {
    bucket: url.hostname,
    prefix: prefix ? `${prefix}/` : "",
    endpoint,
    region: region || "us-east-1",
  };
}
