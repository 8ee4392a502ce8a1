// The nginx configuration of a remote cache server on loopback (WebDAV PUT and DELETE, JSON
// directory listings for prune-remote), shared by the tests and bench/remote.mjs.
import { join } from "node:path";

/**
 * @param {{ dir: string, data: string, port: number, accessLog?: string, locations?: string }} opts
 *   locations: more location blocks for the server (the web tests' redirects)
 * @returns {string}
 */
export function nginxConf({ dir, data, port, accessLog, locations = "" }) {
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${join(dir, t)};`).join("\n  ");
  const log = accessLog ? `log_format bench '$request_method $uri $status $request_length';\n  access_log ${accessLog} bench;` : "access_log off;";
  return `${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
daemon off;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")};
events { worker_connections 256; }
http {
  ${log}
  ${temp}
  server {
    listen 127.0.0.1:${port};
    root ${data};
    client_max_body_size 0;
    location / {
      dav_methods PUT DELETE;
      autoindex on;
      autoindex_format json;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
    ${locations}
  }
}
`;
}
