import { normaliseAddress } from './address.ts';
import type { FairsendConfig } from './config.ts';
import { matchingFor } from './rules/opposition.ts';
import type { Opposition, OppositionList } from './stores/opposition-list.ts';

/**
 * The erased-person entry (a keyed hash, origin `erasure`) that covers this address, if any: every
 * writer that would store an address (the console's imports and forms, the unsubscribe link of an
 * old message, SES feedback arriving after the erasure) asks first, so erasure stays erasure.
 */
export async function erasedEntry(
  oppositions: OppositionList,
  config: Pick<FairsendConfig, 'controllers' | 'privacy'>,
  controller: string,
  address: string,
): Promise<Opposition | undefined> {
  const key = config.privacy.erasureKey;
  const company = config.controllers[controller];
  const normalised = normaliseAddress(address);
  if (!key || !company || !normalised) return undefined;
  const found = await oppositions.findBlocking(controller, [normalised], matchingFor(company, key));
  const entry = found.get(normalised.address);
  return entry?.origin === 'erasure' ? entry : undefined;
}
