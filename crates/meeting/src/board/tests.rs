//! The boards on recorded exchanges: what each message does, in the
//! order the server relays them.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;

impl Whiteboard {
    /// What one message changes (what it asks to send is looked at apart).
    fn receive_events(&mut self, m: Incoming<'_>, now: Instant) -> Vec<BoardEvent> {
        self.receive(m, now).0
    }
}

fn pen(points: Vec<[u16; 2]>) -> NewStroke {
    NewStroke {
        tool: Tool::Pen,
        color: [255, 0, 0],
        width: 40,
        points,
        text: String::new(),
    }
}

/// A board joined as `us`, alone or not.
fn board(us: &str, others: &[&str], now: Instant) -> Whiteboard {
    let mut b = Whiteboard::new();
    b.joined(us, others.iter().copied(), now);
    b
}

fn from(b: &mut Whiteboard, who: &str, body: &Value, now: Instant) -> Vec<BoardEvent> {
    b.receive_events(
        Incoming {
            from: who,
            display: &who.to_uppercase(),
            private: false,
            body,
        },
        now,
    )
}

fn whispered(b: &mut Whiteboard, who: &str, body: &Value, now: Instant) -> Vec<BoardEvent> {
    b.receive_events(
        Incoming {
            from: who,
            display: &who.to_uppercase(),
            private: true,
            body,
        },
        now,
    )
}

fn ids(b: &Whiteboard, on: Surface) -> Vec<String> {
    b.strokes(on).iter().map(|s| s.id.clone()).collect()
}

#[test]
fn strokes_are_drawn_in_the_order_the_server_relays_them_ours_included() {
    let now = Instant::now();
    let mut ann = board("ann", &[], now);
    let (mine, id) = ann
        .draw(Surface::Board, &pen(vec![[10, 10], [20, 20]]), now)
        .expect("drawn");
    assert_eq!(id, "ann/1");
    assert_eq!(mine.to, None);
    // Not on the board until it comes back.
    assert!(ann.strokes(Surface::Board).is_empty());
    let mut bob = board("bob", &[], now);
    let (theirs, _) = bob
        .draw(Surface::Board, &pen(vec![[30, 30]]), now)
        .expect("drawn");
    // The server relays Bob's first: everyone has it below Ann's.
    from(&mut ann, "bob", &theirs.body, now);
    let events = from(&mut ann, "ann", &mine.body, now);
    let [BoardEvent::Drawn { on, stroke }] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(*on, Surface::Board);
    assert!(stroke.own);
    assert_eq!(stroke.by, "ANN");
    assert_eq!(ids(&ann, Surface::Board), ["bob/1", "ann/1"]);
    // The same message twice is one stroke.
    assert!(from(&mut ann, "ann", &mine.body, now).is_empty());
    assert_eq!(ann.strokes(Surface::Board).len(), 2);
}

#[test]
fn the_eraser_takes_anyones_stroke_undo_only_ours_and_clear_everything() {
    let now = Instant::now();
    let mut ann = board("ann", &[], now);
    let (a1, _) = ann
        .draw(Surface::Board, &pen(vec![[1, 1]]), now)
        .expect("drawn");
    let (a2, _) = ann
        .draw(Surface::Board, &pen(vec![[2, 2]]), now)
        .expect("drawn");
    let bob_draws = json!({"talkline": 1, "board": "draw", "on": "board", "n": 1,
        "stroke": {"tool": "line", "color": "#00ff00", "width": 10, "points": [0, 0, 100, 100]}});
    for (who, body) in [("ann", &a1.body), ("ann", &a2.body), ("bob", &bob_draws)] {
        from(&mut ann, who, body, now);
    }
    // Undo is our last stroke, not Bob's later one.
    let undo = ann
        .undo(Surface::Board, now)
        .expect("within the rate")
        .expect("something to undo");
    assert_eq!(undo.body["ids"], json!(["ann/2"]));
    let events = from(&mut ann, "ann", &undo.body, now);
    assert_eq!(
        events,
        [BoardEvent::Erased {
            on: Surface::Board,
            ids: vec!["ann/2".into()]
        }]
    );
    // The eraser: Bob's stroke, and ids not there are not sent.
    let erase = ann
        .erase(Surface::Board, &["bob/1".into(), "zed/9".into()], now)
        .expect("within the rate")
        .expect("one is there");
    assert_eq!(erase.body["ids"], json!(["bob/1"]));
    assert!(matches!(
        ann.erase(Surface::Board, &["zed/9".into()], now),
        Ok(None)
    ));
    from(&mut ann, "bob", &erase.body, now);
    assert_eq!(ids(&ann, Surface::Board), ["ann/1"]);
    // Clearing the board leaves a screen's annotation alone.
    let on_screen = json!({"talkline": 1, "board": "draw", "on": 77, "n": 2,
        "stroke": {"tool": "text", "color": "#000000", "width": 300, "points": [5, 5], "text": "看这里 ←"}});
    from(&mut ann, "bob", &on_screen, now);
    let clear = ann.clear(Surface::Board, now).expect("within the rate");
    let events = from(&mut ann, "ann", &clear.body, now);
    assert_eq!(
        events,
        [BoardEvent::Cleared {
            on: Surface::Board,
            by: "ANN".into()
        }]
    );
    assert!(ann.strokes(Surface::Board).is_empty());
    assert_eq!(ann.strokes(Surface::Screen(77))[0].drawn.text, "看这里 ←");
    assert!(matches!(ann.undo(Surface::Board, now), Ok(None)));
    ann.forget(Surface::Screen(77));
    assert!(ann.surfaces().is_empty());
}

