/** Bundles: a target's results and blobs in one tar, to move artifacts without a server. */
export { collectResults, type Collection, type CollectedResult } from "./collect.js";
export { writeBundle, type WrittenBundle } from "./write.js";
export { checkBundle, importBundle, type ImportReport } from "./import.js";
export { BUNDLE_FORMAT, BUNDLE_INDEX, type BundleIndex, type BundleResult } from "./format.js";
