import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

// The layers of src/, lowest first. A folder may import its own files and the
// folders listed for it; anything else is an upward (or sideways) import that
// would tie a pure layer to the hook's I/O. `model` is haproxy's own concepts:
// it knows nothing of relations, hooks or the machine.
const FOLDERS = [
  "lib",
  "juju",
  "config",
  "model",
  "render",
  "relations",
  "plan",
  "tls",
  "metrics",
  "system",
  "apply",
  "vip",
  "hook",
  "actions",
];
const MAY_IMPORT = {
  // Helpers that import nothing of the charm.
  lib: [],
  juju: ["lib"],
  config: ["lib"],
  model: ["lib", "config"],
  render: ["lib", "model"],
  // Reading and publishing one endpoint's data: never the hook layer or apply.
  relations: ["lib", "juju", "config", "model", "render", "tls", "paths", "stateFiles"],
  // The one planner: reads the model and every relation (which see its Plan as a type only).
  plan: ["lib", "juju", "config", "model", "relations", "paths", "stateFiles"],
  tls: ["lib", "config", "model", "relations"],
  metrics: ["lib", "juju", "config", "model", "paths", "stateFiles"],
  system: ["lib", "juju", "config", "model", "paths", "stateFiles"],
  apply: ["lib", "juju", "config", "model", "render", "metrics", "paths", "stateFiles"],
  vip: [
    "lib",
    "juju",
    "config",
    "model",
    "relations",
    "plan",
    "system",
    "apply",
    "paths",
    "stateFiles",
  ],
};

/** Folders whose types (never their code) a layer may import. */
const MAY_IMPORT_TYPES = { relations: ["plan"] };

function boundary(folder) {
  const allowed = new Set([folder, ...MAY_IMPORT[folder]]);
  const typesOnly = MAY_IMPORT_TYPES[folder] ?? [];
  const forbidden = [...FOLDERS, "paths", "stateFiles", "cli"].filter((name) => !allowed.has(name));
  const depth = ["../", "../../", "../../../"];
  const groupOf = (names) =>
    names.flatMap((name) => depth.flatMap((up) => [`${up}${name}/*`, `${up}${name}.js`]));
  const group = groupOf(forbidden.filter((name) => !typesOnly.includes(name)));
  const typesNote = typesOnly.length > 0 ? `, and types only from ${typesOnly.join(", ")}` : "";
  const message = `src/${folder} may import only ${[...allowed].join(", ")}${typesNote} (see the layers in eslint.config.js).`;
  // The same rule for `await import(...)`, which no-restricted-imports does not see.
  const dynamic = `ImportExpression[source.value=/^(\\.\\.\\/)+(${forbidden.join("|")})(\\/|\\.js$)/]`;
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      "no-restricted-syntax": ["error", { selector: dynamic, message }],
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            { group, message },
            ...(typesOnly.length > 0
              ? [{ group: groupOf(typesOnly), message, allowTypeImports: true }]
              : []),
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ["dist/", "coverage/", "node_modules/", "build/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  prettier,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // A promise nobody awaits fails silently, after the hook has said it succeeded.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  ...Object.keys(MAY_IMPORT).map(boundary),
  {
    files: ["scripts/**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
