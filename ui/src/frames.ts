// Video to the screen. Each tile has exactly one request in flight, so a
// slow window never builds a backlog.
//
// Remote tiles, where the webview has WebCodecs with VP8: the core hands
// over the encoded frames (a few kB each) and the window decodes them. Raw
// pictures are 345 kB a frame at 640x360, and four tiles of them saturated
// WebKit's IPC on a 2-core machine (BENCHMARKS.md). One request brings the
// encoded frames of every tile: each request costs WebKit's main thread
// more than the few kB it carries. The requests go over the core's loopback
// WebSocket, not Tauri's IPC, whose replies all pass the app's UI thread
// (see crates/client/src/video_socket.rs); over the IPC where it fails.
//
// The self-view in a meeting likewise takes the frames just encoded for the
// meeting, so no raw picture crosses the IPC during a call.
//
// The pre-join preview, and every tile where WebCodecs is missing: the core keeps
// only the newest decoded picture, the window skips to it, and it arrives
// as raw bytes (24-byte header + I420).
//
// Both are drawn at their own size; CSS scales the canvas to the tile.
import { api } from "./api";
import { nativeVideo } from "./native";

export const HEADER_BYTES = 24;

export interface FrameHeader {
  seq: number;
  width: number;
  height: number;
  captureUs: number;
}

export function parseHeader(buf: ArrayBuffer): FrameHeader | null {
  if (buf.byteLength < HEADER_BYTES) return null;
  const view = new DataView(buf);
  const header = {
    seq: Number(view.getBigUint64(0, true)),
    width: view.getUint32(8, true),
    height: view.getUint32(12, true),
    captureUs: Number(view.getBigUint64(16, true)),
  };
  const { luma, chroma } = planeSizes(header.width, header.height);
  if (header.width === 0 || header.height === 0 || buf.byteLength < HEADER_BYTES + luma + 2 * chroma) {
    return null;
  }
  return header;
}

function planeSizes(width: number, height: number) {
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  return { luma: width * height, chroma: cw * ch, cw, ch };
}

interface Renderer {
  readonly kind: "webgl" | "2d";
  draw(buf: ArrayBuffer, header: FrameHeader): void;
  /** The picture as drawn, RGBA rows top to bottom, read right after drawing `buf` again. */
  readBack(buf: ArrayBuffer, header: FrameHeader): Uint8Array;
}

const VERTEX = `
attribute vec2 pos;
varying vec2 uv;
void main() {
  uv = vec2((pos.x + 1.0) * 0.5, (1.0 - pos.y) * 0.5);
  gl_Position = vec4(pos, 0.0, 1.0);
}`;

// BT.601 limited range, what the decoders and the camera path produce.
const FRAGMENT = `
precision mediump float;
varying vec2 uv;
uniform sampler2D ty, tu, tv;
void main() {
  float y = (texture2D(ty, uv).r - 0.0625) * 1.1644;
  float u = texture2D(tu, uv).r - 0.5;
  float v = texture2D(tv, uv).r - 0.5;
  gl_FragColor = vec4(y + 1.596 * v, y - 0.392 * u - 0.813 * v, y + 2.017 * u, 1.0);
}`;

class WebGlRenderer implements Renderer {
  readonly kind = "webgl";
  private readonly textures: WebGLTexture[] = [];
  private size = { width: 0, height: 0 };

