import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { storeError } from './store-error.ts';

/**
 * The relay tasks alive now, so that together they keep to the SES account's send rate: each
 * task writes a heartbeat with an expiry every few seconds, and counts the heartbeats not yet
 * expired. Two small requests per task per interval, none per copy. Items live in the send-log
 * table's `fleet#relays` partition.
 */
export interface FleetRegistry {
  heartbeat(taskId: string, until: Date): Promise<void>;
  /** Tasks whose heartbeat has not expired at `now`. */
  live(now: Date): Promise<number>;
}

const PARTITION = 'fleet#relays';

export class DynamoFleetRegistry implements FleetRegistry {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async heartbeat(taskId: string, until: Date): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: PARTITION,
            sk: taskId,
            expiresAt: until.toISOString(),
            expires: Math.ceil(until.getTime() / 1000) + 3600,
          },
        }),
      );
    } catch (err) {
      throw storeError('fleet heartbeat', err);
    }
  }

  async live(now: Date): Promise<number> {
    try {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'expiresAt > :now',
          ExpressionAttributeValues: { ':pk': PARTITION, ':now': now.toISOString() },
          ConsistentRead: true,
        }),
      );
      return out.Count ?? 0;
    } catch (err) {
      throw storeError('fleet count', err);
    }
  }
}
