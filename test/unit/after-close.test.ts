// The client's rule for what follows a closed link (client/after-close.ts), case by case.
import { describe, expect, it } from 'vitest';
import { afterClose, type ClosedLink } from '../../client/after-close.js';
import { CloseCode } from '../../client/protocol/index.js';

const base: ClosedLink = { code: CloseCode.Abnormal, welcomed: true, pipelined: false, helloVersion: 2, firstRoundOver: false, reconnect: {}, attempt: 0 };
const half = () => 0.5;

describe('after a link closes', () => {
  it('connects again at once without pipelining when the broker held less than was sent before its welcome', () => {
    expect(afterClose({ ...base, code: CloseCode.RateLimited, welcomed: false, pipelined: true })).toEqual({ kind: 'again-unpipelined' });
    expect(afterClose({ ...base, code: CloseCode.FrameTooBig, welcomed: false, pipelined: true })).toEqual({ kind: 'again-unpipelined' });
    expect(afterClose({ ...base, code: CloseCode.BadFrame, welcomed: false, pipelined: true })).toEqual({ kind: 'again-unpipelined' });
    expect(afterClose({ ...base, code: CloseCode.FrameTooBig, welcomed: false })).toEqual({ kind: 'fail' });
    // Not pipelined, or after the welcome: a rate-limit close is an ordinary reconnect.
    expect(afterClose({ ...base, code: CloseCode.RateLimited, welcomed: false }, half).kind).toBe('reconnect');
    expect(afterClose({ ...base, code: CloseCode.RateLimited, pipelined: true }, half).kind).toBe('reconnect');
  });

  it('falls back to protocol 1 only for a refused version-2 hello', () => {
    expect(afterClose({ ...base, code: CloseCode.UnsupportedVersion, welcomed: false })).toEqual({ kind: 'again-v1' });
    expect(afterClose({ ...base, code: CloseCode.UnsupportedVersion, welcomed: false, helloVersion: 1 }).kind).toBe('fail');
  });

  it('fails connect() once the first round over every URL found no broker, and fails for closes a reconnect cannot cure', () => {
    expect(afterClose({ ...base, welcomed: false, firstRoundOver: true })).toEqual({ kind: 'fail-connect' });
    expect(afterClose({ ...base, code: CloseCode.Unauthorized })).toEqual({ kind: 'fail' });
    expect(afterClose({ ...base, reconnect: { enabled: false } })).toEqual({ kind: 'fail' });
  });

  it('reconnects at once from a draining broker, then backs off with jitter', () => {
    expect(afterClose({ ...base, code: CloseCode.Draining })).toEqual({ kind: 'reconnect', delayMs: 0 });
    expect(afterClose({ ...base, code: CloseCode.Draining, attempt: 1 }, half)).toEqual({ kind: 'reconnect', delayMs: 150 });
    expect(afterClose({ ...base, attempt: 3, reconnect: { delayMinMs: 100, delayMaxMs: 500 } }, half)).toEqual({ kind: 'reconnect', delayMs: 375 });
  });
});
