// The PostgreSQL store end to end: the CLI and two server replicas on one real PostgreSQL database
// (started by scripts/with-postgres, which scripts/test runs the tests under), over real HTTP:
// import, publish, signals stored once across replicas, learning and approval, rollback, a killed
// replica, and clear errors for a bad --db.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
  admin, batchId, cli, cliFails, fixtures, request, signalsRequest, startServer, tempDir,
} from "./server.mjs";

const server = process.env.LOOPWISE_TEST_POSTGRES;
if (!server) throw new Error("LOOPWISE_TEST_POSTGRES is not set: run the tests with scripts/test (or scripts/with-postgres)");

const learning = path.join(fixtures, "learning");
const database = `loopwise_test_${process.pid}`;
const db = server.replace(/\/[^/]*$/, `/${database}`);
let data, site, a, b;

function psql(sql) {
  const out = execFileSync("psql", [db, "-tA", "-F", "|", "-c", sql], { encoding: "utf8" });
  return out.trim() ? out.trim().split("\n").map((line) => line.split("|")) : [];
}

before(async () => {
  execFileSync("psql", [server, "-q", "-c", `CREATE DATABASE ${database}`]);
  data = tempDir();
  site = JSON.parse(cli("site", "create", "acme", "--origin", "https://app.example.com", "--data", data, "--db", db, "--json"));
  cli("import", "articles", "--site", "acme", "--data", data, "--db", db, path.join(learning, "kb.jsonl"));
  cli("import", "history", "--site", "acme", "--data", data, "--db", db, path.join(learning, "history.jsonl"));
  cli("publish", "--site", "acme", "--data", data, "--db", db);
  // Two replicas of the server on the same database and bundle directory.
  a = await startServer(data, ["--db", db, "--learn-every", "0"]);
  b = await startServer(data, ["--learn-every", "0"], { LOOPWISE_DB: db });
});

after(async () => {
  await Promise.all([a.stop(), b.stop()]);
  fs.rmSync(data, { recursive: true, force: true });
  execFileSync("psql", [server, "-q", "-c", `DROP DATABASE IF EXISTS ${database}`]);
});

function question(n, text, shown, article) {
  const common = {
    ts: 1767225600000 + n * 1000, session: `s-${n}`, query_id: `q-${n}`, query: text,
    bundle: "1", context: { route: "/settings/security" }, confidence: 0.7,
  };
  return [
    { ...common, type: "query" },
    { ...common, type: "shown", shown },
    { ...common, type: "resolved", article },
  ];
}

test("the store lives in PostgreSQL, not in the data directory, and the log says so without secrets", () => {
  assert.equal(fs.existsSync(path.join(data, "loopwise.db")), false);
  assert.deepEqual(psql("SELECT name, mode FROM sites"), [["acme", "review"]]);
  assert.deepEqual(psql("SELECT COUNT(*) FROM articles WHERE site = 'acme'"), [["4"]]);
  assert.deepEqual(psql("SELECT version, current FROM versions"), [["1", "t"]]);
  const listening = JSON.parse(a.logs.find((l) => l.includes('"listening"')));
  assert.equal(listening.store, db);
  assert.equal(psql(`SELECT COUNT(*) FROM sites WHERE token_hash = '${site.token}'`)[0][0], "0",
    "the token itself is not stored");
});

test("both replicas serve the manifest and bundle; a batch sent to both is stored once", async () => {
  for (const replica of [a, b]) {
    const r = await request(`${replica.url}/v1/sites/acme/manifest`, { headers: { "X-Loopwise-Key": site.key } });
    assert.equal(r.status, 200);
    assert.equal(r.body.version, 1);
  }
  const shown = ["reset-2fa", "reset-password", "refund"];
  const events = [];
  ["lost my authenticator phone", "authenticator phone lost", "lost phone with my authenticator"]
    .forEach((text, i) => events.push(...question(i, text, shown, "reset-2fa")));
  const body = { batch_id: batchId(), events };
  const [ra, rb] = await Promise.all([a, b].map((r) => request(`${r.url}/v1/sites/acme/signals`, signalsRequest(site.key, body))));
  assert.deepEqual([ra.status, rb.status], [202, 202]);
  assert.deepEqual(psql("SELECT COUNT(*) FROM signals"), [["9"]]);
  assert.deepEqual(psql("SELECT COUNT(*) FROM signal_batches"), [["1"]]);
  const rows = psql("SELECT type, query, session, confidence FROM signals ORDER BY id LIMIT 1");
  assert.deepEqual(rows, [["query", "lost my authenticator phone", "s-0", "0.7"]]);
});

test("learning on one replica is seen by the other: train, approve, publish, roll back", async () => {
  // Both replicas asked to learn at once: one learns, the other waits and finds nothing new.
  const runs = await Promise.all([a, b].map((replica) =>
    request(`${replica.url}/v1/sites/acme/train`, { method: "POST", headers: admin(site.token) })));
  for (const run of runs) assert.equal(run.status, 200, JSON.stringify(run.body));
  assert.deepEqual(runs.map((run) => run.body.outcome).sort(), ["nothing_new", "staged"]);
  let r = await request(`${b.url}/v1/sites/acme/changes`, { headers: admin(site.token) });
  assert.equal(r.body.changes.length, 1);
  assert.equal(r.body.changes[0].status, "pending");
  r = await request(`${b.url}/v1/sites/acme/changes/${r.body.changes[0].id}/approve`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.version, 2);
  r = await request(`${a.url}/v1/sites/acme/manifest`, { headers: { "X-Loopwise-Key": site.key } });
  assert.equal(r.body.version, 2, "the other replica's manifest names the new version");
  r = await request(`${a.url}/v1/sites/acme/rollback`, {
    method: "POST", headers: admin(site.token, { "Content-Type": "application/json" }), body: JSON.stringify({ version: 1 }),
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(psql("SELECT version, current FROM versions ORDER BY version"), [["1", "t"], ["2", "f"]]);
});

test("a killed replica loses nothing it acknowledged; a restarted one carries on", async () => {
  const before = Number(psql("SELECT COUNT(*) FROM signals")[0][0]);
  const events = question(50, "where is my invoice", ["refund"], "refund");
  const r = await request(`${b.url}/v1/sites/acme/signals`, signalsRequest(site.key, { batch_id: batchId(), events }));
  assert.equal(r.status, 202);
  await b.kill();
  assert.equal(Number(psql("SELECT COUNT(*) FROM signals")[0][0]), before + 3);
  b = await startServer(data, ["--db", db, "--learn-every", "0"]);
  const m = await request(`${b.url}/v1/sites/acme/manifest`, { headers: { "X-Loopwise-Key": site.key } });
  assert.equal(m.body.version, 1);
});

test("a --db that is not PostgreSQL, or cannot be reached, is a clear error without the password", () => {
  let r = cliFails("serve", "--data", data, "--db", "mysql://root:hunter2@127.0.0.1/x");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /is not a PostgreSQL URL/);
  assert.doesNotMatch(r.stderr, /hunter2/);
  r = cliFails("site", "create", "x", "--origin", "https://a.example", "--data", data, "--db", "postgresql://loopwise:hunter2@127.0.0.1:1/x");
  assert.match(r.stderr, /cannot connect to PostgreSQL at postgresql:\/\/loopwise:\*\*\*@127\.0\.0\.1:1\/x/);
  assert.doesNotMatch(r.stderr, /hunter2/);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
});
