// A tls-certificates provider in the local model: a scripted application
// whose "hooks" are this helper. It reads the CSRs haproxy's units list in
// their unit bags, signs them with a real openssl CA, and answers in its app
// bag as self-signed-certificates does.
import type { LocalModel } from "../localJuju/model.js";
import { type CertificateEntry, TestCa, type Validity, requestedCsrs } from "../helpers/testCa.js";

export class ScriptedCa {
  readonly ca = TestCa.create("Local model CA");
  /** CSR -> the entry issued for it, so an answered CSR keeps its certificate. */
  private readonly issued = new Map<string, CertificateEntry>();

  private constructor(
    private readonly model: LocalModel,
    readonly name: string,
  ) {}

  static async deploy(model: LocalModel, name = "self-signed-certificates"): Promise<ScriptedCa> {
    await model.deployScripted(name, {
      units: 1,
      endpoints: { certificates: { interface: "tls-certificates", role: "provides" } },
    });
    return new ScriptedCa(model, name);
  }

  /** Every CSR on the relation right now. */
  requests(relationId: number): string[] {
    const relation = this.model.relation(relationId);
    if (relation === undefined) return [];
    return [...relation.unitSettings.values()].flatMap((settings) =>
      requestedCsrs(settings.get("certificate_signing_requests")),
    );
  }

  /**
   * Signs every CSR not signed yet (for `validity`) and publishes the entries
   * of the CSRs still requested, as a provider drops the others.
   */
  async answer(relationId: number, validity?: Validity): Promise<void> {
    const csrs = this.requests(relationId);
    for (const csr of csrs) {
      if (!this.issued.has(csr)) this.issued.set(csr, this.ca.entry(csr, validity));
    }
    const entries = csrs.map((csr) => this.issued.get(csr) as CertificateEntry);
    await this.model.setRelationData(this.name, relationId, {
      certificates: JSON.stringify(entries),
    });
  }

  /** Signs every requested CSR again for `validity`, replacing what was issued. */
  async reissue(relationId: number, validity: Validity): Promise<void> {
    for (const csr of this.requests(relationId)) this.issued.delete(csr);
    await this.answer(relationId, validity);
  }

  cleanup(): void {
    this.ca.cleanup();
  }
}