#[test]
fn malformed_strokes_are_not_drawn() {
    let now = Instant::now();
    let mut ann = board("ann", &[], now);
    let huge: Vec<u64> = (0..2 * (MAX_POINTS as u64 + 1)).map(|i| i % 100).collect();
    let long_text = "字".repeat(MAX_BOARD_TEXT_CHARS + 1);
    let bad = [
        json!({"tool": "pen", "color": "#ff0000", "width": 10, "points": [1, 2, 3]}),
        json!({"tool": "pen", "color": "#ff0000", "width": 10, "points": []}),
        json!({"tool": "pen", "color": "#ff0000", "width": 10, "points": huge}),
        json!({"tool": "pen", "color": "#ff0000", "width": 10, "points": [10001, 5]}),
        json!({"tool": "pen", "color": "#ff0000", "width": 10, "points": [-1, 5]}),
        json!({"tool": "pen", "color": "#ff0000", "width": 0, "points": [1, 5]}),
        json!({"tool": "pen", "color": "#ff0000", "width": 5000, "points": [1, 5]}),
        json!({"tool": "pen", "color": "red", "width": 10, "points": [1, 5]}),
        json!({"tool": "pen", "color": "#ff00zz", "width": 10, "points": [1, 5]}),
        json!({"tool": "pen", "color": "#ff0000", "width": 10, "points": [1, 5], "text": "x"}),
        json!({"tool": "spray", "color": "#ff0000", "width": 10, "points": [1, 5]}),
        json!({"tool": "rectangle", "color": "#ff0000", "width": 10, "points": [1, 5]}),
        json!({"tool": "text", "color": "#ff0000", "width": 10, "points": [1, 5]}),
        json!({"tool": "text", "color": "#ff0000", "width": 10, "points": [1, 5], "text": "  "}),
        json!({"tool": "text", "color": "#ff0000", "width": 10, "points": [1, 5], "text": long_text}),
        json!({"tool": "text", "color": "#ff0000", "width": 10, "points": [1, 5], "text": "a\u{1b}[2J"}),
        json!("pen"),
        json!(null),
    ];
    for (n, stroke) in bad.into_iter().enumerate() {
        let body = json!({"talkline": 1, "board": "draw", "on": "board", "n": n, "stroke": stroke});
        assert!(from(&mut ann, "bob", &body, now).is_empty(), "{body}");
    }
    for body in [
        json!({"talkline": 1, "board": "draw", "on": "wall", "n": 1,
            "stroke": {"tool": "pen", "color": "#ff0000", "width": 10, "points": [1, 5]}}),
        json!({"talkline": 1, "board": "draw", "on": 0, "n": 1,
            "stroke": {"tool": "pen", "color": "#ff0000", "width": 10, "points": [1, 5]}}),
        json!({"talkline": 1, "board": "draw", "on": "board",
            "stroke": {"tool": "pen", "color": "#ff0000", "width": 10, "points": [1, 5]}}),
        json!({"talkline": 1, "board": "erase", "on": "board", "ids": "bob/1"}),
        json!({"talkline": 1, "board": "dance"}),
    ] {
        assert!(from(&mut ann, "bob", &body, now).is_empty(), "{body}");
    }
    assert!(ann.surfaces().is_empty());
    // And ours are refused before they are sent.
    for (stroke, problem) in [
        (pen(vec![]), StrokeProblem::Points),
        (pen(vec![[UNITS + 1, 0]]), StrokeProblem::Outside),
        (
            NewStroke {
                width: MAX_WIDTH + 1,
                ..pen(vec![[1, 1]])
            },
            StrokeProblem::Width,
        ),
        (
            NewStroke {
                tool: Tool::Text,
                text: "\n".into(),
                ..pen(vec![[1, 1]])
            },
            StrokeProblem::NoText,
        ),
    ] {
        match ann.draw(Surface::Board, &stroke, now) {
            Err(MeetingError::BadStroke(p)) => assert_eq!(p, problem),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_stroke_flood_is_cut_off_said_once_and_the_sender_can_draw_again_later() {
    let now = Instant::now();
    let mut ann = board("ann", &[], now);
    let mut dropped = 0;
    for n in 0..200 {
        let body = json!({"talkline": 1, "board": "draw", "on": "board", "n": n,
            "stroke": {"tool": "pen", "color": "#ff0000", "width": 10, "points": [1, 5]}});
        for e in from(&mut ann, "bob", &body, now) {
            if e == (BoardEvent::Dropped { by: "BOB".into() }) {
                dropped += 1;
            }
        }
    }
    assert_eq!(ann.strokes(Surface::Board).len(), BURST as usize);
    assert_eq!(dropped, 1, "said once");
    // Carl is not held up by Bob.
    let carl = json!({"talkline": 1, "board": "draw", "on": "board", "n": 1,
        "stroke": {"tool": "pen", "color": "#ff0000", "width": 10, "points": [1, 5]}});
    assert_eq!(from(&mut ann, "carl", &carl, now).len(), 1);
    // A second later, Bob's hand has room for a few more.
    let later = now + Duration::from_secs(1);
    let body = json!({"talkline": 1, "board": "draw", "on": "board", "n": 1000,
        "stroke": {"tool": "pen", "color": "#ff0000", "width": 10, "points": [1, 5]}});
    assert!(matches!(
        from(&mut ann, "bob", &body, later).as_slice(),
        [BoardEvent::Drawn { .. }]
    ));
    // Our own drawing that fast is refused before it is sent.
    let mut refused = false;
    for _ in 0..100 {
        if let Err(e) = ann.draw(Surface::Board, &pen(vec![[1, 1]]), now) {
            assert!(matches!(e, MeetingError::BoardTooFast), "{e:?}");
            refused = true;
        }
    }
    assert!(refused);
}

#[test]
fn a_full_board_refuses_more_until_something_is_cleared() {
    let start = Instant::now();
    let mut ann = board("ann", &[], start);
    // Slowly enough to be within the rate.
    for n in 0..MAX_STROKES as u64 + 3 {
        let at = start + Duration::from_millis(100 * n);
        let body = json!({"talkline": 1, "board": "draw", "on": "board", "n": n,
            "stroke": {"tool": "pen", "color": "#ff0000", "width": 10, "points": [1, 5]}});
        from(&mut ann, "bob", &body, at);
    }
    assert_eq!(ann.strokes(Surface::Board).len(), MAX_STROKES);
    let later = start + Duration::from_secs(3600);
    assert!(matches!(
        ann.draw(Surface::Board, &pen(vec![[1, 1]]), later),
        Err(MeetingError::BoardFull(_))
    ));
    let clear = ann.clear(Surface::Board, later).expect("within the rate");
    from(&mut ann, "ann", &clear.body, later);
    assert!(ann.draw(Surface::Board, &pen(vec![[1, 1]]), later).is_ok());
}

#[test]
fn a_newcomer_is_told_the_boards_by_one_person_and_draws_what_came_meanwhile_after() {
    let now = Instant::now();
    // Ann and Bob drew; Bob shows the board.
    let mut ann = board("ann", &[], now);
    let show = json!({"talkline": 1, "board": "show"});
    from(&mut ann, "bob", &show, now);
    // Enough strokes that telling them takes several messages.
    let wiggle: Vec<[u16; 2]> = (0..1500).map(|i| [i * 6, (i * 7) % UNITS]).collect();
    for n in 0..8 {
        let at = now + Duration::from_secs(n);
        let (out, _) = ann
            .draw(Surface::Board, &pen(wiggle.clone()), at)
            .expect("drawn");
        from(&mut ann, "ann", &out.body, at);
    }
    let note = json!({"talkline": 1, "board": "draw", "on": 42, "n": 1,
        "stroke": {"tool": "text", "color": "#000000", "width": 300, "points": [5, 5], "text": "مرحبا 👋"}});
    from(&mut ann, "bob", &note, now);

    // Cat joins: Ann's username sorts before Bob's, so Ann tells.
    assert!(ann.tells_newcomers(["bob"].into_iter()));
    let bob = board("bob", &[], now);
    assert!(!bob.tells_newcomers(["ann"].into_iter()));
    let parts = ann.newcomer("cat");
    assert!(parts.len() > 1, "{} parts", parts.len());
    for p in &parts {
        assert_eq!(p.to.as_deref(), Some("cat"));
        assert!(p.body.to_string().len() <= 48 * 1024);
    }

    let mut cat = board("cat", &["ann", "bob"], now);
    // Before Ann's parts arrive, Bob draws: held, drawn after.
    let later = json!({"talkline": 1, "board": "draw", "on": "board", "n": 9,
        "stroke": {"tool": "line", "color": "#0000ff", "width": 10, "points": [0, 0, 9, 9]}});
    assert!(from(&mut cat, "bob", &later, now).is_empty());
    // A "tell" to everyone is not believed.
    let forged = json!({"talkline": 1, "board": "tell", "strokes": [], "last": true});
    assert!(from(&mut cat, "bob", &forged, now).is_empty());
    let mut events = Vec::new();
    for p in &parts {
        events.extend(whispered(&mut cat, "ann", &p.body, now));
    }
    assert_eq!(events[0], BoardEvent::Reset);
    assert!(matches!(&events[1], BoardEvent::Drawn { stroke, .. } if stroke.id == "bob/9"));
    let mut expected = ids(&ann, Surface::Board);
    expected.push("bob/9".into());
    assert_eq!(ids(&cat, Surface::Board), expected);
    assert_eq!(cat.strokes(Surface::Screen(42))[0].drawn.text, "مرحبا 👋");
    assert_eq!(cat.strokes(Surface::Board)[0].by, "ANN");
    assert!(cat.strokes(Surface::Board).iter().all(|s| !s.own));
    assert_eq!(cat.shown_by(), Some(("BOB", false)));
    // Now Cat can tell the next one (and a late second telling is ignored).
    assert!(whispered(&mut cat, "bob", &forged, now).is_empty());
    assert_eq!(ids(&cat, Surface::Board).len(), 9);
}

#[test]
fn a_newcomer_told_nothing_draws_what_came_after_a_while() {
    let now = Instant::now();
    let mut cat = board("cat", &["ann", "bob"], now);
    let body = json!({"talkline": 1, "board": "draw", "on": "board", "n": 1,
        "stroke": {"tool": "pen", "color": "#ff0000", "width": 10, "points": [1, 5]}});
    from(&mut cat, "bob", &body, now);
    assert!(cat.expire(now + Duration::from_secs(1)).is_empty());
    let events = cat.expire(now + SYNC_WAIT);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(ids(&cat, Surface::Board), ["bob/1"]);
}

#[test]
fn only_whoever_shows_the_board_puts_it_away_and_it_goes_when_they_leave() {
    let now = Instant::now();
    let mut ann = board("ann", &[], now);
    let show = json!({"talkline": 1, "board": "show"});
    let hide = json!({"talkline": 1, "board": "hide"});
    assert_eq!(
        from(&mut ann, "bob", &show, now),
        [BoardEvent::Shown {
            by: Some("BOB".into()),
            own: false
        }]
    );
    assert!(from(&mut ann, "carl", &hide, now).is_empty());
    assert_eq!(ann.shown_by(), Some(("BOB", false)));
    assert!(
        ann.person_left("carl", ["bob"].into_iter(), now)
            .0
            .is_empty()
    );
    assert_eq!(
        ann.person_left("bob", [].into_iter(), now).0,
        [BoardEvent::Shown {
            by: None,
            own: false
        }]
    );
    let ours = ann.show(true, now).expect("within the rate");
    from(&mut ann, "ann", &ours.body, now);
    assert_eq!(ann.shown_by(), Some(("ANN", true)));
    let put_away = ann.show(false, now).expect("within the rate");
    from(&mut ann, "ann", &put_away.body, now);
    assert_eq!(ann.shown_by(), None);
}

#[test]
fn a_newcomer_still_being_told_tells_the_next_one_once_it_knows_and_replaying_changes_nothing() {
    let now = Instant::now();
    let mut ann = board("ann", &[], now);
    let line = json!({"talkline": 1, "board": "draw", "on": "board", "n": 1,
        "stroke": {"tool": "line", "color": "#0000ff", "width": 10, "points": [0, 0, 9, 9]}});
    from(&mut ann, "ann", &line, now);
    // Al joins (Ann tells him); Ab joins before Al is told: Al's name sorts
    // before Ann's, so Al owes Ab the boards.
    let mut al = board("al", &["ann"], now);
    let mut ab = board("ab", &["ann", "al"], now);
    assert!(al.tells_newcomers(["ann"].into_iter()));
    assert!(al.newcomer("ab").is_empty(), "Al knows nothing yet");
    // Meanwhile: a clear, then a new stroke, relayed to all three.
    let clear = json!({"talkline": 1, "board": "clear", "on": "board"});
    let dot = json!({"talkline": 1, "board": "draw", "on": "board", "n": 2,
        "stroke": {"tool": "pen", "color": "#000000", "width": 10, "points": [5, 5]}});
    for b in [&mut ann, &mut al, &mut ab] {
        from(b, "ann", &clear, now);
        from(b, "ann", &dot, now);
    }
    // Ann told Al the boards as they were when Al joined.
    let told_al: Vec<Outgoing> = {
        let mut before = board("ann", &[], now);
        from(&mut before, "ann", &line, now);
        before.newcomer("al")
    };
    for p in &told_al {
        whispered(&mut al, "ann", &p.body, now);
    }
    assert_eq!(ids(&al, Surface::Board), ["ann/2"]);
    // Now Al tells Ab what he knows, which is newer than Ab's joining.
    let owed = al.owed_tellings();
    assert!(!owed.is_empty());
    assert!(al.owed_tellings().is_empty(), "told once");
    for p in &owed {
        assert_eq!(p.to.as_deref(), Some("ab"));
        whispered(&mut ab, "al", &p.body, now);
    }
    assert_eq!(ids(&ab, Surface::Board), ids(&ann, Surface::Board));
}

#[test]
fn only_the_expected_teller_is_believed_and_the_next_is_asked_when_they_leave() {
    let now = Instant::now();
    let mut bob = board("bob", &[], now);
    let line = json!({"talkline": 1, "board": "draw", "on": "board", "n": 1,
        "stroke": {"tool": "line", "color": "#0000ff", "width": 10, "points": [0, 0, 9, 9]}});
    from(&mut bob, "bob", &line, now);
    let mut cat = board("cat", &["ann", "bob"], now);
    // Bob answers first, but Ann is the one who tells: Bob is not believed.
    let early = bob.newcomer("cat");
    for p in &early {
        whispered(&mut cat, "bob", &p.body, now);
    }
    assert!(cat.strokes(Surface::Board).is_empty());
    // Ann leaves without telling: Bob is asked, privately.
    let (events, ask) = cat.person_left("ann", ["bob"].into_iter(), now);
    assert!(events.is_empty());
    let [ask] = ask.as_slice() else {
        panic!("{ask:?}")
    };
    assert_eq!(ask.to.as_deref(), Some("bob"));
    // An ask to everyone is not answered; a private one is.
    let public = bob.receive(
        Incoming {
            from: "cat",
            display: "CAT",
            private: false,
            body: &ask.body,
        },
        now,
    );
    assert!(public.1.is_empty());
    let (_, tell) = bob.receive(
        Incoming {
            from: "cat",
            display: "CAT",
            private: true,
            body: &ask.body,
        },
        now,
    );
    assert!(!tell.is_empty());
    for p in &tell {
        whispered(&mut cat, "bob", &p.body, now);
    }
    assert_eq!(ids(&cat, Surface::Board), ["bob/1"]);
}

#[test]
fn a_board_kept_across_a_reconnection_stays_when_nobody_tells_it() {
    let now = Instant::now();
    let mut ann = board("ann", &[], now);
    let (out, _) = ann
        .draw(Surface::Board, &pen(vec![[1, 1]]), now)
        .expect("drawn");
    from(&mut ann, "ann", &out.body, now);
    // Back under a new username, with someone there who never answers.
    ann.joined("ann2", ["zed"].into_iter(), now);
    assert_eq!(ann.expire(now + SYNC_WAIT), [BoardEvent::Reset]);
    assert_eq!(ids(&ann, Surface::Board), ["ann/1"]);
    // Still ours, for undo.
    assert!(ann.strokes(Surface::Board)[0].own);
}
