/**
 * Pipelining: the subscriptions a client holds go out in the same frame as its hello, before the
 * welcome, which saves a round trip on every connect and reconnect. The broker holds what follows
 * a hello while it verifies the token, up to 16 KiB and 256 messages in all (docs/protocol.md §1);
 * past that it closes with 4008. So only the first subscriptions within a smaller budget go early,
 * and the rest go at the welcome as before. A broker configured lower than the budget closes with
 * 1009 or 4008 before its welcome (4501 if it refuses the frame): the client then connects again
 * at once without pipelining (after-close.ts).
 */
import { encode } from './protocol/index.js';
import type { Requests } from './requests.js';
import type { Subscription } from './subscription.js';

/** Bytes of hello plus subscribes sent before the welcome (the broker's default allows 16 KiB). */
export const pipelineBytesMax = 12 * 1024;
/**
 * Subscribes sent before the welcome: with the hello, 16 messages — the least `frameMessagesMax`
 * a broker may be configured with, so the frame is never refused for its count (the broker holds
 * at most 256 messages before its welcome).
 */
export const pipelineMessagesMax = 15;

/**
 * Sends `hello` and, behind it, subscribes for the first of `subs` within the budget. Returns
 * the subscriptions sent; the caller sends the others once welcomed.
 */
export function helloWithSubscribes(send: (encoded: Uint8Array) => void, hello: object, subs: Iterable<Subscription>, requests: Requests, pipelining: boolean): Set<Subscription> {
  const helloBytes = encode(hello);
  send(helloBytes);
  const sent = new Set<Subscription>();
  if (!pipelining) return sent;
  let bytes = helloBytes.byteLength;
  for (const sub of subs) {
    if (sent.size >= pipelineMessagesMax) break;
    const id = requests.add({ kind: 'sub', sub });
    const encoded = encode(sub.request(id));
    if (bytes + encoded.byteLength > pipelineBytesMax) {
      requests.take(id); // goes at the welcome, under a new id
      break;
    }
    bytes += encoded.byteLength;
    send(encoded);
    sent.add(sub);
  }
  return sent;
}
