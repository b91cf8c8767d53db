//! Platform files generated from the registry: the AndroidManifest
//! permission entries, the iOS and macOS Info.plist usage strings, and the
//! macOS entitlements. Only what TalkLine requests appears in them.

use crate::Language;
use crate::registry::{AndroidKind, PermissionRegistry};

const HEADER: &str = "Generated from permissions/*.json by talkline-privacy. Do not edit: edit the data, \
then run TALKLINE_REGENERATE=1 cargo test -p talkline-privacy";

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `uses-permission` and `uses-feature` entries in a manifest that Android's
/// manifest merger folds into the app's own.
pub fn android_manifest(reg: &PermissionRegistry) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- {HEADER} -->\n\
         <manifest xmlns:android=\"http://schemas.android.com/apk/res/android\">\n"
    );
    for e in reg.android.iter().filter(|e| e.requested) {
        out.push_str(&format!(
            "    <!-- {}: {} -->\n",
            e.name,
            xml_escape(&e.purpose)
        ));
        match e.kind {
            AndroidKind::Permission => out.push_str(&format!(
                "    <uses-permission android:name=\"{}\" />\n",
                xml_escape(&e.manifest_name)
            )),
            // Optional: a device without autofocus still joins meetings.
            AndroidKind::Feature => out.push_str(&format!(
                "    <uses-feature android:name=\"{}\" android:required=\"false\" />\n",
                xml_escape(&e.manifest_name)
            )),
        }
    }
    out.push_str("</manifest>\n");
    out
}

/// Not permissions, but declared beside them in the same Info.plist: the
/// languages the app speaks (macOS then reads the usage strings of
/// `zh-Hans.lproj` for a Chinese user), and the `talkline://` scheme, so
/// that macOS opens meeting links with the app (which takes them as
/// `RunEvent::Opened`).
const MACOS_BUNDLE_KEYS: &str = "\t<key>CFBundleLocalizations</key>\n\t<array>\n\t\t<string>en</string>\n\t\t<string>zh-Hans</string>\n\t</array>\n\t<key>CFBundleURLTypes</key>\n\t<array>\n\t\t<dict>\n\t\t\t<key>CFBundleURLName</key>\n\t\t\t<string>app.talkline.client</string>\n\t\t\t<key>CFBundleURLSchemes</key>\n\t\t\t<array>\n\t\t\t\t<string>talkline</string>\n\t\t\t</array>\n\t\t</dict>\n\t</array>\n";

fn plist(entries: &[(String, String)], booleans: bool) -> String {
    plist_with(entries, booleans, "")
}

fn plist_with(entries: &[(String, String)], booleans: bool, more: &str) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- {HEADER} -->\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n"
    );
    for (key, value) in entries {
        out.push_str(&format!("\t<key>{}</key>\n", xml_escape(key)));
        if booleans {
            out.push_str("\t<true/>\n");
        } else {
            out.push_str(&format!("\t<string>{}</string>\n", xml_escape(value)));
        }
    }
    out.push_str(more);
    out.push_str("</dict>\n</plist>\n");
    out
}

/// iOS usage strings: the purpose text of each requested key.
pub fn ios_info_plist(reg: &PermissionRegistry) -> String {
    let entries: Vec<(String, String)> = reg
        .ios
        .iter()
        .filter(|e| e.requested)
        .map(|e| (e.key.clone(), e.purpose.clone()))
        .collect();
    plist(&entries, false)
}

/// macOS usage strings, with the purpose text of the iOS key they mirror,
/// and the app's URL scheme.
pub fn macos_info_plist(reg: &PermissionRegistry) -> String {
    let entries: Vec<(String, String)> = reg
        .macos
        .iter()
        .filter_map(|m| reg.macos_purpose(m).map(|p| (m.key.clone(), p.to_string())))
        .collect();
    plist_with(&entries, false, MACOS_BUNDLE_KEYS)
}

/// A `.strings` file (the `zh-Hans.lproj/InfoPlist.strings` of an app
/// bundle): the usage strings the system shows a Chinese user.
fn strings_file(entries: &[(String, String)]) -> String {
    let quote = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = format!("/* {HEADER} */\n");
    for (key, value) in entries {
        out.push_str(&format!("\"{}\" = \"{}\";\n", quote(key), quote(value)));
    }
    out
}

/// iOS usage strings in Simplified Chinese.
pub fn ios_info_plist_strings_zh(reg: &PermissionRegistry) -> String {
    let entries: Vec<(String, String)> = reg
        .ios
        .iter()
        .filter(|e| e.requested)
        .map(|e| {
            (
                e.key.clone(),
                e.purpose_in(Language::SimplifiedChinese).into(),
            )
        })
        .collect();
    strings_file(&entries)
}

/// macOS usage strings in Simplified Chinese.
pub fn macos_info_plist_strings_zh(reg: &PermissionRegistry) -> String {
    let entries: Vec<(String, String)> = reg
        .macos
        .iter()
        .filter_map(|m| {
            let ios = reg.ios(&m.same_as_ios)?;
            Some((
                m.key.clone(),
                ios.purpose_in(Language::SimplifiedChinese).into(),
            ))
        })
        .collect();
    strings_file(&entries)
}

/// macOS hardened-runtime entitlements for the devices the app uses.
pub fn macos_entitlements(reg: &PermissionRegistry) -> String {
    let entries: Vec<(String, String)> = reg
        .macos
        .iter()
        .filter_map(|m| m.entitlement.clone().map(|e| (e, String::new())))
        .collect();
    plist(&entries, true)
}

/// Every generated file: its path under `permissions/generated/` and text.
pub fn all(reg: &PermissionRegistry) -> Vec<(&'static str, String)> {
    vec![
        ("AndroidManifest.xml", android_manifest(reg)),
        ("Info.ios.plist", ios_info_plist(reg)),
        ("Info.macos.plist", macos_info_plist(reg)),
        ("Entitlements.macos.plist", macos_entitlements(reg)),
        (
            "zh-Hans.lproj/InfoPlist.ios.strings",
            ios_info_plist_strings_zh(reg),
        ),
        (
            "zh-Hans.lproj/InfoPlist.macos.strings",
            macos_info_plist_strings_zh(reg),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_files_quote_what_would_end_a_string() {
        let text = strings_file(&[("K".into(), "say \"hi\" \\ 你好".into())]);
        assert!(
            text.ends_with("\"K\" = \"say \\\"hi\\\" \\\\ 你好\";\n"),
            "{text}"
        );
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(xml_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
