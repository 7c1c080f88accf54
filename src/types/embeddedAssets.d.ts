// Files imported in the form the charm ships them (scripts/embedAsset.mjs,
// used by the bundle and by vitest).

/** A file's bytes, xz-compressed and base64-encoded (JSON files minified first). */
declare module "*?xz-base64" {
  const encoded: string;
  export default encoded;
}

/** A YAML file, parsed at build time: untrusted until checked. */
declare module "*.yaml?data" {
  const data: unknown;
  export default data;
}
