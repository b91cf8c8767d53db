//! The meeting's whiteboard and annotation, without sockets.
//!
//! Strokes are drawn on a surface: the blank board someone shows to
//! everyone, or a shared screen (annotation, keyed by the screen's feed).
//! Each stroke is one message in the meeting's side room (see
//! `chat::side_room`), sent when the pen is lifted, so everyone draws the
//! strokes in the order the server relays them, ours included: a stroke
//! is on the board once its message comes back, and a clear or an eraser
//! removes what came before it for everyone alike.
//!
//! Someone who joins later is told the boards privately by one person
//! already there (the one whose username sorts first, so exactly one
//! answers); what arrives meanwhile is held and drawn after it.
//!
//! Coordinates are in `UNITS` of the surface's width and height, so a
//! stroke lands on the same spot of a board drawn at any size. Everything
//! received is outside input: points, sizes, text and ids are bounded, a
//! sender drawing faster than a hand can is cut off (and that is said),
//! and a surface holds a bounded number of strokes.

pub mod picture;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::chat::side_room::{Incoming, Outgoing};
use crate::error::MeetingError;

/// A surface's width and height, in stroke coordinates.
pub const UNITS: u16 = 10_000;
/// Points in one stroke (a pen stroke is thinned by the UI to fit).
pub const MAX_POINTS: usize = 2_000;
/// Characters in one text box.
pub const MAX_BOARD_TEXT_CHARS: usize = 200;
/// The thickest line, or the largest text, in units of the width.
pub const MAX_WIDTH: u16 = 400;
/// Strokes on one surface: beyond it, new strokes are refused until
/// something is erased or cleared.
pub const MAX_STROKES: usize = 5_000;
/// Surfaces drawn on at once (the board and the screens shared).
const MAX_SURFACES: usize = 16;
/// A sender's strokes: a burst this large, then this many a second (a
/// hand drawing quickly makes a few a second).
const BURST: f64 = 40.0;
const PER_SECOND: f64 = 20.0;
/// Ids erased in one message.
const MAX_ERASED: usize = 256;
/// How long a newcomer waits to be told the boards before drawing what
/// has arrived since.
const SYNC_WAIT: Duration = Duration::from_secs(5);
/// Messages held while waiting to be told the boards.
const MAX_HELD: usize = 2_000;
/// A message telling a newcomer the boards carries at most this much
/// text (the side room takes 48 KiB).
const SYNC_PART_BYTES: usize = 36 * 1024;
/// Senders whose rate is followed (more than any meeting holds).
const MAX_SENDERS: usize = 1_000;

/// Where a stroke is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Surface {
    /// The blank whiteboard.
    Board,
    /// The screen shared as this feed (annotation).
    Screen(u64),
}

impl Surface {
    fn wire(self) -> Value {
        match self {
            Surface::Board => json!("board"),
            Surface::Screen(feed) => json!(feed),
        }
    }

    fn from_wire(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) if s == "board" => Some(Surface::Board),
            Value::Number(_) => v
                .as_u64()
                .filter(|f| *f > 0 && *f < 1 << 53)
                .map(Surface::Screen),
            _ => None,
        }
    }
}

/// What a stroke is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Pen,
    /// A wide, see-through pen.
    Highlighter,
    Line,
    Arrow,
    Rectangle,
    Ellipse,
    /// A line of text at its one point, `width` high.
    Text,
}

impl Tool {
    pub const ALL: [Tool; 7] = [
        Tool::Pen,
        Tool::Highlighter,
        Tool::Line,
        Tool::Arrow,
        Tool::Rectangle,
        Tool::Ellipse,
        Tool::Text,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Pen => "pen",
            Tool::Highlighter => "highlighter",
            Tool::Line => "line",
            Tool::Arrow => "arrow",
            Tool::Rectangle => "rectangle",
            Tool::Ellipse => "ellipse",
            Tool::Text => "text",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Shapes are given by two corners; text by one point.
    fn points_allowed(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Tool::Pen | Tool::Highlighter => 1..=MAX_POINTS,
            Tool::Line | Tool::Arrow | Tool::Rectangle | Tool::Ellipse => 2..=2,
            Tool::Text => 1..=1,
        }
    }
}

