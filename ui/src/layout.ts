// Which tile goes where: the gallery with its pages, the speaker view with
// its strip, pins, and who the active speaker is. Pure: the meeting screen
// brings the tiles and the audio levels and applies the result to the DOM.

/** Gallery: everyone the same size. Speaker: one large, the rest in a strip. */
export type LayoutMode = "gallery" | "speaker";

/** Where a tile goes: the large tile, the strip, the gallery page, or nowhere. */
export type TileRole = "main" | "strip" | "gallery" | "hidden";

/** A gallery page holds up to 5x5, as Zoom's and Meet's do. */
export const GALLERY_PAGE = 25;
/** The speaker view's strip shows this many; the rest wait off-screen. */
export const STRIP_TILES = 6;

export interface LayoutInput {
  mode: LayoutMode;
  /** Every tile in join order, "self" among them. */
  tiles: string[];
  /** The self-view is shown (it can be hidden). */
  showSelf: boolean;
  /** Pinned by the user: the large tile whatever the audio says. */
  pinned: string | null;
  /** Screens shared, first shared first: large unless something is pinned. */
  shares?: string[];
  activeSpeaker: string | null;
  /** The gallery page asked for (0-based; kept in range here). */
  page: number;
  pageSize: number;
}

export interface Layout {
  roles: Map<string, TileRole>;
  /** The gallery page shown and how many there are (1 in speaker view). */
  page: number;
  pages: number;
  /** Columns of the grid: the gallery's, or the strip's. */
  columns: number;
}

export function arrange(input: LayoutInput): Layout {
  const roles = new Map<string, TileRole>();
  const shown = input.tiles.filter((t) => input.showSelf || t !== "self");
  for (const t of input.tiles) roles.set(t, "hidden");
  if (input.mode === "speaker" && shown.length > 0) {
    // The pinned tile, else a shared screen, else the active speaker,
    // else the first other person: someone else's picture rather than
    // one's own.
    const others = shown.filter((t) => t !== "self");
    const share = (input.shares ?? []).find((t) => shown.includes(t));
    const main = [input.pinned, share, input.activeSpeaker, others[0], shown[0]].find(
      (t): t is string => t !== null && t !== undefined && shown.includes(t),
    );
    const strip = shown.filter((t) => t !== main).slice(0, STRIP_TILES);
    if (main) roles.set(main, "main");
    for (const t of strip) roles.set(t, "strip");
    return { roles, page: 0, pages: 1, columns: Math.max(1, strip.length) };
  }
  const size = Math.max(1, input.pageSize);
  const pages = Math.max(1, Math.ceil(shown.length / size));
  const page = Math.min(Math.max(0, input.page), pages - 1);
  const onPage = shown.slice(page * size, (page + 1) * size);
  for (const t of onPage) roles.set(t, "gallery");
  return { roles, page, pages, columns: Math.max(1, Math.ceil(Math.sqrt(onPage.length))) };
}

/** A newcomer takes the large tile after speaking this long over the others... */
export const TAKE_OVER_MS = 1200;
/** ...and a pause shorter than this between words does not break the run. */
export const PAUSE_MS = 500;

/**
 * The active speaker, with hysteresis: the loudest speaker becomes it only
 * after holding the floor `TAKE_OVER_MS` (a cough or a "yes" does not move
 * the large tile), and stays it through pauses, until someone else has.
 */
export class ActiveSpeaker {
  private current: string | null = null;
  private candidate: string | null = null;
  private candidateSince = 0;
  private candidateHeard = 0;

  /** Who speaks now, loudest first (levels above 0 only); returns the active speaker. */
  update(loudest: string | null, now: number): string | null {
    if (loudest === null) {
      if (this.candidate !== null && now - this.candidateHeard > PAUSE_MS) this.candidate = null;
      return this.current;
    }
    if (this.current === null || loudest === this.current) {
      // The first to speak needs no run; the speaker holding on ends any challenge.
      this.current = loudest;
      this.candidate = null;
      return this.current;
    }
    if (loudest !== this.candidate || now - this.candidateHeard > PAUSE_MS) {
      this.candidate = loudest;
      this.candidateSince = now;
    }
    this.candidateHeard = now;
    if (now - this.candidateSince >= TAKE_OVER_MS) {
      this.current = loudest;
      this.candidate = null;
    }
    return this.current;
  }

  /** Someone left: they are not the speaker any more. */
  forget(tile: string): void {
    if (this.current === tile) this.current = null;
    if (this.candidate === tile) this.candidate = null;
  }
}
