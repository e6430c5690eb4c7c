import type { Served } from '../../infra/local/http-server.ts';

/**
 * The backend round trips one message waited on, as the stand-ins served them: the requests
 * that arrived after its end of DATA and were answered before its reply, in phases (requests
 * whose service times overlap, as the copies to SES or two batch writes do, are one phase), each
 * phase counting its longest round trip. The sum is the DATA→250 time of a relay that does no
 * work of its own against these stand-ins, with each phase's requests sent at once; the message's
 * DATA→250 over it is the relay's own share. A stand-in's slow answer (dynalite writing a batch
 * for longer than the injected 5 ms) is in it, as it would be in any relay's.
 */
export function criticalPath(
  served: readonly Served[],
  window: { from: number; to: number },
): { ms: number; phases: number } {
  const inWindow = served
    .filter((s) => s.arrivedAt >= window.from && s.answeredAt <= window.to)
    .sort((a, b) => a.arrivedAt - b.arrivedAt);
  let ms = 0;
  let phases = 0;
  let phaseEnd = Number.NEGATIVE_INFINITY;
  let longest = 0;
  for (const s of inWindow) {
    if (s.arrivedAt >= phaseEnd) {
      ms += longest;
      phases++;
      longest = 0;
    }
    longest = Math.max(longest, s.answeredAt - s.arrivedAt);
    phaseEnd = Math.max(phaseEnd, s.answeredAt);
  }
  return { ms: ms + longest, phases };
}
