// Invite: the meeting's link and its QR code (the core encodes it; drawn here).

import { api, type Invitation } from "../api";
import { $, messageOf, toast } from "../dom";
import { t } from "../i18n";

/** The light margin (modules) a scanner needs around a QR code, and the
 * most pixels the panel has for the code. */
export const QR_QUIET_ZONE = 4;
export const QR_MAX_SIDE = 240;

export function drawQr(canvas: HTMLCanvasElement, invitation: Invitation): void {
  const modules = invitation.qrWidth + 2 * QR_QUIET_ZONE;
  // Whole pixels a module (sharp edges scan best), as many as fit.
  const scale = Math.max(2, Math.floor(QR_MAX_SIDE / modules));
  const side = modules * scale;
  canvas.width = side;
  canvas.height = side;
  const g = canvas.getContext("2d");
  if (!g) return;
  g.fillStyle = "#fff";
  g.fillRect(0, 0, side, side);
  g.fillStyle = "#000";
  for (let i = 0; i < invitation.qrRows.length; i++) {
    if (invitation.qrRows[i] !== "1") continue;
    const x = (i % invitation.qrWidth) + QR_QUIET_ZONE;
    const y = Math.floor(i / invitation.qrWidth) + QR_QUIET_ZONE;
    g.fillRect(x * scale, y * scale, scale, scale);
  }
}

$("invite-toggle").onclick = async () => {
  const panel = $("invite-panel");
  if (!panel.hidden) {
    panel.hidden = true;
    return;
  }
  try {
    const invitation = await api.meetingInvitation();
    $<HTMLInputElement>("invite-link").value = invitation.link;
    drawQr($<HTMLCanvasElement>("invite-qr"), invitation);
    $("device-menu").hidden = true;
    panel.hidden = false;
    $("invite-copy").focus();
  } catch (e) {
    toast(messageOf(e), "error");
  }
};

/** The clipboard API where the webview allows it, else the selected
 * field's copy command; true once the text is on the clipboard. */
export async function copyText(input: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.focus();
    input.select();
    const copied = document.execCommand("copy");
    // Out of the field again: M and V are shortcuts only outside fields.
    input.blur();
    return copied;
  }
}

$("invite-copy").onclick = async () => {
  const copied = await copyText($<HTMLInputElement>("invite-link"));
  if (copied) toast(t("invite.copied"));
  else toast(t("invite.notCopied"), "error");
};
