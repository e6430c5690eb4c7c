import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromAttributeMap, toAttributeMap } from '../../shared/aws/attribute-values.ts';

/**
 * The lean path's item conversion (shared/aws/attribute-values.ts) against AWS's util-dynamodb,
 * the reference: for any value, the same DynamoDB JSON (binary as base64, as the wire carries it)
 * or the same error; for any DynamoDB JSON, the same item or the same error.
 */

class Point {
  constructor(
    public x = 1,
    public y = 2,
  ) {}
}

/** What util-dynamodb gives, binary as base64; or its error's message. */
function sdkMarshall(item: unknown): unknown {
  try {
    return JSON.parse(
      JSON.stringify(marshall(item as Record<string, unknown>, { removeUndefinedValues: true }), function (k, v) {
        const raw = (this as Record<string, unknown>)[k];
        return raw instanceof Uint8Array ? Buffer.from(raw).toString('base64') : v;
      }),
    );
  } catch (err) {
    return { error: (err as Error).message };
  }
}
function ours<T>(f: () => T): T | { error: string } {
  try {
    return f();
  } catch (err) {
    return { error: (err as Error).message };
  }
}
function sdkUnmarshall(attributes: unknown): unknown {
  try {
    return unmarshall(attributes as Parameters<typeof unmarshall>[0]);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'S', 'N', 'M', 'L'));
const leaf = fc.oneof(
  fc.string({ maxLength: 8, unit: 'binary' }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER - 2,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -0,
  ),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ maxLength: 4 }),
  fc.uniqueArray(fc.string({ maxLength: 3 }), { maxLength: 3 }).map((a) => new Set(a)),
  fc.uniqueArray(fc.integer(), { maxLength: 3 }).map((a) => new Set(a)),
  fc.constantFrom<unknown>(new Point(), () => 1, new Date(0), new String('s'), new Map([['a', 1]])),
);
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 3, noNullPrototype: false }),
  ),
})).v;
const item = fc.oneof(fc.dictionary(key, value, { maxKeys: 6, noNullPrototype: false }), value);

describe('item conversion for the lean DynamoDB path', () => {
  it('gives what util-dynamodb marshall gives, or its error, for any value', () => {
    fc.assert(
      fc.property(item, (x) => {
        expect(JSON.parse(JSON.stringify(ours(() => toAttributeMap(x as Record<string, unknown>))))).toEqual(
          sdkMarshall(x),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('gives what util-dynamodb unmarshall gives, or its error, for DynamoDB JSON and for junk', () => {
    // What util-dynamodb itself writes (binary as the lean path's JSON reviver makes it), and JSON of any shape.
    const written = item.map((x) => {
      try {
        return marshall(x as Record<string, unknown>, { removeUndefinedValues: true }) as unknown;
      } catch {
        return {};
      }
    });
    const attribute: fc.Arbitrary<unknown> = fc.letrec<{ a: unknown }>((tie) => ({
      a: fc.oneof(
        { depthSize: 'small' },
        fc.record({ S: fc.string({ maxLength: 4 }) }),
        fc.record({
          N: fc.oneof(fc.integer().map(String), fc.constantFrom('1e400', '-1e400', '9007199254740993', 'x', '')),
        }),
        fc.record({ BOOL: fc.oneof(fc.boolean(), fc.constant('')) }),
        fc.record({ NULL: fc.constant(true) }),
        fc.record({ L: fc.array(tie('a'), { maxLength: 3 }) }),
        fc.record({ M: fc.dictionary(key, tie('a'), { maxKeys: 3 }) }),
        fc.record({ SS: fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }) }),
        fc.record({ NS: fc.array(fc.integer().map(String), { maxLength: 2 }) }),
        fc.record({ S: fc.constant(undefined), N: fc.constant('5') }),
        fc.record({ X: fc.string() }),
        fc.constantFrom<unknown>({}, null, 'S', [], 5),
      ),
    })).a;
    // An attribute named __proto__ replaces the answer's prototype (util-dynamodb's and ours alike),
    // which no deep equality can compare: the marshall property above keeps that name.
    const wire = fc
      .oneof(written, fc.dictionary(key, attribute, { maxKeys: 4 }), attribute)
      .filter((a) => !JSON.stringify(a ?? null).includes('"__proto__"'));
    fc.assert(
      fc.property(wire, (a) => {
        expect(ours(() => fromAttributeMap(a as Record<string, unknown>))).toEqual(sdkUnmarshall(a));
      }),
      { numRuns: 3000 },
    );
  });

  it('converts the items Fairsend writes as util-dynamodb does, binary as base64', () => {
    const copy = { pk: 'acme#r@x.example', sk: 'sent#2026-11-29T00:00:00.000Z#1', expires: 1_790_000_000, n: 0.5 };
    const nested = { ...copy, facts: { first: true, source: null, tags: ['a', 1] }, skipped: undefined };
    expect(toAttributeMap(nested)).toEqual(marshall(nested, { removeUndefinedValues: true }));
    // Binary, which util-dynamodb converts, comes back as base64 for the request body.
    expect(toAttributeMap({ b: new Uint8Array([0, 255]) })).toEqual({ b: { B: 'AP8=' } });
    expect(fromAttributeMap(toAttributeMap(nested))).toEqual(
      unmarshall(marshall(nested, { removeUndefinedValues: true })),
    );
  });
});
