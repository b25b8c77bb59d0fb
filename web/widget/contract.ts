// What the loader and the panel chunk share. Types only: nothing here reaches either bundle.

import type { Strings } from "./strings";

export type LoopwiseEvent = "open" | "close" | "answer" | "resolved" | "not_helpful" | "escalate";

export interface WidgetConfig {
  site: string;
  key: string;
  // Where the sync server's API lives (the origin the script tag was loaded from).
  api: string;
  // Where loopwise-panel.js, loopwise-engine.mjs and loopwise-engine.wasm are (…/widget/).
  assets: string;
  // How often queued signals are sent, in ms (data-loopwise-flush-ms; 10 s when absent).
  flushMs?: number;
  // Context keys the site's operator lets signals carry besides the folded route
  // (data-loopwise-signal-context="plan,feature").
  signalContext: string[];
  // data-loopwise-position: which bottom corner the launcher and the panel sit in.
  position: "left" | "right";
  // A signed-in customer the site's backend vouches for (data-loopwise-customer, an opaque id, and
  // data-loopwise-customer-signature, its HMAC-SHA-256 under the site's identity secret), sent
  // with every signal so the server can count customers rather than sessions.
  customer?: { id: string; signature: string };
}

// What the loader hands the panel when it mounts it.
export interface PanelHost {
  config: WidgetConfig;
  root: ShadowRoot;
  launcher: HTMLButtonElement;
  // Host-page context from Loopwise.setContext(); stays in the browser.
  context(): Record<string, unknown>;
  // The strings in force (defaults, then the script tag's, then Loopwise.setStrings()).
  strings(): Strings;
  // Returns whether the host page listens to `event` (Loopwise.on).
  emit(event: LoopwiseEvent, detail: Record<string, unknown>): boolean;
  // Whether the host page listens to `event` now.
  listening(event: LoopwiseEvent): boolean;
  // Called when the panel has closed (Escape, its close button, Loopwise.close()); `hadFocus`
  // when focus was inside the panel, so that it goes back to the launcher.
  closed(hadFocus: boolean): void;
}

export interface Panel {
  // Starts loading the engine and the bundle; safe to call more than once.
  prepare(): Promise<void>;
  show(): void;
  hide(): void;
  ask(text: string): void;
  // Redraws the panel's fixed texts after Loopwise.setStrings().
  relabel(): void;
}

export type MountPanel = (host: PanelHost) => Panel;
