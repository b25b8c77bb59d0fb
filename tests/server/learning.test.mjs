// The learning loop on a real server over HTTP: signals -> train -> a pending change in review
// mode -> approve -> a new version in the manifest; autonomous mode publishes directly; guardrails
// refuse what customers were never shown; `loopwise simulate` on a tiny fixture writes the contract
// JSON, the chart and the predictions.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  admin, batchId, cli, cliFails, createSite, fixtures, request, signalsRequest, startServer, tempDir,
} from "./server.mjs";

const learning = path.join(fixtures, "learning");
let data, server, site, base;

before(async () => {
  data = tempDir();
  site = createSite(data, "acme");
  cli("import", "articles", "--site", "acme", "--data", data, path.join(learning, "kb.jsonl"));
  cli("import", "history", "--site", "acme", "--data", data, path.join(learning, "history.jsonl"));
  cli("publish", "--site", "acme", "--data", data);
  server = await startServer(data, ["--learn-every", "0"]);
  base = `${server.url}/v1/sites/acme`;
});

after(async () => {
  await server.stop();
  fs.rmSync(data, { recursive: true, force: true });
});

// One question answered with `shown` and marked resolved with `article` by its own session.
function question(n, text, shown, article, version) {
  const common = {
    ts: 1767225600000 + n * 1000, session: `s-${n}`, query_id: `q-${n}`, query: text,
    bundle: String(version), context: { route: "/settings/security" }, confidence: 0.7,
  };
  return [
    { ...common, type: "query" },
    { ...common, type: "shown", shown },
    { ...common, type: "resolved", article },
  ];
}

async function send(events) {
  const r = await request(`${base}/signals`, signalsRequest(site.key, { batch_id: batchId(), events }));
  assert.equal(r.status, 202, JSON.stringify(r.body));
}

async function manifestVersion() {
  const r = await request(`${base}/manifest`, { headers: { "X-Loopwise-Key": site.key } });
  assert.equal(r.status, 200);
  return r.body.version;
}

test("review mode: signals -> train -> pending change explained -> approve publishes a new version", async () => {
  assert.equal(await manifestVersion(), 1);
  const shown = ["reset-2fa", "reset-password", "refund"];
  const events = [];
  ["lost my authenticator phone", "authenticator phone lost", "lost phone with my authenticator"]
    .forEach((text, i) => events.push(...question(i, text, shown, "reset-2fa", 1)));
  // Resolved with an article that was never shown: the guardrails refuse it.
  events.push(...question(9, "lost my authenticator phone again", shown, "export-data", 1));
  await send(events);

  let r = await request(`${base}/train`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.trained, true);
  assert.equal(r.body.outcome, "staged");
  assert.equal(r.body.mode, "review");
  assert.equal(r.body.signals, 12);
  assert.ok(r.body.accepted >= 2, JSON.stringify(r.body));
  assert.ok(r.body.rejected >= 1, "the unshown article is refused");
  assert.equal(r.body.version, null, "review mode publishes nothing by itself");
  assert.equal(await manifestVersion(), 1);

  r = await request(`${base}/changes`, { headers: admin(site.token) });
  assert.equal(r.status, 200);
  assert.equal(r.body.mode, "review");
  assert.equal(r.body.changes.length, 1, JSON.stringify(r.body));
  const change = r.body.changes[0];
  assert.equal(change.status, "pending");
  assert.equal(change.kind, "exemplars");
  assert.equal(change.article, "reset-2fa");
  assert.match(change.summary, /^'Reset two-factor authentication' now answers questions like '.*authenticator.*': \d+ sessions resolved, 0 not helpful$/);
  assert.ok(change.examples.length >= 2);
  assert.ok(change.evidence.sessions >= 2 && change.evidence.resolved >= 2);
  assert.equal(change.evidence.not_helpful, 0);
  assert.equal(change.decided_at, null);
  assert.ok(Date.parse(change.created_at) > 0);

  // A second train with nothing new stages nothing more.
  r = await request(`${base}/train`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.body.outcome, "nothing_new");

  r = await request(`${base}/changes/${change.id}/approve`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.version, 2);
  assert.equal(r.body.changes[0].status, "published");
  assert.equal(await manifestVersion(), 2, "the manifest names the new version");

  r = await request(`${base}/changes/${change.id}/approve`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, "change_decided");
  r = await request(`${base}/changes/9999/reject`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, "change_not_found");

  r = await request(`${base}/versions`, { headers: admin(site.token) });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.versions.map((v) => [v.version, v.current]), [[2, true], [1, false]]);
  assert.equal(r.body.versions[0].note, "learned: 1 change");
  assert.match(r.body.versions[0].sha256, /^[0-9a-f]{64}$/);
});

