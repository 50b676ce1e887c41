/**
 * The msgpack codec's one configuration: plain maps, no records or
 * extensions, `undefined` as nil — any msgpack decoder reads what it writes.
 */
import { Packr } from 'msgpackr';

export const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  encodeUndefinedAsNil: true,
  variableMapSize: true,
  moreTypes: false,
  bundleStrings: false,
  structuredClone: false,
  int64AsType: 'number',
} as ConstructorParameters<typeof Packr>[0]);
