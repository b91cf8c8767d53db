//! Every screen of the real window in both languages: nothing left in the
//! other language, a screenshot of each, and an accessibility audit
//! (axe-core, from the UI's dev dependencies) with no serious or critical
//! finding.

use super::*;

/// Whether an element is on screen: neither it nor a parent is hidden.
macro_rules! shown_js {
    () => {
        r#"
const shown = (el) => {
  for (let e = el; e; e = e.parentElement) {
    if (e.hidden) return false;
    const s = getComputedStyle(e);
    if (s.display === 'none' || s.visibility === 'hidden') return false;
  }
  return true;
};
"#
    };
}

/// Words that stay as they are in Chinese text: names and the keys the
/// shortcuts use, and the participants' names of this test.
const NAMES: &[&str] = &[
    "TalkLine", "PIN", "TURN", "STUN", "ID", "KB", "MB", "MiB", "Rust", "Esc", "Winnie", "Bob",
    // The parts of a meeting link, named as the link writes them.
    "server", "room",
];

/// What on the screen shown now is in the other language: visible text,
/// titles, accessible names and placeholders, and the chosen entry of each
/// picker where the app names it (not a device's own name). Text marked
/// with its own `lang` (a language's name in itself) or `translate="no"`
/// (names, licence identifiers) is skipped, as are addresses, file paths
/// and the stored data shown as stored.
const OTHER_LANGUAGE_JS: &str = concat!(
    shown_js!(),
    r#"
const page = document.documentElement.lang;
const allowed = new Set(arguments[0]);
const foreign = page.startsWith('zh') ? /[A-Za-z]{2,}/g : /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+/g;
const found = [];
const skip = (el) => !!el.closest('script, style, option, [translate="no"], #data-sections li')
  || (el.closest('[lang]')?.lang || page) !== page;
const strip = (text) => text
  .replace(/\b(?:https?|wss?|talkline):\/\/\S*/g, ' ')
  .replace(/\S*\w[:.\/]\w\S*/g, ' ');
const describe = (el) => el.id ? '#' + el.id
  : el.tagName.toLowerCase() + (el.parentElement && el.parentElement.id ? ' in #' + el.parentElement.id : '');
const check = (text, el, what) => {
  if ((strip(text).match(foreign) || []).some((w) => !allowed.has(w))) {
    found.push(describe(el) + what + ': ' + text.trim().slice(0, 160));
  }
};
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const el = walker.currentNode.parentElement;
  if (el && !skip(el) && shown(el)) check(walker.currentNode.textContent, el, '');
}
for (const el of document.body.querySelectorAll('[title], [aria-label], [placeholder]')) {
  if (skip(el) || !shown(el)) continue;
  for (const a of ['title', 'aria-label', 'placeholder']) {
    const v = el.getAttribute(a);
    if (v) check(v, el, '[' + a + ']');
  }
}
for (const s of document.body.querySelectorAll('select')) {
  const o = s.selectedOptions[0];
  if (!o || !shown(s) || !['', 'none', 'test'].includes(o.value) || (o.lang || page) !== page) continue;
  // "System default (its device)": the device's own name is the system's.
  check(o.value === '' ? o.text.replace(/[(（].*[)）]/, '') : o.text, s, ' (chosen)');
}
return found;
"#
);

/// Runs axe-core on the page as it is; returns its serious and critical
/// findings, each with the elements it names.
fn accessibility_findings(driver: &WebDriver) -> Vec<String> {
    let axe = support::repo_root().join("ui/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&axe)
        .unwrap_or_else(|e| panic!("{} ({e}): run scripts/build-ui.sh", axe.display()));
    driver.eval(
        &format!("if (!window.axe) {{ {source}\n }} return 1;"),
        json!([]),
    );
    driver.eval(
        r#"
        window.__axe = null;
        axe.run(document, {
          runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
          resultTypes: ['violations'],
        }).then(
          (r) => { window.__axe = { violations: r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' ')),
          })) }; },
          (e) => { window.__axe = { error: String(e) }; },
        );
        return 1;
        "#,
        json!([]),
    );
    let result = driver.wait_for("axe-core's audit", LONG, "return window.__axe;");
    assert!(result["error"].is_null(), "axe-core failed: {result}");
    result["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            format!(
                "{} ({}): {} — {}",
                v["id"], v["impact"], v["help"], v["nodes"]
            )
        })
        .collect()
}

