import { describe, expect, it } from 'vitest';
import { browserAvailable, SCREENSHOTS, useBrowserStack } from '../helpers/browser.ts';
import { sendAndGetToken } from '../helpers/unsubscribe-token.ts';

const env = useBrowserStack();

async function linkFor(address: string, language: string): Promise<string> {
  const token = await sendAndGetToken(env.stack, address, [`X-Fairsend-Language: ${language}`]);
  return `http://127.0.0.1:${env.stack.http.port}/u/${token}`;
}

const cases = [
  { lang: 'fr', button: 'Confirmer la désinscription', done: 'Désinscription enregistrée' },
  { lang: 'en', button: 'Confirm unsubscribe', done: 'You are unsubscribed' },
  { lang: 'de', button: 'Abmeldung bestätigen', done: 'Abmeldung gespeichert' },
];

describe.skipIf(!browserAvailable)('unsubscribe page in Chromium', () => {
  it.each(cases)('renders in $lang, and its button unsubscribes', async ({ lang, button, done }) => {
    const address = `browser-${lang}@client.example`;
    const page = await env.browser.newPage({ viewport: { width: 420, height: 640 } });
    try {
      await page.goto(await linkFor(address, lang));
      expect(await page.getAttribute('html', 'lang')).toBe(lang);
      await expect.poll(() => page.getByRole('button', { name: button }).isVisible()).toBe(true);
      expect(await page.textContent('main')).toContain('ACME Prospection SARL');
      await page.screenshot({ path: `${SCREENSHOTS}/unsubscribe-${lang}-confirm.png`, fullPage: true });
      expect((await env.stack.stores.oppositions.list('acme')).some((o) => o.subject === address)).toBe(false);

      await page.getByRole('button', { name: button }).click();
      await page.waitForSelector('[role=status]');
      expect(await page.textContent('h1')).toBe(done);
      expect(page.url()).toContain('/u/'); // no redirect
      await page.screenshot({ path: `${SCREENSHOTS}/unsubscribe-${lang}-done.png`, fullPage: true });
      const opposition = (await env.stack.stores.oppositions.list('acme')).find((o) => o.subject === address);
      expect(opposition?.origin).toBe('unsubscribe-link');
      expect((await page.context().cookies()).length).toBe(0);
    } finally {
      await page.close();
    }
  });

  it('shows a clear page for a broken link', async () => {
    const page = await env.browser.newPage();
    try {
      const response = await page.goto(`http://127.0.0.1:${env.stack.http.port}/u/k2.broken-link-${'x'.repeat(50)}`);
      expect(response?.status()).toBe(400);
      expect(await page.textContent('h1')).toBe('Link not valid');
      await page.screenshot({ path: `${SCREENSHOTS}/unsubscribe-invalid.png` });
    } finally {
      await page.close();
    }
  });
});

describe.skipIf(!browserAvailable)('local SES outbox in Chromium', () => {
  it('shows each copy as its recipient reads it: subject, text with the footer, headers', async () => {
    await sendAndGetToken(env.stack, 'outbox-reader@client.example');
    const page = await env.browser.newPage({ viewport: { width: 1100, height: 800 } });
    try {
      await page.goto(env.stack.outboxUrl!);
      const row = page.locator('tr', { hasText: 'outbox-reader@client.example' });
      await row.locator('summary').click();
      const text = await row.textContent();
      expect(text).toContain('Message envoyé par ACME Prospection SARL');
      expect(text).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      await page.screenshot({ path: `${SCREENSHOTS}/outbox.png` });
    } finally {
      await page.close();
    }
  });
});
