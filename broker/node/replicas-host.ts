/**
 * What broker/mesh/replicas.ts needs of the broker around it: its member id,
 * the group to multicast controls on, the links for notes to one peer, the
 * publish answers of the mesh stream, the local subscriptions, a clock.
 */
import type { MessageKey, MemberId, MulticastOptions } from '../core/index.js';
import type { ApplyResult } from '../topics/index.js';
import type { PeerNote } from './peer-notes.js';
import type { ClaimSettings } from './claim-policy.js';

export interface ReplicasHost {
  /** This broker's member id now (a new incarnation after an exclusion). */
  self(): MemberId | undefined;
  /** Multicasts on the group; undefined when this broker is not a member now. */
  multicast(payload: unknown, options: MulticastOptions): MessageKey | undefined;
  sendPeer(to: MemberId, note: PeerNote): void;
  /** A command this broker submitted was applied here or answered by the server. */
  answer(key: MessageKey, result: ApplyResult): void;
  /** A command this broker submitted was delivered here and not applied (yet): the server answers. */
  delivered(key: MessageKey): void;
  isPinned(topic: string): boolean;
  /** After a snapshot taken in an older view was loaded: drop the presence of brokers gone since. */
  dropDeparted(): void;
  /** Milliseconds, for deadlines (a test drives its own clock). */
  now(): number;
  log?(event: string, fields: Record<string, unknown>): void;
  /** Copies local clients were served from were taken back: every client session resumes (`reason`). */
  resync?(reason: string): void;
  /** How long a group whose copies all left waits for one to come back, ms (default replicas.ts `groupWaitMs`). */
  groupWaitMs?: number;
  /** When this broker claims a group (claim-policy.ts; the defaults unless given). */
  claim?: Partial<ClaimSettings>;
}
