// Secrets the charm makes itself, once, and keeps in its state directory:
// the monitoring password (`changeme`) and the self-signed certificate.
import type { CharmConfig } from "../config/charmConfig.js";
import type { HookInputs } from "../juju/hookInputs.js";
import type { Paths } from "../paths.js";
import { stateFilePath } from "../stateFiles.js";
import { selfSignedPem } from "../tls/selfSignedCertificate.js";
import { monitoringPassword } from "./monitoringPassword.js";

export async function withGeneratedSecrets(
  paths: Paths,
  config: CharmConfig,
  inputs: HookInputs,
): Promise<HookInputs> {
  const wantsPassword = config.enable_monitoring && config.monitoring_password === "changeme";
  const wantsCertificate = config.ssl_cert === "SELFSIGNED";
  return {
    ...inputs,
    ...(wantsPassword && {
      generatedMonitoringPassword: await monitoringPassword(paths.charmState, paths.haproxyConfig),
    }),
    ...(wantsCertificate && {
      selfSignedPem: await selfSignedPem(stateFilePath(paths.charmState, "selfSignedPem"), inputs),
    }),
  };
}