/// Why a stroke cannot be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrokeProblem {
    #[error("the wrong number of points for its tool")]
    Points,
    #[error("a point outside the board")]
    Outside,
    #[error("a width outside what the tools draw")]
    Width,
    #[error("a text box with no text")]
    NoText,
    #[error("text longer than {MAX_BOARD_TEXT_CHARS} characters, or with control characters")]
    Text,
    #[error("text on a stroke that is not a text box")]
    TextOnShape,
}

impl StrokeProblem {
    pub fn chinese(self) -> String {
        match self {
            Self::Points => "点数与所选工具不符".into(),
            Self::Outside => "有点超出了白板".into(),
            Self::Width => "线宽超出了工具的范围".into(),
            Self::NoText => "文本框里没有文字".into(),
            Self::Text => format!("文字超过 {MAX_BOARD_TEXT_CHARS} 个字符，或含有控制字符"),
            Self::TextOnShape => "只有文本框可以带文字".into(),
        }
    }
}

/// A colour as strokes write it: `#rrggbb`.
pub fn parse_color(text: &str) -> Option<[u8; 3]> {
    let hex = text.strip_prefix('#').filter(|h| h.len() == 6)?;
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// `color` as strokes write it (see `parse_color`).
pub fn color_text([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A stroke as the user drew it, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStroke {
    pub tool: Tool,
    pub color: [u8; 3],
    /// Line width, or the text's height, in units of the surface's width.
    pub width: u16,
    pub points: Vec<[u16; 2]>,
    /// What a `Tool::Text` says (empty otherwise).
    pub text: String,
}

impl NewStroke {
    /// Why this stroke cannot be drawn, if it cannot.
    pub fn check(&self) -> Result<(), MeetingError> {
        let bad = |why| Err(MeetingError::BadStroke(why));
        if !self.tool.points_allowed().contains(&self.points.len()) {
            return bad(StrokeProblem::Points);
        }
        if self.points.iter().any(|[x, y]| *x > UNITS || *y > UNITS) {
            return bad(StrokeProblem::Outside);
        }
        if self.width == 0 || self.width > MAX_WIDTH {
            return bad(StrokeProblem::Width);
        }
        let chars = self.text.chars().count();
        if self.tool == Tool::Text {
            if self.text.trim().is_empty() {
                return bad(StrokeProblem::NoText);
            }
            if chars > MAX_BOARD_TEXT_CHARS || self.text.chars().any(char::is_control) {
                return bad(StrokeProblem::Text);
            }
        } else if chars > 0 {
            return bad(StrokeProblem::TextOnShape);
        }
        Ok(())
    }

    fn wire(&self) -> Value {
        let points: Vec<u16> = self.points.iter().flatten().copied().collect();
        let mut v = json!({
            "tool": self.tool.name(),
            "color": color_text(self.color),
            "width": self.width,
            "points": points,
        });
        if self.tool == Tool::Text {
            v["text"] = json!(self.text);
        }
        v
    }

    fn from_wire(v: &Value) -> Option<Self> {
        let tool = Tool::from_name(v.get("tool")?.as_str()?)?;
        let color = parse_color(v.get("color")?.as_str()?)?;
        let width = u16::try_from(v.get("width")?.as_u64()?).ok()?;
        let flat = v.get("points")?.as_array()?;
        if flat.len() % 2 != 0 || flat.len() > 2 * MAX_POINTS {
            return None;
        }
        let mut points = Vec::with_capacity(flat.len() / 2);
        for pair in flat.chunks_exact(2) {
            let x = u16::try_from(pair[0].as_u64()?).ok()?;
            let y = u16::try_from(pair[1].as_u64()?).ok()?;
            points.push([x, y]);
        }
        let text = match v.get("text") {
            Some(t) => t.as_str()?.to_string(),
            None => String::new(),
        };
        let stroke = NewStroke {
            tool,
            color,
            width,
            points,
            text,
        };
        stroke.check().ok()?;
        Some(stroke)
    }
}

/// A stroke on a surface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stroke {
    /// Unique in the meeting: the author's username and their count.
    pub id: String,
    /// The author's name, as shown.
    pub by: String,
    /// Drawn by us (on this connection or an earlier one).
    pub own: bool,
    pub drawn: NewStroke,
}

/// What changed on the boards.
#[derive(Debug, Clone, PartialEq)]
pub enum BoardEvent {
    /// The whiteboard is shown to everyone by `by` (`None`: it is put away).
    Shown {
        by: Option<String>,
        own: bool,
    },
    Drawn {
        on: Surface,
        stroke: Stroke,
    },
    Erased {
        on: Surface,
        ids: Vec<String>,
    },
    Cleared {
        on: Surface,
        by: String,
    },
    /// Everything was replaced: we were told the boards on joining.
    Reset,
    /// Some of `by`'s strokes were not drawn: too many, too fast, or the
    /// surface is full.
    Dropped {
        by: String,
    },
}

/// A sender's strokes: a leaky bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// A drop was said, and not again until the sender slows down.
    said: bool,
}

/// A newcomer waiting to be told the boards.
#[derive(Debug, Clone)]
struct Waiting {
    /// Given up at this moment unless a part arrives (each part moves it).
    until: Instant,
    /// Who tells us: the one whose username sorts first, as everyone
    /// already there agrees; nobody else is believed.
    teller: Option<String>,
    /// Whether any part arrived.
    heard: bool,
    told: BTreeMap<Surface, Vec<Stroke>>,
    shown: Option<(String, String)>,
    held: Vec<(String, String, Value)>,
    /// Messages held per sender: one sender cannot push out the others'.
    held_from: HashMap<String, usize>,
    /// People who left while we waited (a board they showed goes).
    left: Vec<String>,
}

/// The boards of one meeting, for one participant.
#[derive(Debug, Clone)]
pub struct Whiteboard {
    surfaces: BTreeMap<Surface, Vec<Stroke>>,
    /// Who shows the board: (username, name).
    shown: Option<(String, String)>,
    /// Our usernames, this connection's last.
    own: Vec<String>,
    next: u64,
    rates: HashMap<String, Bucket>,
    waiting: Option<Waiting>,
    /// Newcomers we are to tell once we have been told ourselves.
    owed: Vec<String>,
}

impl Default for Whiteboard {
    fn default() -> Self {
        Self::new()
    }
}

/// Points on one surface, all strokes together: what a busy board holds,
/// and a bound on the memory, the telling and the saved picture's work.
pub const MAX_SURFACE_POINTS: usize = 100_000;
/// Messages held from one sender while we wait to be told.
const MAX_HELD_FROM_ONE: usize = 500;

fn points_on(list: &[Stroke]) -> usize {
    list.iter().map(|s| s.drawn.points.len()).sum()
}

/// Whether `stroke` fits on `list` (and `list` among `surfaces`).
fn has_room(surfaces: &BTreeMap<Surface, Vec<Stroke>>, on: Surface, stroke: &NewStroke) -> bool {
    let list = surfaces.get(&on).map(Vec::as_slice).unwrap_or(&[]);
    list.len() < MAX_STROKES
        && points_on(list) + stroke.points.len() <= MAX_SURFACE_POINTS
        && (surfaces.len() < MAX_SURFACES || surfaces.contains_key(&on))
}

impl Whiteboard {
    pub fn new() -> Self {
        Self {
            surfaces: BTreeMap::new(),
            shown: None,
            own: Vec::new(),
            next: 1,
            rates: HashMap::new(),
            waiting: None,
            owed: Vec::new(),
        }
    }

    /// We joined the side room as `username`, with `others` there: one of
    /// them tells us the boards (until then what arrives is held; what
    /// we had is kept if nobody does).
    pub fn joined<'a>(
        &mut self,
        username: &str,
        others: impl Iterator<Item = &'a str>,
        now: Instant,
    ) {
        if self.own.last().map(String::as_str) != Some(username) {
            self.own.push(username.to_string());
            if self.own.len() > 16 {
                self.own.remove(0);
            }
        }
        self.owed.clear();
        self.waiting = others.min().map(|teller| Waiting {
            until: now + SYNC_WAIT,
            teller: Some(teller.to_string()),
            heard: false,
            told: BTreeMap::new(),
            shown: None,
            held: Vec::new(),
            held_from: HashMap::new(),
            left: Vec::new(),
        });
    }

    fn username(&self) -> &str {
        self.own.last().map(String::as_str).unwrap_or("")
    }

    /// Strokes on `on`, first drawn first.
    pub fn strokes(&self, on: Surface) -> &[Stroke] {
        self.surfaces.get(&on).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Who shows the whiteboard, by name, and whether it is us.
    pub fn shown_by(&self) -> Option<(&str, bool)> {
        self.shown
            .as_ref()
            .map(|(u, d)| (d.as_str(), self.own.iter().any(|o| o == u)))
    }

    /// Surfaces with strokes on them.
    pub fn surfaces(&self) -> Vec<Surface> {
        self.surfaces.keys().copied().collect()
    }

    /// Forgets a shared screen's annotation (the share ended): nothing is
    /// sent.
    pub fn forget(&mut self, on: Surface) {
        self.surfaces.remove(&on);
    }

    fn body(op: &str, on: Option<Surface>) -> Value {
        let mut body = json!({"talkline": 1, "board": op});
        if let Some(on) = on {
            body["on"] = on.wire();
        }
        body
    }

    /// One more of our own messages at `now`, within the rate everyone
    /// holds us to.
    fn ours_within_rate(&mut self, now: Instant) -> Result<(), MeetingError> {
        let username = self.username().to_string();
        if self.take_token(&username, now) {
            Ok(())
        } else {
            Err(MeetingError::BoardTooFast)
        }
    }

    /// Draws `stroke` on `on`: the message to send, and the stroke's id
    /// (it is drawn when the message comes back).
    pub fn draw(
        &mut self,
        on: Surface,
        stroke: &NewStroke,
        now: Instant,
    ) -> Result<(Outgoing, String), MeetingError> {
        stroke.check()?;
        if Surface::from_wire(&on.wire()) != Some(on) {
            return Err(MeetingError::BadStroke(StrokeProblem::Outside));
        }
        if !has_room(&self.surfaces, on, stroke) {
            return Err(MeetingError::BoardFull(MAX_STROKES));
        }
        self.ours_within_rate(now)?;
        let n = self.next;
        self.next += 1;
        let mut body = Self::body("draw", Some(on));
        body["stroke"] = stroke.wire();
        body["n"] = json!(n);
        Ok((
            Outgoing { to: None, body },
            format!("{}/{n}", self.username()),
        ))
    }

    /// Erases the strokes `ids` from `on` (anyone's: the eraser): the
    /// message to send, or `None` when none of them is there.
    pub fn erase(
        &mut self,
        on: Surface,
        ids: &[String],
        now: Instant,
    ) -> Result<Option<Outgoing>, MeetingError> {
        let here: Vec<&String> = ids
            .iter()
            .filter(|id| self.strokes(on).iter().any(|s| &s.id == *id))
            .take(MAX_ERASED)
            .collect();
        if here.is_empty() {
            return Ok(None);
        }
        let mut body = Self::body("erase", Some(on));
        body["ids"] = json!(here);
        self.ours_within_rate(now)?;
        Ok(Some(Outgoing { to: None, body }))
    }

    /// Takes back our last stroke on `on` still there.
    pub fn undo(&mut self, on: Surface, now: Instant) -> Result<Option<Outgoing>, MeetingError> {
        let Some(last) = self.strokes(on).iter().rev().find(|s| s.own) else {
            return Ok(None);
        };
        let last = last.id.clone();
        self.erase(on, &[last], now)
    }

    /// Clears `on` for everyone.
    pub fn clear(&mut self, on: Surface, now: Instant) -> Result<Outgoing, MeetingError> {
        self.ours_within_rate(now)?;
        Ok(Outgoing {
            to: None,
            body: Self::body("clear", Some(on)),
        })
    }

    /// Shows the whiteboard to everyone, or puts it away.
    pub fn show(&mut self, shown: bool, now: Instant) -> Result<Outgoing, MeetingError> {
        self.ours_within_rate(now)?;
        Ok(Outgoing {
            to: None,
            body: Self::body(if shown { "show" } else { "hide" }, None),
        })
    }

    /// Whether we tell newcomers the boards: the one already there whose
    /// username sorts first (`others`: everyone else in the room, but the
    /// newcomer).
    pub fn tells_newcomers<'a>(&self, mut others: impl Iterator<Item = &'a str>) -> bool {
        let us = self.username();
        others.all(|o| us < o)
    }

    /// `newcomer` joined and we tell them: the messages to send now, or
    /// later (`owed_tellings`) when we are still being told ourselves.
    /// What they are told then is newer than their joining: replaying
    /// what arrived meanwhile over it comes to the same boards (a stroke
    /// is drawn once by its id; erasing or clearing again changes nothing
    /// drawn since).
    pub fn newcomer(&mut self, newcomer: &str) -> Vec<Outgoing> {
        if self.waiting.is_some() {
            if self.owed.len() < MAX_SENDERS && !self.owed.iter().any(|o| o == newcomer) {
                self.owed.push(newcomer.to_string());
            }
            return Vec::new();
        }
        self.tell(newcomer)
    }

    /// The tellings owed to newcomers, once we know the boards.
    pub fn owed_tellings(&mut self) -> Vec<Outgoing> {
        if self.waiting.is_some() {
            return Vec::new();
        }
        std::mem::take(&mut self.owed)
            .iter()
            .flat_map(|newcomer| self.tell(newcomer))
            .collect()
    }

    /// The messages that tell `newcomer` the boards, privately.
    fn tell(&self, newcomer: &str) -> Vec<Outgoing> {
        let mut parts = Vec::new();
        let mut strokes: Vec<Value> = Vec::new();
        let mut bytes = 0;
        let part = |strokes: Vec<Value>, last: bool, shown: &Option<(String, String)>| {
            let mut body = Self::body("tell", None);
            body["strokes"] = json!(strokes);
            body["last"] = json!(last);
            if last && let Some((username, display)) = shown {
                body["shown"] = json!({"by": username, "name": display});
            }
            Outgoing {
                to: Some(newcomer.to_string()),
                body,
            }
        };
        for (on, list) in &self.surfaces {
            for s in list {
                let mut v = s.drawn.wire();
                v["id"] = json!(s.id);
                v["name"] = json!(s.by);
                v["on"] = on.wire();
                let size = v.to_string().len();
                if bytes + size > SYNC_PART_BYTES && !strokes.is_empty() {
                    parts.push(part(std::mem::take(&mut strokes), false, &self.shown));
                    bytes = 0;
                }
                bytes += size;
                strokes.push(v);
            }
        }
        parts.push(part(strokes, true, &self.shown));
        parts
    }

    /// Someone left (`others`: who is still there): the board they showed
    /// is put away; if they were telling us the boards, the next one is
    /// asked (the message to send).
    pub fn person_left<'a>(
        &mut self,
        username: &str,
        others: impl Iterator<Item = &'a str>,
        now: Instant,
    ) -> (Vec<BoardEvent>, Vec<Outgoing>) {
        self.rates.remove(username);
        self.owed.retain(|o| o != username);
        if let Some(w) = self.waiting.as_mut() {
            w.left.push(username.to_string());
            if w.teller.as_deref() == Some(username) {
                // Told again from the start by the next one.
                w.teller = others.min().map(str::to_string);
                w.told.clear();
                w.heard = false;
                w.until = now + SYNC_WAIT;
                return match &w.teller {
                    Some(next) => {
                        let ask = Outgoing {
                            to: Some(next.clone()),
                            body: Self::body("ask", None),
                        };
                        (Vec::new(), vec![ask])
                    }
                    None => (self.told(now), Vec::new()),
                };
            }
            return (Vec::new(), Vec::new());
        }
        if self.shown.as_ref().is_some_and(|(u, _)| u == username) {
            self.shown = None;
            let put_away = BoardEvent::Shown {
                by: None,
                own: false,
            };
            return (vec![put_away], Vec::new());
        }
        (Vec::new(), Vec::new())
    }

    /// Time passed: a newcomer told nothing more for `SYNC_WAIT` draws
    /// what it has.
    pub fn expire(&mut self, now: Instant) -> Vec<BoardEvent> {
        match &self.waiting {
            Some(w) if now >= w.until => {
                log::info!("the whiteboard was not told in time: drawing what came");
                self.told(now)
            }
            _ => Vec::new(),
        }
    }

    /// A message about the boards from someone in the side room: what
    /// changed, and what to send (a telling asked of us).
    pub fn receive(&mut self, m: Incoming<'_>, now: Instant) -> (Vec<BoardEvent>, Vec<Outgoing>) {
        let op = m.body.get("board").and_then(Value::as_str).unwrap_or("");
        match op {
            "tell" => return (self.being_told(m, now), Vec::new()),
            // Asked privately to tell (the one telling them left).
            "ask" if m.private && m.from != self.username() => {
                if !self.take_token(m.from, now) {
                    return (Vec::new(), Vec::new());
                }
                return (Vec::new(), self.newcomer(m.from));
            }
            "ask" => return (Vec::new(), Vec::new()),
            _ => {}
        }
        if let Some(w) = self.waiting.as_mut() {
            let from_them = w.held_from.entry(m.from.to_string()).or_default();
            if w.held.len() < MAX_HELD && *from_them < MAX_HELD_FROM_ONE {
                *from_them += 1;
                w.held
                    .push((m.from.to_string(), m.display.to_string(), m.body.clone()));
            }
            return (Vec::new(), Vec::new());
        }
        (
            self.apply(m.from, m.display, m.body, now, false),
            Vec::new(),
        )
    }

    /// Applies one message; `replay`: held while we were told the boards
    /// (its sender's rate was not ours to judge then).
    fn apply(
        &mut self,
        from: &str,
        display: &str,
        body: &Value,
        now: Instant,
        replay: bool,
    ) -> Vec<BoardEvent> {
        let op = body.get("board").and_then(Value::as_str).unwrap_or("");
        let own = self.own.iter().any(|o| o == from);
        // Ours were held to the rate when sent.
        let rated = !replay && from != self.username();
        let on = body.get("on").and_then(Surface::from_wire);
        match (op, on) {
            ("show" | "hide", _) if rated && !self.take_token(from, now) => {
                self.dropped(from, display)
            }
            ("show", _) => {
                self.shown = Some((from.to_string(), display.to_string()));
                vec![BoardEvent::Shown {
                    by: Some(display.to_string()),
                    own,
                }]
            }
            // Only whoever shows it puts it away for everyone.
            ("hide", _) if self.shown.as_ref().is_some_and(|(u, _)| u == from) => {
                self.shown = None;
                vec![BoardEvent::Shown { by: None, own }]
            }
            ("draw", Some(on)) => {
                let Some(stroke) = body.get("stroke").and_then(NewStroke::from_wire) else {
                    return Vec::new();
                };
                let Some(n) = body.get("n").and_then(Value::as_u64) else {
                    return Vec::new();
                };
                let id = format!("{from}/{n}");
                if self.strokes(on).iter().any(|s| s.id == id) {
                    return Vec::new();
                }
                if !has_room(&self.surfaces, on, &stroke) || (rated && !self.take_token(from, now))
                {
                    return self.dropped(from, display);
                }
                let stroke = Stroke {
                    id,
                    by: display.to_string(),
                    own,
                    drawn: stroke,
                };
                self.surfaces.entry(on).or_default().push(stroke.clone());
                vec![BoardEvent::Drawn { on, stroke }]
            }
            ("erase", Some(on)) => {
                let Some(ids) = body.get("ids").and_then(Value::as_array) else {
                    return Vec::new();
                };
                if rated && !self.take_token(from, now) {
                    return self.dropped(from, display);
                }
                let ids: Vec<&str> = ids
                    .iter()
                    .filter_map(Value::as_str)
                    .take(MAX_ERASED)
                    .collect();
                let Some(list) = self.surfaces.get_mut(&on) else {
                    return Vec::new();
                };
                let mut erased = Vec::new();
                list.retain(|s| {
                    let gone = ids.contains(&s.id.as_str());
                    if gone {
                        erased.push(s.id.clone());
                    }
                    !gone
                });
                if list.is_empty() {
                    self.surfaces.remove(&on);
                }
                if erased.is_empty() {
                    return Vec::new();
                }
                vec![BoardEvent::Erased { on, ids: erased }]
            }
            ("clear", Some(on)) => {
                if rated && !self.take_token(from, now) {
                    return self.dropped(from, display);
                }
                self.surfaces.remove(&on);
                vec![BoardEvent::Cleared {
                    on,
                    by: display.to_string(),
                }]
            }
            _ => Vec::new(),
        }
    }

    fn dropped(&mut self, from: &str, display: &str) -> Vec<BoardEvent> {
        match self.rates.get_mut(from) {
            Some(b) if b.said => Vec::new(),
            Some(b) => {
                b.said = true;
                vec![BoardEvent::Dropped {
                    by: display.to_string(),
                }]
            }
            // A full surface, from someone who never drew too fast.
            None => vec![BoardEvent::Dropped {
                by: display.to_string(),
            }],
        }
    }

    /// A part of the boards, told to us privately on joining.
    fn being_told(&mut self, m: Incoming<'_>, now: Instant) -> Vec<BoardEvent> {
        let Some(w) = self.waiting.as_mut() else {
            return Vec::new();
        };
        if !m.private || w.teller.as_deref() != Some(m.from) {
            return Vec::new();
        }
        w.heard = true;
        w.until = now + SYNC_WAIT;
        let strokes = m
            .body
            .get("strokes")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for v in strokes {
            let (Some(on), Some(drawn)) = (
                v.get("on").and_then(Surface::from_wire),
                NewStroke::from_wire(v),
            ) else {
                continue;
            };
            let id = v.get("id").and_then(Value::as_str).unwrap_or("");
            let by = v.get("name").and_then(Value::as_str).unwrap_or("");
            let well_formed = id.len() <= 200 && id.contains('/') && by.chars().count() <= 64;
            if !well_formed || !has_room(&w.told, on, &drawn) {
                continue;
            }
            let own = self.own.iter().any(|o| {
                id.strip_prefix(o.as_str())
                    .is_some_and(|r| r.starts_with('/'))
            });
            w.told.entry(on).or_default().push(Stroke {
                id: id.to_string(),
                by: by.to_string(),
                own,
                drawn,
            });
        }
        if m.body.get("last").and_then(Value::as_bool) != Some(true) {
            return Vec::new();
        }
        w.shown = m.body.get("shown").and_then(|s| {
            let by = s.get("by")?.as_str()?;
            let name = s.get("name")?.as_str()?;
            Some((by.to_string(), name.chars().take(64).collect()))
        });
        self.told(now)
    }

    /// Takes what we were told (keeping what we had if nothing was), then
    /// draws what arrived meanwhile.
    fn told(&mut self, now: Instant) -> Vec<BoardEvent> {
        let Some(w) = self.waiting.take() else {
            return Vec::new();
        };
        if w.heard {
            self.surfaces = w.told;
            self.shown = w.shown;
        }
        let mut events = vec![BoardEvent::Reset];
        for (from, display, body) in w.held {
            events.extend(self.apply(&from, &display, &body, now, true));
        }
        // A board shown by someone who has left since is put away.
        if self.shown.as_ref().is_some_and(|(u, _)| w.left.contains(u)) {
            self.shown = None;
        }
        events
    }

    /// Whether `from` may draw one more stroke at `now`.
    fn take_token(&mut self, from: &str, now: Instant) -> bool {
        if !self.rates.contains_key(from) && self.rates.len() >= MAX_SENDERS {
            return false;
        }
        let b = self.rates.entry(from.to_string()).or_insert(Bucket {
            tokens: BURST,
            at: now,
            said: false,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * PER_SECOND).min(BURST);
        b.at = now;
        if b.tokens < 1.0 {
            return false;
        }
        b.tokens -= 1.0;
        if b.tokens >= BURST / 2.0 {
            b.said = false;
        }
        true
    }
}

#[cfg(test)]
mod tests;
