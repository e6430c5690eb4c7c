import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../shared/config.ts';
import { renderFooter } from '../../shared/footer.ts';
import { testConfig } from '../helpers/config.ts';

const fields = {
  legalName: 'ACME <Prospection> & Co',
  postalAddress: '1 place de la Gare, Lyon',
  contactEmail: 'contact@acme.example',
  privacyEmail: 'dpo@acme.example',
  reason: 'Votre fonction "DSI" est liée à nos services.',
  firstContact: true,
  source: 'le Salon IT',
  obtainedAt: '2026-03-14',
  unsubscribeUrl: 'https://u.example/u/k1.abc',
};

describe('footer', () => {
  it.each(LANGUAGES)('renders every field and no template syntax in %s', async (lang) => {
    const controller = (await testConfig()).controllers.acme!;
    for (const variant of [fields, { ...fields, obtainedAt: undefined }, { ...fields, firstContact: false }]) {
      const footer = renderFooter(controller, lang, variant);
      for (const part of [footer.text, footer.html]) {
        expect(part).not.toContain('{{');
        expect(part).toContain('dpo@acme.example');
        expect(part).toContain('https://u.example/u/k1.abc');
      }
      expect(footer.text.includes('le Salon IT')).toBe(variant.firstContact);
      expect(footer.text.includes('2026')).toBe(Boolean(variant.firstContact && variant.obtainedAt));
      expect(footer.text).not.toMatch(/[^\r]\n/);
    }
  });

  it('escapes configured text in the HTML footer', async () => {
    const controller = (await testConfig()).controllers.acme!;
    const { html, text } = renderFooter(controller, 'fr', fields);
    expect(html).toContain('ACME &#60;Prospection&#62; &#38; Co');
    expect(html).not.toContain('<Prospection>');
    expect(text).toContain('ACME <Prospection> & Co');
  });

  it('uses a controller’s own template when it has one', async () => {
    const controller = (await testConfig()).controllers.acme!;
    const custom = {
      ...controller,
      footerTemplates: { en: { text: '{{legalName}} | {{unsubscribeUrl}}', html: '<i>{{legalName}}</i>' } },
    };
    expect(renderFooter(custom, 'en', fields)).toEqual({
      text: 'ACME <Prospection> & Co | https://u.example/u/k1.abc',
      html: '<i>ACME &#60;Prospection&#62; &#38; Co</i>',
    });
  });
});
