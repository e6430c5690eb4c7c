import { type FairsendConfig, parseConfig } from '../../shared/config.ts';
import { hashPassword } from '../../shared/password.ts';

export const PASSWORD = 'correct horse battery staple';

let hash: Promise<string> | undefined;

/** A two-company config for tests; every port is 0 (the OS picks). */
export async function testConfig(overrides: (raw: Record<string, any>) => void = () => {}): Promise<FairsendConfig> {
  hash ??= hashPassword(PASSWORD);
  const passwordHash = await hash;
  const raw: Record<string, any> = {
    controllers: {
      acme: {
        legalName: 'ACME Prospection SARL',
        postalAddress: '1 place de la Gare, 69002 Lyon, France',
        contactEmail: 'contact@acme.example',
        privacyEmail: 'dpo@acme.example',
        defaultLanguage: 'fr',
        allowedSenders: ['acme.example'],
      },
      globex: {
        legalName: 'Globex GmbH',
        postalAddress: 'Hauptstraße 1, 10115 Berlin, Deutschland',
        contactEmail: 'info@globex.example',
        defaultLanguage: 'de',
        allowedSenders: ['globex.example'],
      },
    },
    purposes: {
      'acme-prospecting': {
        controller: 'acme',
        description: 'B2B prospecting',
        legalBasis: 'legitimate-interest',
        balancingTest: {
          interest: 'Finding customers for our services among companies that may need them.',
          necessity: 'Writing to the people whose role relates to the offer is the least intrusive way to reach them.',
          balance:
            'Professional addresses, messages about the role, opposition honoured at once: people can expect it.',
        },
        reason: { fr: 'Votre fonction est liée à nos services.', en: 'Your role relates to our services.' },
        dataSource: 'le fichier des visiteurs du Salon IT Lyon 2026',
      },
      'acme-newsletter': {
        controller: 'acme',
        description: 'Newsletter for people who subscribed',
        legalBasis: 'consent',
        consentCollection: {
          how: 'Sign-up form on acme.example with an unticked box.',
          proof: 'The sign-up time, form version and IP address, kept in the contact record.',
        },
        reason: { fr: 'Vous vous êtes abonné à notre lettre.', en: 'You subscribed to our newsletter.' },
        dataSource: 'votre inscription sur acme.example',
      },
      'acme-cto': {
        controller: 'acme',
        description: 'Prospecting IT leaders',
        legalBasis: 'legitimate-interest',
        balancingTest: {
          interest: 'Finding customers for our services among companies that may need them.',
          necessity: 'Writing to the people whose role relates to the offer is the least intrusive way to reach them.',
          balance:
            'Professional addresses, messages about the role, opposition honoured at once: people can expect it.',
        },
        reason: 'Vous dirigez une équipe informatique.',
        targetProfessions: ['CTO', 'DSI'],
      },
      'globex-outreach': {
        controller: 'globex',
        description: 'Kaltakquise B2B',
        legalBasis: 'legitimate-interest',
        balancingTest: {
          interest: 'Finding customers for our services among companies that may need them.',
          necessity: 'Writing to the people whose role relates to the offer is the least intrusive way to reach them.',
          balance:
            'Professional addresses, messages about the role, opposition honoured at once: people can expect it.',
        },
        reason: 'Ihre Funktion betrifft unsere Produkte.',
        dataSource: 'Messe Hannover 2026',
      },
    },
    smtpUsers: {
      alice: {
        passwordHash,
        controller: 'acme',
        allowedFrom: ['acme.example'],
        defaultPurpose: 'acme-prospecting',
      },
      desk: {
        passwordHash,
        controller: 'acme',
        allowedFrom: ['acme.example'],
        defaultPurpose: 'acme-prospecting',
        refusalMode: 'drop-and-notify',
      },
      gunter: {
        passwordHash,
        controller: 'globex',
        allowedFrom: ['gunter@globex.example'],
        defaultPurpose: 'globex-outreach',
      },
    },
    smtp: { starttlsPort: 0, implicitTlsPort: 0, maxMessageBytes: 2 * 1024 * 1024, maxRecipients: 50 },
    ses: {
      maxSendRate: 1000,
      retryDeadlineMs: 2000,
      requestTimeoutMs: 2000,
      configurationSet: 'fairsend-test',
    },
    dynamodb: { requestTimeoutMs: 1500 },
    http: { port: 0, publicBaseUrl: 'https://unsubscribe.acme.example' },
    tokens: {
      activeKeyId: 'k2',
      keys: { k1: 'an old secret that is still accepted 1234', k2: 'the current secret for new unsubscribe links' },
    },
    unsubscribe: { mailto: 'unsubscribe@acme.example' },
    privacy: { erasureKey: 'the test key of the keyed hash of erased addresses' },
  };
  overrides(raw);
  return parseConfig(raw, 'test config');
}
