import type { AdminRole } from '../stores/admin.ts';

/** Who asks the service layer for something, and through what. */
export interface Actor {
  name: string;
  role: AdminRole;
  via: 'console' | 'api' | 'cli';
}

/** A reviewer asked for what only an admin may do (HTTP 403). */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
}

/** Input the service refuses, with what to fix (HTTP 400, a CLI usage error). */
export class InputError extends Error {
  override readonly name = 'InputError';
}
