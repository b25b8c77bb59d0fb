// Pins and blocks: the operator's rules, which always win over what the site learns. A pin sends
// questions containing a phrase to an article first; a block keeps learning away from an article.
// They take effect with the next publish or training run. GET/POST .../rules, DELETE
// .../rules/{id}; the articles to choose from come from GET .../articles.

import type { ArticleSummary, Rule } from "./contract";
import { clear, h, uniqueId } from "./dom";
import { actionError, type ConsoleContext } from "./view";

function describe(rule: Rule, titles: Map<string, string>): string {
  const article = rule.article ?? "";
  const name = titles.get(article) ? `\u201c${titles.get(article)}\u201d (${article})` : article;
  return rule.kind === "pin"
    ? `Pin: questions containing \u201c${rule.pattern ?? ""}\u201d get ${name} first`
    : `Block: nothing is learned for ${name}`;
}

// The rules section of the settings page.
export function rulesForm(
  ctx: ConsoleContext,
  rules: Rule[],
  articles: ArticleSummary[],
): HTMLElement {
  const titles = new Map(articles.map((a) => [a.id, a.title ?? ""]));
  const titleId = uniqueId("rules");
  const slot = h("div", { class: "slot" });
  const list = h("ul", { class: "rules" });
  const none = h("p", { class: "muted" }, "No pins or blocks yet.");
  const sync = (): void => {
    none.hidden = list.children.length > 0;
  };

  const show = (rule: Rule): void => {
    const text = describe(rule, titles);
    const remove = h("button", { type: "button", class: "button small" }, "Remove");
    remove.setAttribute("aria-label", `Remove the rule \u201c${text}\u201d`);
    const item = h("li", {}, h("span", {}, text), remove);
    remove.addEventListener("click", () => {
      remove.disabled = true;
      ctx.api
        .delete(`/rules/${encodeURIComponent(String(rule.id))}`)
        .then(() => {
          item.remove();
          sync();
          ctx.announce(`Removed: ${text}.`);
          add.focus();
        })
        .catch((e: unknown) => {
          remove.disabled = false;
          actionError(ctx, e, slot, "Removing the rule");
        });
    });
    list.appendChild(item);
    sync();
  };
  rules.forEach(show);
  sync();

  const kindId = uniqueId("rule-kind");
  const patternId = uniqueId("rule-pattern");
  const articleId = uniqueId("rule-article");
  const kind = h(
    "select",
    { id: kindId },
    h("option", { value: "pin" }, "Pin a phrase to an article"),
    h("option", { value: "block" }, "Block learning for an article"),
  );
  const pattern = h("input", {
    id: patternId,
    type: "text",
    maxlength: "200",
    spellcheck: "false",
  });
  const patternField = h(
    "div",
    { class: "field" },
    h("label", { for: patternId }, "Questions containing"),
    pattern,
  );
  const article = h(
    "select",
    { id: articleId },
    ...articles.map((a) => h("option", { value: a.id }, a.title ? `${a.title} (${a.id})` : a.id)),
  );
  kind.addEventListener("change", () => {
    patternField.hidden = kind.value !== "pin";
  });
  const add = h("button", { type: "submit", class: "button primary" }, "Add the rule");
  const form = h(
    "form",
    { class: "card settings", "aria-labelledby": titleId, novalidate: true },
    h("h3", { id: titleId }, "Pins and blocks"),
    h(
      "p",
      { class: "muted" },
      "Your rules always win over what the site learns; they apply from the next publish or training run.",
    ),
    list,
    none,
    h(
      "div",
      { class: "rule-fields" },
      h("div", { class: "field" }, h("label", { for: kindId }, "Rule"), kind),
      patternField,
      h("div", { class: "field" }, h("label", { for: articleId }, "Article"), article),
    ),
    slot,
    h("div", { class: "actions" }, add),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clear(slot);
    const body =
      kind.value === "pin"
        ? { kind: "pin", pattern: pattern.value.trim(), article: article.value }
        : { kind: "block", article: article.value };
    add.disabled = true;
    ctx.api
      .post<Rule>("/rules", body)
      .then((rule) => {
        const saved = { ...body, ...rule };
        show(saved);
        pattern.value = "";
        ctx.announce(`Added: ${describe(saved, titles)}.`);
      })
      .catch((e: unknown) => actionError(ctx, e, slot, "Adding the rule"))
      .finally(() => {
        add.disabled = false;
      });
  });
  return form;
}
