// A small Markdown renderer for help articles: front matter dropped; ATX headings, paragraphs,
// bullet and numbered lists (task boxes shown as ☐/☑), fenced and indented code, block quotes,
// horizontal rules, `code`, **strong**, *emphasis* / _emphasis_ and [links](url).
// Every piece of the source is escaped: raw HTML in an article is shown as text, never parsed.
// Links keep only http(s), mailto, relative and #fragment targets. The output still goes through
// DOMPurify before it reaches the page (article.ts); this renderer is not the only line of defence.

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function safeHref(url: string): string | null {
  const u = url.trim();
  if (/^(https?:|mailto:)/i.test(u)) return u;
  // Relative paths and fragments; anything else with a scheme (javascript:, data:...) is dropped.
  if (/^[#/?.]/.test(u) || !/^[a-z][a-z0-9+.-]*:/i.test(u)) return u;
  return null;
}

// Inline markup on one line of source. Code spans are cut out first so that their contents stay
// literal; everything else is escaped before the emphasis and link patterns run on it.
export function renderInline(source: string): string {
  const parts = source.split(/(`+[^`]*?`+)/);
  return parts
    .map((part, i) => {
      if (i % 2 === 1) return `<code>${escapeHtml(part.replace(/^`+|`+$/g, ""))}</code>`;
      // Link targets are set aside so that the emphasis patterns never reach inside an attribute.
      const hrefs: string[] = [];
      let s = part.replace(/[\u0001-\u0003]/g, "").replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_whole: string, text: string, href: string) => {
        const safe = safeHref(href);
        if (safe === null) return text;
        hrefs.push(safe);
        return `\u0001${hrefs.length - 1}\u0002${text}\u0003`;
      });
      s = escapeHtml(s);
      s = s.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "<strong>$1</strong>");
      s = s.replace(/__(?=\S)([\s\S]*?\S)__/g, "<strong>$1</strong>");
      s = s.replace(/(^|[^*])\*(?=\S)([^*]*?\S)\*(?!\*)/g, "$1<em>$2</em>");
      s = s.replace(/(^|[^\w_])_(?=\S)([^_]*?\S)_(?![\w_])/g, "$1<em>$2</em>");
      return s.replace(/\u0001(\d+)\u0002([^\u0003]*)\u0003/g, (_w: string, n: string, text: string) =>
        hrefs[Number(n)] === undefined ? text : `<a href="${escapeHtml(hrefs[Number(n)])}">${text}</a>`);
    })
    .join("");
}

export function stripFrontMatter(body: string): string {
  return body.replace(/^\uFEFF?---\r?\n[\s\S]*?\r?\n---[ \t]*(\r?\n|$)/, "");
}

const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const FENCE = /^\s{0,3}(```|~~~)/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;

function listItem(text: string): string {
  const task = /^\[([ xX])\]\s+(.*)$/.exec(text);
  if (task) return `<li>${task[1] === " " ? "☐" : "☑"} ${renderInline(task[2])}</li>`;
  return `<li>${renderInline(text)}</li>`;
}

// Article bodies are a few KB; one pass over the lines, block by block.
export function renderMarkdown(body: string): string {
  const lines = stripFrontMatter(body).replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let i = 0;
  const blank = (l: string): boolean => l.trim() === "";
  const startsBlock = (l: string): boolean =>
    blank(l) || HEADING.test(l) || FENCE.test(l) || BULLET.test(l) || NUMBERED.test(l) ||
    /^\s{0,3}>/.test(l) || RULE.test(l);
  while (i < lines.length) {
    const line = lines[i];
    if (blank(line)) {
      i++;
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = HEADING.exec(line))) {
      // Article headings sit below the article's own title (h3 in the panel), so they start at h4.
      const level = Math.min(6, m[1].length + 3);
      out.push(`<h${level}>${renderInline(m[2])}</h${level}>`);
      i++;
    } else if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const code: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) code.push(lines[i++]);
      i++; // the closing fence (or the end)
      out.push(`<pre><code>${escapeHtml(code.join("\n"))}</code></pre>`);
    } else if (/^( {4}|\t)/.test(line)) {
      const code: string[] = [];
      while (i < lines.length && (/^( {4}|\t)/.test(lines[i]) || blank(lines[i]))) {
        code.push(lines[i++].replace(/^( {4}|\t)/, ""));
      }
      out.push(`<pre><code>${escapeHtml(code.join("\n").replace(/\n+$/, ""))}</code></pre>`);
    } else if (RULE.test(line)) {
      out.push("<hr>");
      i++;
    } else if (/^\s{0,3}>/.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && /^\s{0,3}>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s{0,3}>\s?/, ""));
      out.push(`<blockquote>${renderMarkdown(quoted.join("\n"))}</blockquote>`);
    } else if (BULLET.test(line) || NUMBERED.test(line)) {
      const ordered = !BULLET.test(line);
      const pattern = ordered ? NUMBERED : BULLET;
      const items: string[] = [];
      let start = 1;
      while (i < lines.length && pattern.test(lines[i])) {
        const mm = pattern.exec(lines[i]) as RegExpExecArray;
        if (ordered && items.length === 0) start = Number(mm[1]);
        let text = ordered ? mm[2] : mm[1];
        i++;
        // Lazy continuation lines belong to the item.
        while (i < lines.length && !startsBlock(lines[i])) text += " " + lines[i++].trim();
        items.push(listItem(text));
      }
      const tag = ordered ? "ol" : "ul";
      const startAttr = ordered && start !== 1 ? ` start="${start}"` : "";
      out.push(`<${tag}${startAttr}>${items.join("")}</${tag}>`);
    } else {
      const para: string[] = [];
      while (i < lines.length && !startsBlock(lines[i])) para.push(lines[i++].trim());
      if (para.length === 0) para.push(lines[i++].trim()); // a line no block claimed
      out.push(`<p>${renderInline(para.join(" "))}</p>`);
    }
  }
  return out.join("\n");
}

// The article as plain text, one paragraph or list item a line: what cards quote passages from.
export function plainText(body: string): string[] {
  const lines = stripFrontMatter(body).replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let para: string[] = [];
  let inFence = false;
  const end = (): void => {
    if (para.length) out.push(para.join(" "));
    para = [];
  };
  for (const raw of lines) {
    if (FENCE.test(raw)) {
      inFence = !inFence;
      end();
      continue;
    }
    const line = raw
      .replace(HEADING, "$2")
      .replace(BULLET, "$1")
      .replace(NUMBERED, "$2")
      .replace(/^\s{0,3}>\s?/, "")
      .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]*>/g, " ")
      .replace(/[*_`]+/g, "")
      .replace(/\s+/g, " ")
      .trim();
    if (inFence || !line || RULE.test(raw)) {
      end();
      continue;
    }
    // Headings and list items stand alone; paragraph lines are joined.
    if (HEADING.test(raw) || BULLET.test(raw) || NUMBERED.test(raw)) {
      end();
      out.push(line);
    } else {
      para.push(line);
    }
  }
  end();
  return out;
}
