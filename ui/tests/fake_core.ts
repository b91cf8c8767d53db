// The core's side of the Tauri IPC for component tests: each command is
// answered by a handler the test sets; a command with none fails as the
// core fails (`{ kind, message }`), so a test sees what it did not expect.

import { vi } from "vitest";

type Handler = (args: Record<string, unknown> | undefined) => unknown;

export const handlers = new Map<string, Handler>();
export const calls: { command: string; args: Record<string, unknown> | undefined }[] = [];

export async function invoke(command: string, args?: Record<string, unknown>): Promise<unknown> {
  calls.push({ command, args });
  const handler = handlers.get(command);
  if (!handler) throw { kind: "state", message: `no handler for ${command} in this test` };
  return handler(args);
}

export class Channel<T> {
  onmessage: ((message: T) => void) | null = null;
}

/** `vi.mock("@tauri-apps/api/core", ...)`'s module. */
export const tauriCore = () => ({ invoke: vi.fn(invoke), Channel });
