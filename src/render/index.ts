export * from './types';
export { hueForId } from './colors';
export { codePointIndex, sliceCodePoints } from './offsets';
export type { MessageKind } from './render';
export {
  cancelRender,
  renderMessage,
  renderResults,
  setShowIds
} from './render';
