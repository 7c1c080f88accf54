// The classic charm's health check with a Host header, end to end: a service
// whose options say `option httpchk GET /health HTTP/1.1\r\nHost:\ www.example.com...`
// goes through the planner and the template, each haproxy version the tests
// have accepts the result without a warning and runs it, and a real backend
// that only knows www.example.com receives the check with that Host header
// and passes it. Written as the operator wrote it, the option is only warned
// about by haproxy 2.6 and refused by 3.0 (as by Ubuntu 24.04's 2.8).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { type IncomingHttpHeaders, type Server, createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import yaml from "js-yaml";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { planFromInputs } from "../helpers/planFromInputs.js";
import { renderHaproxyConfig } from "../../src/render/renderHaproxyConfig.js";
import { checkHaproxyConfig } from "../helpers/haproxyCheck.js";
import { HaproxyProcess, findFreePort } from "../helpers/haproxyProcess.js";
import { haproxyVersions } from "../helpers/haproxyVersions.js";
import { eventually } from "../helpers/eventually.js";
import { parseShowStat } from "../../src/metrics/statsCsv.js";

const classicOption = String.raw`option httpchk GET /health HTTP/1.1\r\nHost:\ www.example.com\r\nX-Check:\ juju`;

// What each version makes of the option as written.
const asWritten: Readonly<Record<string, { ok: boolean; says: RegExp }>> = {
  "2.6": { ok: true, says: /\[WARNING\].*hiding headers or body .* is deprecated/ },
  "3.0": { ok: false, says: /\[ALERT\].*hiding headers or body .* is unsupported/ },
};

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

let server: Server;
let backendPort: number;
const seen: Seen[] = [];
let root: string | undefined;
let haproxy: HaproxyProcess | undefined;

beforeAll(async () => {
  // A virtual host: only requests for www.example.com find the health page.
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const found = req.headers.host === "www.example.com" && req.url === "/health";
    res.writeHead(found ? 200 : 404, { connection: "close" });
    res.end(found ? "ok" : "no such site");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  backendPort = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

afterEach(async () => {
  await haproxy?.stop();
  haproxy = undefined;
  if (root !== undefined) await rm(root, { recursive: true, force: true });
  root = undefined;
});

/** The charm's haproxy.cfg for one classic service with the option, and the paths it uses. */
async function planned(port: number): Promise<{ text: string; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "httpchk-"));
  root = dir;
  const paths = { haproxyLib: path.join(dir, "lib"), haproxyRun: path.join(dir, "run") };
  await mkdir(paths.haproxyLib);
  await mkdir(paths.haproxyRun);
  const services = yaml.dump([
    {
      service_name: "app",
      service_host: "127.0.0.1",
      service_port: port,
      service_options: ["mode http", classicOption, "http-check expect status 200"],
      servers: [["app-0", "127.0.0.1", backendPort, "check inter 200 rise 1 fall 1"]],
    },
  ]);
  const plan = planFromInputs(
    {
      unitName: "haproxy/0",
      privateAddress: "127.0.0.1",
      publicAddress: "127.0.0.1",
      config: { services },
      reverseproxy: [],
      peers: [],
    },
    paths,
  );
  for (const file of plan.files) {
    await mkdir(path.dirname(file.path), { recursive: true });
    await writeFile(file.path, file.content, { mode: file.mode });
  }
  return { text: renderHaproxyConfig(plan.config), dir };
}

/** One backend server's row of `show stat`, by column name. */
async function serverStat(socket: string, backend: string): Promise<Record<string, string>> {
  const csv = await new Promise<string>((resolve, reject) => {
    let output = "";
    const client = connect(socket, () => client.write("show stat\n"));
    client.on("data", (chunk) => (output += chunk.toString()));
    client.on("end", () => resolve(output));
    client.on("error", reject);
  });
  const row = parseShowStat(csv).find(
    (entry) => entry.proxy === backend && entry.server !== "BACKEND",
  );
  return { svname: row?.server ?? "", ...Object.fromEntries(row?.fields ?? []) };
}

for (const { version, binary } of haproxyVersions) {
  describe(`a classic httpchk with a Host header, haproxy ${version}`, () => {
    it("is served as option httpchk and http-check send, which haproxy accepts without a warning", async () => {
      const { text } = await planned(await findFreePort());
      expect(text).toMatch(
        /\n\s+option httpchk GET \/health HTTP\/1\.1\n\s+http-check send hdr Host www\.example\.com hdr X-Check juju\n\s+http-check expect status 200\n/,
      );
      const check = await checkHaproxyConfig(text, binary);
      expect(check.output).not.toMatch(/WARNING|ALERT/);
      expect(check.ok).toBe(true);
    });

    it(`would be ${asWritten[version]?.ok ? "only warned about" : "refused"} as written`, async () => {
      const { text } = await planned(await findFreePort());
      const original = text.replace(
        /option httpchk GET \/health HTTP\/1\.1\n\s+http-check send [^\n]*/,
        classicOption,
      );
      expect(original).toContain(`    ${classicOption}\n`);
      const check = await checkHaproxyConfig(original, binary);
      expect(check.output).toMatch(asWritten[version]?.says ?? /an expectation for this version/);
      expect(check.ok).toBe(asWritten[version]?.ok);
    });

    it("sends the health check with the Host header to the backend, which passes it", async () => {
      const port = await findFreePort();
      const { text, dir } = await planned(port);
      const configFile = path.join(dir, "haproxy.cfg");
      await writeFile(configFile, text);
      seen.length = 0;
      haproxy = new HaproxyProcess({
        configFile,
        pidFile: path.join(dir, "haproxy.pid"),
        probePorts: [port],
        haproxyBinary: binary,
      });
      await haproxy.start();
      await eventually(() => expect(seen.length).toBeGreaterThan(0), 10_000, 100);
      expect(seen[0]).toMatchObject({
        method: "GET",
        url: "/health",
        headers: { host: "www.example.com", "x-check": "juju" },
      });
      await eventually(
        async () => {
          expect(await serverStat(path.join(dir, "run", "admin.sock"), "app")).toMatchObject({
            svname: "app-0",
            status: "UP",
            check_status: "L7OK",
            check_code: "200",
          });
        },
        10_000,
        100,
      );
    });
  });
}
