export declare const compileOptions: { readonly noEscape: true; readonly strict: true };
export declare function precompiledTemplateModule(source: string): string;
export declare const precompiledTemplatesPlugin: import("esbuild").Plugin;
