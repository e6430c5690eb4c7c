import type { LocalStack } from '../../infra/local/stack.ts';

/**
 * The console over real HTTP, as a browser without JavaScript would use it: a cookie jar, the
 * CSRF token read from the page's meta tag, forms posted urlencoded. Redirects are not followed,
 * so a test sees each answer.
 */
export class ConsoleClient {
  cookie = '';
  csrf = '';
  constructor(readonly base: string) {}

  static of(stack: LocalStack): ConsoleClient {
    return new ConsoleClient(`http://127.0.0.1:${stack.http.port}`);
  }

  async request(
    method: string,
    path: string,
    options: { form?: Record<string, string>; body?: string; type?: string; headers?: Record<string, string> } = {},
  ): Promise<Response & { text(): Promise<string> }> {
    const headers: Record<string, string> = { ...(this.cookie ? { cookie: this.cookie } : {}), ...options.headers };
    let body: string | undefined = options.body;
    if (options.form) {
      body = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (options.type) {
      headers['content-type'] = options.type;
    }
    const res = await fetch(`${this.base}${path}`, { method, headers, body, redirect: 'manual' });
    const set = res.headers.getSetCookie();
    for (const c of set) {
      const [pair] = c.split(';');
      this.cookie = pair!.endsWith('=') ? '' : pair!;
    }
    return res;
  }

  get(path: string) {
    return this.request('GET', path);
  }

  /** A form post with this session's CSRF token (unless the form gives its own). */
  post(path: string, form: Record<string, string> = {}) {
    return this.request('POST', path, { form: { csrf: this.csrf, ...form } });
  }

  async login(name: string, password: string): Promise<Response> {
    const res = await this.request('POST', '/admin/login', { form: { name, password } });
    if (res.status === 303) {
      const page = await (await this.get('/admin')).text();
      this.csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? '';
    }
    return res;
  }
}
