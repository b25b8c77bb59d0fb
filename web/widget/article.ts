// The article view's chunk (loopwise-article.js), loaded the first time someone opens an article:
// the Markdown renderer's HTML, sanitized by DOMPurify, as a fragment for the panel's shadow root.
// Only formatting survives: no scripts, no event handlers, no images, forms, frames or styles;
// links open in a new tab without access to this page.

import DOMPurify from "dompurify";
import { renderMarkdown } from "./markdown";

const ALLOWED_TAGS = [
  "h4", "h5", "h6", "p", "ul", "ol", "li", "pre", "code", "blockquote", "hr", "strong", "em", "a", "br",
];
const ALLOWED_ATTR = ["href", "start"];

let hooked = false;

export function renderArticle(body: string): DocumentFragment {
  if (!hooked) {
    hooked = true;
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A" && !(node.getAttribute("href") || "").startsWith("#")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
  }
  return DOMPurify.sanitize(renderMarkdown(body), {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    RETURN_DOM_FRAGMENT: true,
  });
}
