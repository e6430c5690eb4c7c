import { normaliseAddress } from './address.ts';
import type { Controller, FairsendConfig, Language } from './config.ts';
import { erasedEntry } from './erased.ts';
import type { Opposition, OppositionList } from './stores/opposition-list.ts';
import { type UnsubscribeRequest, verifyToken } from './unsubscribe-token.ts';

/**
 * Turning an unsubscribe request (a link click, an RFC 8058 one-click POST, a mail to the
 * mailto: address) into an opposition. The token is the proof: it names the company, the person
 * and the copy it came from, and cannot be forged.
 */
export type TokenLookup =
  | { ok: true; request: UnsubscribeRequest; controller: Controller; language: Language }
  | { ok: false; reason: string; controller?: Controller };

export type UnsubscribeOrigin = 'unsubscribe-link' | 'one-click' | 'mailto';

export interface UnsubscribeResult {
  created: boolean;
  opposition: Opposition;
  controller: Controller;
}

export class UnsubscribeService {
  constructor(
    private readonly config: FairsendConfig,
    private readonly oppositions: OppositionList,
  ) {}

  lookup(token: string, now = new Date()): TokenLookup {
    const check = verifyToken(this.config.tokens, token, now);
    if (!check.ok) return { ok: false, reason: check.reason, controller: this.onlyController() };
    const controller = this.config.controllers[check.request.controller];
    if (!controller)
      return { ok: false, reason: 'the company is no longer configured', controller: this.onlyController() };
    return {
      ok: true,
      request: check.request,
      controller,
      language: check.request.language ?? controller.defaultLanguage,
    };
  }

  /** Records the opposition at once; a repeated request keeps the first record and changes nothing. */
  async unsubscribe(
    request: UnsubscribeRequest,
    origin: UnsubscribeOrigin,
    requestedAt: Date,
    evidence: Record<string, string>,
  ): Promise<UnsubscribeResult> {
    const controller = this.config.controllers[request.controller]!;
    // An erased person clicking an old link is opposed already: their address is not written back.
    const erased = await erasedEntry(this.oppositions, this.config, request.controller, request.recipient);
    if (erased) return { created: false, opposition: erased, controller };
    const result = await this.oppositions.add({
      controller: request.controller,
      subject: request.recipient,
      origin,
      requestedAt: requestedAt.toISOString(),
      effectiveAt: new Date().toISOString(),
      evidence: { copyId: request.copyId, tokenIssuedAt: request.issuedAt.toISOString(), ...evidence },
    });
    return { created: result.created, opposition: result.entry, controller };
  }

  /**
   * The opposition already recorded for this link's person (their own entry), or null: a second
   * visit says "already unsubscribed on …" instead of asking again. Throws StoreUnavailableError.
   */
  async existing(request: UnsubscribeRequest): Promise<Opposition | null> {
    const address = normaliseAddress(request.recipient);
    if (!address) return null;
    const found = await this.oppositions.findBlocking(request.controller, [address], { coversSubaddresses: false });
    const entry = found.get(address.address);
    return entry && entry.subject === address.address ? entry : null;
  }

  /** With a single configured company, an invalid link can still name whom to contact. */
  private onlyController(): Controller | undefined {
    const all = Object.values(this.config.controllers);
    return all.length === 1 ? all[0] : undefined;
  }
}
