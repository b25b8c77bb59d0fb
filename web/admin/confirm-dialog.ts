// A modal question before an action that changes what customers see (approve all, reject all,
// roll back). A native <dialog> opened with showModal(): focus moves into it and stays there,
// Escape cancels, and focus returns to the button that opened it.

import { h, uniqueId } from "./dom";

export interface Confirmation {
  title: string;
  message: string;
  confirmLabel: string;
  danger?: boolean;
}

export function confirmAction(c: Confirmation): Promise<boolean> {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = uniqueId("confirm-title");
  const messageId = uniqueId("confirm-message");
  const cancel = h("button", { type: "button", class: "button" }, "Cancel");
  const confirm = h(
    "button",
    { type: "button", class: c.danger ? "button danger" : "button primary" },
    c.confirmLabel,
  );
  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": titleId, "aria-describedby": messageId },
    h("h2", { id: titleId }, c.title),
    h("p", { id: messageId }, c.message),
    h("div", { class: "actions" }, cancel, confirm),
  );
  document.body.appendChild(dialog);
  return new Promise((resolve) => {
    let answer = false;
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    });
    dialog.showModal();
    cancel.focus();
  });
}
