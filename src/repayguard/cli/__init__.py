"""The command line (Typer + rich): the same services as the API, for people and scripts."""
