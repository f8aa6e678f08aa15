import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ActionSpec } from "../../core/action.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { EMPTY_FORM, ID_PARAMS } from "../../http/schema.ts";
import { type Issued, type LinkSettings, linkSettingsOf } from "./account-links.actions.ts";
import type { LinkPurpose } from "./account-links.repository.ts";
import { LinksSentView } from "./account-links.views.tsx";

/** How this process makes and delivers links (the configuration, and whether a mail server is set). */
export function linkSettings(request: FastifyRequest): LinkSettings {
  const { config, mail } = request.server.ctx;
  return linkSettingsOf(config, mail?.configured ?? false);
}

/** What differs between the admin routes that send one member a link (invite, send a reset, approve a
 * join application): everything else (the empty form, the link shown once without a mail server, the
 * page that says who was sent what) is the one shape below. */
export interface LinkIssuingRoute<I> {
  url: `${string}/:id/${string}`;
  action: ActionSpec<I, Issued>;
  purpose: LinkPurpose;
  summary: string;
  title: string;
  /** The action's input from the path's id and this process's link settings. */
  input(id: string, settings: LinkSettings): I;
  /** Where the page's "back" link goes. */
  back(issued: Issued): string;
}

/** An admin route that sends one member a link through its action and shows who was sent what. */
export function declareLinkIssuingRoute<I>(app: FastifyInstance, route: LinkIssuingRoute<I>): void {
  declareRoute(app, {
    method: "POST",
    url: route.url,
    action: route.action,
    loadClass: "admin",
    response: "html",
    summary: route.summary,
    schema: { params: ID_PARAMS, body: EMPTY_FORM },
    handler: async (request, reply, action) => {
      const issued = await action.run(route.input(request.params.id, linkSettings(request)));
      return sendPage(
        request,
        reply,
        route.title,
        <LinksSentView
          page={pageContext(request)}
          purpose={route.purpose}
          sent={[issued]}
          back={route.back(issued)}
        />,
      );
    },
  });
}
