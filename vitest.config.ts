import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { configDefaults, defineConfig } from "vitest/config";

import { assetRequest, embeddedAssetModule } from "./scripts/embedAsset.mjs";
import { precompiledTemplateModule } from "./scripts/precompileTemplate.mjs";

// Templates are imported precompiled, exactly as the bundle gets them.
const precompiledTemplates = {
  name: "precompiled-handlebars-templates",
  enforce: "pre" as const,
  async load(id: string) {
    const file = id.split("?", 1)[0] ?? id;
    if (!file.endsWith(".hbs")) return null;
    return precompiledTemplateModule(await readFile(file, "utf8"));
  },
};

// `?xz-base64` and `?data` imports, exactly as the bundle gets them, under a
// virtual id so that no JSON or YAML plugin claims the file.
const embeddedAssetPrefix = "\0embedded-asset:";
const embeddedAssets = {
  name: "embedded-assets",
  enforce: "pre" as const,
  resolveId(source: string, importer: string | undefined) {
    const request = assetRequest(source);
    if (request === undefined || importer === undefined) return null;
    return `${embeddedAssetPrefix}${resolve(dirname(importer), request.file)}?${request.kind}`;
  },
  async load(id: string) {
    if (!id.startsWith(embeddedAssetPrefix)) return null;
    const request = assetRequest(id.slice(embeddedAssetPrefix.length));
    if (request === undefined) return null;
    return embeddedAssetModule(request.file, request.kind);
  },
};

// Each test file belongs to one project, by what it needs from the machine.
// `pure`: node_modules, node and a POSIX shell only; servers on loopback
// ephemeral ports at most. Runs anywhere after `npm ci` (make check).
const pure = [
  "tests/actions/backendStatus.test.ts",
  "tests/apply/ports.test.ts",
  "tests/apply/serviceManager.test.ts",
  "tests/charm-files/metadata.test.ts",
  "tests/config/charmConfig.test.ts",
  "tests/config/vipOption.test.ts",
  "tests/hook/findCulprits.test.ts",
  "tests/hook/resolveRelationHosts.test.ts",
  "tests/hook/workloadStatus.test.ts",
  "tests/juju/execaHookTools.test.ts",
  "tests/juju/hookToolCache.test.ts",
  "tests/lib/describeError.test.ts",
  "tests/lib/withDeadline.test.ts",
  "tests/metrics/metricNames.test.ts",
  "tests/metrics/metricsTarget.test.ts",
  "tests/metrics/statsCsv.test.ts",
  "tests/model/certificateUpdate.test.ts",
  "tests/model/placeServices.test.ts",
  "tests/model/relationPolicy.test.ts",
  "tests/model/serverDelta.test.ts",
  "tests/model/serverNumbers.test.ts",
  "tests/model/splitOptions.test.ts",
  "tests/model/unitNames.test.ts",
  "tests/plan/hostileInput.test.ts",
  "tests/relations/certificates/providerCertificates.test.ts",
  "tests/relations/cosAgent/promql.test.ts",
  "tests/relations/cosAgent/ruleFiles.test.ts",
  "tests/relations/haproxyRoute/haproxyRouteRequirers.test.ts",
  "tests/relations/haproxyRouteTcp/haproxyRouteTcpRequirers.test.ts",
  "tests/relations/ingressPerUnit/unitRequirers.test.ts",
  "tests/relations/peer/peeringOnVip.test.ts",
  "tests/relations/peer/peersSection.test.ts",
  "tests/relations/receiveCaCerts/receivedCas.test.ts",
  "tests/relations/registry.test.ts",
  "tests/relations/haproxyRoute/routeEndpoints.test.ts",
  "tests/relations/haproxyRouteTcp/tcpEndpoints.test.ts",
  "tests/relations/reverseproxy/collectServices.test.ts",
  "tests/reliability/fuzzHaproxyRouteBags.test.ts",
  "tests/reliability/fuzzHaproxyRouteTcpBags.test.ts",
  "tests/system/hostCommands.test.ts",
  "tests/vip/vipPlan.test.ts",
  "tests/vip/vipReadiness.test.ts",
];

// `e2e`: the local Juju model (tests/localJuju; keepalivedRestart uses its machines),
// which needs root for its network and mount namespaces; skipped with one
// warning otherwise (tests/helpers/rootOnlyRunner.ts).
const e2e = [
  "tests/e2e/**/*.test.ts",
  "tests/localJuju/**/*.test.ts",
  "tests/vip/keepalivedRestart.test.ts",
];

// `unit`: hook-layer tests whose haproxy (tests/helpers/unitSandbox.ts) listens on the host's
// own port 80, as a unit's does. haproxy binds with SO_REUSEPORT, so two such files at once
// would answer each other's requests: they run one at a time, beside the other projects.
const hostPort80 = [
  "tests/hook/cookieNumbers.test.ts",
  "tests/hook/haproxyFailure.test.ts",
  "tests/hook/haproxyRouteWarnings.test.ts",
  "tests/hook/hookCost.test.ts",
  "tests/hook/proxyFrontEnds.test.ts",
  "tests/hook/rejectedUnits.test.ts",
  "tests/hook/relationCache.test.ts",
  "tests/hook/runHook.test.ts",
  "tests/hook/tlsAndRelations.test.ts",
  "tests/hook/tlsCiphers.test.ts",
  "tests/hook/untrustedRelationData.test.ts",
  "tests/relations/certificates/certificateRelation.test.ts",
  "tests/relations/cosAgent/cosAgentRelation.test.ts",
  "tests/relations/ingress/ingressRelation.test.ts",
  "tests/relations/ingressPerUnit/ingressPerUnitRelation.test.ts",
  "tests/relations/receiveCaCerts/receiveCaCertsRelation.test.ts",
  "tests/reliability/idleKeepAlive.test.ts",
  "tests/vip/publishedVip.test.ts",
];

// Test files at a time. Vitest's default, one fewer than the cores, is one on 2 cores, which
// made the suite run file after file. The files are independent (temporary directories,
// ephemeral loopback ports, a local model's namespaces named after its worker's pid), so
// one per core; a file keeps about a core busy (haproxy, openssl and hooks included), so more
// would only stretch the files with a time budget (the fuzz tests).
// VITEST_MAX_WORKERS=1 (or --maxWorkers=1) runs them one at a time again.
const workers = availableParallelism();

export default defineConfig({
  plugins: [precompiledTemplates, embeddedAssets],
  test: {
    maxWorkers: workers,
    // Generous: CI runs end-to-end suites side by side on 2 cores, where one hook can take seconds.
    testTimeout: 120_000,
    hookTimeout: 240_000,
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "text"],
    },
    projects: [
      { extends: true, test: { name: "pure", include: pure } },
      // `haproxy`: every other file, so a new one gets the whole machine by default:
      // what `make deps` installs (haproxy 2.6 and 3.0, openssl, keepalived, promtool,
      // xz, zip, ...) and root (files given to haproxy, namespaces), but no local model.
      {
        extends: true,
        test: {
          name: "haproxy",
          include: ["tests/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...pure, ...e2e, ...hostPort80],
          globalSetup: ["tests/helpers/warnMissingHaproxy3.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "unit",
          include: hostPort80,
          maxWorkers: 1,
          globalSetup: ["tests/helpers/warnMissingHaproxy3.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: e2e,
          globalSetup: ["tests/helpers/warnMissingHaproxy3.ts", "tests/helpers/e2eNeedsRoot.ts"],
          runner: "tests/helpers/rootOnlyRunner.ts",
        },
      },
    ],
  },
});
