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
import { type NormalisedAddress, normaliseAddress } from '../shared/address.ts';
import { AuthCache } from '../shared/auth-cache.ts';
import type { FairsendConfig, SmtpUser } from '../shared/config.ts';
import { StoreUnavailableError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { decoyHash, verifyPassword } from '../shared/password.ts';
import { checkEnvelopeSender, checkHeaderSenders, checkRecipient } from '../shared/rules/envelope.ts';
import { oppositionVerdict } from '../shared/rules/opposition.ts';
import type { BlockedSend, BlockedSendLog } from '../shared/stores/blocked-sends.ts';
import type { ContactStore } from '../shared/stores/contacts.ts';
import type { Opposition, OppositionList } from '../shared/stores/opposition-list.ts';
import type { SendLog } from '../shared/stores/send-log.ts';
import { defer, reject } from '../shared/verdict.ts';
import { Delivery } from './delivery.ts';
import { declaredSize, MessageBuffer } from './message-buffer.ts';
import { checkMessageLines } from './message-lines.ts';
import { MessagePipeline, type PipelineResult } from './message-pipeline.ts';
import type { CopySender } from './ses-sender.ts';
import { replyFor, SmtpReply } from './smtp-replies.ts';
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
      { concurrency: ses.sendConcurrency, maxBytesInFlight: 64 * 1024 * 1024 },
      deps.log,
    );
    this.pipeline = new MessagePipeline(deps.config, deps, delivery, deps.log);
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

  /** The session's user, or the refusal to give if the configuration no longer has them. */
  private user(session: SMTPServerSession): { name: string; entry: SmtpUser } {
    const name = String(session.user);
    const entry = this.deps.config.smtpUsers[name];
    if (!entry) throw replyFor(defer('user:removed', 'your user was removed from the configuration'));
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
        callback(replyFor(reject('auth:failed', 'Authentication credentials invalid')));
      },
      (err) => callback(replyFor(defer('auth:unavailable', 'Temporary authentication failure'), { cause: err })),
    );
  }

  private onMailFrom(
    address: SMTPServerAddress,
    session: SMTPServerSession,
    callback: (err?: Error | null) => void,
  ): void {
    try {
      const { name, entry } = this.user(session);
      const verdict = checkEnvelopeSender(entry, name, address.address);
      if (verdict.kind !== 'accept') {
        callback(replyFor(verdict));
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
    const checked = checkRecipient(address.address, session.envelope.rcptTo.length, config.smtp.maxRecipients);
    if (checked.kind !== 'accept') throw replyFor(checked);

    let opposition: Opposition | null;
    try {
      opposition = await this.deps.oppositions.findBlocking(entry.controller, checked.address);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      // Fail closed: an unreadable opposition list means we cannot know, so nothing is sent.
      this.deps.log.error('opposition.unavailable', { err });
      throw replyFor(defer('store:unavailable', 'opposition list unavailable, try again later'), { cause: err });
    }
    const verdict = oppositionVerdict(opposition, config.controllers[entry.controller]!, address.address);
    if (verdict.kind === 'accept') return;

    const reply = replyFor(verdict);
    const tx = this.transactions.get(session.envelope);
    try {
      const record = await this.deps.blockedSends.record({
        controller: entry.controller,
        user: name,
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        recipient: checked.address.address,
        rule: verdict.rule,
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
    const { maxMessageBytes } = this.deps.config.smtp;
    const message = new MessageBuffer(declaredSize(mailFrom ? mailFrom.args : undefined), maxMessageBytes);
    stream.on('data', (chunk: Buffer) => {
      if (!stream.sizeExceeded) message.push(chunk);
    });
    stream.once('end', () => {
      if (stream.sizeExceeded) {
        return callback(
          replyFor(reject('message:too-large', `message exceeds the maximum size of ${maxMessageBytes} bytes`)),
        );
      }
      this.handleMessage(message.toBuffer(), session).then(
        (result) => (result.kind === 'accept' ? callback(null, result.text) : callback(replyFor(result))),
        (err: Error) => {
          if (err instanceof SmtpReply) return callback(err);
          this.deps.log.error('smtp.data-failed', { err });
          callback(
            replyFor(defer('internal:error', 'internal error, nothing was sent; try again later'), { cause: err }),
          );
        },
      );
    });
  }

  private async handleMessage(raw: Buffer, session: SMTPServerSession): Promise<PipelineResult> {
    const { name, entry } = this.user(session);
    const lines = checkMessageLines(raw);
    if (!lines.ok) return reject('message:malformed', `message refused: ${lines.reason}`);
    const parsed = parseSubmitted(lines.message);
    if (!parsed.ok) return reject('message:malformed', `message refused: ${parsed.reason}`);
    const message = parsed.message;

    const senders = checkHeaderSenders(entry, name, [...message.from, ...(message.sender ? [message.sender] : [])]);
    if (senders.kind !== 'accept') return senders;

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
