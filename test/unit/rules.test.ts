import { Headers } from '@zone-eu/mailsplit';
import { describe, expect, it } from 'vitest';
import { normaliseAddress } from '../../shared/address.ts';
import { readDirectives } from '../../shared/directives.ts';
import { checkEnvelopeSender, checkHeaderSenders, checkRecipient } from '../../shared/rules/envelope.ts';
import { footerFacts } from '../../shared/rules/footer-facts.ts';
import { erasedSubject, oppositionSubjects, oppositionVerdict } from '../../shared/rules/opposition.ts';
import { resolvePurpose } from '../../shared/rules/purpose.ts';
import { consumerDomains, evaluateRecipient } from '../../shared/rules/recipient-policy.ts';
import type { Opposition } from '../../shared/stores/opposition-list.ts';
import { testConfig } from '../helpers/config.ts';

const config = await testConfig();
const alice = config.smtpUsers.alice!;
const acme = config.controllers.acme!;
const prospecting = config.purposes['acme-prospecting']!;
const address = (a: string) => normaliseAddress(a)!;
const headers = (lines: string) => new Headers(Buffer.from(`${lines}\r\n\r\n`));

describe('envelope rules', () => {
  it('refuses an unparsable sender with 5.1.7 wording and a stranger with the user named', () => {
    expect(checkEnvelopeSender(alice, 'alice', 'not an address')).toEqual({
      kind: 'reject',
      rule: 'sender:invalid',
      reason: '<not an address>: not a valid sender address',
    });
    expect(checkEnvelopeSender(alice, 'alice', 'eve@evil.example')).toMatchObject({
      kind: 'reject',
      rule: 'sender:not-allowed',
    });
    expect(checkEnvelopeSender(alice, 'alice', 'Alice@ACME.example')).toMatchObject({ kind: 'accept' });
  });

  it('checks every header sender and names the first stranger', () => {
    expect(checkHeaderSenders(alice, 'alice', [address('alice@acme.example')])).toEqual({ kind: 'accept' });
    expect(
      checkHeaderSenders(alice, 'alice', [address('alice@acme.example'), address('boss@globex.example')]),
    ).toMatchObject({ rule: 'header-from:not-allowed', reason: expect.stringContaining('boss@globex.example') });
  });

  it('defers past the recipient limit and rejects an invalid recipient', () => {
    expect(checkRecipient('a@b.example', 100, 100)).toMatchObject({ kind: 'defer', rule: 'recipient:too-many' });
    expect(checkRecipient('nope', 0, 100)).toMatchObject({ kind: 'reject', rule: 'recipient:invalid' });
  });
});

