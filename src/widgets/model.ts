/**
 * The one model type of the front end: anywidget's model API, typed by the state (the synced
 * traits) of the view that reads it. Every view declares only its state; `LocalModel` is the
 * same API without a kernel, so the side panel and the dataset view mount the token view on it.
 */

/** What a model emits: a trait changed, or the kernel sent a custom message. */
export type ModelEvent<S> = `change:${keyof S & string}` | 'msg:custom';

type Callback = (...args: any[]) => void;

/** anywidget's model (the part the views use), for a view whose traits are `S`. */
export interface IModel<S extends object> {
  get<K extends keyof S & string>(name: K): S[K];
  set<K extends keyof S & string>(name: K, value: S[K]): void;
  save_changes(): void;
  /** A custom message to the kernel; absent where there is no kernel (a `LocalModel`). */
  send?(content: unknown, callbacks?: unknown, buffers?: unknown): void;
  on(event: ModelEvent<S>, callback: Callback): void;
  off(event?: ModelEvent<S> | null, callback?: Callback | null): void;
}

/** A model that reaches a kernel (anywidget's own), unlike a `LocalModel`. */
export type KernelModel<S extends object> = IModel<S> &
  Required<Pick<IModel<S>, 'send'>>;

/** Whether custom messages from `model` reach a kernel. */
export function hasKernel<S extends object>(
  model: IModel<S>
): model is KernelModel<S> {
  return typeof model.send === 'function';
}

/**
 * A model kept in the page: the side panel shows server answers through the very same view as
 * the notebook widget, without a kernel.
 */
export class LocalModel<S extends object> implements IModel<S> {
  constructor(initial: Partial<S> = {}) {
    this._state = { ...initial };
  }

  get<K extends keyof S & string>(name: K): S[K] {
    return this._state[name] as S[K];
  }

  /**
   * Set one value (anywidget's `set(name, value)`) or several at once; listeners of the
   * changed names run once each.
   */
  set<K extends keyof S & string>(name: K, value: S[K]): void;
  set(values: Partial<S>): void;
  set(nameOrValues: string | Partial<S>, value?: unknown): void {
    const values: Partial<S> =
      typeof nameOrValues === 'string'
        ? ({ [nameOrValues]: value } as Partial<S>)
        : nameOrValues;
    const changed = (Object.keys(values) as (keyof S)[]).filter(
      k => this._state[k] !== values[k]
    );
    Object.assign(this._state, values);
    const fired = new Set<Callback>();
    for (const name of changed) {
      for (const cb of this._listeners.get(`change:${String(name)}`) ?? []) {
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

  on(event: ModelEvent<S>, callback: Callback): void {
    let set = this._listeners.get(event);
    if (!set) {
      set = new Set();
      this._listeners.set(event, set);
    }
    set.add(callback);
  }

  off(event?: ModelEvent<S> | null, callback?: Callback | null): void {
    if (!event) {
      this._listeners.clear();
    } else if (!callback) {
      this._listeners.delete(event);
    } else {
      this._listeners.get(event)?.delete(callback);
    }
  }

  private _state: Partial<S>;
  private _listeners = new Map<string, Set<Callback>>();
}
