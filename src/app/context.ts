import type { AuditSealer } from "../core/audit-sealer.ts";
import type { ForegroundLoad } from "../core/foreground-load.ts";
import type { ModeWatcher } from "../core/modes.ts";
import type { MailService } from "../domains/mail/mail.service.ts";
import type { DeployInfo, HttpContext } from "../http/context.ts";
import type { Config } from "./config.ts";

export type { DeployInfo };

/** Everything a running ClubOS process shares: one per process, built by openRuntime. Routes and domains
 * see the narrower HttpContext it satisfies. */
export interface AppContext extends HttpContext {
  config: Config;
  modes: ModeWatcher;
  sealer: AuditSealer;
  mail: MailService;
  /** The requests this process is serving, counted by the server; its mail worker yields to them. */
  foreground: ForegroundLoad;
}
