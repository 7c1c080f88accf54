// Templates are imported as their text: esbuild's `text` loader in the bundle,
// a small plugin in vitest.config.ts under test.
declare module "*.hbs" {
  const source: string;
  export default source;
}
