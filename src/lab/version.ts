/**
 * The front end's own version, from package.json (the server reports its version in
 * GET /tokenlens/tokenizers; the two must match).
 */
// eslint-disable-next-line @typescript-eslint/no-var-requires
declare const require: (path: string) => { version?: string };

export const FRONTEND_VERSION: string = String(
  require('../../package.json').version ?? ''
);

/** Python's "0.1.0a1" and npm's "0.1.0-alpha.1" name the same release. */
export function sameVersion(a: string, b: string): boolean {
  const norm = (v: string) =>
    v
      .trim()
      .toLowerCase()
      .replace(/^v/, '')
      .replace(/alpha/g, 'a')
      .replace(/beta/g, 'b')
      .replace(/[-._+]/g, '');
  return norm(a) === norm(b);
}
