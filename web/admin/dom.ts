// Builds DOM nodes. Text always goes in as text nodes, never as markup, so server strings
// (customer questions above all) can never become HTML. Attributes are set one by one; `style`
// is not used (the page's Content-Security-Policy forbids inline styles).

export type Child = Node | string | number | null | undefined | false;
export type Props = Record<string, string | number | boolean | undefined | EventListener>;

// h("button", {type: "button", onclick: fn}, "Approve"): an element with attributes, listeners
// (props starting with "on") and children. `true` sets an empty attribute; false/undefined none.
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.className = String(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

let idCounter = 0;
// A document-unique id, for aria-labelledby / aria-describedby.
export function uniqueId(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
