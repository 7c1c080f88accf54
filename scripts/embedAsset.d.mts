export type AssetKind = "xz-base64" | "data";
export declare const assetKinds: readonly AssetKind[];
export declare function assetRequest(
  specifier: string,
): { readonly file: string; readonly kind: AssetKind } | undefined;
export declare function embeddedAssetModule(file: string, kind: AssetKind): Promise<string>;
export declare const embeddedAssetsPlugin: import("esbuild").Plugin;
