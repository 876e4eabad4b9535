import type { GatewayConfig, KeyConfig } from '../config/schema';
import type { JsonObject } from '../core/json';

/**
 * Payload logs are opt-in per key (`keys.<id>.log_payloads`) or per model alias
 * (`models.<alias>.log_payloads`). For such a call the record carries a capture:
 * the request body (in the gateway's OpenAI shape) and, once known, the answer
 * (a streamed one assembled from its chunks: src/ingress/respond.ts).
 * Calls that log nothing pay one property test per stage.
 */
export class PayloadCapture {
  /** The complete answer; undefined while unknown, and for a failed or unfinished stream. */
  response: JsonObject | undefined;

  constructor(readonly request: JsonObject) {}

  answered(answer: JsonObject | undefined): void {
    this.response = answer;
  }
}

/** A capture for a call whose key or model logs payloads; undefined otherwise. */
export function capturePayload(config: GatewayConfig, key: KeyConfig, model: string, body: JsonObject): PayloadCapture | undefined {
  const alias = Object.hasOwn(config.models, model) ? config.models[model] : undefined;
  return key.log_payloads || alias?.log_payloads ? new PayloadCapture(body) : undefined;
}
