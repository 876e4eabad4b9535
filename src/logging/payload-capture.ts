import { StreamAssembler } from '../cache/assemble';
import type { GatewayConfig, KeyConfig } from '../config/schema';
import type { JsonObject } from '../core/json';
import type { Operation } from '../core/operation';
import type { StreamTap } from '../streaming/relay';
import type { CallRecord } from './call-record';

/**
 * Payload logs are opt-in per key (`keys.<id>.log_payloads`) or per model alias
 * (`models.<alias>.log_payloads`). For such a call the record carries a capture:
 * the request body (in the gateway's OpenAI shape) and, once known, the answer;
 * a streamed answer is assembled from its chunks (the cache's StreamAssembler).
 * Calls that log nothing pay one property test per stage.
 */
export class PayloadCapture {
  /** The complete answer; undefined while unknown, and for a failed or unfinished stream. */
  response: JsonObject | undefined;

  constructor(readonly request: JsonObject) {}

  answered(answer: JsonObject | undefined): void {
    this.response = answer;
  }

  /** A stream tap that assembles the answer, and passes every chunk on to `inner` (the cache's). */
  tap(operation: Operation, inner: StreamTap | undefined): StreamTap {
    const assembler = new StreamAssembler(operation);
    return {
      chunk: (data) => {
        inner?.chunk(data);
        assembler.push(data);
      },
      end: (complete) => {
        inner?.end(complete);
        if (complete) this.response = assembler.result();
      },
    };
  }
}

/** A capture for a call whose key or model logs payloads; undefined otherwise. */
export function capturePayload(config: GatewayConfig, key: KeyConfig, model: string, body: JsonObject): PayloadCapture | undefined {
  const alias = Object.hasOwn(config.models, model) ? config.models[model] : undefined;
  return key.log_payloads || alias?.log_payloads ? new PayloadCapture(body) : undefined;
}

/** The stream tap for a call: the cache's, joined by the payload capture's when it has one. */
export function payloadTap(record: CallRecord, operation: Operation, inner: StreamTap | undefined): StreamTap | undefined {
  return record.payload ? record.payload.tap(operation, inner) : inner;
}
