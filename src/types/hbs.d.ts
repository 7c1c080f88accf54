// Templates are imported precompiled (scripts/precompileTemplate.mjs, used by
// the bundle and by vitest): a template specification for Handlebars' runtime.
declare module "*.hbs" {
  const specification: TemplateSpecification;
  export default specification;
}
