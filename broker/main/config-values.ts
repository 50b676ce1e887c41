/**
 * How one option's raw text (a flag's value or an environment variable) becomes a value: each
 * kind of option with its rule, and a ConfigError that names the source and what was expected.
 */
import { checkTopic } from '../../client/protocol/index.js';
import type { HistoryRule } from '../topics/index.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;

export type Kind = 'int' | 'bytes' | 'string' | 'host' | 'history' | 'level' | 'addresses' | 'address' | 'secret' | 'path' | 'auth' | 'text' | 'origins' | 'patterns';

export interface OptionSpec {
  /** The config field it sets (config.ts narrows it to the BrokerConfig keys). */
  key: string;
  flag: string;
  env: string;
  kind: Kind;
  min?: number;
  max?: number;
  help: string;
  /** The default in words, where the value alone would mislead (derived at start-up). */
  shown?: string;
}

/**
 * An option's default as `--help` and the README's table show it: sizes in KiB/MiB, nothing set
 * as `none`, a derived default in words (`spec.shown`).
 */
export function shownDefault(spec: OptionSpec, value: unknown): string {
  if (spec.shown !== undefined) return spec.shown;
  if (spec.kind === 'secret' || value === '' || value === -1 || (Array.isArray(value) && value.length === 0)) return 'none';
  if (spec.kind === 'bytes' && typeof value === 'number') {
    if (value >= 1024 * 1024 && value % (1024 * 1024) === 0) return `${value / (1024 * 1024)} MiB`;
    if (value >= 1024 && value % 1024 === 0) return `${value / 1024} KiB`;
  }
  return String(value);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses one raw value by its spec; throws ConfigError naming the source. */
export function parseValue(spec: OptionSpec, raw: string, source: string): unknown {
  const bad = (expected: string): never => {
    throw new ConfigError(`${source}: ${JSON.stringify(raw)} is not ${expected}`);
  };
  switch (spec.kind) {
    case 'int':
    case 'bytes': {
      const n = spec.kind === 'bytes' ? parseBytes(raw) : /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
      if (!Number.isSafeInteger(n)) bad(spec.kind === 'bytes' ? 'a byte size (e.g. 65536, 64KiB, 1MiB)' : 'a whole number');
      if (spec.min !== undefined && n < spec.min) bad(`at least ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) bad(`at most ${spec.max}`);
      return n;
    }
    case 'string':
      if (!/^[A-Za-z0-9_.-]{1,63}$/.test(raw)) bad('1–63 chars of [A-Za-z0-9_.-]');
      return raw;
    case 'host':
      if (!/^[A-Za-z0-9_.:-]{1,253}$/.test(raw) && !/^\[[0-9a-fA-F:]+\]$/.test(raw)) bad('a host name or IP address');
      return raw.replace(/^\[|\]$/g, '');
    case 'level':
      if (!['debug', 'info', 'warn', 'error', 'silent'].includes(raw)) bad('one of debug, info, warn, error, silent');
      return raw;
    case 'addresses':
      return raw
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== '')
        .map((a) => (isAddress(a) ? a : bad('a list of host:port addresses')));
    case 'address':
      if (!isAddress(raw)) bad('a host:port address');
      return raw;
    case 'path':
      if (raw.length > 4096 || raw.includes('\0')) bad('a file path');
      return raw;
    case 'secret':
      if (raw.length < 8 || raw.length > 256) bad('a secret of 8 to 256 characters');
      return raw;
    case 'auth':
      if (raw !== 'none' && raw !== 'jwt') bad('none or jwt');
      return raw;
    case 'text':
      if (raw.length > 256 || !/^[\x21-\x7e]+$/.test(raw)) bad('1–256 printable characters without spaces');
      return raw;
    case 'origins':
      return raw
        .split(',')
        .map((o) => o.trim().toLowerCase())
        .filter((o) => o !== '')
        .map((o) => (o === '*' || /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/.test(o) ? o : bad('a list of origins (https://example.com[:port]) or *')));
    case 'patterns':
      return raw
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '')
        .map((p) => (checkTopic(p, true).ok ? p : bad('a comma-separated list of topic patterns (game.*.pos, room.>)')));
    case 'history':
      return raw
        .split(',')
        .filter((s) => s.trim() !== '')
        .map((rule) => parseHistoryRule(rule.trim(), source));
    default: {
      const never: never = spec.kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

function isAddress(a: string): boolean {
  const m = /^([A-Za-z0-9_.-]{1,253}|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(a);
  return m !== null && Number(m[2]) > 0 && Number(m[2]) < 65536;
}

function parseBytes(raw: string): number {
  const m = /^\s*(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)\s*$/i.exec(raw);
  if (m === null) return NaN;
  const unit = m[2]!.toLowerCase();
  const scale = unit.startsWith('k') ? KiB : unit.startsWith('m') ? MiB : unit.startsWith('g') ? 1024 * MiB : 1;
  return Number(m[1]) * scale;
}

function parseHistoryRule(rule: string, source: string): HistoryRule {
  const m = /^([^=]+)=(\d+):(.+)$/.exec(rule);
  if (m === null) throw new ConfigError(`${source}: history rule ${JSON.stringify(rule)} is not pattern=length:bytes (e.g. "room.>=100:256KiB")`);
  const pattern = m[1]!;
  if (!checkTopic(pattern, true).ok) throw new ConfigError(`${source}: ${JSON.stringify(pattern)} is not a valid topic pattern`);
  const bytesMax = parseBytes(m[3]!);
  if (!Number.isSafeInteger(bytesMax)) throw new ConfigError(`${source}: ${JSON.stringify(m[3])} is not a byte size`);
  return { pattern, lengthMax: Number(m[2]), bytesMax };
}

