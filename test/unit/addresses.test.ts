// Which addresses count as one for per-address limits, and the admission of pre-upgrade sockets
// (deterministic, with stand-in sockets; test/integration/attacks.test.ts drives the real one).
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { addressKey } from '../../broker/server/addresses.js';
import { Admission, type AdmissionRefusal } from '../../broker/server/admission.js';
import { encodeFrame, frameLength } from '../../client/protocol/index.js';

describe('addressKey', () => {
  it('keeps IPv4 addresses, unwraps IPv4-mapped ones, and takes the /64 of IPv6', () => {
    const cases: Array<[string, string]> = [
      ['127.0.0.1', '127.0.0.1'],
      ['::ffff:10.1.2.3', '10.1.2.3'],
      ['::FFFF:10.1.2.3', '10.1.2.3'],
      ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
      ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
      ['2001:0db8:0001:0002:0000:0000:0000:0009', '2001:db8:1:2::/64'],
      ['2001:db8::1', '2001:db8:0:0::/64'],
      ['::1', '0:0:0:0::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
      ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
      ['', ''],
    ];
    for (const [ip, key] of cases) expect(addressKey(ip), ip).toBe(key);
    // Every address of one /64 is one key; the next /64 is another.
    expect(addressKey('2001:db8:1:2:ffff::')).toBe(addressKey('2001:db8:1:2::'));
    expect(addressKey('2001:db8:1:3::')).not.toBe(addressKey('2001:db8:1:2::'));
  });
});

describe('frameLength', () => {
  it('reads the message count from the array header without decoding', () => {
    for (const n of [0, 1, 15, 16, 1000, 65_535, 65_536, 70_000]) expect(frameLength(encodeFrame(new Array(n).fill(null))), String(n)).toBe(n);
    expect(frameLength(new Uint8Array([]))).toBeUndefined();
    expect(frameLength(encodeFrame({ a: 1 } as unknown as unknown[]))).toBeUndefined();
    expect(frameLength(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]))).toBe(2 ** 32 - 1);
    expect(frameLength(new Uint8Array([0xdc, 0x01]))).toBeUndefined(); // truncated header
  });
});

class StandIn extends EventEmitter {
  destroyed = false;
  constructor(
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {
    super();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
  }
}

describe('Admission', () => {
  const setup = (pendingMax: number, pendingPerAddress: number) => {
    const refused: AdmissionRefusal[] = [];
    const admission = new Admission({ pendingMax, pendingPerAddress }, (why) => refused.push(why));
    let port = 1000;
    const open = (ip: string): StandIn => {
      const s = new StandIn(ip, port++);
      admission.admit(s as unknown as Socket);
      return s;
    };
    return { admission, refused, open };
  };

  it('drops sockets past an address share on arrival, an IPv6 /64 counting as one address', () => {
    const { admission, refused, open } = setup(10, 3);
    const a = [open('10.0.0.1'), open('10.0.0.1'), open('10.0.0.1'), open('10.0.0.1')];
    expect(a.map((s) => s.destroyed)).toEqual([false, false, false, true]);
    const v6 = ['2001:db8::1', '2001:db8::2', '2001:db8::3', '2001:db8::4'].map(open);
    expect(v6.map((s) => s.destroyed)).toEqual([false, false, false, true]);
    expect(refused).toEqual(['address', 'address']);
    expect(admission.size).toBe(6);
    // A socket that closes or is upgraded frees its place.
    a[0]!.destroy();
    admission.upgraded(a[1]!);
    expect(admission.size).toBe(4);
    expect(open('10.0.0.1').destroyed).toBe(false);
    expect(open('10.0.0.1').destroyed).toBe(false);
    expect(open('10.0.0.1').destroyed).toBe(true);
  });

  it('sheds the oldest pre-upgrade socket when the budget is spent, so a newcomer always gets in', () => {
    const { admission, refused, open } = setup(4, 2);
    const first = [open('10.0.0.1'), open('10.0.0.1'), open('10.0.0.2'), open('10.0.0.2')];
    const newcomer = open('10.0.0.3');
    expect(first.map((s) => s.destroyed)).toEqual([true, false, false, false]);
    expect(newcomer.destroyed).toBe(false);
    expect(refused).toEqual(['shed']);
    expect(admission.size).toBe(4);
    admission.upgraded(newcomer);
    expect(admission.size).toBe(3);
  });
});
