export * from './types';
export { hueForId, positionClass, POSITION_HUES } from './colors';
export { codePointIndex, sliceCodePoints } from './offsets';
export { deriveSegments, segmentsOf } from './segments';
export { CachedExplainer } from './explain';
export type { MessageKind } from './render';
export {
  cancelRender,
  renderMessage,
  renderResults,
  setDisplayOptions,
  setShowIds
} from './render';
