/**
 * What a call is refused for before anything reaches the broker: a topic name
 * that breaks the rules, options that contradict each other, data that is not
 * plain msgpack or passes the last broker's limits. A refused call fails alone
 * (the broker would close the whole link for some of these).
 */
import { RequestError } from './errors.js';
import { ErrorCode, checkData, checkSubscribeTopic, checkTopic, type Limits, type MessageKind } from './protocol/index.js';
import type { SubscribeOptions } from './subscription.js';

function topicRefusal(topic: string, wildcardAllowed: boolean): { refused: RequestError } | { wildcard: boolean } {
  const check = wildcardAllowed ? checkSubscribeTopic(topic) : checkTopic(topic, false);
  if (check.ok) return { wildcard: check.wildcard };
  return { refused: new RequestError(check.reason === 'reserved' ? ErrorCode.ReservedTopic : ErrorCode.InvalidTopic, `invalid topic ${JSON.stringify(topic)} (${check.reason})`) };
}

/** Why `subscribe(topic, …, options)` is refused, if it is; else whether the topic is a wildcard. */
export function subscribeRefusal(topic: string, options: SubscribeOptions, limits: Limits | undefined): { refused: RequestError } | { wildcard: boolean } {
  const named = topicRefusal(topic, true);
  if ('refused' in named) return named;
  if (named.wildcard && (options.state === true || options.since !== undefined || options.presence !== undefined)) {
    return { refused: new RequestError(ErrorCode.WildcardNotAllowed, 'a wildcard subscription cannot ask for state, since or presence') };
  }
  if (options.state === true && options.since !== undefined) {
    // A resume replays messages onto state the caller already has; this one would have none.
    return { refused: new RequestError(ErrorCode.BadRequest, 'state and since cannot be combined: ask for state, or resume with since') };
  }
  if (options.presence?.info !== undefined) {
    const info = checkData(options.presence.info, limits?.presenceInfoBytesMax ?? Number.MAX_SAFE_INTEGER, 'presence info');
    if (!info.ok) return { refused: new RequestError(info.code, info.message) };
  }
  return named;
}

/** Why `publish(topic, data, { kind })` is refused, if it is; else the payload's encoding (sent as it is). */
export function publishRefusal(topic: string, data: unknown, kind: MessageKind, limits: Limits | undefined): RequestError | Uint8Array {
  const named = topicRefusal(topic, false);
  if ('refused' in named) return named.refused;
  if (kind !== 'event' && kind !== 'state' && kind !== 'patch') return new RequestError(ErrorCode.BadRequest, `unknown kind ${String(kind)}`);
  const checked = checkData(data, limits?.payloadBytesMax ?? Number.MAX_SAFE_INTEGER);
  return checked.ok ? checked.encoded : new RequestError(checked.code, checked.message);
}
