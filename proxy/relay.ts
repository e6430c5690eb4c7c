import type { AddressInfo } from 'node:net';
import type {
  SMTPServer,
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';
import { matchesSenderPattern, type NormalisedAddress, normaliseAddress } from '../shared/address.ts';
import { AuthCache } from '../shared/auth-cache.ts';
import type { FairsendConfig, SmtpUser } from '../shared/config.ts';
import { SmtpReply } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { decoyHash, verifyPassword } from '../shared/password.ts';
import type { BlockedSend, BlockedSendLog } from '../shared/stores/blocked-sends.ts';
import type { ContactStore } from '../shared/stores/contacts.ts';
import type { OppositionList } from '../shared/stores/opposition-list.ts';
import type { SendLog } from '../shared/stores/send-log.ts';
import { Delivery } from './delivery.ts';
import { normaliseLineEndings } from './line-endings.ts';
import { declaredSize, MessageBuffer } from './message-buffer.ts';
import { MessagePipeline } from './message-pipeline.ts';
import type { CopySender } from './ses-sender.ts';
import { SubmissionServer } from './submission-server.ts';
import { parseSubmitted } from './submitted-message.ts';

export interface RelayDependencies {
  config: FairsendConfig;
  tls: { key: Buffer | string; cert: Buffer | string };
  oppositions: OppositionList;
  blockedSends: BlockedSendLog;
  sendLog: SendLog;
  contacts: ContactStore;
  sender: CopySender;
  log: Logger;
}

/** What one mail transaction learned at RCPT, for DATA. */
interface Transaction {
  blocked: BlockedSend[];
}

export interface RelayAddresses {
  starttls: AddressInfo;
  implicitTls: AddressInfo;
}

/**
 * The submission service: STARTTLS (RFC 6409) and implicit TLS (RFC 8314) listeners sharing one
 * set of hooks. smtp-server carries the protocol; these hooks carry Fairsend's rules.
 */
export class Relay {
  private readonly servers: SMTPServer[];
  private readonly transactions = new WeakMap<object, Transaction>();
  private readonly pipeline: MessagePipeline;
  private readonly authCache = new AuthCache();

  constructor(private readonly deps: RelayDependencies) {
    const { smtp, ses } = deps.config;
    const delivery = new Delivery(
      deps.sender,
      deps.sendLog,
      {
        concurrency: ses.sendConcurrency,
        idempotencyWindowHours: ses.idempotencyWindowHours,
        maxBytesInFlight: 64 * 1024 * 1024,
      },
      deps.log,
    );
    this.pipeline = new MessagePipeline(deps.config, deps.contacts, deps.blockedSends, delivery, deps.log);
    const common = {
      name: smtp.hostname,
      banner: 'Fairsend submission service',
      key: deps.tls.key,
      cert: deps.tls.cert,
      authMethods: ['PLAIN', 'LOGIN'],
      // No AUTH, no mail: not an open relay, not even on loopback. AUTH only over TLS.
      authOptional: false,
      allowInsecureAuth: false,
      authRequiredMessage: '5.7.0 Authentication required: log in with your Fairsend SMTP user',
      size: smtp.maxMessageBytes,
      maxClients: smtp.maxConnections,
      socketTimeout: smtp.socketTimeoutMs,
      closeTimeout: smtp.closeTimeoutMs,
      // A submission service has no use for the client's PTR record.
      disableReverseLookup: true,
      logger: false,
      onAuth: this.onAuth.bind(this),
      onMailFrom: this.onMailFrom.bind(this),
      onRcptTo: this.onRcptTo.bind(this),
      onData: this.onData.bind(this),
    } satisfies SMTPServerOptions;
    const delay = smtp.greetingDelayMs;
    this.servers = [
      new SubmissionServer({ ...common, secure: false }, delay),
      new SubmissionServer({ ...common, secure: true }, delay),
    ];
    for (const server of this.servers) {
      server.on('error', (err) => deps.log.warn('smtp.connection-error', { err }));
    }
  }

  async listen(): Promise<RelayAddresses> {
    const { host, starttlsPort, implicitTlsPort } = this.deps.config.smtp;
    const listen = (server: SMTPServer, port: number) =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(port, host, () => {
          server.server.off('error', reject);
          resolve(server.server.address() as AddressInfo);
        });
      });
    const [starttls, implicitTls] = await Promise.all([
      listen(this.servers[0]!, starttlsPort),
      listen(this.servers[1]!, implicitTlsPort),
    ]);
    return { starttls, implicitTls };
  }

  /** Stops accepting connections; transactions under way get closeTimeoutMs to finish. */
  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private user(session: SMTPServerSession): { name: string; entry: SmtpUser } {
    const name = String(session.user);
    const entry = this.deps.config.smtpUsers[name];
    if (!entry) throw new SmtpReply(421, '4.7.0', 'your user was removed from the configuration');
    return { name, entry };
  }

  private onAuth(
    auth: SMTPServerAuthentication,
    _session: SMTPServerSession,
    callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void,
  ): void {
    const username = auth.username ?? '';
    const password = auth.password ?? '';
    const entry = Object.hasOwn(this.deps.config.smtpUsers, username)
      ? this.deps.config.smtpUsers[username]
      : undefined;
    if (entry && this.authCache.has(username, password, entry.passwordHash)) {
      callback(null, { user: username });
      return;
    }
    const check = async () => verifyPassword(password, entry?.passwordHash ?? (await decoyHash()));
    check().then(
      (ok) => {
        if (ok && entry) {
          this.authCache.remember(username, password, entry.passwordHash);
          return callback(null, { user: username });
        }
        this.deps.log.warn('smtp.auth-failed', { user: username.slice(0, 128) });
        callback(new SmtpReply(535, '5.7.8', 'Authentication credentials invalid'));
      },
      (err) => callback(new SmtpReply(454, '4.7.0', 'Temporary authentication failure', { cause: err })),
    );
  }

  private onMailFrom(
    address: SMTPServerAddress,
    session: SMTPServerSession,
    callback: (err?: Error | null) => void,
  ): void {
    try {
      const { name, entry } = this.user(session);
      const sender = normaliseAddress(address.address);
      if (!sender) {
        callback(new SmtpReply(553, '5.1.7', `<${address.address}>: not a valid sender address`));
        return;
      }
      if (!allowedFor(entry, sender)) {
        callback(new SmtpReply(550, '5.7.1', `<${address.address}>: sender address not allowed for user ${name}`));
        return;
      }
      this.transactions.set(session.envelope, { blocked: [] });
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private onRcptTo(
    address: SMTPServerAddress,
    session: SMTPServerSession,
    callback: (err?: Error | null) => void,
  ): void {
    this.checkRecipient(address, session).then(
      () => callback(),
      (err: Error) => callback(err),
    );
  }

  private async checkRecipient(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const { name, entry } = this.user(session);
    const { config } = this.deps;
    if (session.envelope.rcptTo.length >= config.smtp.maxRecipients) {
      throw new SmtpReply(452, '4.5.3', `too many recipients: at most ${config.smtp.maxRecipients} per message`);
    }
    const recipient = normaliseAddress(address.address);
    if (!recipient) throw new SmtpReply(553, '5.1.3', `<${address.address}>: not a valid recipient address`);

    let opposition: Awaited<ReturnType<OppositionList['findBlocking']>>;
    try {
      opposition = await this.deps.oppositions.findBlocking(entry.controller, recipient);
    } catch (err) {
      // Fail closed: an unreadable opposition list means we cannot know, so nothing is sent.
      this.deps.log.error('opposition.unavailable', { err });
      throw new SmtpReply(451, '4.3.0', 'opposition list unavailable, try again later', { cause: err });
    }
    if (!opposition) return;

    const controller = config.controllers[entry.controller]!;
    const reply = new SmtpReply(
      550,
      '5.7.1',
      `<${address.address}>: recipient has objected to messages from ${controller.legalName}`,
    );
    const tx = this.transactions.get(session.envelope);
    try {
      const record = await this.deps.blockedSends.record({
        controller: entry.controller,
        user: name,
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        recipient: recipient.address,
        rule: opposition.subject.startsWith('@') ? 'opposition:domain' : 'opposition:address',
        reply: reply.toString(),
      });
      tx?.blocked.push(record);
    } catch (err) {
      // The refusal stands whether or not the review log could be written.
      this.deps.log.error('blocked-send.unrecorded', { err, controller: entry.controller });
    }
    throw reply;
  }

  private onData(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (err?: Error | null, message?: string) => void,
  ): void {
    const mailFrom = session.envelope.mailFrom;
    const message = new MessageBuffer(
      declaredSize(mailFrom ? mailFrom.args : undefined),
      this.deps.config.smtp.maxMessageBytes,
    );
    stream.on('data', (chunk: Buffer) => {
      if (!stream.sizeExceeded) message.push(chunk);
    });
    stream.once('end', () => {
      if (stream.sizeExceeded) {
        return callback(
          new SmtpReply(
            552,
            '5.3.4',
            `message exceeds the maximum size of ${this.deps.config.smtp.maxMessageBytes} bytes`,
          ),
        );
      }
      this.handleMessage(message.toBuffer(), session).then(
        (reply) => callback(null, reply),
        (err: Error) => {
          if (err instanceof SmtpReply) return callback(err);
          this.deps.log.error('smtp.data-failed', { err });
          callback(new SmtpReply(451, '4.3.0', 'internal error, nothing was sent; try again later', { cause: err }));
        },
      );
    });
  }

  private async handleMessage(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const { name, entry } = this.user(session);
    const lines = normaliseLineEndings(raw);
    if (!lines.ok) throw new SmtpReply(554, '5.6.0', `message refused: ${lines.reason}`);
    const parsed = parseSubmitted(lines.message);
    if (!parsed.ok) throw new SmtpReply(554, '5.6.0', `message refused: ${parsed.reason}`);
    const message = parsed.message;

    for (const address of [...message.from, ...(message.sender ? [message.sender] : [])]) {
      if (!allowedFor(entry, address)) {
        throw new SmtpReply(550, '5.7.1', `header From/Sender <${address.address}> not allowed for user ${name}`);
      }
    }

    const tx = this.transactions.get(session.envelope);
    if (tx && tx.blocked.length > 0) {
      this.deps.blockedSends
        .annotate(tx.blocked, { subject: message.subject, messageId: message.messageId })
        .catch((err: unknown) => this.deps.log.warn('blocked-send.annotate-failed', { err }));
    }

    const recipients = new Map<string, NormalisedAddress>();
    for (const rcpt of session.envelope.rcptTo) {
      const address = normaliseAddress(rcpt.address);
      if (address) recipients.set(address.address, address);
    }
    return this.pipeline.process({
      user: name,
      entry,
      mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      recipients: [...recipients.values()],
      message,
    });
  }
}

function allowedFor(user: SmtpUser, address: NormalisedAddress): boolean {
  return user.allowedFrom.some((pattern) => matchesSenderPattern(address, pattern));
}
