const COMBINING = /[\u0300-\u036f]/g;

/** Lower-case ASCII words joined by a separator; accents are folded ("é" -> "e"). */
export function slugify(text, { separator = "-", maxLength = 80 } = {}) {
  const words = text
    .normalize("NFD")
    .replace(COMBINING, "")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let slug = words.join(separator);
  if (slug.length > maxLength) slug = slug.slice(0, maxLength);
  return slug;
}
