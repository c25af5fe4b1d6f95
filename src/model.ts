/**
 * A small in-page model with the anywidget model API, so the side panel can show
 * server answers through the very same view as the notebook widget, without a kernel.
 */
import { IViewModel } from './view';

type Callback = () => void;

export class LocalModel implements IViewModel {
  constructor(initial: Record<string, unknown> = {}) {
    this._state = { ...initial };
  }

  get(name: string): any {
    return this._state[name];
  }

  /** Set one or more values; listeners of changed names run once each. */
  set(values: Record<string, unknown>): void {
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
