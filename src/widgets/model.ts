/**
 * A small in-page model with the anywidget model API, so the side panel can show
 * server answers through the very same view as the notebook widget, without a kernel.
 */
import { IViewModel } from './tokens/view';

type Callback = (...args: any[]) => void;

export class LocalModel implements IViewModel {
  constructor(initial: Record<string, unknown> = {}) {
    this._state = { ...initial };
  }

  get(name: string): any {
    return this._state[name];
  }

  /**
   * Set one value (anywidget's `set(name, value)`) or several at once; listeners of the
   * changed names run once each.
   */
  set(name: string, value: unknown): void;
  set(values: Record<string, unknown>): void;
  set(nameOrValues: string | Record<string, unknown>, value?: unknown): void {
    const values =
      typeof nameOrValues === 'string' ? { [nameOrValues]: value } : nameOrValues;
    const changed = Object.keys(values).filter(k => this._state[k] !== values[k]);
    Object.assign(this._state, values);
    const fired = new Set<Callback>();
    for (const name of changed) {
      for (const cb of this._listeners.get(`change:${name}`) ?? []) {
        // One redraw per set() even if several watched values changed.
        if (!fired.has(cb)) {
          fired.add(cb);
          cb();
        }
      }
    }
  }

  /** Nothing to sync: the state lives here. */
  save_changes(): void {
    // anywidget sends changes to the kernel here; a local model has no kernel.
  }

  on(event: string, callback: Callback): void {
    let set = this._listeners.get(event);
    if (!set) {
      set = new Set();
      this._listeners.set(event, set);
    }
    set.add(callback);
  }

  off(event?: string | null, callback?: Callback | null): void {
    if (!event) {
      this._listeners.clear();
    } else if (!callback) {
      this._listeners.delete(event);
    } else {
      this._listeners.get(event)?.delete(callback);
    }
  }

  private _state: Record<string, unknown>;
  private _listeners = new Map<string, Set<Callback>>();
}
