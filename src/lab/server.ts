/**
 * The panel's side of the server: the probe that the server part is there (which tokenizers,
 * which version), the requests for tokens and counts, one tokenizer per request, and what the
 * answers say in plain words: the server part missing, or of another version than the panel.
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  ITokenCounts,
  ITokenizerInfo,
  ITokenizersReply,
  ResultOrError
} from '../render/types';
import {
  countTokens,
  errorText,
  listTokenizers,
  SERVER_MISSING_MESSAGE,
  tokenize,
  TokenlensError
} from './request';
import { FRONTEND_VERSION, sameVersion } from './version';

/** What the panel says about a failed probe or request. */
export interface IServerProblem {
  /** The server part is not answering at all. */
  missing: boolean;
  /** The status line. */
  status: string;
  /** The status bar's word on it (what to do, when the server part is missing). */
  detail: string;
}

/** The words for a failed probe or request. */
export function serverProblem(error: unknown): IServerProblem {
  const missing = error instanceof TokenlensError && error.serverMissing;
  const status = missing
    ? 'No tokens: the server part is not answering.'
    : errorText(error);
  return {
    missing,
    status,
    detail: missing ? `${status} ${SERVER_MISSING_MESSAGE}` : status
  };
}

/** The notice when the server part's version is not the panel's; null when they match. */
export function versionNotice(server: string): string | null {
  if (!server || sameVersion(server, FRONTEND_VERSION)) {
    return null;
  }
  return (
    `The tokenlens server part is version ${server}, but this panel is version ` +
    `${FRONTEND_VERSION}. Install one version of jupyterlab-tokenlens in the environment that ` +
    `runs JupyterLab (pip install "jupyterlab-tokenlens==${FRONTEND_VERSION}"), restart ` +
    'JupyterLab and reload this page.'
  );
}

export class TokenServer {
  constructor(options: TokenServer.IOptions) {
    this.settings = options.serverSettings;
    this._options = options;
  }

  readonly settings: ServerConnection.ISettings;

  /** The server's tokenizers: null until a probe succeeds, and again once the server fails. */
  get available(): ITokenizerInfo[] | null {
    return this._available;
  }

  /** Whether the last failure said the server part is missing. */
  get missing(): boolean {
    return this._missing;
  }

  /** Ask the server for its tokenizers and version; a call while one is asking waits for it. */
  probe(): Promise<void> {
    if (!this._probing) {
      this._probing = listTokenizers(this.settings)
        .then(reply => {
          this._available = Array.isArray(reply.tokenizers)
            ? reply.tokenizers
            : [];
          this._missing = false;
          this._options.onProbed(reply);
        })
        .catch(error => this.lost(error))
        .finally(() => {
          this._probing = null;
        });
    }
    return this._probing;
  }

  /** The server failed a probe or a request: nothing is available until a probe succeeds. */
  lost(error: unknown): void {
    this._available = null;
    const problem = serverProblem(error);
    this._missing = problem.missing;
    this._options.onLost(problem);
  }

  /** A request was answered: true when the server part had been missing until now. */
  answered(): boolean {
    const wasMissing = this._missing;
    this._missing = false;
    return wasMissing;
  }

  /**
   * The tokens of `text` by each of `names`, one request per tokenizer: they run side by side in
   * the server's pool, each answer is cached on its own, and an unknown name fails only its own
   * row. `down`: the first sign that the server part is not answering, if any.
   */
  async tokenize(
    text: string,
    names: string[],
    special: boolean
  ): Promise<{ results: ResultOrError[]; down: TokenlensError | null }> {
    const serverDown: TokenlensError[] = [];
    const results = await Promise.all(
      names.map(name =>
        tokenize(
          { text, tokenizers: [name], add_special_tokens: special },
          this.settings
        )
          .then(
            (payload): ResultOrError =>
              payload.results?.[0] ?? {
                tokenizer: name,
                error: 'The server sent no result.'
              }
          )
          .catch((error): ResultOrError => {
            if (error instanceof TokenlensError && error.serverMissing) {
              serverDown.push(error);
            }
            return { tokenizer: name, error: errorText(error) };
          })
      )
    );
    return { results, down: serverDown.length > 0 ? serverDown[0] : null };
  }

  /** The counts only, one request per tokenizer; null for one that failed (the full request says why). */
  counts(
    text: string,
    names: string[],
    special: boolean
  ): Promise<(ITokenCounts | null)[]> {
    return Promise.all(
      names.map(name =>
        countTokens(
          { text, tokenizers: [name], add_special_tokens: special },
          this.settings
        ).then(
          reply => reply.results?.[0] ?? null,
          () => null
        )
      )
    );
  }

  private _options: TokenServer.IOptions;
  private _available: ITokenizerInfo[] | null = null;
  private _missing = false;
  private _probing: Promise<void> | null = null;
}

export namespace TokenServer {
  export interface IOptions {
    serverSettings: ServerConnection.ISettings;
    /** A probe was answered: the tokenizers are `available`; `reply.version` is the server's. */
    onProbed(reply: ITokenizersReply): void;
    /** A probe or request failed. */
    onLost(problem: IServerProblem): void;
  }
}
