//! What the whole-engine tests share: a sink that keeps the events and their EVE lines as
//! `EveWriter` is given them, and a run of the engine on a capture held in memory.

use std::io::Cursor;
use std::path::Path;

use tcheck_engine::output::eve::{EveRenderer, RenderedEve};
use tcheck_engine::output::EventSink;
use tcheck_engine::{analyze, Config, Event, FileSource};

/// Collects events and their EVE lines (rendered with the default renderer). It writes EVE
/// as `EveWriter` does: with several threads the workers render the lines, a chunk behind,
/// and hand them over with the events.
#[derive(Default)]
pub struct Collect {
    pub events: Vec<Event>,
    pub eve: Vec<u8>,
    renderer: EveRenderer,
}

impl EventSink for Collect {
    fn event(&mut self, e: &Event) -> tcheck_engine::Result<()> {
        if self.renderer.render(e) {
            self.eve.extend_from_slice(self.renderer.line());
        }
        self.events.push(e.clone());
        Ok(())
    }

    fn eve_renderer(&self) -> Option<&EveRenderer> {
        Some(&self.renderer)
    }

    fn batch(&mut self, events: &[Event], eve: Option<&RenderedEve>) -> tcheck_engine::Result<()> {
        let Some(rendered) = eve else {
            for e in events {
                self.event(e)?;
            }
            return Ok(());
        };
        for run in &rendered.runs {
            self.eve.extend_from_slice(run);
        }
        self.events.extend(events.iter().cloned());
        Ok(())
    }
}

/// Runs the engine on a capture held in memory, with `threads` workers; `None` if the
/// bytes are not a capture or the run fails.
pub fn try_run_engine(file: &[u8], threads: usize) -> Option<Collect> {
    let mut src =
        FileSource::from_reader(Path::new("test.pcap"), Cursor::new(file.to_vec()), None).ok()?;
    let config = Config {
        threads,
        ..Config::default()
    };
    let mut sink = Collect::default();
    analyze(&mut src, &config, &mut sink, &mut |_, _| {}).ok()?;
    Some(sink)
}
