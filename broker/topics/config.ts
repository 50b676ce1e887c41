/**
 * Limits of the topic layer. Every field has a unit and a default; the broker's
 * configuration (broker/main/config.ts) fills them from flags and environment.
 */
import { matchTopic } from '../../client/protocol/index.js';

export interface HistoryRule {
  /** Topic pattern (`*`, `>` allowed); the first matching rule wins. */
  pattern: string;
  lengthMax: number;
  bytesMax: number;
}

export interface TopicLimits {
  /** Messages kept per topic for resume. Default 1000. */
  historyLengthMax: number;
  /** Encoded bytes of history kept per topic. Default 1 MiB. */
  historyBytesMax: number;
  /** Per-pattern overrides of the two above, first match wins. */
  historyRules: HistoryRule[];
  /** Largest topic state, msgpack bytes. Default 1 MiB. */
  stateBytesMax: number;
  /** Topics kept in memory; beyond it the least recently used topic without local subscribers is dropped. Default 100 000. */
  topicsMax: number;
}

export const topicLimitsDefault: TopicLimits = {
  historyLengthMax: 1000,
  historyBytesMax: 1024 * 1024,
  historyRules: [],
  stateBytesMax: 1024 * 1024,
  topicsMax: 100_000,
};

export function historyLimitsFor(limits: TopicLimits, topic: string): { lengthMax: number; bytesMax: number } {
  for (const rule of limits.historyRules) {
    if (matchTopic(rule.pattern, topic)) return rule;
  }
  return { lengthMax: limits.historyLengthMax, bytesMax: limits.historyBytesMax };
}
