import type { ComponentChildren } from "preact";
import { renderToString } from "preact-render-to-string";
import type { Actor } from "../core/actor.ts";
import type { OperatorAlert } from "../core/alerts.ts";
import type { SystemState } from "../core/modes.ts";

/** What every page needs to draw its frame. */
export interface PageFrame {
  title: string;
  clubName: string;
  actor: Actor;
  state: SystemState | null;
  /** Operator alerts (src/core/alerts.ts): given for admin pages only, shown above the content. */
  alerts?: readonly OperatorAlert[];
  csrf?: string;
  /** Reload the page every N seconds (progress of long operations, without JavaScript). */
  refreshSeconds?: number;
  /** The site's published pages this visitor may see, after Home. */
  siteLinks?: readonly { href: string; label: string; child?: boolean }[];
  /** The page's description (meta), when it has one. */
  description?: string;
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fafafa}
a{color:#0b4f9c}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f5a623;outline-offset:2px}
header{background:#123a63;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
header a{color:#fff}header nav ul{list-style:none;display:flex;flex-wrap:wrap;align-items:center;gap:1rem;margin:0;padding:0}
.site{font-weight:700;font-size:1.2rem;margin-right:auto}
main{max-width:60rem;margin:0 auto;padding:1rem}
.banner{background:#7a2e00;color:#fff;padding:.75rem 1rem;font-weight:600}
.notice{background:#e8f1fb;border-left:4px solid #0b4f9c;padding:.75rem 1rem;margin:1rem 0}
.error{background:#fdecea;border-left:4px solid #a4161a;padding:.75rem 1rem;margin:1rem 0}
label{display:block;font-weight:600;margin-top:.75rem}input,select,textarea{font:inherit;padding:.4rem;width:100%;max-width:28rem;border:1px solid #555;border-radius:3px}
button{font:inherit;padding:.5rem 1rem;margin-top:1rem;background:#123a63;color:#fff;border:0;border-radius:3px;cursor:pointer}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #ccc;vertical-align:top}
.scroll{overflow-x:auto;max-width:100%}caption{text-align:left}dt{font-weight:600}
.inline{display:inline}.inline button{margin:0;padding:.2rem .6rem}header button{border:1px solid #fff}
footer{max-width:60rem;margin:2rem auto;padding:0 1rem;color:#555;font-size:.9rem}
.alerts p{margin:0;padding:.6rem 1rem;border-left:8px solid;font-weight:600}
.alert-critical{background:#a4161a;color:#fff;border-color:#3d0000}.alert-critical a{color:#fff}
.alert-warning{background:#fff3cd;color:#3d2a00;border-color:#b8860b}.alert-warning a{color:#3d2a00}
header nav li.sub{font-size:.9rem}pre{white-space:pre-wrap;overflow-wrap:anywhere}.block-note{background:#f3f0e6;border-left:4px solid #6b5a1e;padding:.5rem 1rem}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;color:#000;padding:.5rem}
`;

function Banner({ state }: { state: SystemState | null }) {
  if (!state) {
    return (
      <div class="banner" role="alert">
        ClubOS cannot read its operating mode right now, so changes are paused.
      </div>
    );
  }
  if (state.mode === "normal" && !state.adminFreeze && !state.publishFreeze && !state.previewOff) return null;
  const parts: string[] = [];
  if (state.mode === "read-only")
    parts.push("The club's site is in read-only mode: you can read, but nothing can be changed");
  if (state.mode === "maintenance")
    parts.push("The club's site is under maintenance: nothing can be changed");
  if (state.adminFreeze) parts.push("admin changes are frozen");
  if (state.publishFreeze) parts.push("publishing is frozen");
  if (state.previewOff) parts.push("previews are off");
  return (
    <div class="banner" role="status">
      {parts.join("; ")}.{state.reason ? ` Reason: ${state.reason}` : ""}
    </div>
  );
}

const SINCE = (d: Date) => d.toISOString().replace("T", " ").slice(0, 16);

/** The operator alerts, loudest first, each saying how loud in words (not only by colour). */
function Alerts({ alerts }: { alerts?: readonly OperatorAlert[] }) {
  if (!alerts?.length) return null;
  return (
    <section class="alerts" aria-label="Operator alerts">
      {alerts.map((a) => (
        <p class={`alert-${a.severity}`} key={a.key} role={a.severity === "critical" ? "alert" : undefined}>
          {a.severity === "critical" ? "Critical: " : "Warning: "}
          {a.message} (since {SINCE(a.since)} UTC)
          {a.link ? (
            <>
              {" "}
              <a href={a.link}>What to do</a>
            </>
          ) : null}
        </p>
      ))}
    </section>
  );
}

function Nav({
  actor,
  csrf,
  siteLinks,
}: {
  actor: Actor;
  csrf?: string;
  siteLinks?: PageFrame["siteLinks"];
}) {
  const signedIn = actor.type === "member";
  return (
    <nav aria-label="Site">
      <ul>
        <li>
          <a href="/">Home</a>
        </li>
        {(siteLinks ?? []).map((link) => (
          <li key={link.href} class={link.child ? "sub" : undefined}>
            <a href={link.href}>{link.label}</a>
          </li>
        ))}
        <li>
          <a href="/events">Events</a>
        </li>
        {signedIn ? (
          <>
            <li>
              <a href="/directory">Directory</a>
            </li>
            <li>
              <a href="/members/me">My details</a>
            </li>
          </>
        ) : null}
        {signedIn && actor.capabilities.has("admin:access") ? (
          <li>
            <a href="/admin">Admin</a>
          </li>
        ) : null}
        {signedIn ? (
          <>
            <li>
              <a href="/account/password">Change password</a>
            </li>
            <li>
              <form method="post" action="/logout" class="inline">
                <input type="hidden" name="_csrf" value={csrf ?? ""} />
                <button type="submit">Log out</button>
              </form>
            </li>
          </>
        ) : (
          <li>
            <a href="/login">Log in</a>
          </li>
        )}
      </ul>
    </nav>
  );
}

/** Renders a full HTML page; all text is escaped by Preact, so views never build HTML by hand. */
/** What of the actor the layout shows (signed in or not, the admin link): two actors with the same key
 * get the same frame around the same body, given the same form token. */
export function actorFrameKey(actor: Actor): string {
  return actor.type !== "member" ? actor.type : `member|${actor.capabilities.has("admin:access")}`;
}

export function renderPage(frame: PageFrame, body: ComponentChildren): string {
  const html = renderToString(
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {frame.refreshSeconds ? <meta http-equiv="refresh" content={String(frame.refreshSeconds)} /> : null}
        <title>{`${frame.title} · ${frame.clubName}`}</title>
        {frame.description ? <meta name="description" content={frame.description} /> : null}
        <style>{STYLE}</style>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header>
          <a class="site" href="/">
            {frame.clubName}
          </a>
          <Nav actor={frame.actor} csrf={frame.csrf} siteLinks={frame.siteLinks} />
        </header>
        <Banner state={frame.state} />
        <Alerts alerts={frame.alerts} />
        <main id="main">{body}</main>
        <footer>Powered by ClubOS</footer>
      </body>
    </html>,
  );
  return `<!doctype html>${html}`;
}
