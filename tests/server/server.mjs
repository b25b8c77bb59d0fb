// Starts real `loopwise serve` processes on 127.0.0.1 (a free port the server picks) for the
// server tests, and runs the CLI against their data directories.
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// LOOPWISE_BIN runs the tests against another build (e.g. build/native-asan/sync-server/loopwise).
export const loopwise = process.env.LOOPWISE_BIN ?? path.join(repoRoot, "bin/loopwise");
export const fixtures = path.join(repoRoot, "tests/server/fixtures");

export function tempDir(prefix = "loopwise-server-") {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Runs the CLI; returns stdout, throws (with stderr in the message) on a non-zero exit.
export function cli(...args) {
  return execFileSync(loopwise, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

// Runs the CLI expecting failure; returns {status, stderr}.
export function cliFails(...args) {
  try {
    execFileSync(loopwise, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    return { status: e.status, stderr: String(e.stderr) };
  }
  throw new Error(`loopwise ${args.join(" ")} succeeded but should have failed`);
}

export function createSite(data, name, ...origins) {
  const args = ["site", "create", name, "--data", data, "--json"];
  for (const o of origins.length ? origins : ["https://app.example.com"]) args.push("--origin", o);
  return JSON.parse(cli(...args));
}

// Starts the server and resolves once its "listening" log line names the port.
export function startServer(data, extraArgs = [], env = {}) {
  const proc = spawn(loopwise, ["serve", "--data", data, "--listen", "127.0.0.1:0", ...extraArgs], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  const logs = [];
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: proc.stderr });
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join("\n")}`)), 10000);
    exited.then(({ code }) => reject(new Error(`server exited with ${code}:\n${logs.join("\n")}`)));
    lines.on("line", (line) => {
      logs.push(line);
      let entry;
      try { entry = JSON.parse(line); } catch { return; }
      if (entry.msg !== "listening") return;
      clearTimeout(timer);
      const url = `http://127.0.0.1:${entry.port}`;
      resolve({
        url, proc, logs, exited,
        async stop() { proc.kill("SIGTERM"); return exited; },
        async kill() { proc.kill("SIGKILL"); return exited; },
      });
    });
  });
}

// Imports the fixture articles (and history) into `site` and publishes its first bundle.
export function importFixtures(data, site, { history = true, publish = true } = {}) {
  cli("import", "articles", "--site", site, "--data", data, path.join(fixtures, "articles"),
    path.join(fixtures, "kb.jsonl"), path.join(fixtures, "kb.csv"));
  if (history) cli("import", "history", "--site", site, "--data", data, path.join(fixtures, "history.jsonl"));
  if (publish) cli("publish", "--site", site, "--data", data);
}

// fetch + the parsed JSON body (null when there is none).
export async function request(url, options = {}) {
  const res = await fetch(url, options);
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  return { status: res.status, headers: res.headers, body };
}

// A GET with the path sent exactly as written (fetch would normalize "..").
export function rawGet(base, rawPath) {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: rawPath, method: "GET" }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

export function admin(token, extra = {}) {
  return { Authorization: `Bearer ${token}`, ...extra };
}

let batchCounter = 0;
export function batchId() {
  return `${process.pid}-${Date.now().toString(36)}-${(batchCounter++).toString(36)}`;
}

export function event(i = 0, extra = {}) {
  return {
    type: "query", ts: 1700000000000 + i, session: "s-1", query_id: `q-${i}`,
    query: "how do i reset my password", bundle: "1", context: { route: "/login" },
    shown: ["reset-password"], confidence: 0.8, ...extra,
  };
}

export function signalsRequest(key, body, extraHeaders = {}) {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Loopwise-Key": key, ...extraHeaders },
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
  };
}

// Rows of the store, read with the sqlite3 shell (what an operator would do).
export function sqlite(data, sql) {
  const out = execFileSync("sqlite3", ["-json", path.join(data, "loopwise.db"), sql], { encoding: "utf8" });
  return out.trim() ? JSON.parse(out) : [];
}
