/**
 * The bytes of DATA all transactions hold at once, against one process-wide budget
 * (`smtp.maxDataBytesInFlight`): a message that would take it past the budget is refused with
 * 452 4.3.1 (at MAIL FROM when its SIZE is declared, else at the end of DATA), so a few clients
 * uploading large or slow messages cannot take the memory every other client needs. A message
 * is held from its first byte until its copies are sent (the copies are slices of it).
 */
export class DataBudget {
  private used = 0;

  constructor(private readonly maxBytes: number) {}

  couldHold(bytes: number): boolean {
    return this.used + bytes <= this.maxBytes;
  }

  get inUse(): number {
    return this.used;
  }

  /** One transaction's hold: grows as bytes arrive, released once. */
  open(): { readonly bytes: number; grow(bytes: number): boolean; shrink(bytes: number): void; release(): void } {
    let held = 0;
    let released = false;
    return {
      get bytes() {
        return held;
      },
      grow: (bytes: number) => {
        if (bytes <= 0) return true;
        if (released || this.used + bytes > this.maxBytes) return false;
        this.used += bytes;
        held += bytes;
        return true;
      },
      shrink: (bytes: number) => {
        if (released) return;
        const less = Math.min(held, Math.max(0, bytes));
        held -= less;
        this.used -= less;
      },
      release: () => {
        if (released) return;
        released = true;
        this.used -= held;
      },
    };
  }
}
