/**
 * Collects a message's DATA into one Buffer, holding a large message once:
 *
 * - When the client declared the size at MAIL FROM (RFC 1870 `SIZE=`, as Postfix, Thunderbird and
 *   most MTAs do), the Buffer is allocated once at that size and filled in place.
 * - Without a declaration (or past it), a small message is kept as its chunks and joined at the
 *   end (at most `JOIN_LIMIT` bytes held twice, for a moment). Past that, the bytes go into one
 *   resizable ArrayBuffer: its address space is reserved up to the maximum message size, and it
 *   grows in place, so only the pages written take memory and nothing is copied to a larger block
 *   or joined. The socket's chunks are garbage as soon as they are copied. At the end the message
 *   moves into a fixed Buffer of its exact size while the block shrinks (see `fixedBlock`).
 */
export class MessageBuffer {
  /** Bytes a message may reach as chunks before it moves to one growable block. */
  static readonly JOIN_LIMIT = 256 * 1024;

  /** The one block the message is written into: allocated at the declared size, or growable. */
  private block: Uint8Array | null;
  private growable: ArrayBuffer | null = null;
  /** Set once a growable block was tried: it is not tried again for this message. */
  private triedGrowable = false;
  /** Bytes written into the block. */
  private filled = 0;
  /** Bytes not in the block: a small message's chunks, or what comes past the maximum. */
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(
    declaredSize: number | undefined,
    private readonly maxBytes: number,
  ) {
    const size = MessageBuffer.allocationFor(declaredSize, maxBytes);
    this.block = size > 0 ? Buffer.allocUnsafe(size) : null;
  }

  /** What the constructor allocates up front for a declared size (0: nothing). */
  static allocationFor(declaredSize: number | undefined, maxBytes: number): number {
    if (!declaredSize || declaredSize <= 0 || declaredSize > maxBytes) return 0;
    // A declared size is an estimate (RFC 1870 §4): leave room for dot-unstuffing and CRLF slack.
    return Math.min(maxBytes, Math.ceil(declaredSize * 1.02) + 1024);
  }

  push(chunk: Buffer): void {
    const end = this.length + chunk.length;
    this.length = end;
    if (this.chunks.length === 0 && this.block && this.fits(end)) {
      this.block.set(chunk, this.filled);
      this.filled = end;
    } else if (!this.block && end <= MessageBuffer.JOIN_LIMIT) {
      this.chunks.push(chunk);
    } else if (!this.triedGrowable && this.moveToGrowable(end)) {
      this.block!.set(chunk, this.filled);
      this.filled = end;
    } else {
      // Past the maximum message size (the caller refuses the message), or memory refused: keep
      // the bytes as they come, to be joined at the end.
      this.chunks.push(chunk);
    }
  }

  /**
   * Bytes `toBuffer` holds on top of the message for a moment: the whole message to join chunks,
   * one step to move a growable block, 0 when the message is already one Buffer.
   */
  get joinBytes(): number {
    if (this.chunks.length > (this.block ? 0 : 1)) return this.length;
    return this.growable ? Math.min(this.filled, MessageBuffer.MOVE_STEP) : 0;
  }

  /** Bytes moved at a time out of a growable block before it shrinks by as much. */
  private static readonly MOVE_STEP = 1024 * 1024;

  toBuffer(): Buffer {
    const block = this.block ? this.fixedBlock() : null;
    const parts = block ? [block, ...this.chunks] : this.chunks;
    if (parts.length === 0) return Buffer.alloc(0);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.length);
  }

  /**
   * The block as a Buffer over a fixed-length ArrayBuffer. A growable one is moved out: V8 works
   * on views of resizable ArrayBuffers several times slower (parsing the 25 MB benchmark message
   * took 6× as long) and copied some of them. It is moved from its end, one step at a time,
   * shrinking it by each step, which gives its pages back: the move holds one step more than the
   * message, not twice the message.
   */
  private fixedBlock(): Buffer {
    const growable = this.growable;
    if (!growable) return Buffer.from(this.block!.buffer, this.block!.byteOffset, this.filled);
    const out = Buffer.allocUnsafeSlow(this.filled);
    for (let end = this.filled; end > 0; end -= MessageBuffer.MOVE_STEP) {
      const start = Math.max(0, end - MessageBuffer.MOVE_STEP);
      out.set(new Uint8Array(growable, start, end - start), start);
      growable.resize(start);
    }
    this.growable = null;
    this.block = out;
    return out;
  }

  /** Whether the block holds `end` bytes, growing it (in place) when it can. */
  private fits(end: number): boolean {
    if (end <= this.block!.length) return true;
    const growable = this.growable;
    if (!growable || end > growable.maxByteLength) return false;
    // Its length is the message's, exactly: pages beyond what is written are not committed, and
    // growing never moves the bytes. Memory refused: the rest goes on as chunks.
    try {
      growable.resize(end);
    } catch {
      return false;
    }
    this.block = new Uint8Array(growable);
    return true;
  }

  /**
   * Moves what was collected so far (the chunks, or the declared-size block that turned out too
   * small) into a block whose address space is reserved up to the maximum message size, and
   * makes room for `end` bytes. A message already past that maximum stays as chunks: the caller
   * refuses it whole.
   */
  private moveToGrowable(end: number): boolean {
    // Room for the chunk that crosses the maximum, which the caller refuses after it.
    const reserve = this.maxBytes + 1024 * 1024;
    if (end > reserve) return false;
    this.triedGrowable = true;
    let growable: ArrayBuffer;
    try {
      growable = new ArrayBuffer(end, { maxByteLength: reserve });
    } catch {
      // Address space or memory refused (a RangeError): keep collecting chunks, joined at the end.
      return false;
    }
    const block = new Uint8Array(growable);
    if (this.block) block.set(this.block.subarray(0, this.filled));
    for (const c of this.chunks) {
      block.set(c, this.filled);
      this.filled += c.length;
    }
    this.chunks = [];
    this.growable = growable;
    this.block = block;
    return true;
  }
}

/** The SIZE a client declared at MAIL FROM, if any. */
export function declaredSize(args: unknown): number | undefined {
  const record = args && typeof args === 'object' ? (args as Record<string, string>) : {};
  const size = Number(record.SIZE);
  return Number.isSafeInteger(size) && size > 0 ? size : undefined;
}
