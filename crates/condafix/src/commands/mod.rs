pub mod audit;
pub mod config;
pub mod detect;
pub mod stage;
pub mod undo;
pub mod verify;
