/** Topic epochs in the mesh: derived from commands, so that every copy agrees. */
import { fnv1a32 } from '../../lightweight-groups/index.js';
import type { TopicCommand } from '../topics/index.js';

/**
 * The epoch of a topic created by a command: from the command's unique stream id (`id`, passed
 * beside the command, or the one it carries), so every replica agrees. Two 32-bit FNV-1a hashes (the lightweight groups' own), of the id and of the id salted
 * (about 64 bits), in base 36: an epoch only has to tell one life of a topic from another.
 */
export function epochFor(command: TopicCommand | undefined, id: string | undefined = command?.id): string {
  const seed = id ?? `${command?.topic ?? ''}|${command?.ts ?? 0}`;
  return fnv1a32(seed).toString(36).padStart(7, '0') + fnv1a32(`${seed}|epoch`).toString(36).padStart(7, '0');
}
