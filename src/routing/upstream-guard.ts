import type { GatewayError } from '../errors';

/**
 * The bounds of one upstream call, routed or passed through: its AbortController is
 * aborted by the first-byte timer, the total timer (each with the error `timedOut`
 * makes for it), or the client leaving (with the client's reason). The client's
 * signal is followed by a listener, not AbortSignal.any(): that would cost a new
 * signal and its bookkeeping on every call.
 */
export interface UpstreamGuard {
  controller: AbortController;
  /** An abort callback for another bound (e.g. idle), with the same kind of error. */
  timeout(what: string, ms: number): () => void;
  /** The first byte arrived: its timer stops. */
  firstByte(): void;
  /** The call is over: every timer stops and the client's signal is let go. */
  finish(): void;
}

export interface Bounds {
  firstByteMs: number;
  totalMs: number;
  /** What the total bound is called in its error (`total`, or `deadline` when the call's deadline cut it). */
  totalName?: string;
}

export function guardUpstream(clientSignal: AbortSignal, bounds: Bounds, timedOut: (what: string, ms: number) => GatewayError): UpstreamGuard {
  const controller = new AbortController();
  const timeout = (what: string, ms: number) => () => controller.abort(timedOut(what, ms));
  const firstByteTimer = setTimeout(timeout('first byte', bounds.firstByteMs), bounds.firstByteMs);
  const totalTimer = setTimeout(timeout(bounds.totalName ?? 'total', bounds.totalMs), bounds.totalMs);
  const onClientGone = () => controller.abort(clientSignal.reason);
  if (clientSignal.aborted) onClientGone();
  else clientSignal.addEventListener('abort', onClientGone, { once: true });
  return {
    controller,
    timeout,
    firstByte: () => clearTimeout(firstByteTimer),
    finish() {
      clearTimeout(firstByteTimer);
      clearTimeout(totalTimer);
      clientSignal.removeEventListener('abort', onClientGone);
    },
  };
}
