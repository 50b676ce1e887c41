// Proves the classic view-change cases deterministically: each scenario is a short script run on
// the simulator, then healed and settled; its own expectations and the full property checker must
// hold. (Sequencer crash mid-stream, coordinator crash during a flush, join during a flush, false
// suspicion, a 2|1 partition and heal, a 1|1|1 split; and each again with every view heartbeating
// in a star, plus the crashes a star must survive without leaving the primary.) The scripts are in
// scenario-scripts.ts.
import { describe, expect, it } from 'vitest';
import { runScenario } from './scenario.js';
import { scenarioRuns } from './scenario-scripts.js';

describe('scripted scenarios', () => {
  for (const { name, script, config } of scenarioRuns()) {
    it(name, () => {
      const result = runScenario(script, 1, undefined, config);
      expect(result.report).toBe('');
    });
  }
});