  private constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly gl: WebGLRenderingContext,
  ) {
    const program = gl.createProgram();
    if (!program) throw new Error("no program");
    for (const [type, source] of [
      [gl.VERTEX_SHADER, VERTEX],
      [gl.FRAGMENT_SHADER, FRAGMENT],
    ] as const) {
      const shader = gl.createShader(type);
      if (!shader) throw new Error("no shader");
      gl.shaderSource(shader, source);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
        throw new Error(gl.getShaderInfoLog(shader) ?? "shader does not compile");
      }
      gl.attachShader(program, shader);
    }
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error("program does not link");
    gl.useProgram(program);
    const quad = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, quad);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const pos = gl.getAttribLocation(program, "pos");
    gl.enableVertexAttribArray(pos);
    gl.vertexAttribPointer(pos, 2, gl.FLOAT, false, 0, 0);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    ["ty", "tu", "tv"].forEach((name, unit) => {
      const texture = gl.createTexture();
      if (!texture) throw new Error("no texture");
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, texture);
      for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, p, gl.LINEAR);
      for (const p of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(gl.TEXTURE_2D, p, gl.CLAMP_TO_EDGE);
      gl.uniform1i(gl.getUniformLocation(program, name), unit);
      this.textures.push(texture);
    });
  }

  static create(canvas: HTMLCanvasElement): WebGlRenderer | null {
    const gl = canvas.getContext("webgl", { antialias: false, depth: false, alpha: false });
    if (!gl) return null;
    try {
      return new WebGlRenderer(canvas, gl);
    } catch (e) {
      console.warn("WebGL renderer unavailable", e);
      return null;
    }
  }

  draw(buf: ArrayBuffer, h: FrameHeader): void {
    const { gl, canvas } = this;
    const { luma, chroma, cw, ch } = planeSizes(h.width, h.height);
    if (canvas.width !== h.width || canvas.height !== h.height) {
      canvas.width = h.width;
      canvas.height = h.height;
    }
    gl.viewport(0, 0, h.width, h.height);
    // Same size as before: update the textures in place instead of
    // reallocating them every frame.
    const resized = this.size.width !== h.width || this.size.height !== h.height;
    this.size = { width: h.width, height: h.height };
    const planes: [number, number, number, number][] = [
      [HEADER_BYTES, h.width, h.height, luma],
      [HEADER_BYTES + luma, cw, ch, chroma],
      [HEADER_BYTES + luma + chroma, cw, ch, chroma],
    ];
    planes.forEach(([offset, w, hh, len], unit) => {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, this.textures[unit]);
      const data = new Uint8Array(buf, offset, len);
      if (resized) {
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.LUMINANCE, w, hh, 0, gl.LUMINANCE, gl.UNSIGNED_BYTE, data);
      } else {
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, w, hh, gl.LUMINANCE, gl.UNSIGNED_BYTE, data);
      }
    });
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  }

  readBack(buf: ArrayBuffer, h: FrameHeader): Uint8Array {
    // Without preserveDrawingBuffer the picture is only readable in the
    // task that drew it.
    this.draw(buf, h);
    const { gl } = this;
    const rows = new Uint8Array(h.width * h.height * 4);
    gl.readPixels(0, 0, h.width, h.height, gl.RGBA, gl.UNSIGNED_BYTE, rows);
    // GL rows run bottom to top.
    const out = new Uint8Array(rows.length);
    const stride = h.width * 4;
    for (let y = 0; y < h.height; y++) {
      out.set(rows.subarray((h.height - 1 - y) * stride, (h.height - y) * stride), y * stride);
    }
    return out;
  }
}

/** Where WebGL is missing (software-only webviews): the same conversion on the CPU. */
class CanvasRenderer implements Renderer {
  readonly kind = "2d";
  private image: ImageData | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly ctx: CanvasRenderingContext2D,
  ) {}

  draw(buf: ArrayBuffer, h: FrameHeader): void {
    const { luma, chroma, cw } = planeSizes(h.width, h.height);
    if (!this.image || this.image.width !== h.width || this.image.height !== h.height) {
      this.canvas.width = h.width;
      this.canvas.height = h.height;
      this.image = this.ctx.createImageData(h.width, h.height);
    }
    const bytes = new Uint8Array(buf);
    const out = this.image.data;
    const y0 = HEADER_BYTES;
    const u0 = y0 + luma;
    const v0 = u0 + chroma;
    for (let y = 0; y < h.height; y++) {
      const crow = (y >> 1) * cw;
      for (let x = 0; x < h.width; x++) {
        const c = crow + (x >> 1);
        const yy = (bytes[y0 + y * h.width + x] - 16) * 1.1644;
        const u = bytes[u0 + c] - 128;
        const v = bytes[v0 + c] - 128;
        const o = (y * h.width + x) * 4;
        out[o] = yy + 1.596 * v;
        out[o + 1] = yy - 0.392 * u - 0.813 * v;
        out[o + 2] = yy + 2.017 * u;
        out[o + 3] = 255;
      }
    }
    this.ctx.putImageData(this.image, 0, 0);
  }

  readBack(buf: ArrayBuffer, h: FrameHeader): Uint8Array {
    this.draw(buf, h);
    const data = this.ctx.getImageData(0, 0, h.width, h.height).data;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
}

/**
 * WebGL, unless asked for 2D (`?renderer=2d`) or `webGl` is false. Without
 * a GPU, the first WebGL context loads Mesa's software renderer into the
 * web process for as long as it runs: 34 MiB of the app's memory in the
 * four-person benchmark.
 */
