// Handlebars' runtime only: enough to run precompiled templates, a fraction
// of the full library's load time. Its own type declarations are empty, so it
// is typed as the full library, whose runtime half it is.
import type FullHandlebars from "handlebars";
import runtime from "handlebars/runtime.js";

export const Handlebars = runtime as unknown as typeof FullHandlebars;
