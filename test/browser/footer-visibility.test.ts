import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { describe, expect, it } from 'vitest';
import { browserAvailable, SCREENSHOTS, useBrowserStack } from '../helpers/browser.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';

/**
 * The footer as the recipient sees it: copies of adversarial layouts, sent through the relay,
 * rendered in Chromium. The footer's text and its unsubscribe link must be rendered, not
 * display:none, not zero-size, not transparent, and the link must be the element under a click.
 */
const env = useBrowserStack();

const LAYOUTS: { name: string; html: string }[] = [
  {
    name: 'stray </body> in a hidden div, left open',
    html: '<html><body><p>Bonjour,</p><div style="display:none">preheader</body></html>',
  },
  {
    name: 'stray </body> in a hidden div, closed later',
    html: '<html><body><p>Bonjour,</p><div style="display:none">x</body></html> more</div></body></html>',
  },
  { name: '</body> in a comment', html: '<html><body><p>Bonjour,</p><!-- </body></html> --></body></html>' },
  { name: 'the last </body> is in a comment', html: '<html><body><p>Bonjour,</p></body></html><!-- </body> -->' },
  {
    name: 'the last </body> is in a script',
    html: '<html><body><p>Bonjour,</p></body></html><script>var end = "</body>";</script>',
  },
  { name: 'unterminated comment', html: '<html><body><p>Bonjour,</p><!-- hidden from here on' },
  {
    name: '</body> in a script',
    html: '<html><body><p>Bonjour,</p><script>document.write("</body>")</script></body></html>',
  },
  {
    name: '</body> in a style',
    html: '<html><head><style>/* </body> */ p{color:#222}</style></head><body><p>Bonjour,</p></body></html>',
  },
  { name: 'unclosed style', html: '<html><body><p>Bonjour,</p><style>p{color:#222}' },
  {
    name: '</body> in a template',
    html: '<html><body><p>Bonjour,</p><template><p>t</body></html></template></body></html>',
  },
  {
    name: 'a stylesheet that hides the last table and zero-sizes text',
    html: '<html><head><style>table:last-of-type{display:none!important} body>*:last-child{visibility:hidden!important;opacity:0!important;height:0!important;overflow:hidden!important} td{color:transparent!important;font-size:0!important} p,a,strong{display:none!important;color:transparent!important;font-size:0!important}</style></head><body><p>Bonjour,</p></body></html>',
  },
  {
    name: 'a fragment left inside an unclosed hidden span',
    html: '<p>Bonjour,</p><span style="display:none"><b>hidden',
  },
];

describe.skipIf(!browserAvailable)('the footer is visible where the recipient reads', () => {
  it.each(LAYOUTS)('$name', async ({ name, html }) => {
    const raw = await new MailComposer({
      from: 'alice@acme.example',
      to: 'bob@client.example',
      subject: name,
      text: 'Bonjour,',
      html,
    })
      .compile()
      .build();
    env.stack.ses!.clear();
    const info = await sendWithNodemailer(env.stack, { from: 'alice@acme.example', to: ['bob@client.example'], raw });
    expect(info.response).toMatch(/^250 /);
    const copy = await simpleParser(env.stack.ses!.messages[0]!.raw);
    const page = await env.browser.newPage({ viewport: { width: 800, height: 900 }, javaScriptEnabled: false });
    try {
      await page.setContent(String(copy.html));
      const link = page.locator('a', { hasText: 'Se désinscrire en un clic' });
      await expect(link.count()).resolves.toBe(1);
      const seen = await link.evaluate((a) => {
        const box = a.getBoundingClientRect();
        const style = getComputedStyle(a);
        const cell = a.closest('td')!;
        const cellStyle = getComputedStyle(cell);
        a.scrollIntoView();
        const after = a.getBoundingClientRect();
        const hit = document.elementFromPoint(after.left + after.width / 2, after.top + after.height / 2);
        return {
          visible: a.checkVisibility({ opacityProperty: true, visibilityProperty: true }),
          cellVisible: cell.checkVisibility({ opacityProperty: true, visibilityProperty: true }),
          width: box.width,
          height: box.height,
          color: style.color,
          cellColor: cellStyle.color,
          fontSize: Number.parseFloat(cellStyle.fontSize),
          clickable: hit === a || a.contains(hit),
          // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, as a reader sees it, is the point
          text: cell.innerText,
        };
      });
      expect(seen.visible && seen.cellVisible).toBe(true);
      expect(seen.width).toBeGreaterThan(10);
      expect(seen.height).toBeGreaterThan(5);
      expect(seen.fontSize).toBeGreaterThanOrEqual(10);
      for (const color of [seen.color, seen.cellColor]) expect(color).not.toMatch(/rgba\(.*,\s*0\)|transparent/);
      expect(seen.clickable).toBe(true);
      expect(seen.text).toContain('Message envoyé par ACME Prospection SARL');
      await page.screenshot({ path: `${SCREENSHOTS}/footer-${name.replace(/[^a-z0-9]+/gi, '-')}.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });
});
