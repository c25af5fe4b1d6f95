/**
 * Tokenizer files kept in the browser (IndexedDB, through idb-keyval) by their sha256, so a page
 * fetches a tokenizer's file once, not once per session; a file whose bytes do not hash to
 * their name is never used or kept.
 */
import { createStore, get, set, UseStore } from 'idb-keyval';

let store: UseStore | null = null;

function files(): UseStore | null {
  if (store === null && typeof indexedDB !== 'undefined') {
    store = createStore('tokenlens', 'tokenizer-files');
  }
  return store;
}

/** The file named `sha256`, from the browser's store or else from `fetchText` (then kept). */
export async function cachedFile(
  sha256: string,
  fetchText: () => Promise<string>
): Promise<string> {
  const db = files();
  if (db !== null && sha256) {
    try {
      const kept = await get<string>(sha256, db);
      if (typeof kept === 'string') {
        return kept;
      }
    } catch {
      // private windows and full disks have no store: fetch as if it were empty
    }
  }
  const text = await fetchText();
  if (sha256) {
    const got = await sha256Hex(text);
    if (got !== null && got !== sha256) {
      throw new Error(
        `the file came with sha256 ${got}, not the ${sha256} its list named; reload the page`
      );
    }
    if (db !== null) {
      set(sha256, text, db).catch(() => undefined);
    }
  }
  return text;
}

/** The hex sha256 of `text`'s UTF-8 bytes; null where the page has no WebCrypto (plain http). */
async function sha256Hex(text: string): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    return null;
  }
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), b =>
    b.toString(16).padStart(2, '0')
  ).join('');
}
