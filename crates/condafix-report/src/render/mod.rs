//! The outputs, each from the one [`crate::Summary`] (the events from the fleet itself).

pub mod csv;
pub mod events;
pub mod html;
mod svg;
pub mod text;
