//! The server plugin's results are both a [`Message`] (for `MessageReader` systems) and a global
//! [`Event`] (for observers): [`Announce`] writes them both ways.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;

/// Writes results of type `M` as messages and triggers them as global events.
#[derive(SystemParam)]
pub(crate) struct Announce<'w, 's, M>
where
    M: Message + Clone,
    for<'a> M: Event<Trigger<'a>: Default>,
{
    writer: MessageWriter<'w, M>,
    commands: Commands<'w, 's>,
}

impl<M> Announce<'_, '_, M>
where
    M: Message + Clone,
    for<'a> M: Event<Trigger<'a>: Default>,
{
    /// Triggers `value` as a global event, then writes it as a message.
    pub(crate) fn send(&mut self, value: M) {
        self.commands.trigger(value.clone());
        self.writer.write(value);
    }
}
