// Settings → About: what the app is built from and the licences it comes
// under. The Rust crates are generated from the dependency tree
// (licences.json; src-tauri/tests/commands.rs fails when it drifts); what
// is not a crate is listed here by hand.
import crates from "./licences.json";

export const BUNDLED_COMPONENTS: { name: string; licence: string }[] = [
  { name: "MediaPipe selfie segmentation model (virtual background)", licence: "Apache-2.0" },
  { name: "libopus (audio codec, built in)", licence: "BSD-3-Clause" },
  { name: "SQLCipher (encrypted storage, built in)", licence: "BSD-3-Clause" },
  { name: "@tauri-apps/api (window bridge)", licence: "MIT OR Apache-2.0" },
];

/** Used from the operating system, not shipped with the app on Linux. */
export const SYSTEM_COMPONENTS: { name: string; licence: string }[] = [
  { name: "libvpx (VP8 video codec)", licence: "BSD-3-Clause" },
  { name: "WebKitGTK (the window's web view)", licence: "LGPL-2.1-or-later and BSD-2-Clause" },
  { name: "GStreamer (video decoding in the web view)", licence: "LGPL-2.1-or-later" },
];

export const RUST_CRATES: { licence: string; crates: string[] }[] = crates;
