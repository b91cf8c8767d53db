// Beauty and background pickers (computed on this device only).

import { api, type EffectsChoice } from "./api";
import { $, messageOf, toast } from "./dom";
import { withConsent } from "./permission";

export const effects = { choice: { background: "none", beauty: 0 } as EffectsChoice };

export async function fillEffects(prefix: "prejoin" | "meeting"): Promise<void> {
  const select = $<HTMLSelectElement>(`${prefix}-background`);
  try {
    effects.choice = await api.getEffects();
    const options = await api.backgroundOptions();
    select.replaceChildren(
      ...options.map((o) => {
        const opt = document.createElement("option");
        opt.value = o.id;
        opt.textContent = o.label;
        return opt;
      }),
    );
  } catch (e) {
    toast(messageOf(e), "error");
  }
  select.value = effects.choice.background;
  $<HTMLInputElement>(`${prefix}-beauty`).value = String(effects.choice.beauty);
}

export async function applyEffects(prefix: "prejoin" | "meeting", next: EffectsChoice): Promise<void> {
  try {
    await withConsent(() => api.setEffects(next));
    effects.choice = next;
  } catch (e) {
    toast(messageOf(e), "error");
  }
  // Show what is in force (a refused consent leaves the old choice).
  $<HTMLSelectElement>(`${prefix}-background`).value = effects.choice.background;
  $<HTMLInputElement>(`${prefix}-beauty`).value = String(effects.choice.beauty);
}

for (const prefix of ["prejoin", "meeting"] as const) {
  $<HTMLSelectElement>(`${prefix}-background`).onchange = (ev) =>
    void applyEffects(prefix, { ...effects.choice, background: (ev.target as HTMLSelectElement).value });
  $<HTMLInputElement>(`${prefix}-beauty`).onchange = (ev) =>
    void applyEffects(prefix, { ...effects.choice, beauty: Number((ev.target as HTMLInputElement).value) });
  $<HTMLInputElement>(`${prefix}-photo`).onchange = async (ev) => {
    const input = ev.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const id = await withConsent(() => api.addBackground(bytes));
      await fillEffects(prefix);
      await applyEffects(prefix, { ...effects.choice, background: id });
    } catch (e) {
      toast(messageOf(e), "error");
    }
  };
}
