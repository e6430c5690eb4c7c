import type { DailyCount } from '../../shared/stores/blocked-sends.ts';
import { type Html, html } from './html.ts';

/** Okabe–Ito: told apart by people with any common colour-vision deficiency. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

export function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (
    let t = Date.parse(`${from.slice(0, 10)}T00:00:00Z`);
    t <= Date.parse(`${to.slice(0, 10)}T00:00:00Z`);
    t += 86_400_000
  ) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/**
 * Blocks and flags per rule per day as a stacked bar chart, rendered on the server as SVG (no
 * script, no library), each segment titled for a hover and the same figures as a table below it.
 */
export function blocksChart(daily: DailyCount[], from: string, to: string): Html {
  const span = days(from, to);
  const byDay = new Map(daily.map((d) => [d.day, d.counts]));
  const totals = new Map<string, number>();
  for (const d of daily)
    for (const [rule, n] of Object.entries(d.counts)) totals.set(rule, (totals.get(rule) ?? 0) + n);
  const rules = [...totals.keys()].sort((a, b) => totals.get(b)! - totals.get(a)!);
  const shown = rules.slice(0, PALETTE.length - 1);
  const other = rules.length > shown.length ? rules.slice(shown.length) : [];
  const series = [...shown, ...(other.length > 0 ? ['other'] : [])];
  const color = (i: number) => (series[i] === 'other' ? '#8a8f98' : PALETTE[i]!);
  const countOf = (day: string, rule: string) => {
    const counts = byDay.get(day) ?? {};
    return rule === 'other' ? other.reduce((n, r) => n + (counts[r] ?? 0), 0) : (counts[rule] ?? 0);
  };
  const max = Math.max(1, ...span.map((d) => series.reduce((n, r) => n + countOf(d, r), 0)));
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const W = 760;
  const H = 220;
  const left = 36;
  const bottom = 24;
  const plotW = W - left - 8;
  const plotH = H - bottom - 8;
  const barW = plotW / span.length;
  const y = (v: number) => 8 + plotH - (v / top) * plotH;
  const ticks: number[] = [];
  for (let v = 0; v <= top; v += step) ticks.push(v);
  const labelEvery = Math.ceil(span.length / 8);
  const total = [...totals.values()].reduce((a, b) => a + b, 0);
  return html`<figure class="card">
<figcaption><strong>Blocked and flagged recipients per day, by rule</strong> <span class="muted">(${total} in the period)</span></figcaption>
<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title chart-desc">
<title id="chart-title">Blocked and flagged recipients per day, by rule</title>
<desc id="chart-desc">${series.map((r) => `${r}: ${span.reduce((n, d) => n + countOf(d, r), 0)}`).join('; ') || 'nothing was blocked or flagged in this period'}</desc>
${ticks.map((v) => html`<line x1="${left}" x2="${W - 8}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e7ec"/><text x="${left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end" fill="#5b6675">${v}</text>`)}
${span.map((day, i) => {
  let base = 0;
  const x = left + i * barW + barW * 0.15;
  return html`<g>${series.map((rule, s) => {
    const v = countOf(day, rule);
    if (v === 0) return '';
    const rect = html`<rect x="${x.toFixed(1)}" y="${y(base + v).toFixed(1)}" width="${(barW * 0.7).toFixed(1)}" height="${(y(base) - y(base + v)).toFixed(1)}" fill="${color(s)}"><title>${day} · ${rule}: ${v}</title></rect>`;
    base += v;
    return rect;
  })}${i % labelEvery === 0 ? html`<text x="${(x + barW * 0.35).toFixed(1)}" y="${H - 6}" font-size="11" text-anchor="middle" fill="#5b6675">${day.slice(5)}</text>` : ''}</g>`;
})}
</svg>
<div class="legend">${series.map((rule, s) => html`<span><i class="sw${s}"></i>${rule} (${span.reduce((n, d) => n + countOf(d, rule), 0)})</span>`)}</div>
<details><summary>Show as a table</summary><table><thead><tr><th scope="col">Day</th>${series.map((r) => html`<th scope="col">${r}</th>`)}</tr></thead>
<tbody>${span
    .filter((d) => series.some((r) => countOf(d, r) > 0))
    .map(
      (d) => html`<tr><th scope="row">${d}</th>${series.map((r) => html`<td>${countOf(d, r)}</td>`)}</tr>`,
    )}</tbody></table></details>
</figure>`;
}

/** The swatch colours of the legend, as CSS (the CSP allows no style attributes). */
export function swatchCss(count = PALETTE.length): string {
  return Array.from(
    { length: count },
    (_, i) => `.legend i.sw${i}{background:${i === count - 1 ? '#8a8f98' : PALETTE[i]}}`,
  ).join('');
}

function niceStep(max: number): number {
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return Math.max(1, m * power);
  return Math.max(1, 10 * power);
}

/** A rate against its threshold: a bar filled to the rate, a mark at the threshold, scaled to twice it. */
export function rateMeter(rate: number, threshold: number, label: string): Html {
  const scale = threshold * 2;
  const fill = Math.min(1, rate / scale) * 100;
  const mark = 50;
  const colour = rate >= threshold ? '#a4161a' : rate >= threshold / 2 ? '#b86e00' : '#1d6b3a';
  return html`<div class="meter" role="img" aria-label="${label}: ${(rate * 100).toFixed(2)} %, threshold ${(threshold * 100).toFixed(1)} %"><svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true"><rect width="${fill.toFixed(2)}" height="10" fill="${colour}"/><rect x="${mark - 0.4}" width="0.8" height="10" fill="#1c2430"/></svg></div>`;
}