/// The screen as it is now, in `language`: screenshotted, nothing in the
/// other language, and no serious accessibility finding.
fn look_at(window: &AppWindow, language: &str, screen: &str) -> Vec<String> {
    let driver = &window.driver;
    // Toasts of the screen before (a join, a copy) are not this screen's.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        driver.eval("return document.documentElement.lang;", json!([])),
        json!(language),
        "{screen}"
    );
    shot(window, &format!("{language}/{screen}"));
    let mut problems: Vec<String> = driver
        .eval(OTHER_LANGUAGE_JS, json!([NAMES]))
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            format!(
                "{language} {screen}: not in {language}: {}",
                v.as_str().unwrap_or("?")
            )
        })
        .collect();
    problems.extend(
        accessibility_findings(driver)
            .into_iter()
            .map(|f| format!("{language} {screen}: {f}")),
    );
    problems
}

/// Controls that cannot be scrolled into the window: with the text twice
/// its size, every control of the screen shown must still be reachable.
const OUT_OF_REACH_JS: &str = concat!(
    shown_js!(),
    r#"
const found = [];
for (const el of document.body.querySelectorAll('button, input, select, textarea, [tabindex]')) {
  if (!shown(el)) continue;
  el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  if (r.bottom > innerHeight + 1 || r.right > innerWidth + 1 || r.top < -1 || r.left < -1) {
    found.push((el.id ? '#' + el.id : el.tagName.toLowerCase()) + ' at ' + [r.left, r.top, r.right, r.bottom].map(Math.round).join(','));
  }
}
window.scrollTo(0, 0);
for (const e of document.querySelectorAll('*')) { if (e.scrollTop) e.scrollTop = 0; }
return found;
"#
);

/// The screen shown now with the text at 200%: every control reachable.
fn look_at_large_text(window: &AppWindow, screen: &str) -> Vec<String> {
    let driver = &window.driver;
    driver.eval(
        "document.documentElement.style.fontSize = '200%'; return 1;",
        json!([]),
    );
    std::thread::sleep(Duration::from_millis(300));
    let out: Vec<String> = driver
        .eval(OUT_OF_REACH_JS, json!([]))
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            format!(
                "200% text, {screen}: {} cannot be reached",
                v.as_str().unwrap_or("?")
            )
        })
        .collect();
    shot(window, &format!("en/{screen}-text-200"));
    driver.eval(
        "document.documentElement.style.fontSize = ''; return 1;",
        json!([]),
    );
    out
}

