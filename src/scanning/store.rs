//! The door's data on the device, in IndexedDB (`tessera-door`, one key-value store): the last
//! sync's data (`data`) and the entries made offline not yet sent (`outbox`, written before the
//! answer is shown, with strict durability where the browser offers it). The device's id is in
//! local storage (it is not personal and survives logins). On the server every call is a no-op.
use super::offline::{DoorData, OfflineEntry};
use uuid::Uuid;

const DEVICE_KEY: &str = "tessera.door.device";
const LABEL_KEY: &str = "tessera.door.label";

#[cfg(feature = "hydrate")]
mod idb;

/// The last sync's data (empty when this device never synced, or after a logout).
pub async fn load_data() -> DoorData {
    #[cfg(feature = "hydrate")]
    if let Some(text) = idb::get("data").await {
        return serde_json::from_str(&text).unwrap_or_default();
    }
    DoorData::default()
}

pub async fn save_data(data: &DoorData) {
    #[cfg(feature = "hydrate")]
    if let Ok(text) = serde_json::to_string(data) {
        let _ = idb::put("data", Some(&text)).await;
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = data;
}

/// The entries made offline and not yet received by the server.
pub async fn load_outbox() -> Vec<OfflineEntry> {
    #[cfg(feature = "hydrate")]
    if let Some(text) = idb::get("outbox").await {
        return serde_json::from_str(&text).unwrap_or_default();
    }
    Vec::new()
}

/// Writes the outbox; `false` if the device could not keep it (the answer then says so).
pub async fn save_outbox(outbox: &[OfflineEntry]) -> bool {
    #[cfg(feature = "hydrate")]
    {
        let Ok(text) = serde_json::to_string(outbox) else {
            return false;
        };
        idb::put("outbox", Some(&text)).await.is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = outbox;
        true
    }
}

/// At logout: the tickets (and names) go, and the cached page; entries not sent yet stay, to be
/// sent at the next login on this device.
pub async fn wipe() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let _ = idb::put("data", None).await;
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(caches) = window.caches() {
            if let Ok(keys) = wasm_bindgen_futures::JsFuture::from(caches.keys()).await {
                for key in js_sys::Array::from(&keys).iter() {
                    if let Some(k) = key.as_string().filter(|k| k.starts_with("door-")) {
                        let _ = wasm_bindgen_futures::JsFuture::from(caches.delete(&k)).await;
                    }
                }
            }
        }
        let container = window.navigator().service_worker();
        if let Ok(regs) = wasm_bindgen_futures::JsFuture::from(container.get_registrations()).await
        {
            for reg in js_sys::Array::from(&regs).iter() {
                if let Ok(reg) = reg.dyn_into::<web_sys::ServiceWorkerRegistration>() {
                    if let Ok(p) = reg.unregister() {
                        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
                    }
                }
            }
        }
    }
}

/// Registers the door's service worker (scope `/scan`) and asks the browser to keep this site's
/// storage; resolves to whether it will (shown to the steward).
pub async fn install() -> bool {
    #[cfg(feature = "hydrate")]
    {
        let Some(window) = web_sys::window() else {
            return false;
        };
        let navigator = window.navigator();
        let options = web_sys::RegistrationOptions::new();
        options.set_scope("/scan");
        let _ = wasm_bindgen_futures::JsFuture::from(
            navigator
                .service_worker()
                .register_with_options("/scan-sw.js", &options),
        )
        .await;
        match navigator.storage().persist() {
            Ok(p) => wasm_bindgen_futures::JsFuture::from(p)
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            Err(_) => false,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    false
}

#[cfg(feature = "hydrate")]
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// This device's id, made once (random) and kept.
pub fn device_id() -> Uuid {
    #[cfg(feature = "hydrate")]
    if let Some(s) = local_storage() {
        if let Some(id) = s
            .get_item(DEVICE_KEY)
            .ok()
            .flatten()
            .and_then(|v| Uuid::parse_str(&v).ok())
        {
            return id;
        }
        let id = super::queue::new_scan_id();
        let _ = s.set_item(DEVICE_KEY, &id.to_string());
        return id;
    }
    let _ = DEVICE_KEY;
    Uuid::nil()
}

/// The name the steward gave this device ("Porte A"), shown in the back office.
pub fn label() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        local_storage()?
            .get_item(LABEL_KEY)
            .ok()
            .flatten()
            .filter(|l| !l.trim().is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = LABEL_KEY;
        None
    }
}

/// Until the steward names it: "Appareil 3f9a" (the device id's first characters; no person's
/// name, which would outlive their account in the back office's list).
pub fn default_label(word: &str) -> String {
    let id = device_id().simple().to_string();
    format!("{word} {}", &id[..4])
}

pub fn set_label(label: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = local_storage() {
        let _ = s.set_item(LABEL_KEY, label);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = label;
}

/// Whether the browser believes it is online.
pub fn online() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window().is_none_or(|w| w.navigator().on_line())
    }
    #[cfg(not(feature = "hydrate"))]
    true
}

/// The check-in list this phone scans for (kept across reloads; none: the default one).
const LIST_KEY: &str = "tessera.door.list";

pub fn chosen_list() -> Option<Uuid> {
    #[cfg(feature = "hydrate")]
    {
        local_storage()?
            .get_item(LIST_KEY)
            .ok()
            .flatten()
            .and_then(|v| Uuid::parse_str(&v).ok())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = LIST_KEY;
        None
    }
}

pub fn set_chosen_list(id: Option<Uuid>) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = local_storage() {
        let _ = match id {
            Some(id) => s.set_item(LIST_KEY, &id.to_string()),
            None => s.remove_item(LIST_KEY),
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}
