import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { tempDir, waitFor } from "./helpers.js";
import { nginxConf } from "./support/nginx-conf.mjs";

/** A real nginx on loopback with WebDAV PUT and DELETE: the remote cache server of the tests. */
export interface Nginx {
  url: string;
  /** Where the server keeps what is PUT: data/cas/<digest>, data/ac/<key>. */
  data: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** `locations`: location blocks added to the server, with `$PORT` standing for its port. */
export async function startNginx(opts: { port?: number; locations?: string } = {}): Promise<Nginx> {
  const found = spawnSync("nginx", ["-v"], { encoding: "utf8" });
  if (found.error) throw new Error("nginx is not installed: bin/test installs it (apt-get install nginx-light); the remote cache tests need a real server");
  const dir = tempDir("sabuild-nginx-");
  const data = join(dir, "data");
  mkdirSync(data);
  const port = opts.port ?? (await freePort());
  writeFileSync(join(dir, "nginx.conf"), nginxConf({ dir, data, port, locations: (opts.locations ?? "").replaceAll("$PORT", String(port)) }));
  const child: ChildProcess = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${url}/`], { encoding: "utf8" }).stdout !== "000", 10_000, "nginx to listen");
  return {
    url,
    data,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