/// Goes through every screen and dialog once, from Home to a meeting and
/// back, Settings, Your data and the withdrawal question (not confirmed).
/// Permission prompts, if any come, are looked at and allowed.
fn visit_every_screen(window: &AppWindow, link: &str, language: &str) -> Vec<String> {
    let driver = &window.driver;
    let mut problems = Vec::new();
    let large = language == "en";
    let mut look = |screen: &str| {
        problems.extend(look_at(window, language, screen));
        if large {
            problems.extend(look_at_large_text(window, screen));
        }
    };

    driver.wait_visible("#screen-home", LONG);
    look("home");
    driver.click("#schedule-open");
    driver.wait_visible("#schedule-form", LONG);
    look("home-schedule");
    driver.click("#schedule-cancel");

    driver.click("#open-scan");
    driver.wait_visible("#screen-scan", LONG);
    driver.wait_for(
        "the scan to say what it does",
        LONG,
        "return document.getElementById('scan-status').textContent !== '' || !document.getElementById('scan-error').hidden || !document.getElementById('permission-prompt').hidden;",
    );
    if driver.visible("#permission-prompt") {
        look("scan-permission");
        driver.click("#permission-allow");
    }
    look("scan");
    driver.click("#scan-cancel");
    driver.wait_visible("#screen-home", LONG);

    // A malformed link: the core says what is wrong in the page's
    // language, and the error, too, is checked for the other language.
    driver.type_into("#meeting-input", "talkline://join?room=1");
    driver.type_into("#display-name", "Winnie");
    driver.click("#home-join");
    driver.wait_visible("#home-error", LONG);
    let said = driver.text("#home-error");
    let expected = if language == "en" {
        "the link has no server"
    } else {
        "链接缺少服务器（server）"
    };
    assert_eq!(said.trim(), expected);
    look("home-malformed-link");
    driver.type_into("#meeting-input", link);
    driver.click("#home-join");
    driver.wait_visible("#screen-prejoin", LONG);
    for picker in ["#camera-select", "#mic-select"] {
        driver.wait_for(
            "the pickers filled",
            LONG,
            &format!(
                "const s = document.querySelector('{picker}'); return [...s.options].some(o => o.value === 'test');"
            ),
        );
        if driver.eval(
            &format!("return document.querySelector('{picker}').value;"),
            json!([]),
        ) != json!("test")
        {
            driver.choose(picker, "test");
        }
        std::thread::sleep(Duration::from_millis(500));
        if driver.visible("#permission-prompt") {
            look(&format!("prejoin-permission-{}", &picker[1..4]));
            driver.click("#permission-allow");
            driver.wait_for(
                "the prompt to close",
                LONG,
                "return document.getElementById('permission-prompt').hidden;",
            );
        }
    }
    look("prejoin");

    driver.click("#join-now");
    driver.wait_visible("#screen-meeting", LONG);
    tile_of(driver, "Bob");
    look("meeting");
    driver.click("#device-menu-toggle");
    driver.wait_visible("#device-menu", LONG);
    look("meeting-devices");
    driver.click("#device-menu-toggle");
    driver.click("#invite-toggle");
    driver.wait_visible("#invite-panel", LONG);
    look("meeting-invite");
    driver.click("#invite-toggle");
    driver.click("#participants-toggle");
    driver.wait_visible("#participants", LONG);
    look("meeting-people");
    driver.click("#participants-toggle");
    driver.click("#chat-toggle");
    driver.wait_visible("#chat", LONG);
    driver.wait_for(
        "the chat to connect",
        LONG,
        "return document.getElementById('chat-send').disabled === false;",
    );
    look("meeting-chat");
    driver.click("#chat-toggle");
    // A hand up, with its badge, and the reactions offered.
    driver.wait_for(
        "hands to be ready",
        LONG,
        "return document.getElementById('hand-toggle').disabled === false;",
    );
    driver.click("#hand-toggle");
    driver.wait_for(
        "our hand on our tile",
        LONG,
        "return document.querySelector('#tiles .tile.self .hand') !== null;",
    );
    driver.click("#reactions-toggle");
    driver.wait_visible("#reactions-menu", LONG);
    look("meeting-hand-and-reactions");
    driver.click("#reactions-toggle");
    driver.click("#hand-toggle");
    // The whiteboard, shown to everyone (Bob included), then put away.
    driver.click("#board-toggle");
    driver.wait_for(
        "the whiteboard shown",
        LONG,
        "return !document.getElementById('board-panel').hidden;",
    );
    look("meeting-whiteboard");
    driver.click("#board-stop");
    driver.wait_for(
        "the whiteboard put away",
        LONG,
        "return document.getElementById('board-panel').hidden;",
    );
    driver.click("#leave");
    driver.wait_visible("#leave-dialog", LONG);
    look("meeting-leave");
    driver.click("#leave-confirm");
    driver.wait_visible("#screen-home", LONG);

    driver.click("#open-settings");
    driver.wait_visible("#screen-settings", LONG);
    driver.wait_for(
        "the privacy choices",
        LONG,
        "return document.querySelectorAll('#privacy-choices li').length > 0;",
    );
    look("settings");
    driver.click("#open-personal-data");
    driver.wait_visible("#screen-data", LONG);
    driver.wait_for(
        "what the app keeps",
        LONG,
        "return document.querySelectorAll('#data-sections .card').length > 0;",
    );
    look("your-data");
    driver.click("#data-back");
    driver.wait_visible("#screen-settings", LONG);
    driver.click("#withdraw-consent");
    driver.wait_visible("#withdraw-dialog", LONG);
    look("settings-withdraw");
    driver.click("#withdraw-cancel");
    problems
}

