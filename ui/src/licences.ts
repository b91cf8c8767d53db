// Components shipped inside the app and the licences they come under, for
// Settings → About. Keep in step with Cargo.toml and package.json.
export const BUNDLED_COMPONENTS: { name: string; licence: string }[] = [
  { name: "Tauri and wry (application shell)", licence: "MIT or Apache-2.0" },
  { name: "webrtc-rs (WebRTC)", licence: "MIT or Apache-2.0" },
  { name: "libopus (audio codec)", licence: "BSD-3-Clause" },
  { name: "libvpx (VP8 video codec)", licence: "BSD-3-Clause" },
  { name: "SQLCipher (encrypted storage)", licence: "BSD-3-Clause" },
  { name: "cpal (audio devices)", licence: "Apache-2.0" },
  { name: "nokhwa (cameras)", licence: "Apache-2.0" },
  { name: "tokio (async runtime)", licence: "MIT" },
  { name: "keyring (OS credential store)", licence: "MIT or Apache-2.0" },
  { name: "@tauri-apps/api (window bridge)", licence: "MIT or Apache-2.0" },
];