test("rejecting all pending changes publishes nothing", async () => {
  const shown = ["refund", "export-data", "reset-password"];
  const events = [];
  ["double charge refund", "charged twice refund please"]
    .forEach((text, i) => events.push(...question(20 + i, text, shown, "refund", 2)));
  await send(events);
  let r = await request(`${base}/train`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.body.outcome, "staged", JSON.stringify(r.body));
  r = await request(`${base}/changes/all/reject`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200);
  assert.ok(r.body.changes.length >= 1);
  assert.ok(r.body.changes.every((c) => c.status === "rejected" && c.decided_at));
  assert.equal(r.body.version, null);
  assert.equal(await manifestVersion(), 2);
  r = await request(`${base}/changes?status=pending`, { headers: admin(site.token) });
  assert.deepEqual(r.body.changes, []);
});

test("autonomous mode publishes what passes the guardrails; rollback marks the change rolled back", async () => {
  let r = await request(base, {
    method: "PUT", headers: admin(site.token, { "Content-Type": "application/json" }),
    body: JSON.stringify({ mode: "autonomous" }),
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const shown = ["export-data", "refund", "reset-2fa"];
  const events = [];
  ["export tasks to a spreadsheet", "csv of every task", "tasks as a csv file"]
    .forEach((text, i) => events.push(...question(40 + i, text, shown, "export-data", 2)));
  await send(events);
  r = await request(`${base}/train`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200);
  assert.equal(r.body.outcome, "published", JSON.stringify(r.body));
  assert.equal(r.body.version, 3);
  const trained = r.body;
  assert.equal(await manifestVersion(), 3);
  r = await request(`${base}/changes?status=published`, { headers: admin(site.token) });
  const learned = r.body.changes.find((c) => c.article === "export-data");
  assert.equal(learned.version, 3);
  // The run is on record, newest first, as train reported it.
  r = await request(`${base}/runs`, { headers: admin(site.token) });
  assert.equal(r.status, 200);
  const [run] = r.body.runs;
  assert.deepEqual([run.outcome, run.version, run.signals, run.accepted, run.replay],
    ["published", 3, events.length, trained.accepted, trained.replay], JSON.stringify(run));
  assert.ok(!Number.isNaN(Date.parse(run.at)), JSON.stringify(run));
  assert.equal((await request(`${base}/runs`)).status, 401, "runs need the admin token");

  r = await request(`${base}/rollback`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200);
  assert.equal(r.body.version, 2);
  r = await request(`${base}/changes`, { headers: admin(site.token) });
  assert.equal(r.body.changes.find((c) => c.id === learned.id).status, "rolled_back");

  // Making version 3 current again restores the change it holds, so the next publish keeps it.
  const rollTo = (version) => request(`${base}/rollback`, {
    method: "POST", headers: admin(site.token), body: JSON.stringify({ version }),
  });
  r = await rollTo(3);
  assert.equal(r.body.version, 3);
  r = await request(`${base}/changes`, { headers: admin(site.token) });
  const restored = r.body.changes.find((c) => c.id === learned.id);
  assert.deepEqual([restored.status, restored.note], ["published", "restored with version 3"]);
  r = await rollTo(2);
  r = await request(`${base}/changes`, { headers: admin(site.token) });
  assert.equal(r.body.changes.find((c) => c.id === learned.id).status, "rolled_back");

  // A version published while the change was rolled back does not hold it: made current after
  // the change was restored, it rolls the change back again, and the next publish leaves it out.
  const statusOf = async () => (await request(`${base}/changes`, { headers: admin(site.token) }))
    .body.changes.find((c) => c.id === learned.id).status;
  r = await request(`${base}/publish`, { method: "POST", headers: admin(site.token) });
  const without = r.body.version;
  await rollTo(3);
  assert.equal(await statusOf(), "published");
  await rollTo(without);
  assert.equal(await statusOf(), "rolled_back");
  r = await request(`${base}/publish`, { method: "POST", headers: admin(site.token) });
  assert.equal(await statusOf(), "rolled_back");
});

test("operators' pins and blocks: listed, validated, deleted; a blocked article learns nothing; a pin ships in the bundle", async () => {
  const post = (body) => request(`${base}/rules`, {
    method: "POST", headers: admin(site.token, { "Content-Type": "application/json" }), body: JSON.stringify(body),
  });
  let r = await post({ kind: "block", article: "refund" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const block = r.body.id;
  r = await post({ kind: "pin", pattern: "Lake", article: "reset-2fa" });
  assert.equal(r.status, 201);
  r = await post({ kind: "pin", pattern: "", article: "reset-2fa" });
  assert.deepEqual([r.status, r.body.error.code], [400, "invalid_rule"]);
  r = await post({ kind: "pin", pattern: "x", article: "nope" });
  assert.deepEqual([r.status, r.body.error.code], [400, "unknown_article"]);
  r = await post({ kind: "boost", article: "refund" });
  assert.deepEqual([r.status, r.body.error.code], [400, "invalid_rule"]);
  r = await request(`${base}/rules`, { headers: admin(site.token) });
  assert.deepEqual(r.body.rules.map((x) => [x.kind, x.pattern, x.article]),
    [["block", "", "refund"], ["pin", "Lake", "reset-2fa"]]);

  // Customers confirm "refund" three times: the block wins, nothing is learned for it.
  const shown = ["refund", "export-data"];
  const events = [];
  ["refund my plan", "money back for my plan", "refund the plan please"]
    .forEach((text, i) => events.push(...question(60 + i, text, shown, "refund", 2)));
  await send(events);
  r = await request(`${base}/train`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.accepted, 0);
  assert.ok(r.body.rejected >= 3, JSON.stringify(r.body));
  assert.deepEqual(r.body.changes, [], "no change was proposed");

  // The pin ships in the next bundle (its PINS section).
  r = await request(`${base}/publish`, { method: "POST", headers: admin(site.token) });
  assert.equal(r.status, 200);
  const bundle = await fetch(`${server.url}${r.body.bundle.url}`);
  const bytes = Buffer.from(await bundle.arrayBuffer());
  assert.ok(bytes.subarray(0, 400).includes(Buffer.from("PINS")), "the bundle has a PINS section");

  r = await request(`${base}/rules/${block}`, { method: "DELETE", headers: admin(site.token) });
  assert.deepEqual([r.status, r.body.deleted], [200, block]);
  r = await request(`${base}/rules/${block}`, { method: "DELETE", headers: admin(site.token) });
  assert.deepEqual([r.status, r.body.error.code], [404, "rule_not_found"]);
});

test("a published change is reverted on its own: a version without it; its questions then speak against it", async () => {
  // Autonomous since the test above: four customers teach "reset-password" (shown second) a new
  // phrasing, published at once.
  const from = await manifestVersion();
  const shown = ["reset-2fa", "reset-password"];
  const asked = (n, text) => question(n, text, shown, "reset-password", from);
  await send([100, 101, 102, 103].flatMap((n) => asked(n, "my sign in link has expired")));
  let r = await request(`${base}/train`, { method: "POST", headers: admin(site.token) });
  assert.deepEqual([r.body.outcome, r.body.version], ["published", from + 1], JSON.stringify(r.body));
  r = await request(`${base}/changes?status=published`, { headers: admin(site.token) });
  const change = r.body.changes.find((c) => c.article === "reset-password" && c.version === from + 1);
  assert.ok(change, JSON.stringify(r.body.changes));

  const revert = (id) => request(`${base}/changes/${id}/revert`, { method: "POST", headers: admin(site.token) });
  r = await revert(change.id);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.version, from + 2);
  assert.deepEqual([r.body.changes[0].status, r.body.changes[0].note],
    ["rejected", `reverted by an operator; version ${from + 2} leaves it out`]);
  assert.equal(await manifestVersion(), from + 2);
  r = await request(`${base}/versions`, { headers: admin(site.token) });
  assert.equal(r.body.versions.find((v) => v.version === from + 1).note, "learned: 1 change (1 reverted)");
  r = await revert(change.id);
  assert.deepEqual([r.status, r.body.error.code], [409, "change_not_published"]);
  r = await revert("all");
  assert.deepEqual([r.status, r.body.error.code], [400, "invalid_change"]);
  r = await revert(9999);
  assert.deepEqual([r.status, r.body.error.code], [404, "change_not_found"]);

  // A fifth customer says much the same: the four the operator overruled contradict it.
  await send(asked(104, "my sign in link has expired again"));
  r = await request(`${base}/train`, { method: "POST", headers: admin(site.token) });
  assert.deepEqual([r.body.accepted, r.body.changes, r.body.version], [0, [], null], JSON.stringify(r.body));
  assert.equal(await manifestVersion(), from + 2);
});

test("the server runs the pipeline by itself every --learn-every seconds", async () => {
  const dir = tempDir();
  const own = createSite(dir, "auto");
  cli("import", "articles", "--site", "auto", "--data", dir, path.join(learning, "kb.jsonl"));
  cli("import", "history", "--site", "auto", "--data", dir, path.join(learning, "history.jsonl"));
  cli("publish", "--site", "auto", "--data", dir);
  const periodic = await startServer(dir, ["--learn-every", "1"]);
  try {
    const url = `${periodic.url}/v1/sites/auto`;
    const events = [];
    ["my invoice was charged twice", "charged two times this month", "refund a double charge"]
      .forEach((text, i) => events.push(...question(80 + i, text, ["refund", "export-data"], "refund", 1)));
    const r = await request(`${url}/signals`, signalsRequest(own.key, { batch_id: batchId(), events }));
    assert.equal(r.status, 202);
    let pending = [];
    for (let i = 0; i < 100 && pending.length === 0; ++i) {
      await new Promise((done) => setTimeout(done, 100));
      pending = (await request(`${url}/changes?status=pending`, { headers: admin(own.token) })).body.changes;
    }
    assert.equal(pending.length, 1, "a periodic run staged the change without any request");
    assert.equal(pending[0].article, "refund");
    // The run logs once it has finished, just after it stored the change.
    for (let i = 0; i < 50 && !periodic.logs.some((l) => l.includes('"msg":"trained"')); ++i) {
      await new Promise((done) => setTimeout(done, 100));
    }
    assert.ok(periodic.logs.some((l) => l.includes('"msg":"trained"')), "the run is logged");
    assert.ok(!periodic.logs.some((l) => l.includes("charged")), "logs carry no question text");
    // And recorded for the console: the one run that read anything.
    const runs = (await request(`${url}/runs`, { headers: admin(own.token) })).body.runs;
    assert.deepEqual(runs.map((run) => [run.outcome, run.signals, run.changes.length]),
      [["staged", events.length, 1]]);
  } finally {
    await periodic.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("train refuses a site that was never published, and needs the admin token", async () => {
  let r = await request(`${server.url}/v1/sites/acme/train`, { method: "POST" });
  assert.equal(r.status, 401);
  const other = JSON.parse(cli("site", "create", "fresh", "--origin", "https://a.example", "--data", data, "--json"));
  r = await request(`${server.url}/v1/sites/fresh/train`, { method: "POST", headers: admin(other.token) });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, "not_published");
  r = await request(`${server.url}/v1/sites/fresh/runs`, { headers: admin(other.token) });
  assert.deepEqual([r.status, r.body], [200, { runs: [] }], "no runs yet: an empty list");
  assert.match(cliFails("train", "--site", "nope", "--data", data).stderr, /no site "nope"/);
});

test("train refits the ranker's page and prior weights from what customers resolved on each page", async () => {
  // Customers on the billing and the security page, each resolving with its page's article: 300,
  // then 20 more asking in new words (a run builds from the outcomes the runs before it stored).
  const customers = async (from, count, [billingText, securityText]) => {
    const version = await manifestVersion();
    const events = [];
    for (let i = from; i < from + count; i++) {
      const billing = i % 2 === 1;
      for (const e of question(1000 + i, billing ? billingText : securityText,
        ["refund", "reset-2fa", "reset-password"], billing ? "refund" : "reset-2fa", version)) {
        events.push({ ...e, context: { route: billing ? "/billing" : "/settings/security" } });
      }
    }
    for (let i = 0; i < events.length; i += 450) await send(events.slice(i, i + 450));
    return request(`${base}/train`, { method: "POST", headers: admin(site.token) });
  };
  let r = await customers(0, 300, ["my card was charged twice", "lost my authenticator phone"]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await customers(300, 20, ["billed two times this month", "new phone and no login codes"]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.ranker, `the report names the refit weights: ${JSON.stringify(r.body)}`);
  // The newest third of the resolved questions asked on a page, the earlier tests' included.
  assert.ok(r.body.ranker.questions >= 100, JSON.stringify(r.body.ranker));
  for (const w of [r.body.ranker.page_weight, r.body.ranker.prior_weight]) assert.ok(w >= 0 && w <= 3, String(w));
});

test("loopwise simulate on a tiny fixture writes the contract JSON, a chart and predictions", () => {
  const out = tempDir("loopwise-simulate-test-");
  try {
    const json = path.join(out, "sim.json");
    cli("simulate", "--kb", path.join(learning, "kb.jsonl"), "--history", path.join(learning, "history.jsonl"),
      "--stream", path.join(learning, "stream.jsonl"), "--test", path.join(learning, "test.jsonl"),
      "--days", "2", "--noise", "0.2", "--agent-label-rate", "1", "--poison", "0.25", "--seed", "3",
      "--json", json, "--predictions-dir", path.join(out, "pred"));
    const report = JSON.parse(fs.readFileSync(json, "utf8"));
    assert.equal(report.days.length, 3);
    for (const day of report.days) {
      for (const field of ["day", "top1", "in_scope_accuracy", "oos_recall", "self_service_rate",
        "escalation_rate", "version", "target_accuracy"]) {
        assert.ok(field in day, `day ${day.day} has ${field}`);
      }
      assert.ok(day.top1 >= 0 && day.top1 <= 1);
    }
    assert.equal(report.summary.complete, true);
    assert.equal(report.days[0].self_service_rate, null, "day 0 has no traffic yet");
    assert.ok(report.days[1].self_service_rate + report.days[1].escalation_rate <= 1);
    assert.ok(report.config.target_article && report.config.poison_article);
    assert.notEqual(report.config.target_article, report.config.poison_article);
    const svg = fs.readFileSync(path.join(out, "sim.svg"), "utf8");
    assert.match(svg, /^<svg /);
    assert.match(svg, /polyline/);
    for (const day of [0, 1, 2]) {
      const lines = fs.readFileSync(path.join(out, "pred", `day-${day}.jsonl`), "utf8").trim().split("\n");
      assert.equal(lines.length, 5);
      assert.ok("ranked" in JSON.parse(lines[0]));
    }
    // Day 0 is the bundle `loopwise eval` builds: same figure.
    const evalJson = path.join(out, "eval.json");
    cli("eval", "--kb", path.join(learning, "kb.jsonl"), "--history", path.join(learning, "history.jsonl"),
      "--test", path.join(learning, "test.jsonl"), "--predictions", path.join(out, "eval.jsonl"), "--json", evalJson);
    assert.equal(report.days[0].top1, JSON.parse(fs.readFileSync(evalJson, "utf8")).top1);
    assert.equal(fs.readFileSync(path.join(out, "eval.jsonl"), "utf8"),
      fs.readFileSync(path.join(out, "pred", "day-0.jsonl"), "utf8"));
    assert.match(cliFails("simulate", "--kb", "x").stderr, /--history is required/);

    // A run that stops partway keeps the days it finished: here day 2's predictions cannot be
    // written (a folder stands in their place).
    const partial = path.join(out, "partial.json");
    fs.mkdirSync(path.join(out, "pred2", "day-2.jsonl"), { recursive: true });
    const failed = cliFails("simulate", "--kb", path.join(learning, "kb.jsonl"),
      "--history", path.join(learning, "history.jsonl"), "--stream", path.join(learning, "stream.jsonl"),
      "--test", path.join(learning, "test.jsonl"), "--days", "3", "--json", partial,
      "--predictions-dir", path.join(out, "pred2"));
    assert.match(failed.stderr, /day-2\.jsonl/);
    const kept = JSON.parse(fs.readFileSync(partial, "utf8"));
    assert.deepEqual(kept.days.map((d) => d.day), [0, 1]);
    assert.equal(kept.summary.complete, false);
    assert.equal(kept.summary.final_top1, kept.days[1].top1);
    assert.match(fs.readFileSync(path.join(out, "partial.svg"), "utf8"), /polyline/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("simulate --verified-customers: attackers with a session per question teach nothing", () => {
  const out = tempDir("loopwise-simulate-test-");
  try {
    const run = (...extra) => {
      const json = path.join(out, `sim${extra.length}.json`);
      cli("simulate", "--kb", path.join(learning, "kb.jsonl"), "--history", path.join(learning, "history.jsonl"),
        "--stream", path.join(learning, "stream.jsonl"), "--test", path.join(learning, "test.jsonl"),
        "--days", "2", "--noise", "0.2", "--poison", "0.25", "--poison-sessions", "100", "--seed", "3",
        "--json", json, ...extra);
      return JSON.parse(fs.readFileSync(json, "utf8"));
    };
    // Each day brings 8 questions and 2 attack signals, each from its own session.
    const open = run();
    const verified = run("--verified-customers");
    assert.equal(open.config.verified_customers, false);
    assert.equal(verified.config.verified_customers, true);
    assert.equal(verified.config.poison_sessions, 100);
    for (const day of [1, 2]) {
      assert.equal(open.days[day].learned.rejected, 0, "unsigned attackers look like customers");
      assert.equal(verified.days[day].learned.rejected, 2, "every attack label is rejected");
      assert.equal(verified.days[day].learned.accepted, open.days[day].learned.accepted,
        "signed-in customers teach as before");
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("eval --common-words sets how many common English words the bundle carries", () => {
  const out = tempDir();
  try {
    const bundle = path.join(out, "bundle.bin");
    const args = ["eval", "--kb", path.join(learning, "kb.jsonl"), "--history", path.join(learning, "history.jsonl"),
      "--test", path.join(learning, "test.jsonl"), "--predictions", path.join(out, "p.jsonl"), "--save-bundle", bundle];
    const build = (...extra) => {
      cli(...args, ...extra);
      return fs.readFileSync(bundle);
    };
    const byDefault = build();
    assert.ok(build("--common-words", "12000").equals(byDefault), "the default is 12,000, as publish uses");
    const none = build("--common-words", "0").length, wide = build("--common-words", "20000").length;
    assert.ok(none < byDefault.length && byDefault.length < wide, `${none} < ${byDefault.length} < ${wide}`);
    assert.match(cliFails(...args, "--common-words", "-1").stderr, /--common-words must be a whole number/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("eval refuses bad input with file and line, and leaves shares of no questions null", () => {
  const out = tempDir();
  try {
    const kb = path.join(learning, "kb.jsonl"), history = path.join(learning, "history.jsonl");
    const [first, second] = fs.readFileSync(path.join(learning, "test.jsonl"), "utf8").split("\n");
    const evalOf = (name, text, ...extra) => {
      const file = path.join(out, name);
      fs.writeFileSync(file, text);
      return ["eval", "--kb", kb, "--history", history, "--test", file,
        "--predictions", path.join(out, "p.jsonl"), ...extra];
    };
    const fails = (name, text, pattern) => {
      const r = cliFails(...evalOf(name, text));
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    };
    fails("json.jsonl", `${first}\n{"text": "x",\n`, /json\.jsonl:2: not valid JSON/);
    fails("unknown.jsonl", `${first}\n{"text": "x", "article": "no-such"}\n`,
      /unknown\.jsonl:2: unknown article "no-such"/);
    // A misspelt key must not turn a question into an out-of-scope one.
    fails("missing.jsonl", `{"text": "x", "artcle": "reset-2fa"}\n`, /missing\.jsonl:1: "article" is missing/);
    // Predictions follow the lines of the test file, so no line may go unanswered.
    fails("blank.jsonl", `${first}\n\n${second}\n`, /blank\.jsonl:2: blank line/);
    fails("empty.jsonl", "", /empty\.jsonl: no questions/);
    // Output paths are checked before the work: a folder, or a folder that is not there.
    assert.match(cliFails(...evalOf("ok.jsonl", `${first}\n`), "--json", out).stderr, /is a folder, not a file/);
    assert.match(cliFails(...evalOf("ok.jsonl", `${first}\n`), "--json", path.join(out, "no", "m.json")).stderr,
      /no folder .* to write it in/);

    const metrics = path.join(out, "m.json");
    cli(...evalOf("trailing.jsonl", `${first}\n${second}\n\n`, "--json", metrics));
    assert.equal(fs.readFileSync(path.join(out, "p.jsonl"), "utf8").trim().split("\n").length, 2);
    cli(...evalOf("oos.jsonl", `{"text": "what is the weather on mars", "article": null}\n`, "--json", metrics));
    const m = JSON.parse(fs.readFileSync(metrics, "utf8"));
    for (const field of ["top1", "recall_at_3", "mrr_at_10", "in_scope_accuracy"]) assert.equal(m[field], null, field);
    assert.equal(typeof m.oos_recall, "number");

    // History may hold tickets no article answered: read, counted, and no exemplar of anything.
    const unanswered = path.join(out, "history.jsonl");
    fs.writeFileSync(unanswered, fs.readFileSync(history, "utf8") +
      '{"text": "is the office canteen open on sundays", "article": null}\n');
    const args = evalOf("ok.jsonl", `${first}\n`);
    args[args.indexOf(history)] = unanswered;
    assert.match(cli(...args), /history tickets \(1 of them no article answered\)/);
    fs.writeFileSync(unanswered, '{"text": "is the office canteen open on sundays"}\n');
    assert.match(cliFails(...args).stderr, /history\.jsonl:1: "article" is missing \(null marks/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
