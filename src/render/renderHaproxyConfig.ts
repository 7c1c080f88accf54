import type { HaproxyConfig } from "../model/types.js";
import { haproxyConfigTemplate } from "./templateRegistry.js";

/**
 * The text of haproxy.cfg for a render-ready model. Pure: the model already
 * holds every name, order and option; the templates only print it.
 */
export function renderHaproxyConfig(config: HaproxyConfig): string {
  return haproxyConfigTemplate()(config);
}