function createRenderer(canvas: HTMLCanvasElement, webGl: boolean): Renderer {
  const forced = new URLSearchParams(location.search).get("renderer");
  if (webGl && forced !== "2d") {
    const gl = WebGlRenderer.create(canvas);
    if (gl) return gl;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("this window can draw neither WebGL nor 2D canvas");
  return new CanvasRenderer(canvas, ctx);
}

/** One record of a `next_encoded` reply (see crates/media/src/encoded_feed.rs). */
export interface EncodedRecord {
  seq: number;
  readyUs: number;
  keyframe: boolean;
  data: Uint8Array;
}

/**
 * A VP8 keyframe's picture size, from its uncompressed header (RFC 6386
 * 9.1: a 3-byte frame tag, the start code 9d 01 2a, then 14-bit width and
 * height); null if `data` is not a keyframe's.
 */
export function vp8KeyframeSize(data: Uint8Array): { width: number; height: number } | null {
  if (data.length < 10 || (data[0] & 1) !== 0) return null;
  if (data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) return null;
  const width = (data[6] | (data[7] << 8)) & 0x3fff;
  const height = (data[8] | (data[9] << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : null;
}

const ENCODED_HEADER_BYTES = 24;
const TILE_HEADER_BYTES = 8;

/** The records in `buf` from byte `start` to `end`; null if malformed. */
export function parseRecords(buf: ArrayBuffer, start = 0, end = buf.byteLength): EncodedRecord[] | null {
  const view = new DataView(buf);
  const records: EncodedRecord[] = [];
  let at = start;
  while (at < end) {
    if (end - at < ENCODED_HEADER_BYTES) return null;
    const len = view.getUint32(at + 20, true);
    if (end - at - ENCODED_HEADER_BYTES < len) return null;
    records.push({
      seq: Number(view.getBigUint64(at, true)),
      readyUs: Number(view.getBigUint64(at + 8, true)),
      keyframe: (view.getUint32(at + 16, true) & 1) !== 0,
      data: new Uint8Array(buf, at + ENCODED_HEADER_BYTES, len),
    });
    at += ENCODED_HEADER_BYTES + len;
  }
  return records;
}

/** A `next_encoded` reply: each tile's records by its index in the request; null if malformed. */
export function parseTiles(buf: ArrayBuffer): Map<number, EncodedRecord[]> | null {
  const view = new DataView(buf);
  const tiles = new Map<number, EncodedRecord[]>();
  let at = 0;
  while (at < buf.byteLength) {
    if (buf.byteLength - at < TILE_HEADER_BYTES) return null;
    const index = view.getUint32(at, true);
    const len = view.getUint32(at + 4, true);
    const start = at + TILE_HEADER_BYTES;
    if (buf.byteLength - start < len) return null;
    const records = parseRecords(buf, start, start + len);
    if (!records) return null;
    tiles.set(index, records);
    at = start + len;
  }
  return tiles;
}

/** Requests that back off after a failure: the core is shutting down or the window reloading, so no spinning. */
class Backoff {
  private failures = 0;

  constructor(private readonly what: string) {}

  /** The reply, or null after a failure once the wait is over. */
  async fetch(request: () => Promise<ArrayBuffer>): Promise<ArrayBuffer | null> {
    try {
      const buf = await request();
      this.failures = 0;
      return buf;
    } catch (e) {
      this.failures++;
      console.warn(`frames for ${this.what}:`, e);
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * this.failures)));
      return null;
    }
  }
}

/** How the pump reads encoded frames: one read at a time, in `parseTiles` form. */
interface EncodedReads {
  readonly via: "socket" | "ipc";
  read(cursors: { tile: string; after: number }[], waitMs: number | null): Promise<ArrayBuffer>;
}

const ipcReads: EncodedReads = {
  via: "ipc",
  read: (cursors, waitMs) => api.nextEncoded(cursors, waitMs),
};

/** Longest wait for the socket to open, and for a reply beyond the read's own wait. */
const SOCKET_TIMEOUT_MS = 2000;

/**
 * Reads over the core's loopback WebSocket (crates/client/src/video_socket.rs):
 * the same requests and replies as `next_encoded`, without passing the
 * app's UI thread. Opened on the first read, and again after a close.
 */
class SocketReads implements EncodedReads {
  readonly via = "socket";
  private ws: WebSocket | null = null;
  /** The read in flight on `ws`: replies come in order, one per read. */
  private waiting: { resolve: (buf: ArrayBuffer) => void; reject: (e: Error) => void } | null = null;

  private settle(from: WebSocket, outcome: ArrayBuffer | Error): void {
    // A socket already given up on (closing late, say) settles nothing.
    if (from !== this.ws) return;
    const waiting = this.waiting;
    this.waiting = null;
    if (outcome instanceof Error) {
      this.close();
      waiting?.reject(outcome);
    } else {
      waiting?.resolve(outcome);
    }
  }

