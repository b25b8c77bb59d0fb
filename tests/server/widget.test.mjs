// The widget's static files at /widget/<file>: types, caching, and nothing outside the directory.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { rawGet, startServer, tempDir } from "./server.mjs";

let data, widget, server;

before(async () => {
  data = tempDir();
  // A widget directory of its own, so the test does not depend on scripts/build-web having run.
  widget = path.join(data, "widget");
  fs.mkdirSync(widget);
  fs.writeFileSync(path.join(widget, "loopwise.js"), "window.Loopwise=window.Loopwise||{q:[]};\n");
  fs.writeFileSync(path.join(widget, "loopwise-engine.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  fs.writeFileSync(path.join(widget, ".secret"), "hidden");
  fs.mkdirSync(path.join(widget, "sub"));
  fs.writeFileSync(path.join(data, "outside.js"), "outside");
  server = await startServer(data, ["--widget-dir", widget]);
});

after(async () => {
  await server.stop();
  fs.rmSync(data, { recursive: true, force: true });
});

test("widget files are served with their type, short caching and CORS", async () => {
  let res = await fetch(`${server.url}/widget/loopwise.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/javascript/);
  assert.equal(res.headers.get("cache-control"), "public, max-age=300");
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.match(await res.text(), /window\.Loopwise/);

  res = await fetch(`${server.url}/widget/loopwise-engine.wasm`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/wasm");
  assert.equal((await res.arrayBuffer()).byteLength, 8);
});

test("only plain file names inside the widget directory are served", async () => {
  for (const p of [
    "/widget/../outside.js", "/widget/..%2Foutside.js", "/widget/%2e%2e%2foutside.js",
    "/widget/..", "/widget/.secret", "/widget/sub", "/widget/sub/x", "/widget/missing.js",
    "/widget/loopwise.js%00.wasm", "/widget/",
  ]) {
    const res = await rawGet(server.url, p);
    assert.equal(res.status, 404, `${p} answered ${res.status}`);
    assert.doesNotMatch(res.body, /outside|hidden/, p);
  }
});

test("a missing widget file is a JSON 404 naming it", async () => {
  const res = await rawGet(server.url, "/widget/nothing-here.js");
  assert.equal(res.status, 404);
  assert.equal(JSON.parse(res.body).error.code, "widget_file_not_found");
  assert.match(JSON.parse(res.body).error.message, /nothing-here\.js/);
});
