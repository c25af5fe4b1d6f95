/**
 * When to ask the server again while someone types. Unlike a plain debounce, a change after a
 * pause runs at once (a single keystroke paints as soon as the server answers); while changes
 * keep coming, runs are at least `gapMs` apart and only one is in flight, the last change
 * winning. Nothing queues up behind a slow answer.
 */
export class Pacer {
  constructor(
    private readonly fn: () => Promise<void>,
    public gapMs: number
  ) {}

  /** Something changed: run now, or once the gap has passed and the running call is done. */
  invoke(): void {
    this._dirty = true;
    this._pump();
  }

  dispose(): void {
    this._disposed = true;
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _pump(): void {
    if (this._disposed || !this._dirty || this._running) {
      return;
    }
    const wait = this._last + this.gapMs - performance.now();
    if (wait > 0) {
      if (this._timer === null) {
        this._timer = window.setTimeout(() => {
          this._timer = null;
          this._pump();
        }, wait);
      }
      return;
    }
    this._dirty = false;
    this._last = performance.now();
    this._running = true;
    this.fn()
      .catch(reason => console.warn('tokenlens:', reason))
      .finally(() => {
        this._running = false;
        this._pump();
      });
  }

  private _dirty = false;
  private _running = false;
  private _disposed = false;
  private _last = -Infinity;
  private _timer: number | null = null;
}
