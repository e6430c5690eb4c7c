import nodemailer from 'nodemailer';
import type { Actor } from '../../shared/console/service.ts';
import type { LocalStack } from './stack.ts';

/**
 * A little traffic for the demo company on the first `npm start`, sent through the real relay
 * (SMTP over STARTTLS with the demo user), so the console has something to show: copies delivered,
 * bounced and complained about (SES's mailbox simulator), a recipient on the opposition list
 * refused, one flagged for review. `FAIRSEND_DEMO_DATA=0` skips it.
 */
export async function sendDemoTraffic(
  stack: LocalStack,
  credentials: { user: string; password: string },
  ca: string | Buffer,
): Promise<number> {
  const actor: Actor = { name: 'demo data', role: 'admin', via: 'cli' };
  const controller = Object.keys(stack.config.controllers)[0]!;
  const domain = stack.config.controllers[controller]!.allowedSenders[0]!.replace(/^.*@/, '');
  await stack.console.addOpposition(actor, controller, 'paul.martin@client.example', 'asked by phone (demo data)');
  await stack.console.addOpposition(
    actor,
    controller,
    '@concurrent.example',
    'a competitor: never prospect (demo data)',
  );
  await stack.console.saveContact(actor, {
    controller,
    address: 'chef@bistrot.example',
    profession: 'Chef de cuisine',
    source: 'annuaire des restaurateurs 2026',
    professional: true,
  });
  const transport = nodemailer.createTransport({
    host: stack.smtp.starttls.address,
    port: stack.smtp.starttls.port,
    requireTLS: true,
    auth: { user: credentials.user, pass: credentials.password },
    tls: { ca, servername: stack.config.smtp.hostname },
  });
  const from = `Claire Dubois <claire.dubois@${domain}>`;
  const mails: { to: string[]; subject: string; purpose?: string }[] = [
    { to: ['success@simulator.amazonses.com'], subject: 'Audit de votre infrastructure' },
    {
      to: ['success@simulator.amazonses.com', 'bounce@simulator.amazonses.com'],
      subject: 'Invitation : petit-déjeuner IT',
    },
    { to: ['complaint@simulator.amazonses.com'], subject: 'Nos offres de fin d’année' },
    { to: ['paul.martin@client.example', 'success@simulator.amazonses.com'], subject: 'Relance : audit de sécurité' },
    { to: ['direction@concurrent.example'], subject: 'Partenariat ?' },
    { to: ['chef@bistrot.example'], subject: 'Votre système de caisse', purpose: 'prospection-dsi' },
  ];
  let sent = 0;
  try {
    for (const mail of mails) {
      await transport
        .sendMail({
          from,
          to: mail.to,
          subject: mail.subject,
          text: 'Bonjour,\n\nUn message de démonstration de Fairsend.\n\nClaire Dubois',
          ...(mail.purpose ? { headers: { 'X-Fairsend-Purpose': mail.purpose } } : {}),
        })
        .then(
          () => sent++,
          () => undefined, // refused: that is the point of some of them
        );
    }
  } finally {
    transport.close();
  }
  await stack.simulator?.settled();
  return sent;
}
