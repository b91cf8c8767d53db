// The meeting's tiles: one per participant, gallery or speaker view, pins and pages.

import { $ } from "../dom";
import { arrange } from "../layout";
import { scheduleVideoLayers, tilesInSight } from "./layers";
import { state } from "../state";
import { t } from "../i18n";

export function tileElement(id: string, name: string, self: boolean): HTMLElement {
  const el = document.createElement("div");
  el.className = self ? "tile self" : "tile";
  el.dataset.tile = id;
  const canvas = document.createElement("canvas");
  const off = document.createElement("div");
  off.className = "camera-off";
  off.textContent = name.slice(0, 1).toUpperCase();
  const label = document.createElement("span");
  label.className = "name";
  label.textContent = name;
  const muted = document.createElement("span");
  muted.className = "muted-icon";
  muted.title = t("meeting.micOff");
  muted.setAttribute("role", "img");
  muted.setAttribute("aria-label", t("meeting.micOff"));
  // Drawn, not an emoji: a desktop without an emoji font shows a box.
  muted.append(micOffIcon());
  el.append(canvas, off, label, muted);
  if (!self) {
    const pin = document.createElement("button");
    pin.className = "pin";
    pin.textContent = t("meeting.pin");
    pin.title = t("meeting.pinTitle", { name });
    pin.setAttribute("aria-pressed", "false");
    pin.onclick = (ev) => {
      ev.stopPropagation();
      togglePin(id);
    };
    el.append(pin);
    tilesInSight.observe(el);
  }
  return el;
}

/** Pins a tile large (in the speaker view), or unpins it. */
export function togglePin(tile: string): void {
  state.pinned = state.pinned === tile ? null : tile;
  if (state.pinned) state.layoutMode = "speaker";
  for (const pin of document.querySelectorAll<HTMLElement>("#tiles .pin")) {
    const pinned = pin.closest<HTMLElement>(".tile")?.dataset.tile === state.pinned;
    pin.setAttribute("aria-pressed", String(pinned));
    pin.textContent = t(pinned ? "meeting.unpin" : "meeting.pin");
  }
  layoutTiles();
}

export const SVG = "http://www.w3.org/2000/svg";

/** A microphone struck through, in the text's colour. */
export function micOffIcon(): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("class", "icon");
  for (const d of ["M9 5a3 3 0 0 1 6 0v6a3 3 0 0 1-6 0z", "M5 11a7 7 0 0 0 14 0M12 18v3", "M4 3l16 18"]) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export function layoutTiles(): void {
  const container = $("tiles");
  const tiles = [...container.querySelectorAll<HTMLElement>(".tile")];
  const layout = arrange({
    mode: state.layoutMode,
    tiles: tiles.map((t) => t.dataset.tile ?? ""),
    showSelf: state.showSelf,
    pinned: state.pinned,
    shares: [...state.participants.values()].filter((p) => p.screen).map((p) => String(p.id)),
    activeSpeaker: state.activeSpeaker,
    page: state.galleryPage,
    pageSize: state.pageSize,
  });
  state.galleryPage = layout.page;
  for (const t of tiles) t.dataset.role = layout.roles.get(t.dataset.tile ?? "") ?? "hidden";
  container.classList.toggle("speaker-view", state.layoutMode === "speaker");
  container.style.setProperty("--cols", String(layout.columns));
  $("layout-toggle").textContent = t(state.layoutMode === "speaker" ? "meeting.galleryView" : "meeting.speakerView");
  $("pager").hidden = layout.pages < 2;
  $("page-label").textContent = t("meeting.pageNofM", { page: layout.page + 1, pages: layout.pages });
  scheduleVideoLayers();
}

export function toggleLayout(): void {
  state.layoutMode = state.layoutMode === "speaker" ? "gallery" : "speaker";
  // Back to the gallery, a pin has nothing to hold large.
  if (state.layoutMode === "gallery" && state.pinned) togglePin(state.pinned);
  layoutTiles();
}

$("layout-toggle").onclick = toggleLayout;
$("page-prev").onclick = () => {
  state.galleryPage -= 1;
  layoutTiles();
};
$("page-next").onclick = () => {
  state.galleryPage += 1;
  layoutTiles();
};
$<HTMLInputElement>("show-self-view").onchange = () => {
  state.showSelf = $<HTMLInputElement>("show-self-view").checked;
  layoutTiles();
};
