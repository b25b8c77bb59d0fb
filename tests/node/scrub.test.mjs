// The scrubber as the widget calls it: personal data never leaves the browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadEngineModule } from "./wasm-engine.mjs";

test("the WebAssembly scrubber replaces personal data and keeps the question", async () => {
  const module = await loadEngineModule();
  assert.equal(
    module.scrub("I am jane.doe@example.com, card 4111 1111 1111 1111, call +44 20 7946 0958"),
    "I am [email], card [card], call [phone]");
  assert.equal(module.scrub("how do I reset 2fa after error 404?"), "how do I reset 2fa after error 404?");
  assert.equal(module.scrub("caf\u00e9 \u{1F600} ok"), "caf\u00e9 \u{1F600} ok");
});
