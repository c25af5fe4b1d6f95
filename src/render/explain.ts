/**
 * Explanations are asked for lazily (on hover) and remembered: a token's story does not change
 * while its tokenizer is loaded, so each (tokenizer, id) is asked for once.
 */
import { IExplainer, IExplanation } from './types';

export class CachedExplainer implements IExplainer {
  constructor(private inner: IExplainer) {}

  async explain(tokenizer: string, ids: number[]): Promise<IExplanation[]> {
    const missing = ids.filter(id => !this.cache.has(key(tokenizer, id)));
    if (missing.length > 0) {
      const asked = this.inner.explain(tokenizer, missing);
      // Share the answer with whoever asks for the same ids meanwhile; forget failures.
      missing.forEach((id, k) => {
        const one = asked.then(list => {
          const found = list.find(e => e.id === id) ?? list[k];
          if (!found) {
            throw new Error(`No explanation for token ${id}.`);
          }
          return found;
        });
        one.catch(() => this.cache.delete(key(tokenizer, id)));
        this.cache.set(key(tokenizer, id), one);
      });
    }
    return Promise.all(
      ids.map(id => this.cache.get(key(tokenizer, id)) as Promise<IExplanation>)
    );
  }

  private cache = new Map<string, Promise<IExplanation>>();
}

function key(tokenizer: string, id: number): string {
  return `${tokenizer}\u0000${id}`;
}