  close(): void {
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }

  private async open(): Promise<WebSocket> {
    const { url, secret } = await api.videoSocket();
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error("the video socket does not open"));
      }, SOCKET_TIMEOUT_MS);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      ws.onclose = (e) => {
        clearTimeout(timer);
        reject(new Error(`the video socket does not open (${e.code})`));
      };
    });
    ws.onmessage = (e: MessageEvent) =>
      this.settle(ws, e.data instanceof ArrayBuffer ? e.data : new Error("the video socket sent text"));
    ws.onclose = (e) => this.settle(ws, new Error(`the video socket closed (${e.code} ${e.reason})`));
    // The secret first: without it the core answers nothing.
    ws.send(secret);
    return ws;
  }

  async read(cursors: { tile: string; after: number }[], waitMs: number | null): Promise<ArrayBuffer> {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      this.close();
      this.ws = await this.open();
    }
    const ws = this.ws;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.settle(ws, new Error("the video socket does not answer")),
        (waitMs ?? 500) + SOCKET_TIMEOUT_MS,
      );
      this.waiting = {
        resolve: (buf) => {
          clearTimeout(timer);
          resolve(buf);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      ws.send(JSON.stringify({ tiles: cursors, waitMs }));
    });
  }
}

/** Socket failures in a row after which the pump reads over the IPC for a while. */
const MAX_SOCKET_FAILURES = 3;
/** How long the pump stays on the IPC before it tries the socket again. */
const SOCKET_RETRY_MS = 30_000;

/**
 * The socket where it works, the IPC otherwise: a webview that cannot open
 * it (a policy, a platform without loopback) still gets its video, and one
 * whose socket failed for a while returns to it. `?video=ipc` chooses the
 * IPC throughout (the benchmark compares both).
 */
class EncodedTransport {
  private readonly socket: SocketReads | null =
    new URLSearchParams(location.search).get("video") === "ipc" ? null : new SocketReads();
  private current: EncodedReads = this.socket ?? ipcReads;
  private socketFailures = 0;
  private onIpcSince = 0;

  async read(cursors: { tile: string; after: number }[], waitMs: number | null): Promise<ArrayBuffer> {
    if (this.socket && this.current === ipcReads && performance.now() - this.onIpcSince > SOCKET_RETRY_MS) {
      this.current = this.socket;
      this.socketFailures = MAX_SOCKET_FAILURES - 1;
    }
    try {
      const buf = await this.current.read(cursors, waitMs);
      if (this.current === this.socket) this.socketFailures = 0;
      frameStats.encodedVia = this.current.via;
      return buf;
    } catch (e) {
      if (this.socket && this.current === this.socket && ++this.socketFailures >= MAX_SOCKET_FAILURES) {
        console.warn("frames: the video socket keeps failing; reading over the IPC for now", e);
        this.socket.close();
        this.current = ipcReads;
        this.onIpcSince = performance.now();
      }
      throw e;
    }
  }
}

/** A tile that decodes VP8 itself, as the pump sees it. */
interface EncodedReader {
  readonly tile: string;
  /** The last frame this tile's decoder has (0: none), or null to leave it out of this request. */
  cursor(): number | null;
  deliver(records: EncodedRecord[]): void;
  /** The reply made no sense: start over at a keyframe. */
  restart(): void;
  /** Milliseconds the request it was in took. */
  waited(ms: number): void;
  /** Something of this tile's threw: it leaves the pump and takes raw pictures. */
  fail(error: unknown): void;
}

/** As many tiles as the core takes in one request (window_video.rs, MAX_TILES_PER_READ). */
const MAX_TILES_PER_REQUEST = 64;
/**
 * How long the core may wait for a frame while a tile sits a request out:
 * short, so that tile is asked again as soon as its decoder has caught up,
 * even when the other tiles are idle (camera off). Otherwise the core's
 * default, half a second.
 */
const SHORT_WAIT_MS = 8;

/**
 * Fetches encoded frames for every VP8 tile with one request in flight.
 * A tile whose decoder is still busy sits a request out; its frames wait
 * in the core.
 */
class EncodedPump {
  private readonly readers = new Set<EncodedReader>();
  private running = false;
  private readonly backoff = new Backoff("the grid");
  private readonly transport = new EncodedTransport();
  /** Where the next request starts when there are more tiles than one takes. */
  private rotation = 0;

  add(reader: EncodedReader): void {
    this.readers.add(reader);
    if (!this.running) void this.run();
  }

  remove(reader: EncodedReader): void {
    this.readers.delete(reader);
  }

