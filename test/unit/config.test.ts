// Proves configuration parsing: flags beat environment beat defaults, and every bad value stops start-up with a message naming it.
import { describe, expect, it } from 'vitest';
import { ConfigError, configDefaults, parseConfig } from '../../broker/main/index.js';
import { readFileSync } from 'node:fs';
import { helpText, optionSpecs } from '../../broker/main/config.js';
import { shownDefault } from '../../broker/main/config-values.js';

describe('parseConfig', () => {
  it('uses the defaults with no flags and no environment', () => {
    expect(parseConfig([], {})).toEqual({ ...configDefaults, historyRules: [] });
    expect(configDefaults.port).toBe(8080);
  });

  it('reads flags (both forms), environment twins, and byte sizes with units', () => {
    const config = parseConfig(['--port', '9000', '--payload-bytes-max=32KiB', '--history', 'room.>=10:1MiB'], {
      CHORUS_PORT: '7000',
      CHORUS_HOST: '127.0.0.1',
      CHORUS_OUTBOUND_BYTES_MAX: '2MiB',
    });
    expect(config.port).toBe(9000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.payloadBytesMax).toBe(32 * 1024);
    expect(config.outboundBytesMax).toBe(2 * 1024 * 1024);
    expect(config.historyRules).toEqual([{ pattern: 'room.>', lengthMax: 10, bytesMax: 1024 * 1024 }]);
  });

  const bad: Array<[string[], Record<string, string>, RegExp]> = [
    [['--port', '70000'], {}, /--port: "70000" is not at most 65535/],
    [['--port', 'abc'], {}, /--port: "abc" is not a whole number/],
    [[], { CHORUS_PORT: '-1' }, /CHORUS_PORT/],
    [['--frame-bytes-max', '1 parsec'], {}, /--frame-bytes-max: .* is not a byte size/],
    [['--nope', '1'], {}, /unknown option "--nope"/],
    [['--port'], {}, /--port needs a value/],
    [['--history', 'room.*'], {}, /is not pattern=length:bytes/],
    [['--history', 'a..b=1:1'], {}, /not a valid topic pattern/],
    [['--log-level', 'loud'], {}, /one of debug, info, warn, error, silent/],
    [['--payload-bytes-max', '2MiB', '--frame-bytes-max', '1MiB'], {}, /must be below frame-bytes-max/],
    [['--pending-per-ip', '600', '--pending-max', '1000'], {}, /at most half of pending-max/],
  ];
  it.each(bad)('refuses %j %j', (argv, env, message) => {
    expect(() => parseConfig(argv, env)).toThrow(ConfigError);
    expect(() => parseConfig(argv, env)).toThrow(message);
  });

  it('has every option in the README table', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync('README.md', 'utf8');
    for (const spec of optionSpecs) expect(readme, spec.flag).toContain(`| \`${spec.flag}\` | \`${spec.env}\` |`);
  });
});

describe('--help and the README', () => {
  it('list every option with the same environment variable and the same default', () => {
    const rows = new Map(
      [...readFileSync('README.md', 'utf8').matchAll(/^\| `(--[a-z-]+)` \| `(CHORUS_[A-Z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, { env: m[2]!, shown: m[3]!.trim().replaceAll('`', '') }]),
    );
    const help = helpText();
    for (const spec of optionSpecs) {
      const shown = shownDefault(spec, configDefaults[spec.key as keyof typeof configDefaults]);
      expect(rows.get(spec.flag), `${spec.flag} in README's table`).toEqual({ env: spec.env, shown });
      expect(help).toContain(`${spec.env}`);
      expect(help, spec.flag).toMatch(new RegExp(`${spec.flag} <[a-z]+>.*\\[default ${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\]`));
    }
    expect(rows.size).toBe(optionSpecs.length);
  });
});
