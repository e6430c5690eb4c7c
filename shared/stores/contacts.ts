import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { personKey } from '../address.ts';
import { language } from '../config.ts';
import { calendarDate } from '../dates.ts';
import { DEFAULT_RETENTION, expiresAfter, isExpired, type Retention } from '../retention.ts';
import { batchRead, type ReadRequest } from './dynamo.ts';
import { isConditionFailed, storeError } from './store-error.ts';

/**
 * What the company knows about one person it prospects (minimised: what the CNIL mentions and the
 * policy need), and when it first and last wrote to them.
 */
export const contactSchema = z.object({
  controller: z.string(),
  address: z.string(),
  /** Where the data comes from: "list bought from X", "trade fair Y", "your business card". */
  source: z.string().optional(),
  /** When it was obtained. */
  obtainedAt: calendarDate.optional(),
  profession: z.string().optional(),
  company: z.string().optional(),
  /** Set when a record says the person is contacted as a professional (B2B). */
  professional: z.boolean().optional(),
  language: language.optional(),
  /** Why this person in particular is contacted; overrides the purpose's reason. */
  reason: z.string().optional(),
  consent: z.object({ at: z.string(), how: z.string() }).optional(),
  firstContactAt: z.string().optional(),
  /** The message that claimed the first contact (its idempotency key) and when. */
  firstContactKey: z.string().optional(),
  firstContactClaimedAt: z.string().optional(),
  lastContactAt: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type Contact = z.infer<typeof contactSchema>;
export type ContactDetails = Omit<
  Contact,
  'firstContactAt' | 'firstContactKey' | 'firstContactClaimedAt' | 'lastContactAt' | 'updatedAt'
>;

export interface ContactStore {
  getMany(controller: string, addresses: string[]): Promise<Map<string, Contact>>;
  /** The same read, to go out with others in one batch (`batchRead`). */
  getManyRequest(controller: string, addresses: string[]): ReadRequest<Map<string, Contact>>;
  /** Creates or updates the details of a contact; contact history is kept. */
  save(details: ContactDetails): Promise<void>;
  /**
   * True if this message (by idempotency key) is the first to this person: exactly one message
   * wins, by a conditional write. A claim by a message that was never sent goes stale after
   * `staleAfterMs`, so a later message can still carry the first-contact notice.
   */
  claimFirstContact(controller: string, address: string, key: string, staleAfterMs: number): Promise<boolean>;
  /**
   * The copy that carried the first-contact notice was sent. Later copies change nothing here (one
   * write less per copy): the send log is the history, and the company's own messages do not extend
   * how long the record is kept (the CNIL counts from collection or the prospect's last contact).
   */
  recordFirstContact(controller: string, address: string, at: string): Promise<void>;
  /** The claiming message was refused for good: let the next message claim. */
  releaseFirstContact(controller: string, address: string, key: string): Promise<void>;
}

/**
 * What a contact past its retention loses when it is contacted again: every field of the record
 * but its key and the claim the new first contact sets (so a field added later is forgotten too).
 */
const KEPT_ON_EXPIRY = new Set(['controller', 'address', 'firstContactKey', 'firstContactClaimedAt']);
const FORGOTTEN_ON_EXPIRY = Object.keys(contactSchema.shape).filter((field) => !KEPT_ON_EXPIRY.has(field));

export class DynamoContactStore implements ContactStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly retention: Retention = DEFAULT_RETENTION,
  ) {}

  /** A contact is kept `contactsMonths` after it was collected or last updated (not after our own messages). */
  private expiresFrom(at: string): number {
    return expiresAfter(at, { months: this.retention.contactsMonths });
  }

  getManyRequest(controller: string, addresses: string[]): ReadRequest<Map<string, Contact>> {
    return {
      table: this.table,
      keys: addresses.map((sk) => ({ pk: controller, sk })),
      // A contact past its retention is gone in law, deleted or not yet: the next message is a first contact.
      parse: (items) =>
        new Map(
          items
            .filter((item) => !isExpired(item))
            .map((item) => contactSchema.parse(item))
            .map((c) => [c.address, c]),
        ),
    };
  }

  async getMany(controller: string, addresses: string[]): Promise<Map<string, Contact>> {
    try {
      const [found] = await batchRead(this.db, [this.getManyRequest(controller, addresses)]);
      return found;
    } catch (err) {
      throw storeError('contact lookup', err);
    }
  }

  async save(details: ContactDetails): Promise<void> {
    const now = new Date().toISOString();
    const fields = Object.entries({
      ...details,
      updatedAt: now,
      gPerson: personKey(details.controller, details.address),
      expires: this.expiresFrom(now),
    }).filter(([key, value]) => value !== undefined && key !== 'controller' && key !== 'address');
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: details.controller, sk: details.address },
          UpdateExpression: `SET controller = :controller, address = :address, ${fields.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(fields.map(([key], i) => [`#f${i}`, key])),
          ExpressionAttributeValues: {
            ':controller': details.controller,
            ':address': details.address,
            ...Object.fromEntries(fields.map(([, value], i) => [`:v${i}`, value])),
          },
        }),
      );
    } catch (err) {
      throw storeError('contact write', err);
    }
  }

  async claimFirstContact(controller: string, address: string, key: string, staleAfterMs: number): Promise<boolean> {
    const now = new Date();
    const values = {
      ':controller': controller,
      ':address': address,
      ':key': key,
      ':now': now.toISOString(),
      ':person': personKey(controller, address),
      ':expires': this.expiresFrom(now.toISOString()),
    };
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: controller, sk: address },
          UpdateExpression:
            'SET controller = :controller, address = :address, firstContactKey = :key, firstContactClaimedAt = :now, gPerson = :person, expires = if_not_exists(expires, :expires)',
          ConditionExpression:
            '(attribute_not_exists(firstContactAt) AND (attribute_not_exists(firstContactKey) OR firstContactKey = :key OR firstContactClaimedAt < :stale)) AND (attribute_not_exists(expires) OR expires > :epoch)',
          ExpressionAttributeValues: {
            ...values,
            ':stale': new Date(now.getTime() - staleAfterMs).toISOString(),
            ':epoch': Math.floor(now.getTime() / 1000),
          },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw storeError('first-contact claim', err);
    }
    // A record past its retention (not yet deleted by TTL): what it held is forgotten, and this
    // message makes a new first contact.
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: controller, sk: address },
          UpdateExpression: `SET controller = :controller, address = :address, firstContactKey = :key, firstContactClaimedAt = :now, gPerson = :person, expires = :expires REMOVE ${FORGOTTEN_ON_EXPIRY.map((_, i) => `#r${i}`).join(', ')}`,
          ConditionExpression: 'expires <= :epoch',
          ExpressionAttributeNames: Object.fromEntries(FORGOTTEN_ON_EXPIRY.map((name, i) => [`#r${i}`, name])),
          ExpressionAttributeValues: { ...values, ':epoch': Math.floor(now.getTime() / 1000) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw storeError('first-contact claim', err);
    }
  }

  async recordFirstContact(controller: string, address: string, at: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: controller, sk: address },
          UpdateExpression:
            'SET controller = :controller, address = :address, firstContactAt = :at, gPerson = :person, expires = if_not_exists(expires, :expires)',
          ExpressionAttributeValues: {
            ':controller': controller,
            ':address': address,
            ':at': at,
            ':person': personKey(controller, address),
            ':expires': this.expiresFrom(at),
          },
        }),
      );
    } catch (err) {
      throw storeError('contact update', err);
    }
  }

  async releaseFirstContact(controller: string, address: string, key: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: controller, sk: address },
          UpdateExpression: 'REMOVE firstContactKey, firstContactClaimedAt',
          ConditionExpression: 'firstContactKey = :key AND attribute_not_exists(firstContactAt)',
          ExpressionAttributeValues: { ':key': key },
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) return;
      throw storeError('first-contact release', err);
    }
  }
}