  /** Calls into one reader; whatever it throws is that reader's failure alone. */
  private guarded<T>(reader: EncodedReader, call: () => T): T | null {
    try {
      return call();
    } catch (e) {
      this.readers.delete(reader);
      reader.fail(e);
      return null;
    }
  }

  /** Up to MAX_TILES_PER_REQUEST readers, taking turns when there are more. */
  private inTurn(): EncodedReader[] {
    const all = [...this.readers];
    if (all.length <= MAX_TILES_PER_REQUEST) return all;
    const start = this.rotation % all.length;
    this.rotation = start + MAX_TILES_PER_REQUEST;
    return [...all.slice(start), ...all.slice(0, start)].slice(0, MAX_TILES_PER_REQUEST);
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.readers.size > 0) {
        const asking: EncodedReader[] = [];
        const cursors: { tile: string; after: number }[] = [];
        let satOut = false;
        for (const reader of this.inTurn()) {
          const after = this.guarded(reader, () => reader.cursor());
          if (after === null) {
            satOut ||= this.readers.has(reader);
            continue;
          }
          asking.push(reader);
          cursors.push({ tile: reader.tile, after });
        }
        if (asking.length === 0) {
          await new Promise((r) => setTimeout(r, 4));
          continue;
        }
        const asked = performance.now();
        const waitMs = satOut ? SHORT_WAIT_MS : null;
        const buf = await this.backoff.fetch(() => this.transport.read(cursors, waitMs));
        if (!buf) continue;
        const elapsed = performance.now() - asked;
        const tiles = parseTiles(buf);
        if (!tiles) console.warn("frames: malformed next_encoded reply");
        if (tiles && tiles.size > 0) {
          frameStats.maxTilesPerReply = Math.max(frameStats.maxTilesPerReply, tiles.size);
          frameStats.encodedReplies++;
          frameStats.encodedTileRecords += tiles.size;
        }
        asking.forEach((reader, index) => {
          if (!this.readers.has(reader)) return;
          this.guarded(reader, () => {
            reader.waited(elapsed);
            if (!tiles) return reader.restart();
            const records = tiles.get(index);
            if (records) reader.deliver(records);
          });
        });
      }
    } finally {
      this.running = false;
    }
  }
}

const pump = new EncodedPump();

let vp8Support: Promise<boolean> | null = null;

/** Whether this webview decodes VP8 itself; `?video=raw` turns it off. */
function webCodecsVp8(): Promise<boolean> {
  if (new URLSearchParams(location.search).get("video") === "raw") return Promise.resolve(false);
  vp8Support ??= (async () => {
    if (typeof VideoDecoder === "undefined") return false;
    try {
      return (await VideoDecoder.isConfigSupported({ codec: "vp8" })).supported === true;
    } catch {
      return false;
    }
  })();
  return vp8Support;
}

/** While a burst is decoded, a picture is still drawn at least this often. */
const CATCH_UP_DRAW_MS = 100;

/** Decoded pictures of all tiles are drawn together at most this often. */
const PAINT_INTERVAL_MS = 30;

/**
 * Draws every VP8 tile's newest decoded picture in one task, at most once
 * per PAINT_INTERVAL_MS. Without a GPU, WebKitGTK hands each screen update to
 * its UI process in a freshly allocated shared-memory bitmap: under perf,
 * the page faults on those new pages were ~16% of the web process's time,
 * nearly as much as decoding four streams. Tiles drawn in tasks of their
 * own made an update for almost every 16 ms slot; drawn together, there is
 * one per frame of a 30 fps call, each waiting at most one interval. (The
 * raw-picture path draws at once: through the painter it measured no
 * better, BENCHMARKS.md.)
 */
class GridPainter {
  private readonly waiting = new Set<() => void>();
  private scheduled = false;
  private lastPaint = 0;

  request(draw: () => void): void {
    this.waiting.add(draw);
    if (this.scheduled) return;
    this.scheduled = true;
    // A task, not an animation frame: WebKitGTK's frame clock halved the
    // rate under load (BENCHMARKS.md).
    const wait = Math.max(0, PAINT_INTERVAL_MS - (performance.now() - this.lastPaint));
    setTimeout(() => this.paint(), wait);
  }

  private paint(): void {
    this.scheduled = false;
    this.lastPaint = performance.now();
    const draws = [...this.waiting];
    this.waiting.clear();
    for (const draw of draws) draw();
  }
}

const painter = new GridPainter();

/** Decoder failures after which a tile goes back to raw pictures from the core. */
const MAX_DECODER_FAILURES = 3;
/** Frames waiting in the decoder beyond which no more are fetched until it catches up. */
const MAX_DECODE_QUEUE = 4;

