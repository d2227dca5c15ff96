pub mod detect;
pub mod stage;
pub mod undo;
