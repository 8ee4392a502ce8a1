export { slugify } from "./slug.js";
export { titleCase } from "./title.js";
export { truncate } from "./truncate.js";
