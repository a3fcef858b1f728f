/** `items[index]` in a test, or a failure naming the index if it is missing (no non-null assertion needed). */
export function nth<item>(items: readonly item[], index: number): item {
  const found = items[index];
  if (found === undefined) throw new Error(`no item at index ${index}`);
  return found;
}
