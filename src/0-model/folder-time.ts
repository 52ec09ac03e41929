/** A run or report folder's time: ISO 8601 to the second, colons as dashes, so it is a path on every filesystem. */
export function folderTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}
