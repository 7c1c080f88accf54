// config-get's output typed once per hook: missing options take config.yaml's
// default, a value of the wrong type is a ConfigError naming its option.
import { describe, expect, it } from "vitest";

import {
  CONFIG_DEFAULTS,
  parseCharmConfig,
  readCharmConfig,
} from "../../src/config/charmConfig.js";
import { ConfigError } from "../../src/lib/errors.js";

describe("parseCharmConfig", () => {
  it("takes the defaults for options Juju leaves out or gives as null", () => {
    expect(parseCharmConfig({})).toEqual(CONFIG_DEFAULTS);
    expect(parseCharmConfig({ global_maxconn: null, vip: undefined })).toEqual(CONFIG_DEFAULTS);
  });

  it("keeps the values of the declared types and ignores options it does not know", () => {
    const config = parseCharmConfig({
      global_maxconn: 100,
      global_debug: true,
      vip: "10.0.0.100",
      retired_option: "x",
    });
    expect(config).toEqual({
      ...CONFIG_DEFAULTS,
      global_maxconn: 100,
      global_debug: true,
      vip: "10.0.0.100",
    });
  });

  it.each([
    ["global_maxconn", "4096", 'config option global_maxconn: expected an integer, got "4096"'],
    ["global_maxconn", 1.5, "config option global_maxconn: expected an integer, got 1.5"],
    ["global_debug", "yes", 'config option global_debug: expected a boolean, got "yes"'],
    ["services", 3, "config option services: expected a string, got 3"],
  ])("refuses %s = %j, naming the option", (option, value, message) => {
    const reading = readCharmConfig({ [option]: value });
    expect(reading).toBeInstanceOf(ConfigError);
    expect(reading).toMatchObject({ option, message });
    expect(() => parseCharmConfig({ [option]: value })).toThrow(message);
  });
});

describe("readCharmConfig", () => {
  it("gives the parsed options, or the ConfigError a hook blocks the unit with", () => {
    expect(readCharmConfig({ vip_router_id: 7 })).toEqual({ ...CONFIG_DEFAULTS, vip_router_id: 7 });
    const reading = readCharmConfig({ vip_router_id: "7" });
    expect(reading).toBeInstanceOf(ConfigError);
    expect(reading).toMatchObject({ option: "vip_router_id" });
  });
});
