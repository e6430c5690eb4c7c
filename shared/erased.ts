import { normaliseAddress } from './address.ts';
import type { FairsendConfig } from './config.ts';
import { matchingFor } from './rules/opposition.ts';
import type { Opposition, OppositionList } from './stores/opposition-list.ts';

/**
 * The erased-person entries (a keyed hash, origin `erasure`) that cover these addresses, by
 * normalised address; the others are absent. One batch read per 50 addresses. Every writer that
 * would store an address (the console's imports and forms, the unsubscribe link of an old message,
 * SES feedback arriving after the erasure) asks first, so erasure stays erasure.
 */
export async function erasedEntries(
  oppositions: OppositionList,
  config: Pick<FairsendConfig, 'controllers' | 'privacy'>,
  controller: string,
  addresses: string[],
): Promise<Map<string, Opposition>> {
  const key = config.privacy.erasureKey;
  const company = config.controllers[controller];
  const found = new Map<string, Opposition>();
  if (!key || !company) return found;
  const normalised = addresses.map((a) => normaliseAddress(a)).filter((a) => a !== null);
  const matching = matchingFor(company, key);
  for (let i = 0; i < normalised.length; i += 50) {
    const blocking = await oppositions.findBlocking(controller, normalised.slice(i, i + 50), matching);
    for (const [address, entry] of blocking) if (entry.origin === 'erasure') found.set(address, entry);
  }
  return found;
}

/** The erased-person entry that covers this one address, if any. */
export async function erasedEntry(
  oppositions: OppositionList,
  config: Pick<FairsendConfig, 'controllers' | 'privacy'>,
  controller: string,
  address: string,
): Promise<Opposition | undefined> {
  const normalised = normaliseAddress(address);
  if (!normalised) return undefined;
  return (await erasedEntries(oppositions, config, controller, [normalised.address])).get(normalised.address);
}
