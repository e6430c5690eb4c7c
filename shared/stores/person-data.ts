import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { baseAddress, personKey } from '../address.ts';
import { deleteAll, queryAll, type TableNames } from './dynamo.ts';
import { storeError } from './store-error.ts';

/**
 * Everything one company holds about one person, across their `+tag` addresses, as raw items:
 * for an access request (GDPR art. 15) and an erasure (art. 17). Found through the `byPerson`
 * indexes (`<controller>#<address without +tag>`), and through the tables' own keys for every
 * address found, so items written before the indexes existed are found too.
 */
export interface PersonItems {
  controller: string;
  /** The addresses found: the one asked about, its base address, and every `+tag` variant seen. */
  addresses: string[];
  contacts: Record<string, unknown>[];
  /** History (`sent#…`) and SES event items of the copies sent. */
  sendLog: Record<string, unknown>[];
  /** Idempotency and SES-id items of the same copies, and transient-bounce records. */
  sendLogIndexes: { pk: string; sk: string }[];
  blocked: Record<string, unknown>[];
}

type Key = { pk: string; sk: string };
const keyOf = (item: Record<string, unknown>): Key => ({ pk: String(item.pk), sk: String(item.sk) });

export class PersonDataStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async find(controller: string, address: string): Promise<PersonItems> {
    try {
      const person = personKey(controller, address);
      const byPerson = (table: string) =>
        queryAll(this.db, {
          TableName: table,
          IndexName: 'byPerson',
          KeyConditionExpression: 'gPerson = :p',
          ExpressionAttributeValues: { ':p': person },
        });
      const [contacts, sendLog, blocked] = await Promise.all([
        byPerson(this.tables.contacts),
        byPerson(this.tables.sendLog),
        byPerson(this.tables.blockedSends),
      ]);
      const addresses = new Set([address, baseAddress(address)]);
      for (const item of [...contacts, ...sendLog, ...blocked]) {
        const a = item.address ?? item.recipient;
        if (typeof a === 'string' && a) addresses.add(a);
      }
      // By the tables' own keys, for each address: what the indexes may not list.
      const seen = new Set([...sendLog, ...contacts, ...blocked].map((i) => `${i.pk}\0${i.sk}`));
      const add = (list: Record<string, unknown>[], items: Record<string, unknown>[]) => {
        for (const item of items) {
          const id = `${item.pk}\0${item.sk}`;
          if (!seen.has(id)) {
            seen.add(id);
            list.push(item);
          }
        }
      };
      const soft: Key[] = [];
      for (const a of addresses) {
        const [own, softItems, contact, blockedByRecipient] = await Promise.all([
          queryAll(this.db, {
            TableName: this.tables.sendLog,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `${controller}#${a}` },
          }),
          queryAll(this.db, {
            TableName: this.tables.sendLog,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `soft#${controller}#${a}` },
          }),
          queryAll(this.db, {
            TableName: this.tables.contacts,
            KeyConditionExpression: 'pk = :pk AND sk = :sk',
            ExpressionAttributeValues: { ':pk': controller, ':sk': a },
          }),
          queryAll(this.db, {
            TableName: this.tables.blockedSends,
            IndexName: 'byRecipient',
            KeyConditionExpression: 'gRecipient = :r',
            ExpressionAttributeValues: { ':r': `${controller}#${a}` },
          }),
        ]);
        add(sendLog, own);
        add(contacts, contact);
        add(blocked, blockedByRecipient);
        soft.push(...softItems.map(keyOf));
      }
      const sendLogIndexes: Key[] = [...soft];
      for (const item of sendLog) {
        if (!String(item.sk).startsWith('sent#')) continue;
        const recipient = String(item.recipient);
        if (typeof item.idempotencyKey === 'string')
          sendLogIndexes.push({ pk: `idem#${item.idempotencyKey}`, sk: recipient });
        if (typeof item.sesMessageId === 'string')
          sendLogIndexes.push({ pk: `ses#${item.sesMessageId}`, sk: recipient });
      }
      return { controller, addresses: [...addresses].sort(), contacts, sendLog, sendLogIndexes, blocked };
    } catch (err) {
      throw storeError('person data lookup', err);
    }
  }

  /** Deletes every item found; returns how many of each kind. */
  async erase(found: PersonItems): Promise<{ contacts: number; sendLog: number; blocked: number }> {
    try {
      await deleteAll(this.db, this.tables.contacts, found.contacts.map(keyOf));
      await deleteAll(this.db, this.tables.sendLog, [...found.sendLog.map(keyOf), ...found.sendLogIndexes]);
      await deleteAll(this.db, this.tables.blockedSends, found.blocked.map(keyOf));
    } catch (err) {
      throw storeError('person data erasure', err);
    }
    return {
      contacts: found.contacts.length,
      sendLog: found.sendLog.length + found.sendLogIndexes.length,
      blocked: found.blocked.length,
    };
  }
}
