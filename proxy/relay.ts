import type { Hash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type {
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
import { matchingFor, oppositionVerdict, recordedRefusal } from '../shared/rules/opposition.ts';
import { SmtpUserDirectory } from '../shared/smtp-users.ts';
import type { BlockedSend } from '../shared/stores/blocked-sends.ts';
import type { Contact } from '../shared/stores/contacts.ts';
import type { Stores } from '../shared/stores/index.ts';
import type { Opposition } from '../shared/stores/opposition-list.ts';
import { defer, type Refusal, reject } from '../shared/verdict.ts';
import { ConnectionLimits } from './connection-limits.ts';
import { DataBudget } from './data-budget.ts';
import { Delivery } from './delivery.ts';
import { LoginThrottle, loggableUser } from './login-throttle.ts';
import { declaredSize, MessageBuffer } from './message-buffer.ts';
import { LineScan } from './message-lines.ts';
import { idempotencyHash, MessagePipeline, type PipelineResult } from './message-pipeline.ts';
import { trustedPeers } from './proxy-protocol.ts';
import { recordRefusal } from './refusal-log.ts';
import type { CopySender } from './ses-sender.ts';
import { replyFor, SmtpReply } from './smtp-replies.ts';
import { SubmissionServer } from './submission-server.ts';
import { parseSubmitted } from './submitted-message.ts';

export interface RelayDependencies extends Stores {
  config: FairsendConfig;
  tls: { key: Buffer | string; cert: Buffer | string };
  sender: CopySender;
  log: Logger;
  /** Who may log in; by default the config's users and those managed in the console. */
  users?: SmtpUserDirectory;
}

/** What one mail transaction learned at RCPT, for DATA, and its deadline. */
interface Transaction {
  blocked: BlockedSend[];
  /** Refused recipients, each recorded once however often the client names it. */
  refused: Set<string>;
  /** Every refused RCPT, for the cap. */
  refusals: number;
  /** drop-and-notify: recipients accepted at RCPT but not to be sent to, with the reply they would have had. */
  dropped: Map<string, string>;
  /** Recipients accepted at RCPT, as checked there: DATA's re-check reuses what RCPT derived from them. */
  accepted: Map<string, NormalisedAddress>;
  /** Their contact records (null: none), read at RCPT with the opposition check, in the same request. */
  contacts: Map<string, Contact | null>;
  timer: NodeJS.Timeout;
}

/** What the relay keeps per connection (smtp-server's session id). */
interface ConnectionState {
  transaction?: Transaction;
  failedLogins: number;
  /** A DATA upload under way: what to let go if the connection closes before it ends. */
  upload?: { ended: boolean; abandon(): void };
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
  private readonly servers: SubmissionServer[];
  private readonly connections = new Map<string, ConnectionState>();
  private readonly pipeline: MessagePipeline;
  private readonly authCache = new AuthCache();
  private readonly limits: ConnectionLimits;
  private readonly logins: LoginThrottle;
  private readonly dataBudget: DataBudget;
  readonly users: SmtpUserDirectory;
  /** When each user's last successful login was recorded (at most once a minute each). */
  private readonly loginRecorded = new Map<string, number>();

  constructor(private readonly deps: RelayDependencies) {
    const { smtp, ses } = deps.config;
    const delivery = new Delivery(
      deps.sender,
      deps.sendLog,
      { concurrency: ses.sendConcurrency, maxBytesInFlight: 64 * 1024 * 1024 },
      deps.log,
    );
    this.pipeline = new MessagePipeline(deps.config, deps, delivery, deps.log);
    this.limits = new ConnectionLimits(smtp.maxConnections, smtp.maxConnectionsPerIp);
    this.logins = new LoginThrottle(smtp.loginThrottle);
    this.dataBudget = new DataBudget(smtp.maxDataBytesInFlight);
    this.users = deps.users ?? new SmtpUserDirectory(deps.config.smtpUsers, deps.admin, deps.log, smtp.userRefreshMs);
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
      onClose: this.onClose.bind(this),
    } satisfies SMTPServerOptions;
    const submission = {
      greetingDelayMs: smtp.greetingDelayMs,
      authTimeoutMs: smtp.authTimeoutMs,
      limits: this.limits,
      ...(smtp.proxyProtocol ? { trustedProxy: trustedPeers(smtp.proxyProtocol.trustedCidrs) } : {}),
    };
    this.servers = [
      new SubmissionServer({ ...common, secure: false }, submission),
      new SubmissionServer({ ...common, secure: true }, submission),
    ];
    for (const server of this.servers) {
      server.on('error', (err) => deps.log.warn('smtp.connection-error', { err }));
    }
  }

  async listen(): Promise<RelayAddresses> {
    await this.users.start();
    const { host, starttlsPort, implicitTlsPort } = this.deps.config.smtp;
    const listen = (server: SubmissionServer, port: number) =>
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

  /**
   * A renewed certificate, for every connection from now on (STARTTLS and implicit TLS alike:
   * smtp-server builds each TLS socket from this context); connections already up keep theirs.
   */
  updateCertificate(tls: { key: string | Buffer; cert: string | Buffer }): void {
    for (const server of this.servers) {
      server.secureContext.set('*', createSecureContext({ ...server.options, key: tls.key, cert: tls.cert }));
    }
  }

  /** Stops accepting connections; transactions under way get closeTimeoutMs to finish. */
  async close(): Promise<void> {
    this.users.stop();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  /** The session's user, or the refusal to give if the configuration no longer has them. */
  private user(session: SMTPServerSession): { name: string; entry: SmtpUser } {
    const name = String(session.user);
    const entry = this.users.get(name);
    if (!entry) throw replyFor(defer('user:removed', 'your user was removed or disabled'));
    return { name, entry };
  }

  /** What the console shows of a user's logins; a failed write changes nothing for the client. */
  private recordLogin(name: string, ok: boolean, ip: string): void {
    const now = Date.now();
    if (ok && now - (this.loginRecorded.get(name) ?? 0) < 60_000) return;
    if (ok) this.loginRecorded.set(name, now);
    this.deps.admin
      .recordSmtpLogin(name, ok, ip, new Date(now).toISOString())
      .catch((err: unknown) => this.deps.log.warn('smtp.login-unrecorded', { err }));
  }

  private state(session: SMTPServerSession): ConnectionState {
    let state = this.connections.get(session.id);
    if (!state) {
      state = { failedLogins: 0 };
      this.connections.set(session.id, state);
    }
    return state;
  }

  private onClose(session: SMTPServerSession): void {
    const state = this.connections.get(session.id);
    if (state?.transaction) clearTimeout(state.transaction.timer);
    // An upload cut off before its end never reaches `finish`: its bytes are let go here. One
    // that ended is still being sent and is let go when that is done.
    if (state?.upload && !state.upload.ended) state.upload.abandon();
    this.connections.delete(session.id);
  }

  private onAuth(
    auth: SMTPServerAuthentication,
    session: SMTPServerSession,
    callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void,
  ): void {
    const username = auth.username ?? '';
    const password = auth.password ?? '';
    const ip = session.remoteAddress;
    const entry = this.users.get(username);
    const throttle = this.logins.check(ip, username);
    if (!throttle.allowed) {
      this.deps.log.warn('smtp.auth-throttled', { ip, user: loggableUser(username, Boolean(entry)) });
      callback(
        replyFor(
          defer(
            'auth:throttled',
            `${throttle.reason}: try again in ${Math.ceil(throttle.retryInSeconds / 60)} minute(s)`,
          ),
        ),
      );
      return;
    }
    if (entry && this.authCache.has(username, password, entry.passwordHash)) {
      this.recordLogin(username, true, ip);
      callback(null, { user: username });
      return;
    }
    const check = async () => verifyPassword(password, entry?.passwordHash ?? (await decoyHash()));
    check().then(
      (ok) => {
        if (ok && entry) {
          this.authCache.remember(username, password, entry.passwordHash);
          this.recordLogin(username, true, ip);
          return callback(null, { user: username });
        }
        if (entry) this.recordLogin(username, false, ip);
        const state = this.state(session);
        state.failedLogins++;
        const delay = this.logins.fail(ip, username);
        this.deps.log.warn('smtp.auth-failed', {
          ip,
          user: loggableUser(username, Boolean(entry)),
          failuresOnConnection: state.failedLogins,
        });
        const closing = state.failedLogins >= this.deps.config.smtp.loginThrottle.maxFailuresPerConnection;
        // A growing delay before the answer: guessing gets slower with every failure.
        setTimeout(
          () =>
            callback(
              replyFor(
                closing
                  ? defer('auth:too-many-failures', 'Too many failed logins on this connection, closing')
                  : reject('auth:failed', 'Authentication credentials invalid'),
              ),
            ),
          delay,
        ).unref();
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
        const context = { controller: entry.controller, user: name, mailFrom: address.address, recipients: [] };
        void recordRefusal(this.deps.blockedSends, this.deps.log, context, verdict);
        callback(replyFor(verdict));
        return;
      }
      // RFC 1870 §6.2: a declared size the relay cannot hold now is refused at once, not after the upload.
      const declared = declaredSize(address.args);
      if (declared !== undefined && !this.dataBudget.couldHold(declared)) {
        callback(replyFor(insufficientStorage()));
        return;
      }
      this.startTransaction(session);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  /**
   * A transaction (MAIL FROM to the end of DATA) may stay open `maxTransactionMs`; past it the
   * connection is closed with 421, so a client cannot hold a transaction open with NOOPs.
   */
  private startTransaction(session: SMTPServerSession): void {
    const state = this.state(session);
    if (state.transaction) clearTimeout(state.transaction.timer);
    const timer = setTimeout(() => {
      this.deps.log.warn('smtp.transaction-timeout', { ip: session.remoteAddress });
      this.closeConnection(session, 'the transaction took too long (MAIL FROM to the end of DATA); nothing was sent');
    }, this.deps.config.smtp.maxTransactionMs);
    timer.unref();
    state.transaction = {
      blocked: [],
      refused: new Set(),
      refusals: 0,
      dropped: new Map(),
      accepted: new Map(),
      contacts: new Map(),
      timer,
    };
  }

  private endTransaction(session: SMTPServerSession): void {
    const state = this.connections.get(session.id);
    if (state?.transaction) clearTimeout(state.transaction.timer);
    if (state) state.transaction = undefined;
  }

  /** 421 and close, from outside a command (a timer). */
  private closeConnection(session: SMTPServerSession, why: string): void {
    for (const server of this.servers) {
      for (const connection of server.connections) {
        if (connection.id === session.id) connection.send(421, replyFor(defer('transaction:timeout', why)).message);
      }
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
    const tx = this.connections.get(session.id)?.transaction;
    // Every refused RCPT costs a lookup and maybe a record: past the cap the connection is closed.
    if (tx && tx.refusals >= config.smtp.maxRefusedRecipients) {
      throw replyFor(
        defer(
          'recipient:too-many-refused',
          `more than ${config.smtp.maxRefusedRecipients} refused recipients in one transaction, closing`,
        ),
      );
    }
    const checked = checkRecipient(address.address, session.envelope.rcptTo.length, config.smtp.maxRecipients);
    if (checked.kind !== 'accept') {
      if (tx && checked.kind === 'reject') tx.refusals++;
      throw replyFor(checked);
    }

    const controller = config.controllers[entry.controller]!;
    let opposition: Opposition | null;
    let contact: Contact | null;
    try {
      // The person's contact record comes in the same BatchGetItem: the end of DATA then knows
      // what each footer will say before its own read is back (message-pipeline.ts).
      const [found, contacts] = await this.deps.read([
        this.deps.oppositions.findBlockingRequest(
          entry.controller,
          [checked.address],
          matchingFor(controller, this.deps.config.privacy.erasureKey),
        ),
        this.deps.contacts.getManyRequest(entry.controller, [checked.address.address]),
      ] as const);
      opposition = found.get(checked.address.address) ?? null;
      contact = contacts.get(checked.address.address) ?? null;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      // Fail closed: an unreadable opposition list means we cannot know, so nothing is sent.
      this.deps.log.error('opposition.unavailable', { err });
      throw replyFor(defer('store:unavailable', 'opposition list unavailable, try again later'), { cause: err });
    }
    const verdict = oppositionVerdict(opposition, controller, address.address);
    if (verdict.kind === 'accept') {
      tx?.accepted.set(checked.address.address, checked.address);
      tx?.contacts.set(checked.address.address, contact);
      return;
    }

    const reply = replyFor(verdict);
    if (tx) tx.refusals++;
    // One record per (transaction, recipient), however often the client names it.
    if (tx?.refused.has(checked.address.address)) throw reply;
    tx?.refused.add(checked.address.address);
    const recorded = recordedRefusal(opposition, [address.address, checked.address.address]);
    try {
      const record = await this.deps.blockedSends.record({
        controller: entry.controller,
        user: name,
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        recipient: recorded.recipient(checked.address.address),
        rule: verdict.rule,
        reason: recorded.scrub(verdict.reason),
        reply: recorded.scrub(reply.toString()),
      });
      tx?.blocked.push(record);
      // One line per refused recipient: the deployed stack counts them (a spike raises an alarm).
      this.deps.log.info('blocked-send', { controller: entry.controller, rule: verdict.rule, outcome: 'blocked' });
    } catch (err) {
      // The refusal stands whether or not the review log could be written.
      this.deps.log.error('blocked-send.unrecorded', { err, controller: entry.controller });
    }
    if (entry.refusalMode === 'drop-and-notify' && tx) {
      // Accepted so the client does not abort the whole message; never sent; in the notice.
      tx.dropped.set(checked.address.address, reply.toString());
      return;
    }
    throw reply;
  }

  private onData(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (err?: Error | null, message?: string) => void,
  ): void {
    const mailFrom = session.envelope.mailFrom;
    const { maxMessageBytes, maxDataMs } = this.deps.config.smtp;
    // Every byte held counts against the process-wide budget, so slow or huge uploads from a few
    // clients cannot take the memory the others need.
    const hold = this.dataBudget.open();
    const declared = declaredSize(mailFrom ? mailFrom.args : undefined);
    const prealloc = MessageBuffer.allocationFor(declared, maxMessageBytes);
    let message: MessageBuffer | null = new MessageBuffer(hold.grow(prealloc) ? declared : undefined, maxMessageBytes);
    let received = 0;
    // The end of DATA's line checks and the idempotency key's hash, made as the chunks come: the
    // end of a large message then holds the event loop (every session) for none of that.
    const scan = new LineScan();
    const digest = idempotencyHash(String(session.user), mailFrom ? mailFrom.address : '');
    const deadline = setTimeout(() => {
      this.deps.log.warn('smtp.data-timeout', { ip: session.remoteAddress, received });
      this.closeConnection(session, `the message took longer than ${maxDataMs / 1000} s to upload; nothing was sent`);
    }, maxDataMs);
    deadline.unref();
    const state = this.state(session);
    const upload = {
      ended: false,
      abandon: () => {
        clearTimeout(deadline);
        hold.release();
      },
    };
    state.upload = upload;
    const finish = (err: Error | null, text?: string) => {
      upload.abandon();
      if (state.upload === upload) state.upload = undefined;
      this.endTransaction(session);
      callback(err, text);
    };
    stream.on('data', (chunk: Buffer) => {
      if (stream.sizeExceeded || !message) return;
      received += chunk.length;
      if (!hold.grow(received - hold.bytes)) {
        // Over the budget: let go of it at once (so the other uploads can finish), read on to the
        // end, then refuse.
        message = null;
        hold.release();
        return;
      }
      message.push(chunk);
      scan.push(chunk);
      digest.update(chunk);
    });
    stream.once('end', () => {
      upload.ended = true;
      if (stream.sizeExceeded) {
        return finish(
          replyFor(reject('message:too-large', `message exceeds the maximum size of ${maxMessageBytes} bytes`)),
        );
      }
      // Making the message one Buffer may hold more for a moment (a small message's chunks joined,
      // or one step of moving a large one out of its growable block): that too must fit.
      const join = message ? message.joinBytes : 0;
      if (!message || !hold.grow(join)) return finish(replyFor(insufficientStorage()));
      const raw = message.toBuffer();
      hold.shrink(join);
      message = null;
      this.handleMessage(raw, session, { scan, digest }).then(
        (result) => (result.kind === 'accept' ? finish(null, result.text) : finish(replyFor(result))),
        (err: Error) => {
          if (err instanceof SmtpReply) return finish(err);
          this.deps.log.error('smtp.data-failed', { err });
          finish(
            replyFor(defer('internal:error', 'internal error, nothing was sent; try again later'), { cause: err }),
          );
        },
      );
    });
  }

  /** `upload`: the checks made and the hash fed while `raw` came in, chunk by chunk. */
  private async handleMessage(
    raw: Buffer,
    session: SMTPServerSession,
    upload: { scan: LineScan; digest: Hash },
  ): Promise<PipelineResult> {
    const { name, entry } = this.user(session);
    const context = {
      controller: entry.controller,
      user: name,
      mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      recipients: session.envelope.rcptTo.map((r) => normaliseAddress(r.address)?.address ?? r.address),
    };
    const refuse = async (refusal: Refusal, details: { subject?: string; messageId?: string } = {}) => {
      await recordRefusal(this.deps.blockedSends, this.deps.log, { ...context, ...details }, refusal);
      return refusal;
    };
    const lines = upload.scan.result(raw);
    if (!lines.ok) return refuse(reject('message:malformed', `message refused: ${lines.reason}`));
    // The hash is of the bytes as they came: the key when those are the message (not normalised).
    const key = lines.message === raw ? upload.digest.digest('base64url') : undefined;
    const parsed = parseSubmitted(lines.message);
    if (!parsed.ok) return refuse(reject('message:malformed', `message refused: ${parsed.reason}`));
    const message = parsed.message;

    const senders = checkHeaderSenders(entry, name, [...message.from, ...(message.sender ? [message.sender] : [])]);
    if (senders.kind !== 'accept') return refuse(senders, { subject: message.subject, messageId: message.messageId });

    const tx = this.connections.get(session.id)?.transaction;
    if (tx && tx.blocked.length > 0) {
      this.deps.blockedSends
        .annotate(tx.blocked, { subject: message.subject, messageId: message.messageId })
        .catch((err: unknown) => this.deps.log.warn('blocked-send.annotate-failed', { err }));
    }

    const dropped = tx?.dropped ?? new Map<string, string>();
    const recipients = new Map<string, NormalisedAddress>();
    for (const rcpt of session.envelope.rcptTo) {
      const address = normaliseAddress(rcpt.address);
      if (address && !dropped.has(address.address))
        recipients.set(address.address, tx?.accepted.get(address.address) ?? address);
    }
    return this.pipeline.process({
      user: name,
      entry,
      mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      recipients: [...recipients.values()],
      dropped: [...dropped].map(([recipient, reply]) => ({ recipient, reply })),
      ...(tx ? { contacts: tx.contacts } : {}),
      message,
      ...(key ? { idempotencyKey: key } : {}),
    });
  }
}

function insufficientStorage() {
  return defer('storage:insufficient', 'the relay is holding too much mail right now; try again in a few minutes');
}
