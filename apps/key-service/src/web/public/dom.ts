/** The few DOM helpers every part of the Settings page builds with. */

export const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** document.createElement with properties and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** A machine-readable time shown as `text`. */
export function time(iso: string, text: string): HTMLTimeElement {
  return el('time', { dateTime: iso, textContent: text });
}
