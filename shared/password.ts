import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * SMTP passwords are stored as `scrypt$N$r$p$salt$hash` (salt and hash base64url). The cost
 * parameters travel with the hash so they can be raised later without invalidating old hashes.
 */
const DEFAULT = { N: 16384, r: 8, p: 1, keyLength: 32 };

function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p, keyLength } = DEFAULT;
  const key = await scryptAsync(password, salt, keyLength, { N, r, p, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export const PASSWORD_HASH_PATTERN = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/;

/** Constant-time check of a password against a stored hash; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (!PASSWORD_HASH_PATTERN.test(stored)) return false;
  const [, n, r, p, saltText, keyText] = stored.split('$') as [string, string, string, string, string, string];
  const expected = Buffer.from(keyText, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(saltText, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 256 * 1024 * 1024,
  });
  return timingSafeEqual(expected, actual);
}

/** A hash of a random password, so that an unknown user costs as much time as a known one. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
}

const PASSWORD_CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A password a person is given once (the console, the CLI, `npm start`'s demo users): letters
 * and digits only, ~5.95 bits each (24 characters: 142 bits), drawn from the CSPRNG without bias
 * (bytes of 248 or more are skipped: 248 = 4 × 62). base64url could put a "-" first, which swaks,
 * msmtp and most command-line clients read as an option, and "_" or "-" anywhere, which people
 * copying by hand misread.
 */
export function newPassword(length = 24): string {
  let password = '';
  while (password.length < length) {
    for (const byte of randomBytes(length)) {
      if (byte >= 248) continue;
      password += PASSWORD_CHARACTERS[byte % 62];
      if (password.length === length) break;
    }
  }
  return password;
}
