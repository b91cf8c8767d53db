//! The whiteboard and annotation on the command line:
//!
//! - `board show` / `board hide`: the whiteboard shown to everyone;
//! - `draw TOOL [color=#RRGGBB] [width=N] [on=FEED] X,Y [X,Y…] [: TEXT]`,
//!   with coordinates from 0 to 10000 across and down the surface;
//! - `erase [on=FEED] ID…`, `undo [on=FEED]`, `clear [on=FEED]`;
//! - `board save PATH [on=FEED]`: the board, or a shared screen as last
//!   seen with its annotation, as a PNG made here.
//!
//! Without `on=`, the surface is the whiteboard; `on=FEED` is the screen
//! shared as that feed. What happens is printed as `[board] …` lines.

use std::sync::Arc;

use talkline_media::display::Tiles;
use talkline_meeting::board::picture;
use talkline_meeting::board::{BoardEvent, NewStroke, Surface, Tool, UNITS, parse_color};
use talkline_meeting::chat::{BoardAction, Chat};

use crate::said::{self, said, say};

/// Whether `line` is one of the board's commands.
pub fn understands(line: &str) -> bool {
    ["board ", "draw ", "erase ", "clear"]
        .iter()
        .any(|c| line.starts_with(c))
        || line == "undo"
        || line.starts_with("undo ")
}

fn surface_name(on: Surface) -> String {
    match on {
        Surface::Board => said::language().pick("the whiteboard", "白板").into(),
        Surface::Screen(feed) => say!("screen {feed}", "屏幕 {feed}"),
    }
}

/// Prints what happened on the boards.
pub fn show(event: BoardEvent) {
    let line = match event {
        BoardEvent::Shown {
            by: Some(_),
            own: true,
        } => {
            say!("[board] shown by you", "[白板] 由你展示")
        }
        BoardEvent::Shown { by: Some(by), .. } => {
            let by = said::printable(&by);
            say!("[board] shown by {by}", "[白板] 由 {by} 展示")
        }
        BoardEvent::Shown { by: None, .. } => say!("[board] put away", "[白板] 已收起"),
        BoardEvent::Drawn { on, stroke } => {
            let (tool, id, on) = (stroke.drawn.tool.name(), stroke.id, surface_name(on));
            if stroke.own {
                say!(
                    "[board, drawn] {tool} on {on} ({id})",
                    "[白板，已画] {tool}，在{on}上（{id}）"
                )
            } else {
                let by = said::printable(&stroke.by);
                say!(
                    "[board] {by}: {tool} on {on} ({id})",
                    "[白板] {by}：{tool}，在{on}上（{id}）"
                )
            }
        }
        BoardEvent::Erased { on, ids } => {
            let (ids, on) = (ids.join(" "), surface_name(on));
            say!(
                "[board] erased on {on}: {ids}",
                "[白板] 在{on}上擦除了：{ids}"
            )
        }
        BoardEvent::Cleared { on, by } => {
            let (by, on) = (said::printable(&by), surface_name(on));
            say!("[board] {by} cleared {on}", "[白板] {by} 清空了{on}")
        }
        BoardEvent::Reset => say!("[board] ready", "[白板] 已就绪"),
        BoardEvent::Dropped { by } => {
            let by = said::printable(&by);
            return said::warning(say!(
                "some of {by}'s strokes were not drawn: too many, too fast, or the board is full",
                "{by} 的部分笔画没有画出：太多、太快，或白板已满"
            ));
        }
    };
    println!("{line}");
}

/// Takes `on=FEED` out of `words` (the whiteboard without it).
fn surface_of(words: &mut Vec<&str>) -> Result<Surface, String> {
    let Some(at) = words.iter().position(|w| w.starts_with("on=")) else {
        return Ok(Surface::Board);
    };
    let word = words.remove(at);
    match word["on=".len()..].parse::<u64>() {
        Ok(feed) if feed > 0 => Ok(Surface::Screen(feed)),
        _ if &word["on=".len()..] == "board" => Ok(Surface::Board),
        _ => Err(say!(
            "on= takes a shared screen's feed number, or board",
            "on= 后面是共享屏幕的编号，或 board"
        )),
    }
}

/// `draw TOOL [color=#RRGGBB] [width=N] [on=FEED] X,Y [X,Y…] [: TEXT]`.
fn parse_draw(rest: &str) -> Result<(Surface, NewStroke), String> {
    let usage = || {
        say!(
            "draw TOOL [color=#RRGGBB] [width=N] [on=FEED] X,Y [X,Y…] [: TEXT], X and Y from 0 to {UNITS}",
            "draw 工具 [color=#RRGGBB] [width=N] [on=编号] X,Y [X,Y…] [: 文字]，X 和 Y 取 0 到 {UNITS}"
        )
    };
    let (shape, text) = match rest.split_once(':') {
        Some((shape, text)) => (shape, text.trim().to_string()),
        None => (rest, String::new()),
    };
    let mut words: Vec<&str> = shape.split_whitespace().collect();
    let on = surface_of(&mut words)?;
    let Some(tool) = words.first().copied() else {
        return Err(usage());
    };
    let tool = Tool::from_name(tool).ok_or_else(|| {
        let tools: Vec<&str> = Tool::ALL.iter().map(|t| t.name()).collect();
        let tools = tools.join(", ");
        say!(
            "{tool:?} is not a tool: {tools}",
            "{tool:?} 不是可用的工具：{tools}"
        )
    })?;
    let mut stroke = NewStroke {
        tool,
        color: [0xe0, 0x1b, 0x24],
        width: if tool == Tool::Text { 300 } else { 30 },
        points: Vec::new(),
        text,
    };
    for word in &words[1..] {
        if let Some(color) = word.strip_prefix("color=") {
            stroke.color = parse_color(color).ok_or_else(usage)?;
        } else if let Some(width) = word.strip_prefix("width=") {
            stroke.width = width.parse().map_err(|_| usage())?;
        } else {
            let point = word
                .split_once(',')
                .and_then(|(x, y)| Some([x.parse().ok()?, y.parse().ok()?]))
                .ok_or_else(usage)?;
            stroke.points.push(point);
        }
    }
    stroke.check().map_err(|e| said(&e))?;
    Ok((on, stroke))
}

