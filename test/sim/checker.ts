/**
 * The property checker: every member's log in, the list of violated predicates of PROPERTIES.md
 * out. Pure and independent of broker/core and of the simulator, so that the same checker judges
 * simulated runs and multi-process runs, and neither can mark its own homework.
 *
 * Contract: `checkRun` never throws on a well-typed log (a malformed one is reported as 'LOG'); an empty
 * list means every checked property holds. Reports come out in a fixed order for the same logs.
 */
import type { LogEntry, MemberId } from '../../broker/core/log.js';
import { checkIntegrity, checkNoDuplication, checkSameView, checkVirtualSynchrony, checkSelfDelivery, checkFlushSanity, checkFinalViewAgreement } from './checker/delivery.js';
import { checkFinalStates, checkStates } from './checker/state.js';
import {
  checkConvergence,
  checkLogShape,
  checkMonotoneViews,
  checkNoTrafficBeforeView,
  checkPrimaryComponent,
  checkSelfInclusion,
  checkViewAgreement,
} from './checker/membership.js';
import { type Run, type Violation, indexRun } from './checker/model.js';
import { checkCausal } from './checker/causality.js';
import { checkAudience } from './checker/audience.js';
import { checkAbcastFifo, checkFifo, checkGroup, checkSafe, checkTotal } from './checker/order.js';

export type { Violation } from './checker/model.js';
export { happenedBefore, precedes } from './checker/causality.js';
export { isPrimarySuccessor } from './checker/membership.js';

export interface RunLogs {
  /** Each member's log in the order things happened at that member (member ids are 'name#incarnation'). */
  logs: Map<MemberId, LogEntry[]>;
  /** Members alive and connected at the end of the liveness phase (for M6); omit to skip liveness checks. */
  finalLive?: MemberId[];
  /**
   * Members whose logs end where their process was killed soon after they installed their last view
   * (a test's brokers after its last step, not drained): a total or group message they sent before
   * that view change may still have been on its way in it, so D5 does not ask for its delivery. The
   * harness names only members whose last view was recent (test/helpers/mesh.ts); for the others,
   * and in every simulated run, D5 stays whole.
   */
  cut?: ReadonlySet<MemberId>;
}

/** The safety checks, in report order. */
const safetyChecks: ReadonlyArray<(run: Run) => Violation[]> = [
  checkLogShape,
  checkSelfInclusion,
  checkMonotoneViews,
  checkNoTrafficBeforeView,
  checkViewAgreement,
  checkPrimaryComponent,
  checkIntegrity,
  checkNoDuplication,
  checkSameView,
  checkVirtualSynchrony,
  checkSelfDelivery,
  checkFlushSanity,
  checkFifo,
  checkAbcastFifo,
  checkCausal,
  checkTotal,
  checkGroup,
  checkSafe,
  checkAudience,
  checkStates,
];

export function checkRun(runLogs: RunLogs): Violation[] {
  const run = indexRun(runLogs.logs, runLogs.cut);
  const out = safetyChecks.flatMap((check) => check(run));
  if (runLogs.finalLive !== undefined) {
    out.push(...checkConvergence(run, runLogs.finalLive));
    out.push(...checkFinalViewAgreement(run, runLogs.finalLive));
    out.push(...checkFinalStates(run, runLogs.finalLive));
  }
  return out;
}

/** One line per violation, at most `limit` of them, with a count of the rest: a failing seed's report stays readable. */
export function formatViolations(violations: readonly Violation[], limit = 50): string {
  if (violations.length === 0) return 'no violations';
  const lines = violations.slice(0, limit).map((v) => `${v.property}: ${v.message}`);
  if (violations.length > limit) lines.push(`... and ${violations.length - limit} more`);
  return lines.join('\n');
}
