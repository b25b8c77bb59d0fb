// The widget's Markdown renderer and passage picker (web/widget/markdown.ts, passage.ts), bundled
// with esbuild and run in Node: what articles render to, what never gets through, and which
// passage a card quotes. The sanitizer after the renderer is exercised in Chromium (demo.test.mjs).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildSync } from "esbuild";
import { repoRoot } from "../server/server.mjs";

let md, passage;

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "loopwise-markdown-"));
  for (const name of ["markdown", "passage"]) {
    buildSync({
      entryPoints: [path.join(repoRoot, `web/widget/${name}.ts`)],
      bundle: true, format: "esm", outfile: path.join(dir, `${name}.mjs`), logLevel: "warning",
    });
  }
  md = await import(path.join(dir, "markdown.mjs"));
  passage = await import(path.join(dir, "passage.mjs"));
  fs.rmSync(dir, { recursive: true, force: true });
});

test("headings, paragraphs, lists, code, quotes and inline markup", () => {
  const html = md.renderMarkdown([
    "---", "id: x", "title: X", "---",
    "# Title", "", "Some **bold**, *em*, _em too_ and `a <b> code`.", "continued line", "",
    "1. first", "2. second", "   lazy", "", "3) third", "", "- [ ] todo", "- [x] done", "",
    "> quoted", "", "```", "<raw> & code", "```", "", "---",
  ].join("\n"));
  assert.doesNotMatch(html, /id: x/, "front matter dropped");
  assert.match(html, /<h4>Title<\/h4>/);
  assert.match(html, /<p>Some <strong>bold<\/strong>, <em>em<\/em>, <em>em too<\/em> and <code>a &lt;b&gt; code<\/code>\. continued line<\/p>/);
  assert.match(html, /<ol><li>first<\/li><li>second lazy<\/li><\/ol>/);
  assert.match(html, /<ol start="3"><li>third<\/li><\/ol>/);
  assert.match(html, /<ul><li>☐ todo<\/li><li>☑ done<\/li><\/ul>/);
  assert.match(html, /<blockquote><p>quoted<\/p><\/blockquote>/);
  assert.match(html, /<pre><code>&lt;raw&gt; &amp; code<\/code><\/pre>/);
  assert.match(html, /<hr>$/);
});

test("raw HTML is text, and links keep only safe targets", () => {
  const html = md.renderMarkdown('<img src=x onerror="alert(1)">\n\n<script>alert(2)</script>');
  assert.equal(html, '<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>\n<p>&lt;script&gt;alert(2)&lt;/script&gt;</p>');
  const links = md.renderInline(
    "[a](https://x.test/a_b_c) [b](#reset-2fa) [c](JavaScript:alert%281%29) [d](/help?q=1&r=2) [e](data:text/html,x)");
  assert.equal(links, '<a href="https://x.test/a_b_c">a</a> <a href="#reset-2fa">b</a> c <a href="/help?q=1&amp;r=2">d</a> e',
    "no <em> inside an address; javascript: and data: dropped");
  assert.equal(md.renderInline('[x]("onmouseover="y)'), '<a href="&quot;onmouseover=&quot;y">x</a>',
    "quotes in an address stay inside the attribute");
  assert.doesNotMatch(md.renderInline('[x](" onmouseover="y)'), /href="[^"]*" onmouseover/);
  assert.doesNotMatch(md.renderInline("\u00010\u0002x\u0003"), /<a/, "marker characters in the text cannot make a link");
});

test("plain text for passages: one paragraph or list item a line, markup gone", () => {
  assert.deepEqual(md.plainText("---\nid: a\n---\n# Head\nOne **two**\nthree.\n\n- item [link](#x)\n```\ncode\n```"),
    ["Head", "One two three.", "item link"]);
});

test("a card quotes the paragraph sharing most of the question's words, with them found by stem", () => {
  const stems = passage.queryStems("How do I download my invoices?");
  assert.deepEqual([...stems].sort(), ["download", "invoice"]);
  const body = "Intro about billing.\n\nYou can download each invoice as a PDF.\n\nInvoices are e-mailed monthly.";
  const best = passage.bestPassage(body, stems);
  assert.equal(best.text, "You can download each invoice as a PDF.");
  assert.equal(best.matches, 2);
  const long = `${"word ".repeat(80)}the invoice is here ${"tail ".repeat(80)}`;
  const clipped = passage.bestPassage(long, stems, 120).text;
  assert.ok(clipped.length <= 122 && clipped.includes("invoice") && clipped.startsWith("…") && clipped.endsWith("…"), clipped);
  assert.equal(passage.bestPassage("**Why payments fail**\n\nIf a payment fails twice, add another card in Billing.",
    passage.queryStems("my payment failed")).text, "If a payment fails twice, add another card in Billing.",
    "a bold label of three words is passed over for a sentence");
  assert.equal(passage.bestPassage("First.\n\nSecond.", passage.queryStems("zzz")).text, "First.",
    "no match: the opening paragraph");
});