/// Runs one of the board's commands.
pub async fn command(chat: &Chat, tiles: &Arc<Tiles>, line: &str) {
    let action = if let Some(rest) = line.strip_prefix("draw ") {
        match parse_draw(rest) {
            Ok((on, stroke)) => BoardAction::Draw(on, stroke),
            Err(e) => return said::error(e),
        }
    } else if let Some(rest) = line.strip_prefix("board ") {
        let mut words: Vec<&str> = rest.split_whitespace().collect();
        match words.first().copied() {
            Some("show") if words.len() == 1 => BoardAction::Show(true),
            Some("hide") if words.len() == 1 => BoardAction::Show(false),
            Some("save") => {
                words.remove(0);
                return save(chat, tiles, words).await;
            }
            _ => {
                return said::error(say!(
                    "board show, board hide, or board save PATH [on=FEED]",
                    "board show、board hide，或 board save 路径 [on=编号]"
                ));
            }
        }
    } else {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let mut words: Vec<&str> = rest.split_whitespace().collect();
        let on = match surface_of(&mut words) {
            Ok(on) => on,
            Err(e) => return said::error(e),
        };
        match verb {
            "undo" if words.is_empty() => BoardAction::Undo(on),
            "clear" if words.is_empty() => BoardAction::Clear(on),
            "erase" if !words.is_empty() => {
                BoardAction::Erase(on, words.iter().map(|w| w.to_string()).collect())
            }
            _ => {
                return said::error(say!(
                    "undo [on=FEED], clear [on=FEED], or erase [on=FEED] ID…",
                    "undo [on=编号]、clear [on=编号]，或 erase [on=编号] 编号…"
                ));
            }
        }
    };
    if let Err(e) = chat.board(action).await {
        said::error(said(&e));
    }
}

/// `board save PATH [on=FEED]`: made here, written only to PATH.
async fn save(chat: &Chat, tiles: &Arc<Tiles>, mut words: Vec<&str>) {
    let on = match surface_of(&mut words) {
        Ok(on) => on,
        Err(e) => return said::error(e),
    };
    let [path] = words.as_slice() else {
        return said::error(say!(
            "board save PATH [on=FEED]",
            "board save 路径 [on=编号]"
        ));
    };
    let view = match chat.strokes(on).await {
        Ok(view) => view,
        Err(e) => return said::error(said(&e)),
    };
    let background = match on {
        Surface::Board => Some(picture::blank_board()),
        Surface::Screen(feed) => tiles
            .get_or_create(&feed.to_string())
            .newer_than(0)
            .and_then(|frame| picture::from_frame(&frame)),
    };
    let Some(mut image) = background else {
        let on = surface_name(on);
        return said::error(say!(
            "nothing of {on} has been seen here yet",
            "这里还没有看到{on}的画面"
        ));
    };
    let path = std::path::PathBuf::from(path);
    let written = tokio::task::spawn_blocking(move || {
        picture::draw_strokes(&mut image, &view.strokes);
        let png = picture::png(&image).map_err(|e| said(&e))?;
        std::fs::write(&path, png).map_err(|e| e.to_string())?;
        Ok::<_, String>((path, view.strokes.len()))
    })
    .await;
    match written {
        Ok(Ok((path, n))) => {
            let path = path.display();
            println!(
                "{}",
                say!(
                    "[board] saved {path} ({n} strokes)",
                    "[白板] 已保存 {path}（{n} 笔）"
                )
            );
        }
        Ok(Err(e)) => said::error(say!("the picture was not saved: {e}", "图片没有保存：{e}")),
        Err(_) => said::error(say!("the picture was not saved", "图片没有保存")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_lines_are_read_or_refused_with_why() {
        let (on, s) = parse_draw("pen color=#00ff00 width=50 on=77 10,20 30,40").expect("read");
        assert_eq!(on, Surface::Screen(77));
        assert_eq!(
            (s.tool, s.color, s.width, s.points.as_slice()),
            (Tool::Pen, [0, 255, 0], 50, &[[10, 20], [30, 40]][..])
        );
        let (on, s) = parse_draw("text 100,100 : 你好: world").expect("read");
        assert_eq!((on, s.text.as_str()), (Surface::Board, "你好: world"));
        for bad in [
            "",
            "spray 1,1",
            "pen",
            "pen 1;1",
            "pen 10001,1",
            "pen color=red 1,1",
            "rectangle 1,1",
            "text 1,1",
            "pen width=0 1,1",
            "pen on=screen 1,1",
            "line 1,1 2,2 : words",
        ] {
            assert!(parse_draw(bad).is_err(), "{bad:?}");
        }
    }
}
