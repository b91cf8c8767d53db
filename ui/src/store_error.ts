// A database that cannot be opened: said on a banner, and set aside at the user's word.

import { api, type AppStatus } from "./api";
import { $, messageOf, toast } from "./dom";
import { state } from "./state";
import { t } from "./i18n";

export function showStoreError(status: AppStatus): void {
  $("store-error-banner").hidden = !status.storeError;
  $("store-error").textContent = status.storeError ? t("store.banner", { reason: status.storeError }) : "";
  $("store-set-aside").hidden = !status.storeCanBeSetAside;
  $("store-set-aside-ask").hidden = false;
  $("store-set-aside-confirm-row").hidden = true;
}

$("store-set-aside-ask").onclick = () => {
  $("store-set-aside-ask").hidden = true;
  $("store-set-aside-confirm-row").hidden = false;
  $("store-set-aside-cancel").focus();
};
$("store-set-aside-cancel").onclick = () => {
  $("store-set-aside-confirm-row").hidden = true;
  $("store-set-aside-ask").hidden = false;
};
$("store-set-aside-confirm").onclick = async () => {
  try {
    const kept = await api.setAsideDatabase();
    const status = await api.status();
    state.status = status;
    showStoreError(status);
    toast(t("store.kept", { path: kept }));
  } catch (e) {
    $("store-error").textContent = messageOf(e);
  }
};
