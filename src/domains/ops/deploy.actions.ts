import { defineAction } from "../../core/action.ts";
import { insertDeploy } from "./ops.repository.ts";

/** Records this process's start as a deploy (G14, CC-1): version, commit, change class, host.
 * A recovery action: a server started in read-only mode still says what it is running. */
export const recordDeploy = defineAction({
  name: "recordDeploy",
  access: { capability: "system:operate" },
  effect: "recovery",
  async run(
    { trx },
    input: { version: string; gitCommit: string | null; changeClass: string; processKind: string },
  ) {
    const row = await insertDeploy(trx, input);
    return {
      result: row,
      audit: {
        action: "deploy.started",
        subjectType: "deploy",
        subjectId: row.id,
        after: {
          version: row.version,
          gitCommit: row.git_commit,
          changeClass: row.change_class,
          host: row.host,
        },
      },
    };
  },
});
