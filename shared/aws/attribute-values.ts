import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

/**
 * Items to DynamoDB JSON and back, as AWS's util-dynamodb converts them (`marshall` with
 * `removeUndefinedValues`, `unmarshall`), for the lean DynamoDB path. The items Fairsend writes
 * and reads are plain objects of strings, safe numbers, booleans, nulls, lists and maps: those
 * are converted here in one pass, 8–10× faster than util-dynamodb, whose checks (a type name
 * looked up in an array built per value, a number's string compared with three built per number)
 * cost some 5 µs an item, ten items and more per message (the performance issue). Anything else
 * (sets, binary, bigints, unsafe or special numbers, class instances, and every error) is handed
 * to util-dynamodb whole, so its answer and its errors stay the reference; a property test holds
 * the two equal (test/unit/attribute-values.test.ts).
 *
 * Binary (B, BS) comes out as base64 strings, as DynamoDB's JSON carries it: the request's body
 * is then a plain `JSON.stringify` (a replacer looking for binary cost a 25-item batch 50–70 µs).
 */

/** Thrown inside the one-pass conversion where util-dynamodb is to convert the whole item. */
const BY_SDK = Symbol('converted by util-dynamodb');

type Item = Record<string, unknown>;
type Attributes = Record<string, AttributeValue>;

function toValue(value: unknown): AttributeValue {
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      // util-dynamodb refuses NaN, ±Infinity and unsafe integers: its own error then.
      if (value <= Number.MAX_SAFE_INTEGER && value >= Number.MIN_SAFE_INTEGER) return { N: String(value) };
      throw BY_SDK;
    case 'boolean':
      return { BOOL: value };
    case 'object': {
      if (value === null) return { NULL: true };
      if (Array.isArray(value)) {
        const list: AttributeValue[] = [];
        for (const v of value) if (v !== undefined && typeof v !== 'function') list.push(toValue(v));
        return { L: list };
      }
      if (isPlainObject(value)) return { M: toMap(value) };
      throw BY_SDK;
    }
    default:
      throw BY_SDK;
  }
}

/** An object util-dynamodb makes a map of (it goes by `constructor.name`: an own `constructor` is left to it). */
function isPlainObject(value: unknown): value is Item {
  if (!value || typeof value !== 'object' || Array.isArray(value) || Object.hasOwn(value, 'constructor')) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function toMap(item: Item): Attributes {
  const out: Attributes = {};
  for (const key in item) {
    const v = item[key];
    if (v !== undefined && typeof v !== 'function') out[key] = toValue(v);
  }
  return out;
}

/** `marshall(item, { removeUndefinedValues: true })`, binary as base64. */
export function toAttributeMap(item: Item): Attributes {
  if (isPlainObject(item)) {
    try {
      return toMap(item);
    } catch (err) {
      if (err !== BY_SDK) throw err;
    }
  }
  return binaryToBase64(marshall(item, { removeUndefinedValues: true })) as Attributes;
}

/** util-dynamodb's B and BS (Uint8Arrays) as the base64 strings DynamoDB's JSON carries. */
function binaryToBase64(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map(binaryToBase64);
  if (value && typeof value === 'object') {
    const out: Item = {};
    for (const [k, v] of Object.entries(value)) out[k] = binaryToBase64(v);
    return out;
  }
  return value;
}

/** Objects as JSON.parse makes them: their keys are their own (for…in reads no inherited ones). */
const isParsed = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

function fromValue(av: unknown): unknown {
  if (!isParsed(av)) throw BY_SDK;
  // util-dynamodb takes the first key with a value, in the object's order.
  for (const key in av) {
    const v = av[key];
    if (v === undefined) continue;
    switch (key) {
      case 'S':
        return v;
      case 'N': {
        const n = Number(v);
        // Beyond the safe integers util-dynamodb gives a BigInt (or Infinity, or an error).
        if (n <= Number.MAX_SAFE_INTEGER && n >= Number.MIN_SAFE_INTEGER) return n;
        if (Number.isNaN(n)) return n;
        throw BY_SDK;
      }
      case 'BOOL':
        return Boolean(v);
      case 'NULL':
        return null;
      case 'M':
        return fromMap(v);
      case 'L':
        if (Array.isArray(v)) return v.map(fromValue);
        throw BY_SDK;
      default:
        throw BY_SDK;
    }
  }
  throw BY_SDK;
}

function fromMap(map: unknown): Item {
  if (!isParsed(map)) throw BY_SDK;
  const out: Item = {};
  for (const key in map) out[key] = fromValue(map[key]);
  return out;
}

/** `unmarshall(attributes)`. */
export function fromAttributeMap(attributes: Record<string, unknown>): Item {
  try {
    return fromMap(attributes);
  } catch (err) {
    if (err !== BY_SDK) throw err;
  }
  return unmarshall(attributes as Attributes);
}
