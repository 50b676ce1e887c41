/**
 * Which client addresses count as one for limits. An IPv4 address is one
 * client; an IPv6 client usually holds a whole /64 (and can pick any address
 * in it), so its /64 prefix is the unit. An IPv4-mapped IPv6 address
 * (`::ffff:1.2.3.4`, what a dual-stack listener reports) is its IPv4 address.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The key per-address limits count by: the IPv4 address, or the IPv6 /64 as `a:b:c:d::/64`. */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped !== null) return mapped[1]!;
  if (isIPv4(ip) || !isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, each as a lower-case number without leading zeros. */
function expandIPv6(ip: string): string[] {
  const bare = ip.split('%')[0]!.toLowerCase(); // drop a zone id (fe80::1%eth0)
  const [head, tail] = bare.includes('::') ? bare.split('::') : [bare, undefined];
  const left = head === '' ? [] : head!.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::1.2.3.4) is two groups.
  const last = right.length > 0 ? right : left;
  if (last.length > 0 && last[last.length - 1]!.includes('.')) {
    const [a, b, c, d] = last.pop()!.split('.').map(Number) as [number, number, number, number];
    last.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16));
}
