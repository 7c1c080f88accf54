// The CSR for external_hostname, on our unit bag of `certificates`. It goes
// out whatever haproxy made of the rest of the configuration.
import type { ReconcilePublication } from "../publication.js";

export async function publishCertificateRequest(publication: ReconcilePublication): Promise<void> {
  const { tools, certificateRequest: request, classicHook } = publication;
  if (request === undefined || (classicHook && !request.changed)) return;
  await tools.relationSet(request.relationId, { certificate_signing_requests: request.value });
}
