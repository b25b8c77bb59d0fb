// Crash safety: several clients send batches, the server is killed with SIGKILL mid-stream and
// restarted. Every acknowledged batch must be there exactly once, and no batch may be half there.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { batchId, createSite, event, request, signalsRequest, sqlite, startServer, tempDir } from "./server.mjs";

test("kill -9 mid-stream loses no acknowledged batch and leaves no partial one", async () => {
  const data = tempDir();
  const site = createSite(data, "acme");
  let server = await startServer(data, ["--client-rate", "0", "--site-rate", "0"]);
  const url = `${server.url}/v1/sites/acme/signals`;
  const acked = new Map(); // batch_id -> events
  const attempted = new Map();
  let stop = false;

  async function client(c) {
    for (let n = 0; !stop; ++n) {
      const id = `c${c}-${n}-${batchId()}`;
      const size = 1 + ((c * 7 + n * 13) % 40);
      attempted.set(id, size);
      try {
        const r = await request(url, signalsRequest(site.key, {
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
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const { signal } = await server.kill();
  assert.equal(signal, "SIGKILL");
  stop = true;
  await Promise.all(clients);
  assert.ok(acked.size > 50, `only ${acked.size} batches acknowledged before the kill`);

  // What survived, read straight from the database file.
  const stored = new Map(sqlite(data,
    "SELECT b.batch_id AS id, b.events AS events, (SELECT COUNT(*) FROM signals s " +
    "WHERE s.site = b.site AND s.batch_id = b.batch_id) AS rows FROM signal_batches b").map((r) => [r.id, r]));
  for (const [id, size] of acked) {
    const row = stored.get(id);
    assert.ok(row, `acknowledged batch ${id} is missing`);
    assert.equal(row.rows, size, `acknowledged batch ${id} has ${row.rows} of ${size} events`);
  }
  for (const [id, row] of stored) {
    assert.ok(attempted.has(id), `unknown batch ${id}`);
    assert.equal(row.rows, attempted.get(id), `batch ${id} is half there (${row.rows} of ${attempted.get(id)})`);
    assert.equal(row.events, row.rows);
  }
  const total = sqlite(data, "SELECT COUNT(*) AS n FROM signals")[0].n;
  const storedEvents = [...stored.values()].reduce((a, r) => a + r.rows, 0);
  assert.equal(total, storedEvents, "no signal rows outside a recorded batch");
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