describe('opposition verdict', () => {
  const entry = (subject: string): Opposition => ({
    controller: 'acme',
    subject,
    origin: 'manual',
    requestedAt: '2026-01-01T00:00:00.000Z',
    effectiveAt: '2026-01-01T00:00:00.000Z',
    evidence: {},
  });
  it('names the rule by what matched: the address or its domain', () => {
    expect(oppositionVerdict(null, acme, 'bob@client.example')).toEqual({ kind: 'accept' });
    expect(oppositionVerdict(entry('bob@client.example'), acme, 'Bob@client.example')).toEqual({
      kind: 'reject',
      rule: 'opposition:address',
      reason: '<Bob@client.example>: recipient has objected to messages from ACME Prospection SARL',
    });
    expect(oppositionVerdict(entry('@client.example'), acme, 'x@client.example')).toMatchObject({
      rule: 'opposition:domain',
      reason: '<x@client.example>: the domain client.example has objected to messages from ACME Prospection SARL',
    });
  });

  it('says the true reason: how the person objected, a hard bounce, a complaint', () => {
    const from = (origin: Opposition['origin']) =>
      (oppositionVerdict({ ...entry('bob@client.example'), origin }, acme, 'bob@client.example') as { reason: string })
        .reason;
    expect(from('one-click')).toBe(
      "<bob@client.example>: recipient has objected to messages from ACME Prospection SARL (unsubscribed with their mailbox's unsubscribe button on 2026-01-01)",
    );
    expect(from('hard-bounce')).toMatch(/address is undeliverable \(it bounced for good on 2026-01-01\)/);
    expect(from('soft-bounces')).toMatch(/address is undeliverable \(it kept bouncing/);
    expect(from('complaint')).toMatch(/recipient reported a message from ACME Prospection SARL as spam on 2026-01-01/);
    expect(from('import')).toMatch(/on an opt-out list imported on 2026-01-01/);
  });
});

describe('opposition subjects', () => {
  const address = normaliseAddress('carol+news@paris.client.example')!;
  it('lists the address, its base address, their erased forms and each parent domain', () => {
    expect(oppositionSubjects(address, { coversSubaddresses: true, erasureKey: 'k' })).toEqual([
      'carol+news@paris.client.example',
      'carol@paris.client.example',
      erasedSubject('k', 'carol+news@paris.client.example'),
      erasedSubject('k', 'carol@paris.client.example'),
      '@paris.client.example',
      '@client.example',
    ]);
  });

  it('derives them once per address value (RCPT, then the re-check at DATA), and again when the matching changes', () => {
    const first = oppositionSubjects(address, { coversSubaddresses: true, erasureKey: 'k' });
    expect(oppositionSubjects(address, { coversSubaddresses: true, erasureKey: 'k' })).toBe(first);
    const rotated = oppositionSubjects(address, { coversSubaddresses: true, erasureKey: 'k2' });
    expect(rotated).not.toBe(first);
    expect(rotated[2]).toBe(erasedSubject('k2', 'carol+news@paris.client.example'));
    expect(oppositionSubjects(address, { coversSubaddresses: false, erasureKey: 'k2' })).toEqual([
      'carol+news@paris.client.example',
      erasedSubject('k2', 'carol+news@paris.client.example'),
      '@paris.client.example',
      '@client.example',
    ]);
    expect(oppositionSubjects(address, { coversSubaddresses: false })).toEqual([
      'carol+news@paris.client.example',
      '@paris.client.example',
      '@client.example',
    ]);
  });
});

describe('purpose resolution', () => {
  it('takes the header over the user default, and refuses a missing or foreign purpose', () => {
    const noDefault = { ...alice, defaultPurpose: undefined };
    expect(resolvePurpose(config, 'alice', noDefault, {})).toMatchObject({ kind: 'reject', rule: 'purpose:missing' });
    expect(resolvePurpose(config, 'alice', alice, { purpose: 'acme-newsletter' })).toMatchObject({
      kind: 'accept',
      purposeId: 'acme-newsletter',
    });
    const foreign = Object.keys(config.purposes).find((id) => config.purposes[id]!.controller !== 'acme')!;
    expect(resolvePurpose(config, 'alice', alice, { purpose: foreign })).toMatchObject({
      rule: 'purpose:undeclared',
    });
    expect(resolvePurpose(config, 'alice', alice, { purpose: 'constructor' })).toMatchObject({
      rule: 'purpose:undeclared',
    });
  });
});

describe('footer facts: header > contact > purpose > controller', () => {
  const contact = {
    controller: 'acme',
    address: 'bob@client.example',
    source: 'carte de visite',
    obtainedAt: '2026-01-10',
    reason: 'Vous dirigez la DSI.',
    language: 'en' as const,
  };
  it('prefers the message header, then the contact, then the purpose', () => {
    expect(footerFacts(acme, prospecting, undefined, {})).toEqual({
      language: 'fr',
      reason: 'Votre fonction est liée à nos services.',
      source: prospecting.dataSource,
      obtainedAt: undefined,
    });
    expect(footerFacts(acme, prospecting, contact, {})).toEqual({
      language: 'en',
      reason: 'Vous dirigez la DSI.',
      source: 'carte de visite',
      obtainedAt: '2026-01-10',
    });
    expect(
      footerFacts(acme, prospecting, contact, { language: 'de', reason: 'R', source: 'S', sourceDate: '2026-02-01' }),
    ).toEqual({ language: 'de', reason: 'R', source: 'S', obtainedAt: '2026-02-01' });
  });
  it('says where the data comes from in the recipient’s language when the purpose gives it per language', () => {
    const localised = { ...prospecting, dataSource: { fr: 'le fichier du salon', de: 'die Besucherliste der Messe' } };
    expect(footerFacts(acme, localised, undefined, { language: 'de' }).source).toBe('die Besucherliste der Messe');
    expect(footerFacts(acme, localised, undefined, {}).source).toBe('le fichier du salon');
    expect(footerFacts(acme, localised, undefined, { language: 'en' }).source).toBe('le fichier du salon');
  });

  it("never pairs a message's own source with the contact's date", () => {
    expect(footerFacts(acme, prospecting, contact, { source: 'S' }).obtainedAt).toBeUndefined();
  });
});

describe('recipient policy', () => {
  const consumers = consumerDomains(config);
  const base = { purposeId: 'acme-prospecting', purpose: prospecting, hasDataSource: true };
  it('blocks a consumer mailbox without a professional record, and lets a recorded professional through', () => {
    const gmail = address('someone@gmail.com');
    expect(evaluateRecipient({ ...base, recipient: gmail, contact: undefined }, consumers)).toMatchObject([
      { outcome: 'block', rule: 'policy:consumer-mailbox' },
    ]);
    expect(
      evaluateRecipient(
        {
          ...base,
          recipient: gmail,
          contact: { controller: 'acme', address: gmail.address, professional: true },
        },
        consumers,
      ),
    ).toEqual([]);
  });
  it('needs recorded consent for a consent purpose and a data source on first contact', () => {
    const newsletter = config.purposes['acme-newsletter']!;
    const bob = address('bob@client.example');
    expect(
      evaluateRecipient(
        { recipient: bob, purposeId: 'acme-newsletter', purpose: newsletter, contact: undefined, hasDataSource: false },
        consumers,
      ).map((d) => d.rule),
    ).toEqual(expect.arrayContaining(['policy:no-consent', 'policy:no-data-source']));
  });
});

describe('directives', () => {
  it('reads the X-Fairsend-* headers, RFC 2047 decoded', () => {
    expect(
      readDirectives(headers('X-Fairsend-Purpose: acme-prospecting\r\nX-Fairsend-Reason: =?utf-8?q?Caf=C3=A9?=')),
    ).toEqual({ ok: true, directives: { purpose: 'acme-prospecting', reason: 'Café' } });
  });
  it('refuses a repeated, empty, overlong, unknown-language or impossible-date directive', () => {
    const reason = (lines: string) => {
      const read = readDirectives(headers(lines));
      return read.ok ? '' : read.reason;
    };
    expect(reason('X-Fairsend-Purpose: a\r\nX-Fairsend-Purpose: b')).toMatch(/more than once/);
    expect(reason('X-Fairsend-Reason: ')).toMatch(/empty/);
    expect(reason(`X-Fairsend-Reason: ${'x'.repeat(501)}`)).toMatch(/longer than 500/);
    expect(reason('X-Fairsend-Language: es')).toMatch(/must be one of fr, en, de/);
    expect(reason('X-Fairsend-Source-Date: 2026-02-30')).toBe(
      'X-Fairsend-Source-Date must be a real date as YYYY-MM-DD',
    );
  });
});
