"""The pure decision core: frames in, frames out; no database, clock or network."""
