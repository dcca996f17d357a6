/** What a listing asks for, as ListObjects (v1 and v2) carry it. */
export type ListQuery = { prefix: string; delimiter?: string; after?: string; maxKeys: number };

/** One page of a listing: keys, and the common prefixes keys were rolled into, in S3's order. */
export type ListPage = {
  keys: string[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix given, where the next page starts. */
  last: string | undefined;
};

/** S3 lists keys in the order of their UTF-8 bytes. */
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * A page of `keys` as S3 pages a listing: those under `prefix`, after `after`, in UTF-8 order; with
 * `delimiter`, keys that share the part of their name up to it (after the prefix) rolled into one
 * common prefix; at most `maxKeys` entries, keys and common prefixes together.
 */
export function listPage(keys: Iterable<string>, query: ListQuery): ListPage {
  const { prefix, delimiter, maxKeys } = query;
  const after = query.after ?? '';
  const sorted = [...keys].filter((key) => key.startsWith(prefix)).sort(byUtf8);
  const entries: ({ key: string } | { common: string })[] = [];
  let truncated = false;
  for (const key of sorted) {
    if (after && byUtf8(key, after) <= 0) continue;
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const common = delimiter && cut >= 0 ? key.slice(0, cut + delimiter.length) : undefined;
    const previous = entries.at(-1);
    // A common prefix is one entry, however many keys it holds; the one a page ended on is done.
    if (common !== undefined && ((previous && 'common' in previous && previous.common === common) || common === after))
      continue;
    if (entries.length === maxKeys) {
      truncated = true;
      break;
    }
    entries.push(common === undefined ? { key } : { common });
  }
  const last = entries.at(-1);
  return {
    keys: entries.flatMap((entry) => ('key' in entry ? [entry.key] : [])),
    commonPrefixes: entries.flatMap((entry) => ('common' in entry ? [entry.common] : [])),
    truncated,
    last: last && ('key' in last ? last.key : last.common),
  };
}
