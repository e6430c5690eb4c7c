import { describe, expect, it } from 'vitest';
import { hashPassword, newPassword, verifyPassword } from '../../shared/password.ts';

describe('scrypt passwords', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('a long enough password');
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('a long enough password', hash)).toBe(true);
    expect(await verifyPassword('a long enough passwore', hash)).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });

  it('refuses a malformed stored hash instead of throwing', async () => {
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
  });

  it('makes passwords of letters and digits only: none starts with "-", which swaks or msmtp would read as an option', () => {
    const made = Array.from({ length: 2000 }, () => newPassword());
    for (const password of made) expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(new Set(made).size).toBe(made.length);
    // Every one of the 62 characters turns up, in first place too (no character left out or favoured much).
    expect(new Set(made.join('')).size).toBe(62);
    expect(new Set(made.map((p) => p[0])).size).toBe(62);
  });
});
