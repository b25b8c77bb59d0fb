// Settings: the script tag to embed, what happens to learned changes (review or autonomous), the
// origins the widget may run on, the operator's pins and blocks (rules.ts), and the webhooks that
// hear about new incidents, and whose feedback counts (verified customers). GET/PUT /v1/sites/{site}
// ({"mode"}, {"origins"}, {"identity", "rotate_identity_secret"}); GET/PUT .../webhooks.

import { ApiError } from "./api";
import { confirmAction, type Confirmation } from "./confirm-dialog";
import type { ArticleSummary, Rule, SiteInfo, Webhook } from "./contract";
import { clear, h, uniqueId } from "./dom";
import { rulesForm } from "./rules";
import { actionError, loaded, loading, showError, type ConsoleContext } from "./view";

const FORMATS: [string, string][] = [
  ["json", "JSON (generic)"],
  ["slack", "Slack message"],
  ["github", "GitHub issue"],
];

// A titled form with a Save button; `save` returns the sentence to announce. When `confirmFirst`
// gives a question, the operator must confirm it before anything is saved.
function settingsForm(
  ctx: ConsoleContext,
  title: string,
  intro: string,
  body: HTMLElement[],
  save: () => Promise<string>,
  confirmFirst: () => Confirmation | null = () => null,
): HTMLElement {
  const titleId = uniqueId("settings");
  const slot = h("div", { class: "slot" });
  const button = h("button", { type: "submit", class: "button primary" }, "Save");
  const form = h(
    "form",
    { class: "card settings", "aria-labelledby": titleId, novalidate: true },
    h("h3", { id: titleId }, title),
    h("p", { class: "muted" }, intro),
    ...body,
    slot,
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = confirmFirst();
    if (question && !(await confirmAction(question))) return;
    button.disabled = true;
    clear(slot);
    save()
      .then((done) => ctx.announce(done))
      .catch((e: unknown) => actionError(ctx, e, slot, `Saving ${title.toLowerCase()}`))
      .finally(() => {
        button.disabled = false;
        // Disabling the focused button dropped focus to <body>.
        if (document.activeElement === document.body) button.focus();
      });
  });
  return form;
}

function scriptTag(site: SiteInfo): HTMLElement {
  const tag =
    `<script src="${location.origin}/widget/loopwise.js" data-site="${site.site}" ` +
    `data-key="${site.key ?? "YOUR_SITE_KEY"}" async></script>`;
  return h(
    "section",
    { class: "card settings", "aria-labelledby": "settings-embed" },
    h("h3", { id: "settings-embed" }, "Embed the widget"),
    h("p", { class: "muted" }, "Add this tag to the pages of your app (the key is public)."),
    h("pre", { class: "snippet" }, h("code", {}, tag)),
  );
}

// A fieldset of radio buttons, one per [value, label, hint], with `current` checked.
function choices(legend: string, current: string | undefined, options: [string, string, string][]): HTMLElement {
  const name = uniqueId("choice");
  return h(
    "fieldset",
    {},
    h("legend", {}, legend),
    ...options.map(([value, label, hint]) => {
      const id = uniqueId("choice-option");
      return h(
        "div",
        { class: "choice" },
        h("input", {
          type: "radio",
          name,
          id,
          value,
          checked: current === value,
          "aria-describedby": `${id}-hint`,
        }),
        h("label", { for: id }, label),
        h("p", { id: `${id}-hint`, class: "muted hint" }, hint),
      );
    }),
  );
}

function chosen(fieldset: HTMLElement): string | undefined {
  return fieldset.querySelector<HTMLInputElement>("input:checked")?.value;
}

function modeForm(ctx: ConsoleContext, site: SiteInfo): HTMLElement {
  const fieldset = choices("When the site learns something", site.mode, [
    ["review", "Review", "Each learned change waits in the review queue until you approve it."],
    [
      "autonomous",
      "Autonomous",
      "Changes that pass the guardrails (agreement, replay) are published without waiting.",
    ],
  ]);
  return settingsForm(
    ctx,
    "Learning",
    "Review is the default for a new site; every change can still be rolled back.",
    [fieldset],
    async () => {
      const mode = chosen(fieldset);
      if (!mode) throw new Error("Choose review or autonomous.");
      const saved = await ctx.api.put<SiteInfo>("", { mode });
      await ctx.refreshSite();
      return `The site is in ${saved?.mode ?? mode} mode.`;
    },
  );
}

// Verified customers (README, "Verified customers"): whose feedback the guardrails count.
function identityForm(ctx: ConsoleContext, site: SiteInfo): HTMLElement {
  const fieldset = choices("Whose feedback counts", site.identity ?? "off", [
    ["off", "Every session", "Each browser session counts as one customer (sessions rotate daily)."],
    [
      "optional",
      "Signed-in customers when known",
      "A customer your backend vouches for counts once a day, however many tabs they use; " +
        "everyone else by session.",
    ],
    [
      "required",
      "Signed-in customers only",
      "Only customers your backend vouches for teach the site (everyone is still answered), so " +
        "nobody can outvote them by making up sessions.",
    ],
  ]);
  const secret = h("code", {}, site.identity_secret || "(made when you turn this on)");
  const rotateId = uniqueId("rotate");
  const rotate = h("input", { type: "checkbox", id: rotateId });
  return settingsForm(
    ctx,
    "Verified customers",
    "Your backend signs each signed-in customer's opaque id (never an e-mail address) with the " +
      "identity secret, HMAC-SHA-256 as hex, and puts both on the script tag: " +
      'data-loopwise-customer="ID" data-loopwise-customer-signature="SIGNATURE".',
    [
      fieldset,
      h("p", {}, "Identity secret (keep it on your server):"),
      h("pre", { class: "identity-secret" }, secret),
      h(
        "div",
        { class: "choice" },
        rotate,
        h("label", { for: rotateId }, "Make a new secret (signatures made with the old one stop counting)"),
      ),
    ],
    async () => {
      const identity = chosen(fieldset) ?? "off";
      const saved = await ctx.api.put<SiteInfo>("", {
        identity,
        rotate_identity_secret: rotate.checked,
      });
      rotate.checked = false;
      if (saved?.identity_secret) secret.textContent = saved.identity_secret;
      return identity === "off"
        ? "Every session counts as a customer."
        : `Verified customers are ${identity}.`;
    },
  );
}

