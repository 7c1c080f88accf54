// The seed README's my-web-app, as the e2e tests deploy it.
import type { LocalModel } from "../localJuju/model.js";

/**
 * Deploys `my-web-app` with `units` units, each serving HTTP on port 80 and
 * setting hostname and port 80 in its website-relation-joined hook, and
 * relates it to haproxy:reverseproxy. Returns the relation id.
 */
export async function deployMyWebApp(model: LocalModel, units = 2): Promise<number> {
  await model.deployScripted("my-web-app", {
    units,
    endpoints: { website: { interface: "http", role: "provides" } },
    unitSettings: (unit) => ({ hostname: unit.address, port: "80" }),
    httpPort: 80,
  });
  return model.integrate("my-web-app:website", "haproxy:reverseproxy");
}