/**
 * "meeting": encoded frames where the webview can decode them (pictures
 * otherwise); "pictures": decoded pictures only (the preview has no encoder).
 */
export type FrameSource = "meeting" | "pictures";

export interface TileStats {
  drawn: number;
  seq: number;
  width: number;
  height: number;
  /** "vp8": decoded here by WebCodecs; "i420": decoded pictures from the core; "native": drawn by the core. */
  transport: "vp8" | "i420" | "native";
  /** Decoder restarts after an error. */
  decoderResets: number;
  /** Most encoded frames one reply brought (a measure of how bursty delivery is). */
  maxBatch: number;
  /** Sequence numbers passed over: frames the window never showed. */
  skipped: number;
  /** Total milliseconds waiting for frames to arrive (incl. waiting for new ones) and drawing them. */
  fetchMs: number;
  drawMs: number;
  /**
   * The latest (up to 300) delays from a frame being ready in the core
   * (decoded, or captured for the self-view) to being drawn, in ms.
   */
  latencyMs: number[];
}

const LATENCY_SAMPLES = 300;

/** Counters the end-to-end tests and the benchmark read. */
export const frameStats = {
  framesDrawn: 0,
  renderer: "none" as string,
  /** How the newest encoded frames came: the core's socket, or the IPC. */
  encodedVia: "none" as "none" | "socket" | "ipc",
  /** Most tiles one `next_encoded` reply brought frames for. */
  maxTilesPerReply: 0,
  /** `next_encoded` replies that brought frames, and the tiles they brought frames for. */
  encodedReplies: 0,
  encodedTileRecords: 0,
  /** Per tile: frames drawn and the last sequence number shown. */
  tiles: {} as Record<string, TileStats>,
};

const loops = new Map<string, FrameLoop>();

/** The pixels a tile shows now, or null before its first frame. */
export function snapshotTile(tile: string): { width: number; height: number; rgba: Uint8Array } | null {
  return loops.get(tile)?.snapshot() ?? null;
}

/**
 * Pulls frames for one tile until stopped; one request in flight at a time.
 * A loop lives as long as its tile element: the core's tiles start again at
 * sequence 1 after a call, and a new element gets a new loop.
 */
export class FrameLoop {
  private running = true;
  private last = 0;
  /** For pictures (I420 buffers); made on first use, as a canvas takes one kind of context. */
  private rendererMade: Renderer | null = null;
  /** For decoded VideoFrames, drawn by the webview itself. */
  private frameContext: CanvasRenderingContext2D | null = null;
  private shown: { buf: ArrayBuffer; header: FrameHeader } | null = null;
  private pending: { buf: ArrayBuffer; header: FrameHeader } | null = null;
  private readonly backoff: Backoff;

  constructor(
    readonly tile: string,
    private readonly canvas: HTMLCanvasElement,
    private readonly source: FrameSource,
    private readonly onFirstFrame: () => void = () => {},
    /** A picture of another width than the last one was drawn. */
    private readonly onWidth: (width: number) => void = () => {},
  ) {
    loops.set(tile, this);
    this.backoff = new Backoff(tile);
    void this.start();
  }

  private get renderer(): Renderer {
    // When the core draws the meeting, the pre-join preview is the page's
    // only video: one small picture, not worth a WebGL context.
    this.rendererMade ??= createRenderer(this.canvas, !(this.source === "pictures" && nativeVideo()));
    frameStats.renderer = this.rendererMade.kind;
    return this.rendererMade;
  }

  private async start(): Promise<void> {
    if (this.source === "meeting" && (await webCodecsVp8())) {
      // drawImage of a VideoFrame lets WebKit convert it with GStreamer's
      // SIMD colour conversion into a 2D canvas; WebGL without a GPU runs
      // the shader in software (llvmpipe), which measured slower.
      this.frameContext = this.canvas.getContext("2d", { alpha: false });
      if (this.frameContext) frameStats.renderer = "2d-videoframe";
      const done = this.frameContext !== null && (await this.runEncoded());
      if (done) return;
      console.warn(`frames for ${this.tile}: WebCodecs failed, using decoded pictures`);
      this.last = 0;
    }
    this.stats().transport = "i420";
    await this.run();
  }

