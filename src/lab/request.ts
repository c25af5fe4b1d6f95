/**
 * The REST client: one helper over ServerConnection.makeRequest, with errors a person can act on.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { IRankTable } from './bpe';
import {
  IErrorReply,
  IExplainer,
  IExplainReply,
  IExplanation,
  ITokenizePayload,
  ITokenCounts,
  ITokenizeRequest,
  ITokenizersReply
} from '../render/types';

/** Said whenever the server part does not answer at all. */
export const SERVER_MISSING_MESSAGE =
  'The tokenlens server extension is not answering: it is not installed in the environment ' +
  'that runs JupyterLab, or it is disabled. Run "pip install jupyterlab-tokenlens" and ' +
  '"jupyter server extension enable jupyterlab_tokenlens" there, then restart JupyterLab.';

/** An error from the tokenlens server (or its absence). */
export class TokenlensError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly suggestions: string[] = [],
    readonly serverMissing = false
  ) {
    super(message);
    this.name = 'TokenlensError';
  }
}

/**
 * Call the tokenlens REST API and return the parsed JSON answer.
 *
 * @param endPoint path under /tokenlens, e.g. "tokenizers"
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'tokenlens', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    // A network failure: the server itself is gone, or nothing listens on the route.
    throw new TokenlensError(SERVER_MISSING_MESSAGE, null, [], true);
  }

  const raw = await response.text();
  let data: unknown = undefined;
  let isJson = false;
  if (raw.length > 0) {
    try {
      data = JSON.parse(raw);
      isJson = true;
    } catch {
      isJson = false;
    }
  }

  if (!response.ok) {
    const reply = (isJson ? data : null) as Partial<IErrorReply> | null;
    if (!reply || typeof reply.message !== 'string') {
      // Jupyter's own 404 page (HTML) means the route is not registered.
      if (response.status === 404 || !isJson) {
        throw new TokenlensError(
          SERVER_MISSING_MESSAGE,
          response.status,
          [],
          true
        );
      }
      throw new TokenlensError(
        `The tokenlens server answered ${response.status} ${response.statusText}.`,
        response.status
      );
    }
    const suggestions = Array.isArray(reply.suggestions)
      ? reply.suggestions.map(String)
      : [];
    throw new TokenlensError(reply.message, response.status, suggestions);
  }
  if (!isJson) {
    // An HTML page with status 200 (e.g. a proxy's login page) is not our server.
    throw new TokenlensError(SERVER_MISSING_MESSAGE, response.status, [], true);
  }
  return data as T;
}

/** GET /tokenlens/tokenizers; also the probe that the server part is there. */
export function listTokenizers(
  settings?: ServerConnection.ISettings
): Promise<ITokenizersReply> {
  return requestAPI<ITokenizersReply>(
    'tokenizers',
    { method: 'GET' },
    settings
  );
}

/** POST /tokenlens/tokenize. */
export function tokenize(
  body: ITokenizeRequest,
  settings?: ServerConnection.ISettings
): Promise<ITokenizePayload> {
  return requestAPI<ITokenizePayload>(
    'tokenize',
    { method: 'POST', body: JSON.stringify(body) },
    settings
  );
}

/** POST /tokenlens/tokenize with counts_only: the counts of a text, without the tokens. */
export function countTokens(
  body: ITokenizeRequest,
  settings?: ServerConnection.ISettings
): Promise<{ results: ITokenCounts[] }> {
  return requestAPI<{ results: ITokenCounts[] }>(
    'tokenize',
    { method: 'POST', body: JSON.stringify({ ...body, counts_only: true }) },
    settings
  );
}

/** GET /tokenlens/ranks: a tiktoken encoding's ranks, to count its tokens in the browser. */
export function rankTable(
  tokenizer: string,
  settings?: ServerConnection.ISettings
): Promise<IRankTable> {
  return requestAPI<IRankTable>(
    `ranks?tokenizer=${encodeURIComponent(tokenizer)}`,
    { method: 'GET' },
    settings
  );
}

/** POST /tokenlens/explain: why each of `ids` is a token of `tokenizer`. */
export function explain(
  tokenizer: string,
  ids: number[],
  settings?: ServerConnection.ISettings
): Promise<IExplainReply> {
  return requestAPI<IExplainReply>(
    'explain',
    { method: 'POST', body: JSON.stringify({ tokenizer, ids }) },
    settings
  );
}

/** The panel's explainer: the same question over REST. */
export class RestExplainer implements IExplainer {
  constructor(private settings?: ServerConnection.ISettings) {}

  async explain(tokenizer: string, ids: number[]): Promise<IExplanation[]> {
    try {
      const reply = await explain(tokenizer, ids, this.settings);
      return Array.isArray(reply.explanations) ? reply.explanations : [];
    } catch (error) {
      throw new Error(errorText(error));
    }
  }
}

/** A message for the status line from anything thrown. */
export function errorText(error: unknown): string {
  if (error instanceof TokenlensError) {
    // Suggestions the message does not already name are added as a hint.
    const extra = error.suggestions.filter(s => !error.message.includes(s));
    return extra.length > 0
      ? `${error.message} Try: ${extra.join(', ')}.`
      : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
