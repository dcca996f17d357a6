/**
 * Where a batch's images came from, in words for a person, from its `source`: picsum.photos,
 * placeholders from the offline server (never photos), or the URL of another server.
 */
export const sourceName = (source: string): string =>
  source === 'offline' ? "the offline server's placeholders (not photos)" : source;
