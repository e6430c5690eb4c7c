import type { FairsendConfig, Purpose, SmtpUser } from '../config.ts';
import type { Directives } from '../directives.ts';
import { type PurposeRule, type Refusal, reject } from '../verdict.ts';

/**
 * The purpose a message is sent for: its `X-Fairsend-Purpose` header, else the user's default.
 * Only purposes declared for the user's company may be used (GDPR art. 5(1)(b): a declared,
 * explicit purpose for every processing).
 */
export function resolvePurpose(
  config: FairsendConfig,
  userName: string,
  user: SmtpUser,
  directives: Directives,
): { kind: 'accept'; purposeId: string; purpose: Purpose } | Refusal<PurposeRule> {
  const purposeId = directives.purpose ?? user.defaultPurpose;
  if (!purposeId) {
    return reject(
      'purpose:missing',
      `no purpose declared: set the X-Fairsend-Purpose header or a defaultPurpose for user ${userName}`,
    );
  }
  const purpose = Object.hasOwn(config.purposes, purposeId) ? config.purposes[purposeId] : undefined;
  if (!purpose || purpose.controller !== user.controller) {
    const controller = config.controllers[user.controller]!;
    return reject('purpose:undeclared', `purpose "${purposeId}" is not declared for ${controller.legalName}`);
  }
  return { kind: 'accept', purposeId, purpose };
}
