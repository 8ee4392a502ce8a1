/** Cuts text to at most `max` characters, at a word boundary when one is near, ending in "…". */
export function truncate(text, max, ellipsis = "…") {
  if (text.length <= max) return text;
  const room = max - ellipsis.length;
  const cut = text.slice(0, room);
  const space = cut.lastIndexOf(" ");
  return (space > room / 2 ? cut.slice(0, space) : cut) + ellipsis;
}
