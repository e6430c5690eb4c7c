import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StoreUnavailableError } from '../../shared/errors.ts';
import { isConditionFailed, storeError } from '../../shared/stores/store-error.ts';

describe('store errors', () => {
  it('wraps what the SDK or the network says, and nothing else', () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const timeout = Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    for (const err of [throttled, refused, timeout]) {
      expect(storeError('contact lookup', err)).toBeInstanceOf(StoreUnavailableError);
    }
    const corrupt = z.object({ at: z.string() }).safeParse({}).error!;
    const badDate = new RangeError('Invalid time value');
    expect(storeError('contact lookup', corrupt)).toBe(corrupt);
    expect(storeError('contact lookup', badDate)).toBe(badDate);
  });

  it('recognises a lost conditional write by its class, not its name', () => {
    const lost = new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    expect(isConditionFailed(lost)).toBe(true);
    expect(isConditionFailed(Object.assign(new Error('x'), { name: 'ConditionalCheckFailedException' }))).toBe(false);
  });
});
