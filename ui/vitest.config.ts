import { defineConfig } from "vitest/config";

// Component tests: the UI's modules on the real index.html in happy-dom,
// the core's commands answered by a fake (tests/fake_core.ts). The flows
// through the real core and window are the WebDriver tests' (tests/e2e).
export default defineConfig({
  test: {
    environment: "happy-dom",
    include: ["tests/**/*.test.ts"],
    setupFiles: ["tests/setup.ts"],
    restoreMocks: true,
  },
});