  /**
   * Decodes this tile's VP8 frames here, fetched by the pump with every
   * other tile's. Resolves false if decoding keeps failing, so the caller
   * falls back to pictures from the core; true once the tile stops.
   */
  private runEncoded(): Promise<boolean> {
    const t = this.stats();
    t.transport = "vp8";
    let after = 0;
    let decoderFailures = 0;
    let decoder: VideoDecoder | null = null;
    let broken = false;
    let decodedSeq = 0;
    const open = (): VideoDecoder => {
      const d = new VideoDecoder({
        output: (frame) => this.offerDecoded(frame, ++decodedSeq, d.decodeQueueSize),
        error: (e) => {
          console.warn(`VP8 decoder for ${this.tile}:`, e);
          broken = true;
          decoderFailures++;
        },
      });
      d.configure({ codec: "vp8", optimizeForLatency: true });
      return d;
    };
    return new Promise((resolve) => {
      let finished = false;
      const finish = (decoding: boolean): null => {
        pump.remove(reader);
        if (finished) return null;
        finished = true;
        try {
          if (decoder && decoder.state !== "closed") decoder.close();
        } catch (e) {
          console.warn(`VP8 decoder for ${this.tile}:`, e);
        }
        // A picture decoded but not yet drawn is not drawn now.
        this.newestDecoded?.frame.close();
        this.newestDecoded = null;
        resolve(decoding);
        return null;
      };
      const reader: EncodedReader = {
        tile: this.tile,
        cursor: () => {
          if (!this.running) return finish(true);
          if (decoderFailures > MAX_DECODER_FAILURES) return finish(false);
          // Backpressure: while the decoder works through a batch, the core
          // queues what arrives; if that overflows, it restarts this tile
          // at a keyframe.
          if (decoder && !broken && decoder.state === "configured" && decoder.decodeQueueSize > MAX_DECODE_QUEUE) {
            return null;
          }
          if (!decoder || broken || decoder.state === "closed") {
            if (decoder) t.decoderResets++;
            if (decoder && decoder.state !== "closed") decoder.close();
            decoder = open();
            broken = false;
            // The core answers "after 0" from its newest keyframe on.
            after = 0;
          }
          return after;
        },
        deliver: (records) => {
          // A request already on its way when the tile stopped.
          if (!this.running) return;
          t.maxBatch = Math.max(t.maxBatch, records.length);
          for (const r of records) {
            const follows = after !== 0 && r.seq === after + 1;
            // A delta is only decodable right after its predecessor.
            if (!r.keyframe && !follows) continue;
            if (after !== 0 && !follows) t.skipped += Math.max(0, r.seq - after - 1);
            if (r.keyframe) this.noteKeyframeSize(r);
            try {
              decoder?.decode(
                new EncodedVideoChunk({ type: r.keyframe ? "key" : "delta", timestamp: r.readyUs, data: r.data }),
              );
            } catch (e) {
              console.warn(`VP8 decoder for ${this.tile}:`, e);
              broken = true;
              decoderFailures++;
              return;
            }
            after = r.seq;
          }
        },
        restart: () => {
          after = 0;
        },
        waited: (ms) => {
          t.fetchMs += ms;
        },
        fail: (e) => {
          console.warn(`frames for ${this.tile}:`, e);
          finish(false);
        },
      };
      pump.add(reader);
    });
  }

  /**
   * Each keyframe's picture size, by timestamp, oldest first. WebKit keeps
   * reporting the first keyframe's size for the frames of a later one of
   * another size (a simulcast layer switch): the size a picture is drawn
   * at comes from here.
   */
  private keyframeSizes: { timestamp: number; width: number; height: number }[] = [];

  private noteKeyframeSize(r: EncodedRecord): void {
    const size = vp8KeyframeSize(r.data);
    if (!size) return;
    this.keyframeSizes.push({ timestamp: r.readyUs, ...size });
    // Only the newest few can still be waiting in the decoder.
    if (this.keyframeSizes.length > 8) this.keyframeSizes.shift();
  }

  /** The size of a decoded picture, from the keyframe it follows. */
  private pictureSize(frame: VideoFrame): { width: number; height: number } {
    const sizes = this.keyframeSizes;
    while (sizes.length > 1 && sizes[1].timestamp <= frame.timestamp) sizes.shift();
    const k = sizes[0];
    return k && k.timestamp <= frame.timestamp ? k : { width: frame.displayWidth, height: frame.displayHeight };
  }

  private newestDecoded: { frame: VideoFrame; seq: number } | null = null;
  private lastDrawAt = 0;
  /** What the painter calls: one function per tile, so a tile waits once. */
  private readonly drawNewest = (): void => {
    const next = this.newestDecoded;
    this.newestDecoded = null;
    if (next && this.frameContext) this.showDecoded(this.frameContext, next.frame, next.seq);
    else next?.frame.close();
  };

