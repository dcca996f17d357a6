/**
 * A size for a person, in decimal units (1 kB = 1,000 bytes, 1 MB = 1,000,000), everywhere a size
 * is shown: the command's summary, the batch's page and its report, so the same batch reads the same.
 */
export function byteSize(bytes: number): string {
  if (bytes < 1_000) return `${bytes} B`;
  for (const [unit, size] of [
    ['kB', 1e3],
    ['MB', 1e6],
    ['GB', 1e9],
  ] as const) {
    if (bytes < size * 1_000 || unit === 'GB') return `${(bytes / size).toFixed(1)} ${unit}`;
  }
  return `${bytes} B`;
}