#[test]
fn every_screen_speaks_the_users_language_and_passes_the_accessibility_audit() {
    let janus = support::Janus::start();
    let link = janus.link(1234);
    let bob = support::Client::join(&link, "Bob", &["--duration", "240"]);
    bob.wait_for("joined meeting 1234", Duration::from_secs(10));

    // A Chinese desktop: the app speaks Chinese from its first screen.
    let window = AppWindow::launch_with_env(
        &janus.url(),
        &[
            ("LANG", "zh_CN.UTF-8"),
            ("LANGUAGE", ""),
            ("LC_ALL", ""),
            ("LC_MESSAGES", ""),
        ],
    );
    let driver = &window.driver;
    driver.wait_visible("#screen-policy", LONG);
    let mut problems = look_at(&window, "zh-CN", "policy");
    let title = driver.text("#policy-title");
    assert!(title.contains("隐私政策"), "{title}");
    // Read in English first, then accepted in Chinese: the same policy.
    driver.choose("#policy-language", "en");
    driver.wait_for(
        "the policy in English",
        LONG,
        "return document.getElementById('policy-title').textContent.includes('privacy policy') && document.documentElement.lang === 'en';",
    );
    problems.extend(look_at(&window, "en", "policy"));
    driver.choose("#policy-language", "");
    driver.wait_for(
        "the policy in the system's language again",
        LONG,
        "return document.documentElement.lang === 'zh-CN';",
    );
    driver.click("#policy-accept");

    problems.extend(visit_every_screen(&window, &link, "zh-CN"));

    // English, chosen in Settings: the page and the core's texts change at once.
    driver.choose("#settings-language", "en");
    driver.click("#settings-save");
    driver.wait_for(
        "the page in English",
        LONG,
        "return document.documentElement.lang === 'en' && document.getElementById('settings-status').textContent === 'Saved.';",
    );
    // What was said before the switch goes as it would (Bob's "left").
    driver.wait_for(
        "the toasts said in Chinese to go",
        LONG,
        "return document.getElementById('toasts').childElementCount === 0;",
    );
    driver.click("#settings-back");
    problems.extend(visit_every_screen(&window, &link, "en"));

    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";
const END: &str = "\u{E010}";

/// Presses Tab until `id` has the focus (at most `limit` times); its focus
/// must be seen.
fn tab_to(driver: &WebDriver, id: &str, limit: usize) {
    for _ in 0..limit {
        let focus = driver.eval(
            "const e = document.activeElement; const s = e && getComputedStyle(e); return e ? [e.id, s.outlineStyle, s.outlineWidth] : null;",
            json!([]),
        );
        if focus[0] == json!(id) {
            assert!(
                focus[1] != json!("none") && focus[2] != json!("0px"),
                "#{id} has the keyboard's focus, not seen: {focus}"
            );
            return;
        }
        driver.press(TAB);
    }
    panic!("#{id} is not reached with Tab in {limit} presses");
}

fn talkline_state(driver: &WebDriver, key: &str) -> Value {
    driver.eval(
        &format!("return window.__talkline.state()[{}];", Value::from(key)),
        json!([]),
    )
}

#[test]
fn the_keyboard_alone_joins_mutes_leaves_and_withdraws_consent() {
    let janus = support::Janus::start();
    let link = janus.link(1234);
    let bob = support::Client::join(&link, "Bob", &["--duration", "120"]);
    bob.wait_for("joined meeting 1234", Duration::from_secs(10));
    let window = AppWindow::launch(&janus.url());
    let driver = &window.driver;

    driver.wait_visible("#screen-policy", LONG);
    tab_to(driver, "policy-accept", 10);
    driver.press(ENTER);
    driver.wait_visible("#screen-home", LONG);
    // Home puts the focus where the meeting is typed.
    tab_to(driver, "meeting-input", 1);
    driver.type_keys(&link);
    tab_to(driver, "display-name", 3);
    driver.type_keys("Kim");
    driver.press(ENTER);
    driver.wait_visible("#screen-prejoin", LONG);
    // The test sources, picked with the keyboard; each asks just in time,
    // the focus on Allow.
    for picker in ["camera-select", "mic-select"] {
        driver.wait_for(
            "the pickers filled",
            LONG,
            &format!("return [...document.getElementById('{picker}').options].some(o => o.value === 'test');"),
        );
        tab_to(driver, picker, 15);
        // The test source is the list's last entry.
        driver.press(END);
        assert_eq!(
            driver.eval(
                &format!("return document.getElementById('{picker}').value;"),
                json!([])
            ),
            json!("test"),
            "End did not pick the test source in #{picker}"
        );
        driver.wait_visible("#permission-prompt", LONG);
        tab_to(driver, "permission-allow", 1);
        driver.press(ENTER);
        driver.wait_for(
            "the prompt to close",
            LONG,
            "return document.getElementById('permission-prompt').hidden;",
        );
    }
    tab_to(driver, "join-now", 25);
    driver.press(ENTER);
    driver.wait_visible("#screen-meeting", LONG);
    tile_of(driver, "Bob");
    bob.wait_for("+ Kim joined", LONG);

    // M and V, shown on the buttons' titles, work from anywhere but a field.
    let muted_before = talkline_state(driver, "audioMuted");
    driver.press("m");
    driver.wait_for(
        "M to toggle the microphone",
        LONG,
        &format!(
            "return window.__talkline.state().audioMuted === {};",
            !muted_before.as_bool().unwrap_or(false)
        ),
    );
    let video_before = talkline_state(driver, "videoMuted");
    driver.press("v");
    driver.wait_for(
        "V to toggle the camera",
        LONG,
        &format!(
            "return window.__talkline.state().videoMuted === {};",
            !video_before.as_bool().unwrap_or(false)
        ),
    );
    // The controls themselves are reached and used with Tab and Enter.
    tab_to(driver, "participants-toggle", 30);
    driver.press(ENTER);
    driver.wait_visible("#participants", LONG);
    assert_eq!(
        driver.eval(
            "return document.getElementById('participants-toggle').getAttribute('aria-expanded');",
            json!([])
        ),
        json!("true"),
        "People does not say it is open"
    );
    // Esc asks to leave, the focus on Leave; Enter leaves.
    driver.press(ESCAPE);
    driver.wait_visible("#leave-dialog", LONG);
    tab_to(driver, "leave-confirm", 1);
    driver.press(ENTER);
    driver.wait_visible("#screen-home", LONG);
    bob.wait_for("- Kim left", LONG);

    // Settings, then withdrawal: asked first, the focus on Cancel.
    tab_to(driver, "open-settings", 30);
    driver.press(ENTER);
    driver.wait_visible("#screen-settings", LONG);
    tab_to(driver, "withdraw-consent", 80);
    driver.press(ENTER);
    driver.wait_visible("#withdraw-dialog", LONG);
    tab_to(driver, "withdraw-cancel", 1);
    tab_to(driver, "withdraw-confirm", 2);
    // The app may end before it answers the key.
    let _ = driver.try_press(ENTER);
    closed_with_its_key_gone(&window, "withdrawal by keyboard");
}
