import { defineConfig } from "vite";

// The window loads the built files from the app bundle: relative paths, no
// external resources (the CSP allows only 'self' and the IPC endpoints).
export default defineConfig({
  base: "./",
  clearScreen: false,
  build: {
    target: "safari16",
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
  server: { port: 1420, strictPort: true },
});