function originsForm(ctx: ConsoleContext, site: SiteInfo): HTMLElement {
  const id = uniqueId("origins");
  const area = h("textarea", {
    id,
    rows: "3",
    spellcheck: "false",
    "aria-describedby": `${id}-hint`,
  });
  area.value = (site.origins ?? []).join("\n");
  const entered = (): string[] =>
    area.value
      .split(/[\n,]/)
      .map((o) => o.trim())
      .filter(Boolean);
  return settingsForm(
    ctx,
    "Allowed origins",
    "The widget answers only on these origins (scheme, host and port).",
    [
      h("label", { for: id }, "Origins, one a line"),
      h("p", { id: `${id}-hint`, class: "muted hint" }, "For example https://app.example.com"),
      area,
    ],
    async () => {
      const origins = entered();
      const saved = await ctx.api.put<SiteInfo>("", { origins });
      if (saved?.origins) area.value = saved.origins.join("\n");
      const n = saved?.origins?.length ?? origins.length;
      return n
        ? `Saved ${n} allowed origin${n === 1 ? "" : "s"}.`
        : "No allowed origins: the widget answers on no page.";
    },
    // The server takes an empty list, which turns the widget off everywhere.
    () =>
      entered().length
        ? null
        : {
            title: "Save with no allowed origins?",
            message:
              "The widget will answer on no page: every customer who opens it is told help is " +
              "not available, until you add an origin again.",
            confirmLabel: "Save and turn the widget off",
            danger: true,
          },
  );
}

function webhooksForm(ctx: ConsoleContext, hooks: Webhook[]): HTMLElement {
  const list = h("ul", { class: "webhooks" });
  const addRow = (hook: Webhook): void => {
    const urlId = uniqueId("webhook-url");
    const formatId = uniqueId("webhook-format");
    const url = h("input", {
      id: urlId,
      type: "url",
      class: "webhook-url",
      spellcheck: "false",
      placeholder: "https://hooks.example.com/...",
    });
    url.value = hook.url;
    const format = h(
      "select",
      { id: formatId, class: "webhook-format" },
      ...FORMATS.map(([value, label]) =>
        h("option", { value, selected: (hook.format ?? "json") === value }, label),
      ),
    );
    const row = h(
      "li",
      {},
      h("div", { class: "field" }, h("label", { for: urlId }, "Webhook URL"), url),
      h("div", { class: "field" }, h("label", { for: formatId }, "Format"), format),
    );
    const remove = h(
      "button",
      {
        type: "button",
        class: "button small",
        onclick: () => {
          row.remove();
          add.focus();
        },
      },
      "Remove",
    );
    row.appendChild(remove);
    list.appendChild(row);
  };
  const add = h("button", { type: "button", class: "button" }, "Add a webhook");
  add.addEventListener("click", () => {
    addRow({ url: "", format: "json" });
    list.querySelector<HTMLInputElement>("li:last-child input")?.focus();
  });
  hooks.forEach(addRow);
  return settingsForm(
    ctx,
    "Incident alerts",
    "Each new incident is posted once to every webhook (retried with backoff when it fails).",
    [list, add],
    async () => {
      const webhooks = Array.from(list.querySelectorAll("li")).map((li) => ({
        url: (li.querySelector(".webhook-url") as HTMLInputElement).value.trim(),
        format: (li.querySelector(".webhook-format") as HTMLSelectElement).value,
      }));
      const saved = await ctx.api.put<{ webhooks?: Webhook[] }>("/webhooks", { webhooks });
      const n = saved?.webhooks?.length ?? webhooks.length;
      return n
        ? `Saved ${n} webhook${n === 1 ? "" : "s"}.`
        : "No webhooks: incidents are not sent anywhere.";
    },
  );
}

export async function renderSettings(panel: HTMLElement, ctx: ConsoleContext): Promise<void> {
  loading(panel, "the settings");
  let site: SiteInfo;
  let hooks: Webhook[] | null = null;
  let rules: Rule[] | null = null;
  let articles: ArticleSummary[] = [];
  // A server without webhooks or rules still has the other settings.
  const optional = async <T>(path: string): Promise<T | null> => {
    try {
      return await ctx.api.get<T>(path);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404 && e.code === "not_found") return null;
      throw e;
    }
  };
  try {
    site = await ctx.api.get<SiteInfo>("");
    hooks = (await optional<{ webhooks?: Webhook[] }>("/webhooks"))?.webhooks ?? null;
    rules = (await optional<{ rules?: Rule[] }>("/rules"))?.rules ?? null;
    if (rules)
      articles = (await ctx.api.get<{ articles?: ArticleSummary[] }>("/articles")).articles ?? [];
  } catch (e) {
    showError(panel, ctx, e, "the settings", () => void renderSettings(panel, ctx));
    return;
  }
  loaded(panel);
  panel.append(
    h("h2", {}, "Settings"),
    h(
      "div",
      { class: "cards" },
      scriptTag(site),
      modeForm(ctx, site),
      identityForm(ctx, site),
      originsForm(ctx, site),
      rules ? rulesForm(ctx, rules, articles) : null,
      hooks ? webhooksForm(ctx, hooks) : null,
    ),
  );
}
