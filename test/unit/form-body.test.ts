import { describe, expect, it } from 'vitest';
import { readForm } from '../../lambdas/form-body.ts';

describe('one-click form body (RFC 8058 §3.1)', () => {
  it('reads urlencoded, with or without a content type', async () => {
    const body = Buffer.from('List-Unsubscribe=One-Click&via=page');
    expect(await readForm('application/x-www-form-urlencoded; charset=utf-8', body)).toEqual(
      new Map([
        ['List-Unsubscribe', 'One-Click'],
        ['via', 'page'],
      ]),
    );
    expect((await readForm(undefined, body))?.get('List-Unsubscribe')).toBe('One-Click');
  });

  it('reads multipart/form-data as mailbox providers send it', async () => {
    const body = Buffer.from(
      '--xyz\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--xyz--\r\n',
    );
    expect((await readForm('multipart/form-data; boundary=xyz', body))?.get('List-Unsubscribe')).toBe('One-Click');
  });

  it('gives null for another type or a broken multipart body', async () => {
    expect(await readForm('application/json', Buffer.from('{"List-Unsubscribe":"One-Click"}'))).toBeNull();
    expect(await readForm('multipart/form-data; boundary=xyz', Buffer.from('no boundary here'))).toBeNull();
    expect(await readForm(undefined, Buffer.alloc(0))).toBeNull();
  });
});
