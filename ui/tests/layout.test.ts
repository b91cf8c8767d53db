import { describe, expect, it } from "vitest";

import { ActiveSpeaker, GALLERY_PAGE, PAUSE_MS, STRIP_TILES, TAKE_OVER_MS, arrange, type LayoutInput } from "../src/layout";

const people = (n: number) => ["self", ...Array.from({ length: n }, (_, i) => String(i + 1))];

const gallery = (tiles: string[], page = 0): LayoutInput => ({
  mode: "gallery",
  tiles,
  showSelf: true,
  pinned: null,
  activeSpeaker: null,
  page,
  pageSize: GALLERY_PAGE,
});

const roles = (layout: ReturnType<typeof arrange>, role: string) =>
  [...layout.roles].filter(([, r]) => r === role).map(([t]) => t);

describe("a shared screen", () => {
  it("takes the large tile in the speaker view, unless something is pinned", () => {
    const tiles = people(3);
    const speaker = { ...gallery(tiles), mode: "speaker" as const, activeSpeaker: "1", shares: ["3"] };
    expect(roles(arrange(speaker), "main")).toEqual(["3"]);
    expect(roles(arrange({ ...speaker, pinned: "2" }), "main")).toEqual(["2"]);
    // A share no longer there does not hold it.
    expect(roles(arrange({ ...speaker, shares: ["9"] }), "main")).toEqual(["1"]);
  });
});

describe("the gallery", () => {
  it("holds 5x5 a page and pages past that", () => {
    const tiles = people(29); // 30 tiles
    const first = arrange(gallery(tiles));
    expect(first.pages).toBe(2);
    expect(roles(first, "gallery")).toEqual(tiles.slice(0, 25));
    expect(first.columns).toBe(5);
    const second = arrange(gallery(tiles, 1));
    expect(roles(second, "gallery")).toEqual(tiles.slice(25));
    expect(second.columns).toBe(3);
    expect(roles(second, "hidden")).toHaveLength(25);
  });

  it("keeps the page asked for in range", () => {
    expect(arrange(gallery(people(29), 7)).page).toBe(1);
    expect(arrange(gallery(people(29), -3)).page).toBe(0);
    expect(arrange(gallery(people(3), 1)).pages).toBe(1);
  });

  it("leaves the self-view out when it is hidden", () => {
    const layout = arrange({ ...gallery(people(4)), showSelf: false });
    expect(layout.roles.get("self")).toBe("hidden");
    expect(roles(layout, "gallery")).toEqual(["1", "2", "3", "4"]);
    expect(layout.columns).toBe(2);
  });
});

describe("the speaker view", () => {
  const speaker = (over: Partial<LayoutInput>): LayoutInput => ({ ...gallery(people(9)), mode: "speaker", ...over });

  it("shows the pinned tile large, then the active speaker, then someone else", () => {
    expect(roles(arrange(speaker({ pinned: "4", activeSpeaker: "2" })), "main")).toEqual(["4"]);
    expect(roles(arrange(speaker({ activeSpeaker: "2" })), "main")).toEqual(["2"]);
    expect(roles(arrange(speaker({})), "main")).toEqual(["1"]);
    // Alone: one's own picture.
    expect(roles(arrange(speaker({ tiles: ["self"] })), "main")).toEqual(["self"]);
  });

  it("puts the others in a strip of at most six", () => {
    const layout = arrange(speaker({ activeSpeaker: "3" }));
    expect(roles(layout, "strip")).toEqual(["self", "1", "2", "4", "5", "6"].slice(0, STRIP_TILES));
    expect(roles(layout, "hidden")).toEqual(["7", "8", "9"]);
    expect(layout.columns).toBe(STRIP_TILES);
  });

  it("does not make a hidden self-view or someone gone the large tile", () => {
    expect(roles(arrange(speaker({ pinned: "self", showSelf: false })), "main")).toEqual(["1"]);
    expect(roles(arrange(speaker({ activeSpeaker: "42" })), "main")).toEqual(["1"]);
  });
});

describe("the active speaker", () => {
  it("moves only to someone who holds the floor, through short pauses", () => {
    const speaker = new ActiveSpeaker();
    expect(speaker.update("ann", 0)).toBe("ann");
    // A cough or a "yes" from Bob does not take the large tile.
    expect(speaker.update("bob", 100)).toBe("ann");
    expect(speaker.update("bob", 300)).toBe("ann");
    expect(speaker.update(null, 300 + PAUSE_MS + 1)).toBe("ann");
    // Bob speaking on, with pauses shorter than PAUSE_MS, takes it.
    let now = 2000;
    for (; now < 2000 + TAKE_OVER_MS; now += PAUSE_MS - 100) {
      expect(speaker.update("bob", now)).toBe("ann");
    }
    expect(speaker.update("bob", now)).toBe("bob");
    // Silence keeps the last speaker.
    expect(speaker.update(null, now + 10_000)).toBe("bob");
  });

  it("starts a challenger's run again after a long pause", () => {
    const speaker = new ActiveSpeaker();
    speaker.update("ann", 0);
    speaker.update("bob", 100);
    speaker.update("bob", 100 + TAKE_OVER_MS - 200);
    // A pause longer than PAUSE_MS: the run so far does not count.
    expect(speaker.update("bob", 100 + TAKE_OVER_MS + PAUSE_MS)).toBe("ann");
  });

  it("forgets someone who left", () => {
    const speaker = new ActiveSpeaker();
    speaker.update("ann", 0);
    speaker.forget("ann");
    expect(speaker.update(null, 10)).toBeNull();
    expect(speaker.update("bob", 20)).toBe("bob");
  });
});
