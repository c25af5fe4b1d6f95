/**
 * Where the page gets its tokenizers' files: from the server's /tokenlens/page-tokenizers routes,
 * or, with no server at all (JupyterLite), from the manifest a static site keeps at
 * `files/tokenlens/manifest.json` (the same entries, each `url` relative to the manifest).
 */
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { BrowserBpe, IRankTable } from '../bpe';
import { requestAPI } from '../request';
import { IPageEngine, TiktokenEngine } from './engine';
import { HfEngine } from './hf';
import { cachedFile } from './store';

/** One manifest entry (tokenlens.core.page_files.page_manifest). */
export interface IPageEntry {
  name: string;
  kind?: 'tiktoken' | 'tokenizers-json' | string;
  sha256?: string;
  bytes?: number;
  url?: string;
  /** False: the page leaves this tokenizer to the server, for `reason`. */
  page?: boolean;
  reason?: string;
}

export interface IPageSource {
  /** True when there is no server: the page is all there is. */
  readonly serverless: boolean;
  manifest(names: string[]): Promise<IPageEntry[]>;
  /** An entry's file, fetched through the browser's store. */
  file(entry: IPageEntry): Promise<string>;
}

/** The manifest's entries, whether it is a list or `{tokenizers: [...]}`. */
function entriesOf(reply: unknown): IPageEntry[] {
  const list = Array.isArray(reply)
    ? reply
    : (reply as { tokenizers?: unknown })?.tokenizers;
  return Array.isArray(list)
    ? list.filter(e => e && typeof e.name === 'string')
    : [];
}

export class ServerSource implements IPageSource {
  constructor(private readonly _settings: ServerConnection.ISettings) {}

  readonly serverless = false;

  async manifest(names: string[]): Promise<IPageEntry[]> {
    const query = encodeURIComponent(names.join(','));
    return entriesOf(
      await requestAPI(
        `page-tokenizers?tokenizers=${query}`,
        { method: 'GET' },
        this._settings
      )
    );
  }

  file(entry: IPageEntry): Promise<string> {
    const base = URLExt.join(
      this._settings.baseUrl,
      'tokenlens',
      'page-tokenizers'
    );
    const url = new URL(entry.url ?? '', new URL(base, location.href)).href;
    return cachedFile(entry.sha256 ?? '', async () => {
      const response = await ServerConnection.makeRequest(
        url,
        {},
        this._settings
      );
      if (!response.ok) {
        throw new Error(
          `the server answered ${response.status} for ${entry.name}'s file`
        );
      }
      return response.text();
    });
  }
}

/** The static site's manifest (JupyterLite), read once. */
export class LiteSource implements IPageSource {
  readonly serverless = true;

  get url(): string {
    return new URL(
      URLExt.join(PageConfig.getBaseUrl(), 'files/tokenlens/manifest.json'),
      location.href
    ).href;
  }

  /** Every entry the site lists; rejects when the site has no manifest. */
  all(): Promise<IPageEntry[]> {
    this._all ??= fetch(this.url).then(async response => {
      if (!response.ok) {
        throw new Error(
          `no tokenizer list at ${this.url} (${response.status})`
        );
      }
      return entriesOf(await response.json());
    });
    return this._all;
  }

  async manifest(names: string[]): Promise<IPageEntry[]> {
    const all = await this.all();
    return all.filter(e => names.includes(e.name));
  }

  file(entry: IPageEntry): Promise<string> {
    const url = new URL(entry.url ?? '', this.url).href;
    return cachedFile(entry.sha256 ?? '', async () => {
      const response = await fetch(url);
      if (!response.ok) {
        throw new Error(`${url} answered ${response.status}`);
      }
      return response.text();
    });
  }

  private _all: Promise<IPageEntry[]> | null = null;
}

/** The engine for an entry's file; `kind` is the server's kind of tokenizer, where known. */
export async function engineFor(
  entry: IPageEntry,
  text: string,
  kind: string
): Promise<IPageEngine | null> {
  if (entry.kind === 'tiktoken') {
    return tiktokenEngine(entry.name, JSON.parse(text) as IRankTable);
  }
  return new HfEngine(entry.name, kind || 'hf', JSON.parse(text));
}

export async function tiktokenEngine(
  name: string,
  table: IRankTable
): Promise<IPageEngine | null> {
  const bpe = await BrowserBpe.fromTable(table);
  return bpe ? new TiktokenEngine(name, bpe) : null;
}
