import { escapeHtml } from '../../shared/html.ts';
import { printable } from '../../shared/printable.ts';

/**
 * HTML built with a tagged template: every interpolated value is escaped (and its control and
 * bidi characters shown as escapes, as the CLI does) unless it is itself `Html`. A subject or an
 * address from a message can never become markup in the console.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(printable(String(value)));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}

/** A query string from parameters, empty ones left out. */
export function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** "3 min ago", "2 h ago", or the date: what a reviewer scans for. */
export function when(iso: string | undefined, now = Date.now()): Html {
  if (!iso) return html`<span class="muted">—</span>`;
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  const relative =
    seconds < 60
      ? 'just now'
      : seconds < 3600
        ? `${Math.floor(seconds / 60)} min ago`
        : seconds < 86_400
          ? `${Math.floor(seconds / 3600)} h ago`
          : `${iso.slice(0, 10)}`;
  return html`<time datetime="${iso}" title="${iso}">${relative}</time>`;
}
