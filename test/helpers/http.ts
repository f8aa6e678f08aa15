/** A tiny browser-like HTTP client: keeps cookies, reads CSRF tokens from forms, never follows redirects. */
export class Client {
  private cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  /** The cookie header this client would send. */
  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  /** The session cookie's value, if any. */
  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  private remember(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const [name, ...rest] = pair!.split("=");
      const value = rest.join("=");
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(header) || value === "")
        this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value);
    }
  }

  /** Sends a request with this client's cookies. */
  async request(
    method: string,
    path: string,
    init: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (init.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    } else if (init.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(init.json);
    }
    const response = await fetch(this.baseUrl + path, { method, headers, body, redirect: "manual" });
    this.remember(response);
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request("GET", path, { headers });
  }

  /** Fetches the page and returns the CSRF token of its first form, if any. */
  async csrf(path = "/account/password"): Promise<string> {
    const page = await this.get(path);
    const match = page.text.match(/name="_csrf" value="([^"]*)"/);
    return match?.[1] ?? "";
  }

  /** Posts a form with the CSRF token of a page this client can see. */
  async postForm(path: string, form: Record<string, string>, csrfFrom = "/account/password") {
    const token = await this.csrf(csrfFrom);
    return this.request("POST", path, { form: { _csrf: token, ...form } });
  }

  /** Logs in through the login form; returns the response. */
  login(email: string, password: string) {
    return this.request("POST", "/login", { form: { email, password } });
  }
}

/** Calls the JSON API with a bearer token; a JSON body is sent when given, and the reply is parsed. */
export async function bearerJson(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the tests read known JSON shapes, and a wrong path fails the assertion
  const json = (await res.json()) as any;
  return { status: res.status, etag: res.headers.get("etag"), headers: res.headers, body: json };
}