  /**
   * Every frame must be decoded, but only the newest needs drawing: when
   * the window falls behind, decoded pictures that a newer one overtook
   * are dropped unseen, so the delay stays bounded instead of growing.
   */
  private offerDecoded(frame: VideoFrame, seq: number, stillQueued: number): void {
    if (!this.running) {
      frame.close();
      return;
    }
    const stale = this.newestDecoded;
    if (stale) {
      stale.frame.close();
      this.stats().skipped++;
    }
    this.newestDecoded = { frame, seq };
    // Catching up on a burst (frames still waiting in the decoder): a
    // picture drawn now would be overtaken at once, and a draw costs more
    // than a decode. Draw the newest once the burst is through, or every
    // CATCH_UP_DRAW_MS so a long one does not freeze the tile.
    if (stillQueued > 0 && performance.now() - this.lastDrawAt < CATCH_UP_DRAW_MS) return;
    this.lastDrawAt = performance.now();
    // Outputs that arrive before the painter runs are coalesced.
    painter.request(this.drawNewest);
  }

  /** Draws a decoded picture as it is; the webview converts its colours. */
  private showDecoded(ctx: CanvasRenderingContext2D, frame: VideoFrame, seq: number): void {
    try {
      if (!this.running || seq <= this.last) return;
      const started = performance.now();
      const { width, height } = this.pictureSize(frame);
      if (this.canvas.width !== width || this.canvas.height !== height) {
        this.canvas.width = width;
        this.canvas.height = height;
      }
      ctx.drawImage(frame, 0, 0, width, height);
      if (this.last === 0) this.onFirstFrame();
      this.last = seq;
      this.recordDrawn({ seq, width, height, captureUs: frame.timestamp }, started);
    } catch (e) {
      console.warn(`frames for ${this.tile}: cannot draw a decoded picture`, e);
    } finally {
      frame.close();
    }
  }

  stop(): void {
    this.running = false;
    loops.delete(this.tile);
    this.newestDecoded?.frame.close();
    this.newestDecoded = null;
  }

  /** What the tile shows now, as RGBA pixels (for tests and screenshots). */
  snapshot(): { width: number; height: number; rgba: Uint8Array } | null {
    const ctx = this.frameContext;
    if (ctx) {
      if (this.last === 0) return null;
      const { width, height } = this.canvas;
      const data = ctx.getImageData(0, 0, width, height).data;
      return { width, height, rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    }
    if (!this.shown) return null;
    const { buf, header } = this.shown;
    return { width: header.width, height: header.height, rgba: this.renderer.readBack(buf, header) };
  }

  private async run(): Promise<void> {
    while (this.running) {
      const asked = performance.now();
      const buf = await this.backoff.fetch(() => api.nextFrame(this.tile, this.last));
      if (!this.running) break;
      if (!buf) continue;
      const header = parseHeader(buf);
      if (!header || header.seq <= this.last) continue;
      if (this.last === 0) this.onFirstFrame();
      const t = this.stats();
      if (this.last !== 0) t.skipped += header.seq - this.last - 1;
      this.last = header.seq;
      t.fetchMs += performance.now() - asked;
      // Drawn at once: in WebKitGTK an animation-frame cadence halved the
      // rate on a loaded machine (measured: 11 vs 17-20 fps, tests/e2e/window.rs).
      this.pending = { buf, header };
      this.drawPending();
    }
  }

  private stats(): TileStats {
    return (frameStats.tiles[this.tile] ??= {
      drawn: 0, seq: 0, width: 0, height: 0, transport: "i420", decoderResets: 0, maxBatch: 0,
      skipped: 0, fetchMs: 0, drawMs: 0, latencyMs: [],
    });
  }

  /** Draws the newest frame that arrived since the last screen update. */
  drawPending(): void {
    const next = this.pending;
    this.pending = null;
    if (!next || !this.running) return;
    const started = performance.now();
    this.renderer.draw(next.buf, next.header);
    this.shown = next;
    this.recordDrawn(next.header, started);
  }

  private recordDrawn(header: FrameHeader, started: number): void {
    const t = this.stats();
    t.drawMs += performance.now() - started;
    if (header.captureUs > 0) {
      const nowMs = performance.timeOrigin + performance.now();
      t.latencyMs[t.drawn % LATENCY_SAMPLES] = nowMs - header.captureUs / 1000;
    }
    frameStats.framesDrawn++;
    t.drawn++;
    t.seq = header.seq;
    if (t.width !== header.width) this.onWidth(header.width);
    t.width = header.width;
    t.height = header.height;
  }
}
