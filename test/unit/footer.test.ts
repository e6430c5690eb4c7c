import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../shared/config.ts';
import { renderFooter, renderFooterAlone } from '../../shared/footer.ts';
import { placeFooter } from '../../shared/mime/html-footer.ts';
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
    expect(renderFooter(custom, 'en', fields)).toMatchObject({
      text: 'ACME <Prospection> & Co | https://u.example/u/k1.abc',
      html: '<i>ACME &#60;Prospection&#62; &#38; Co</i>',
    });
  });

  it('renders each copy as the templates alone would, though copies with the same facts share one rendering', async () => {
    const base = (await testConfig()).controllers.acme!;
    const text = fc.string({ unit: fc.constantFrom('a', 'é', ' ', '&', '<', '"', "'", '/', '{', '\n', '\u{F8FF}') });
    const link = fc.oneof(
      fc.constantFrom('https://u.example/u/k1.abc', 'https://u.example/u/', 'https://u.example/u/a&b', '', 'x\ny'),
      text,
    );
    // Templates that write the link, test it (a section, an inverted one), write it from inside
    // its own section, and put it in an unquoted attribute (where a closing "/" means something).
    const custom = fc.constantFrom(
      undefined,
      {
        text: '{{#unsubscribeUrl}}[{{.}}]{{/unsubscribeUrl}}{{^unsubscribeUrl}}none{{/unsubscribeUrl}}',
        html: '<a href={{unsubscribeUrl}}>x</a>',
      },
      {
        text: '{{unsubscribeUrl}}\n{{unsubscribeUrl}}',
        html: '<p style="a:b">{{reason}}<a href="{{unsubscribeUrl}}"/>',
      },
    );
    const facts = fc.record({
      reason: text,
      firstContact: fc.boolean(),
      source: fc.option(text, { nil: undefined }),
      obtainedAt: fc.option(fc.constant('2026-03-14'), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...LANGUAGES),
        custom,
        facts,
        fc.array(link, { minLength: 1, maxLength: 4 }),
        (lang, templates, f, links) => {
          const controller = templates ? { ...base, footerTemplates: { [lang]: templates } } : base;
          for (const unsubscribeUrl of links) {
            const copy = { ...fields, ...f, unsubscribeUrl };
            const footer = renderFooter(controller, lang, copy);
            const alone = renderFooterAlone(controller, lang, copy);
            expect({ text: footer.text, html: footer.html }).toEqual(alone);
            // The HTML block each copy gets is the one its own footer alone would give.
            const placement = { at: 0, closers: '', width: undefined, centred: false };
            expect(placeFooter('', placement, footer)).toBe(placeFooter('', placement, alone.html));
          }
        },
      ),
      { numRuns: 400, seed: 20261129 },
    );
  });

  it('renders again when a controller’s templates change', async () => {
    const controller = structuredClone((await testConfig()).controllers.acme!);
    controller.footerTemplates = { en: { text: 'one {{unsubscribeUrl}}', html: '<i>one</i>' } };
    expect(renderFooter(controller, 'en', fields).text).toBe('one https://u.example/u/k1.abc');
    controller.footerTemplates.en = { text: 'two {{unsubscribeUrl}}', html: '<i>two</i>' };
    expect(renderFooter(controller, 'en', fields).text).toBe('two https://u.example/u/k1.abc');
  });
});
