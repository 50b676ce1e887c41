// Races the scenario language cannot write (messages held back one by one, several handed on in one
// turn): each must leave the checker nothing to report. The races are in races.ts.
import { describe, expect, it } from 'vitest';
import { formatViolations } from './checker.js';
import { races } from './races.js';

describe('races', () => {
  for (const race of races()) {
    it(race.name, () => {
      const violations = race.run();
      expect(violations.length === 0 ? '' : formatViolations(violations, 12)).toBe('');
    });
  }
});
