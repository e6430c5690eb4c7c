/**
 * Collects a message's DATA into one Buffer. When the client declared the size at MAIL FROM
 * (RFC 1870 `SIZE=`, as Postfix, Thunderbird and most MTAs do), the Buffer is allocated once at
 * that size and filled in place, so a large message is held once, not as its chunks plus their
 * join. Without a declaration, or when the declaration was too small, the chunks are joined at
 * the end.
 */
export class MessageBuffer {
  private readonly chunks: Buffer[] = [];
  private buffer: Buffer | null;
  private length = 0;

  constructor(declaredSize: number | undefined, maxBytes: number) {
    const size = MessageBuffer.allocationFor(declaredSize, maxBytes);
    this.buffer = size > 0 ? Buffer.allocUnsafe(size) : null;
  }

  /** What the constructor allocates up front for a declared size (0: nothing). */
  static allocationFor(declaredSize: number | undefined, maxBytes: number): number {
    if (!declaredSize || declaredSize <= 0 || declaredSize > maxBytes) return 0;
    // A declared size is an estimate (RFC 1870 §4): leave room for dot-unstuffing and CRLF slack.
    return Math.min(maxBytes, Math.ceil(declaredSize * 1.02) + 1024);
  }

  push(chunk: Buffer): void {
    if (this.buffer && this.length + chunk.length <= this.buffer.length) {
      chunk.copy(this.buffer, this.length);
    } else {
      if (this.buffer) {
        // Larger than declared: keep what was copied as the first chunk and go on collecting.
        this.chunks.push(this.buffer.subarray(0, this.length));
        this.buffer = null;
      }
      this.chunks.push(chunk);
    }
    this.length += chunk.length;
  }

  /** Bytes `toBuffer` must allocate to join the chunks (0 when the message is already one Buffer). */
  get joinBytes(): number {
    if (this.buffer || this.chunks.length <= 1) return 0;
    return this.length;
  }

  toBuffer(): Buffer {
    if (this.buffer) return this.buffer.subarray(0, this.length);
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
  }
}

/** The SIZE a client declared at MAIL FROM, if any. */
export function declaredSize(args: unknown): number | undefined {
  const record = args && typeof args === 'object' ? (args as Record<string, string>) : {};
  const size = Number(record.SIZE);
  return Number.isSafeInteger(size) && size > 0 ? size : undefined;
}
