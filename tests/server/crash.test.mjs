// Crash safety: several clients send batches, the server is killed with SIGKILL mid-stream and
// restarted. Every acknowledged batch must be there exactly once, and no batch may be half there.
// The same holds for a backup (`loopwise backup`) taken while they send.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import {
  batchId, cliFails, createSite, event, importFixtures, loopwise, request, signalsRequest, sqlite, startServer,
  tempDir,
} from "./server.mjs";

const execFileAsync = promisify(execFile);

// Eight clients sending batches of 1 to 40 events as fast as the server takes them, until stop()
// (or until the server is gone), which resolves to the batches acknowledged and attempted
// (batch_id -> events).
function sendBatches(url, key) {
  const acked = new Map();
  const attempted = new Map();
  let stopped = false;
  async function client(c) {
    for (let n = 0; !stopped; ++n) {
      const id = `c${c}-${n}-${batchId()}`;
      const size = 1 + ((c * 7 + n * 13) % 40);
      attempted.set(id, size);
      try {
        const r = await request(url, signalsRequest(key, {
          batch_id: id, events: Array.from({ length: size }, (_, i) => event(i, { session: `c${c}` })),
        }));
        if (r.status !== 202) throw new Error(`status ${r.status}`);
        assert.equal(r.body.accepted, size);
        acked.set(id, size);
      } catch {
        return; // the server is gone
      }
    }
  }
  const clients = Array.from({ length: 8 }, (_, c) => client(c));
  return {
    acked,
    async stop() {
      stopped = true;
      await Promise.all(clients);
      return { acked, attempted };
    },
  };
}

// The batches stored in `data`'s database (batch_id -> {events, rows}), each checked to be whole:
// one of `attempted`, with all its events, and no signal rows outside a batch.
function storedBatches(data, attempted) {
  const stored = new Map(sqlite(data,
    "SELECT b.batch_id AS id, b.events AS events, (SELECT COUNT(*) FROM signals s " +
    "WHERE s.site = b.site AND s.batch_id = b.batch_id) AS rows FROM signal_batches b").map((r) => [r.id, r]));
  for (const [id, row] of stored) {
    assert.ok(attempted.has(id), `unknown batch ${id}`);
    assert.equal(row.rows, attempted.get(id), `batch ${id} is half there (${row.rows} of ${attempted.get(id)})`);
    assert.equal(row.events, row.rows);
  }
  const total = sqlite(data, "SELECT COUNT(*) AS n FROM signals")[0].n;
  const storedEvents = [...stored.values()].reduce((a, r) => a + r.rows, 0);
  assert.equal(total, storedEvents, "no signal rows outside a recorded batch");
  return stored;
}

test("kill -9 mid-stream loses no acknowledged batch and leaves no partial one", async () => {
  const data = tempDir();
  const site = createSite(data, "acme");
  let server = await startServer(data, ["--client-rate", "0", "--site-rate", "0"]);
  const clients = sendBatches(`${server.url}/v1/sites/acme/signals`, site.key);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const { signal } = await server.kill();
  assert.equal(signal, "SIGKILL");
  const { acked, attempted } = await clients.stop();
  assert.ok(acked.size > 50, `only ${acked.size} batches acknowledged before the kill`);

  // What survived, read straight from the database file.
  const stored = storedBatches(data, attempted);
  for (const [id, size] of acked) {
    const row = stored.get(id);
    assert.ok(row, `acknowledged batch ${id} is missing`);
    assert.equal(row.rows, size, `acknowledged batch ${id} has ${row.rows} of ${size} events`);
  }
  console.log(`crash: ${acked.size} batches acknowledged, ${stored.size} stored, ` +
    `${stored.size - acked.size} stored but unacknowledged (the kill came before the reply)`);

  // After a restart the acknowledged batches are recognised as duplicates and new ones go in.
  server = await startServer(data);
  try {
    const [someId, size] = [...acked][0];
    let r = await request(`${server.url}/v1/sites/acme/signals`, signalsRequest(site.key, {
      batch_id: someId, events: Array.from({ length: size }, (_, i) => event(i)),
    }));
    assert.deepEqual([r.status, r.body], [202, { accepted: size, duplicate: true }]);
    r = await request(`${server.url}/v1/sites/acme/signals`, signalsRequest(site.key, {
      batch_id: batchId(), events: [event()],
    }));
    assert.deepEqual([r.status, r.body], [202, { accepted: 1, duplicate: false }]);
  } finally {
    await server.stop();
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test("a backup taken while clients send is one consistent snapshot that a server serves", async () => {
  const data = tempDir();
  const copy = path.join(tempDir(), "backup");
  const site = createSite(data, "acme");
  importFixtures(data, "acme");
  const server = await startServer(data, ["--client-rate", "0", "--site-rate", "0"]);
  let restored;
  try {
    const clients = sendBatches(`${server.url}/v1/sites/acme/signals`, site.key);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = new Map(clients.acked);
    const { stdout } = await execFileAsync(loopwise, ["backup", "--data", data, "--to", copy]);
    const { acked, attempted } = await clients.stop();
    assert.match(stdout, /^backed up .* loopwise\.db \(.*, 1 site, schema \d+\) and 1 bundle/);
    assert.ok(before.size > 10, `only ${before.size} batches acknowledged before the backup`);

    // Everything acknowledged before it began is there, and nothing is half there.
    const stored = storedBatches(copy, attempted);
    for (const [id, size] of before) assert.equal(stored.get(id)?.rows, size, `batch ${id}`);
    assert.deepEqual(sqlite(copy, "PRAGMA integrity_check"), [{ integrity_check: "ok" }]);
    console.log(`backup: ${before.size} batches acknowledged before it, ${stored.size} in it, ` +
      `${acked.size} acknowledged in all`);

    // A server on the copy serves the same site, bundle and version.
    const manifest = (r) => request(`${r.url}/v1/sites/acme/manifest`, { headers: { "X-Loopwise-Key": site.key } });
    const original = await manifest(server);
    restored = await startServer(copy);
    const served = await manifest(restored);
    assert.equal(served.status, 200);
    assert.deepEqual(served.body, original.body);
    const bundle = await fetch(`${restored.url}${served.body.bundle.url}`);
    const bytes = Buffer.from(await bundle.arrayBuffer());
    assert.equal(crypto.createHash("sha256").update(bytes).digest("hex"), served.body.bundle.sha256);

    // Never over an existing copy; a database that is not one is named, and leaves nothing.
    const again = cliFails("backup", "--data", data, "--to", copy);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already exists and is not an empty directory/);
    const damaged = tempDir();
    fs.writeFileSync(path.join(damaged, "loopwise.db"), "not a database");
    const nowhere = path.join(path.dirname(copy), "nowhere");
    const refused = cliFails("backup", "--data", damaged, "--to", nowhere);
    assert.match(refused.stderr, /loopwise\.db: cannot copy the database \(file is not a database\)/);
    assert.equal(fs.existsSync(nowhere), false);
    fs.rmSync(damaged, { recursive: true, force: true });
  } finally {
    await server.stop();
    await restored?.stop();
    fs.rmSync(data, { recursive: true, force: true });
    fs.rmSync(path.dirname(copy), { recursive: true, force: true });
  }
});
