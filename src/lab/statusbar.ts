/**
 * The status-bar item: the token count of the focused text (the active cell, a file, a
 * selection) for the first chosen tokenizer. While the panel is open it repeats the panel's
 * count; while the panel is hidden it asks the server itself, for that one tokenizer, or with
 * no server (JupyterLite) counts in the page.
 */
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { FocusFollower } from './follow';
import { Pacer } from './pace';
import { ICount, TokenLensPanel } from './panel';
import { isError } from '../render/types';
import { errorText, tokenize } from './request';

export class TokenCountStatus extends Widget {
  constructor(options: TokenCountStatus.IOptions) {
    super({ node: document.createElement('button') });
    this.addClass('tl-statusbar');
    this.addClass('jp-StatusBar-TextItem');
    const node = this.node as HTMLButtonElement;
    node.type = 'button';
    node.addEventListener('click', options.onClick);
    this._panel = options.panel;
    this._follower = options.follower;
    this._settings = options.serverSettings ?? ServerConnection.makeSettings();
    this._pacer = new Pacer(() => this._count(), 300);
    this._panel.counted.connect((_, count) => this._draw(count), this);
    this._panel.changedInPage.connect(this._schedule, this);
    this._follower.changed.connect(this._schedule, this);
    this._draw({ tokenizer: '', label: '', count: null });
    this._schedule();
  }

  dispose(): void {
    this._pacer.dispose();
    this._follower.changed.disconnect(this._schedule, this);
    this._panel.changedInPage.disconnect(this._schedule, this);
    super.dispose();
  }

  private _schedule(): void {
    this._pacer.gapMs = Math.max(300, this._panel.config.debounceMs);
    this._pacer.invoke();
  }

  /** Count with the first tokenizer, unless the open panel does it anyway. */
  private async _count(): Promise<void> {
    if (this._panel.isVisible) {
      return;
    }
    const focus = this._follower.current();
    const tokenizer = this._panel.selected[0];
    if (!focus || !tokenizer) {
      this._draw({ tokenizer: tokenizer ?? '', label: '', count: null });
      return;
    }
    const text = focus.text.slice(0, this._panel.config.maxChars);
    const seq = ++this._seq;
    // no server, no request: the page has the tokenizers' files (JupyterLite)
    await this._panel.settled;
    let count: ICount;
    if (!text) {
      count = { tokenizer, label: focus.label, count: 0 };
    } else if (this._panel.serverless) {
      count = {
        tokenizer,
        label: focus.label,
        count: this._panel.countInPage(text, tokenizer)
      };
    } else {
      try {
        const payload = await tokenize(
          { text, tokenizers: [tokenizer] },
          this._settings
        );
        const r = payload.results?.[0];
        count =
          r && !isError(r)
            ? { tokenizer, label: focus.label, count: r.n_tokens }
            : {
                tokenizer,
                label: focus.label,
                count: null,
                error: r?.error ?? 'no result'
              };
      } catch (error) {
        count = {
          tokenizer,
          label: focus.label,
          count: null,
          error: errorText(error)
        };
      }
    }
    if (seq === this._seq) {
      this._draw(count);
    }
  }

  private _draw(c: ICount): void {
    const node = this.node;
    const what = c.label ? ` in ${c.label}` : '';
    if (!c.tokenizer) {
      node.textContent = 'Tokens';
      node.title = 'Show the Tokens panel';
    } else if (c.count === null) {
      node.textContent = c.error ? `⚠ ${c.tokenizer}` : `${c.tokenizer}: –`;
      node.title = c.error
        ? `${c.tokenizer}: ${c.error}`
        : `No text to count with ${c.tokenizer}`;
    } else {
      const n = c.count.toLocaleString('en-US');
      node.textContent = `${n} ${c.count === 1 ? 'token' : 'tokens'} (${c.tokenizer})`;
      node.title = `${n} ${c.tokenizer} tokens${what}. Click to show the Tokens panel.`;
    }
    node.dataset.count = c.count === null ? '' : String(c.count);
    node.dataset.error = String(!!c.error);
    node.dataset.tokenizer = c.tokenizer;
    node.setAttribute('aria-label', node.title);
  }

  private _panel: TokenLensPanel;
  private _follower: FocusFollower;
  private _settings: ServerConnection.ISettings;
  private _pacer: Pacer;
  private _seq = 0;
}

export namespace TokenCountStatus {
  export interface IOptions {
    panel: TokenLensPanel;
    follower: FocusFollower;
    onClick: () => void;
    serverSettings?: ServerConnection.ISettings;
  }
}
