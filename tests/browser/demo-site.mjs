// The Tallyframe demo (web/demo) set up the way scripts/demo does it, on a port the server picks:
// a fresh data directory, the site, its articles and history imported and published, the pages
// copied with the site key filled in, and `loopwise serve --demo-dir` serving API, widget and pages
// from one origin. Used by the demo browser tests and the widget benchmark; every browser test
// launches Chromium through launchChromium below.
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { admin, cli, repoRoot, request, startServer, tempDir } from "../server/server.mjs";

export const knowledge = path.join(repoRoot, "web/demo/knowledge");

export async function startDemo() {
  const data = tempDir("loopwise-demo-");
  const store = path.join(data, "store");
  // The allowed origin is the server's own, known once it listens: a placeholder until then.
  const site = JSON.parse(cli("site", "create", "demo", "--origin", "http://127.0.0.1:1", "--data", store, "--json"));
  cli("import", "articles", "--site", "demo", "--data", store, path.join(knowledge, "articles"));
  cli("import", "history", "--site", "demo", "--data", store, path.join(knowledge, "history.jsonl"));
  cli("publish", "--site", "demo", "--data", store);
  const pages = path.join(data, "site");
  fs.cpSync(path.join(repoRoot, "web/demo/site"), pages, { recursive: true });
  for (const file of fs.readdirSync(pages, { recursive: true })) {
    const full = path.join(pages, String(file));
    if (!full.endsWith(".html")) continue;
    fs.writeFileSync(full, fs.readFileSync(full, "utf8")
      .replaceAll("__LOOPWISE_KEY__", site.key).replaceAll("__LOOPWISE_SITE__", "demo"));
  }
  const server = await startServer(store, ["--demo-dir", pages]);
  const res = await request(`${server.url}/v1/sites/demo`, {
    method: "PUT",
    headers: admin(site.token, { "Content-Type": "application/json" }),
    body: JSON.stringify({ origins: [server.url] }),
  });
  if (res.status !== 200) throw new Error(`setting the demo's origin failed: ${JSON.stringify(res.body)}`);
  return {
    url: server.url, key: site.key, token: site.token, server, store,
    async stop() {
      await server.stop();
      fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

// Debian's Chromium, headless, with the flags DESIGN.md lists and a fresh profile.
export function launchChromium() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
